# HTTP Digest authentication as SIP uses it (RFC 3261 22.4, RFC 2617, RFC 7616).
#
# Client side: read a WWW-Authenticate / Proxy-Authenticate challenge, answer
# it with an Authorization / Proxy-Authorization value. Algorithms MD5 and
# MD5-sess (what SIP registrars use), and SHA-256 where the runtime has it;
# qop "auth" (with nc and cnonce) or no qop (RFC 2069 compatibility). The
# "auth-int" qop is refused: no registrar a panel meets requires it.
#
# Pure: the client nonce comes in as an argument (the caller draws it from
# compat.urandom), so tests reproduce the RFC vectors exactly.
from panel.compat import const, hexlify
from panel.proto.md5 import md5_hex
from panel.proto.sip_message import LocalError, RemoteError, is_token, split_list

# Parameters in one challenge (realm, nonce, opaque, algorithm, qop, stale,
# domain, charset, userhash): more than this is garbage.
_MAX_CHALLENGE_PARAMETERS = const(16)
# A nonce or opaque longer than this is not one we will echo back.
_MAX_VALUE = const(256)


def _sha256_hex(data):
    import hashlib

    if isinstance(data, str):
        data = data.encode()
    return hexlify(hashlib.sha256(data).digest())


# Algorithm name (upper case) -> (hash function, session variant).
_ALGORITHMS = {
    "MD5": (md5_hex, False),
    "MD5-SESS": (md5_hex, True),
    "SHA-256": (_sha256_hex, False),
    "SHA-256-SESS": (_sha256_hex, True),
}


class Challenge:
    """A parsed Digest challenge."""

    def __init__(self, parameters, proxy=False):
        self.parameters = parameters
        self.proxy = proxy
        self.realm = parameters.get("realm", "")
        self.nonce = parameters.get("nonce", "")
        self.opaque = parameters.get("opaque")
        self.algorithm = parameters.get("algorithm", "MD5")
        self.stale = parameters.get("stale", "").lower() == "true"
        qop_text = parameters.get("qop")
        self.qop_options = (
            [item.strip().lower() for item in qop_text.split(",")] if qop_text is not None else []
        )

    @property
    def header_name(self):
        """The header our answer goes in (Proxy-Authorization for a 407)."""
        return "proxy-authorization" if self.proxy else "authorization"


def parse_challenge(value, proxy=False):
    """'Digest realm="x", nonce="y", qop="auth"' -> Challenge, or RemoteError."""
    value = value.strip()
    space = value.find(" ")
    if space < 0 or value[:space].lower() != "digest":
        raise RemoteError("Not a Digest challenge")
    parameters = {}
    for item in split_list(value[space + 1 :]):
        equals = item.find("=")
        if equals <= 0:
            raise RemoteError("Bad challenge parameter")
        name = item[:equals].strip().lower()
        text = item[equals + 1 :].strip()
        if not is_token(name):
            raise RemoteError("Bad challenge parameter name")
        if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
            text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if len(text) > _MAX_VALUE:
            raise RemoteError("Challenge parameter too long")
        if len(parameters) >= _MAX_CHALLENGE_PARAMETERS:
            raise RemoteError("Too many challenge parameters")
        parameters[name] = text
    if not parameters.get("nonce"):
        raise RemoteError("Challenge without nonce")
    if parameters.get("algorithm", "MD5").upper() not in _ALGORITHMS:
        raise RemoteError("Unsupported digest algorithm")
    challenge = Challenge(parameters, proxy)
    if challenge.qop_options and "auth" not in challenge.qop_options:
        raise RemoteError("Unsupported qop")
    return challenge


def compute_response(
    algorithm,
    username,
    realm,
    password,
    method,
    uri,
    nonce,
    qop=None,
    nonce_count=None,
    client_nonce=None,
):
    """The hex response value of RFC 2617 3.2.2.1 / RFC 7616 3.4.1."""
    entry = _ALGORITHMS.get(algorithm.upper())
    if entry is None:
        raise LocalError("unsupported algorithm %s" % algorithm)
    hash_hex, session = entry
    secret = hash_hex("%s:%s:%s" % (username, realm, password))
    if session:
        secret = hash_hex("%s:%s:%s" % (secret, nonce, client_nonce))
    operation = hash_hex("%s:%s" % (method, uri))
    if qop:
        return hash_hex(
            "%s:%s:%08x:%s:%s:%s" % (secret, nonce, nonce_count, client_nonce, qop, operation)
        )
    return hash_hex("%s:%s:%s" % (secret, nonce, operation))


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def authorization(challenge, method, uri, username, password, client_nonce, nonce_count=1):
    """The Authorization (or Proxy-Authorization) header value answering challenge."""
    qop = "auth" if "auth" in challenge.qop_options else None
    response = compute_response(
        challenge.algorithm,
        username,
        challenge.realm,
        password,
        method,
        uri,
        challenge.nonce,
        qop,
        nonce_count,
        client_nonce,
    )
    parts = [
        "username=" + _quote(username),
        "realm=" + _quote(challenge.realm),
        "nonce=" + _quote(challenge.nonce),
        "uri=" + _quote(uri),
        "response=" + _quote(response),
        "algorithm=" + challenge.algorithm,
    ]
    if qop:
        parts.append("qop=" + qop)
        parts.append("nc=%08x" % nonce_count)
        parts.append("cnonce=" + _quote(client_nonce))
    if challenge.opaque is not None:
        parts.append("opaque=" + _quote(challenge.opaque))
    return "Digest " + ", ".join(parts)


def parse_authorization(value):
    """An Authorization value into a dict (for servers and tests)."""
    challenge = parse_challenge(value if "nonce" in value else value + ', nonce="-"')
    return challenge.parameters


def verify(parameters, method, password):
    """Server side: does an Authorization (as parsed) match password?"""
    qop = parameters.get("qop")
    nonce_count = None
    if qop:
        text = parameters.get("nc", "")
        if len(text) != 8:
            return False
        try:
            nonce_count = int(text, 16)
        except ValueError:
            return False
    expected = compute_response(
        parameters.get("algorithm", "MD5"),
        parameters.get("username", ""),
        parameters.get("realm", ""),
        password,
        method,
        parameters.get("uri", ""),
        parameters.get("nonce", ""),
        qop,
        nonce_count,
        parameters.get("cnonce"),
    )
    return expected == parameters.get("response")
