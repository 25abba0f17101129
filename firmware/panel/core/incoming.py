# Incoming SIP calls (docs/incoming-calls.md): the allow-list's entries, their
# check, and who they let through. Pure: the caller's From URI and the address
# its INVITE came from are handed in.
#
# An entry is one of
#   "a.b.c.d"            the IPv4 address the INVITE came from (the packet's
#                        source, not a header: the one entry a caller cannot
#                        forge over TCP or TLS, and hardly over UDP)
#   "sip:user@host"      the From URI's user and host (host without port;
#                        the host compared without case, the user exactly)
#   "user"               the From URI's user part, from any host
# From headers are the caller's claim: URI and user entries are for callers
# behind a registrar that checks them (a PBX), or on a network the panel trusts.
from panel.compat import const

# Entries in the allow-list, and characters in one (a sip: URI of the
# BAS-IP's 63-character address fields).
ALLOW_MAX = const(32)
ENTRY_MAX = const(63)
# answer_after_s: how long the panel rings before it answers (seconds).
ANSWER_AFTER_RANGE = (0, 60)

KIND_IPV4 = "ipv4"
KIND_URI = "uri"
KIND_USER = "user"

_USER_MARKS = "-_.!~*'()&=+$;?/%"


def _is_user(text):
    if not text:
        return False
    for char in text:
        if not (
            "a" <= char <= "z" or "A" <= char <= "Z" or "0" <= char <= "9" or char in _USER_MARKS
        ):
            return False
    return True


def _is_host(text):
    if not text or text[0] == "." or text[-1] == "." or ".." in text:
        return False
    for char in text:
        if not ("a" <= char <= "z" or "A" <= char <= "Z" or "0" <= char <= "9" or char in ".-"):
            return False
    return True


def is_ipv4(text):
    """Dotted decimal, four parts of 0..255 without leading zeros."""
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part or len(part) > 3 or part.strip("0123456789"):
            return False
        if len(part) > 1 and part[0] == "0":
            return False
        if int(part) > 255:
            return False
    return True


def entry_kind(text):
    """KIND_IPV4, KIND_URI or KIND_USER for a valid entry, else None."""
    if not isinstance(text, str) or not 1 <= len(text) <= ENTRY_MAX:
        return None
    if text.startswith("sip:"):
        user, at, host = text[4:].partition("@")
        if at and _is_user(user) and _is_host(host):
            return KIND_URI
        return None
    if is_ipv4(text):
        return KIND_IPV4
    if "." in text and not text.strip("0123456789."):
        return None  # digits and dots: a mistyped address, not a user name
    if _is_user(text):
        return KIND_USER
    return None


def _split_uri(uri):
    """(user, host) of a sip:/sips: URI's text, host lower-cased, no port or
    parameters; ("", "") when it is none."""
    if uri.startswith("sip:"):
        rest = uri[4:]
    elif uri.startswith("sips:"):
        rest = uri[5:]
    else:
        return "", ""
    for stop in ";?>":
        index = rest.find(stop)
        if index >= 0:
            rest = rest[:index]
    user, at, host = rest.partition("@")
    if not at:
        user, host = "", user
    colon = host.find(":")
    if colon >= 0:
        host = host[:colon]
    return user, host.lower()


def allowed(allow, caller_uri, source_ip):
    """Does an entry of `allow` (a checked list) let this caller through?"""
    user, host = _split_uri(caller_uri or "")
    for entry in allow:
        kind = entry_kind(entry)
        if kind == KIND_IPV4:
            if entry == source_ip:
                return True
        elif kind == KIND_URI:
            entry_user, entry_host = _split_uri(entry)
            if user and entry_user == user and entry_host == host:
                return True
        elif kind == KIND_USER:
            if user and entry == user:
                return True
    return False
