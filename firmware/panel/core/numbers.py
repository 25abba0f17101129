# Numbers and number patterns, pure functions shared by both runtimes.
#
# Part A: forward destinations of the BAS-IP contract (basip-api.md 3.2). The
# vendor publishes five regular expressions; MicroPython's `re` cannot run them
# (no {m,n}, no \b, no (?:...)), so each one is re-derived here as the exact
# string language CPython's `re.fullmatch(pattern, text, re.ASCII)` accepts.
# tests/host/test_numbers_oracle.py compares the two on generated near misses.
#
# Part B: dial patterns of the redirect rules (redirectrules-api.md 2.4, 2.5):
# validation on store, a compiled form the call engine can cache, a matcher
# whose cost is bounded by len(pattern) * len(number) (never exponential), and
# the destination forms of `tran_number` with the X template.
#
# Nothing here uses `re`; characters are compared with explicit ASCII ranges
# because CPython's str.isdigit() also accepts Arabic-Indic and other digits.
from panel.compat import const

# ---------------------------------------------------------------------------
# Part A: forward destinations
# ---------------------------------------------------------------------------

# The five vendor patterns, in the order they are tried (3.2).
KIND_DIGITS = const(1)  # \d+
KIND_SIP_URI = const(2)  # sip:user@(IPv4 | dotted host name)
KIND_SIP_IP = const(3)  # sip:IPv4
KIND_LASKOMEX = const(4)  # laskomex:\d+
KIND_VIZIT = const(5)  # vizit:\d+

_SIP_PREFIX = "sip:"
_LASKOMEX_PREFIX = "laskomex:"
_VIZIT_PREFIX = "vizit:"

# Highest hybrid line number: the adapter protocol's line field is two bytes
# (docs/hybrid-adapter-protocol.md, "Line address"; proto.hybrid.MAX_LINE).
# The vendor pattern `^vizit:\d+$` takes any digits; a line above this is
# "Wrong number" when stored (validate_destination) and no line at all for
# destination_line, so nothing ever tries to send it to the adapter.
MAX_LINE = const(65535)
_MAX_LINE_DIGITS = const(5)

# The vendor's IPv4 part repeats "octet then (dot or end of string)" four times.
_IPV4_OCTETS = const(4)
# An octet is `25[0-5] | 2[0-4][0-9] | [01]?[0-9][0-9]?(?::\d{1,5})?`: at most
# three digits, and a port suffix of one to five digits (third branch only).
_OCTET_MAX_DIGITS = const(3)
_PORT_MAX_DIGITS = const(5)


def _is_digit(character):
    # ASCII only, like \d under re.ASCII; "١" (Arabic-Indic one) is not a digit.
    return "0" <= character <= "9"


def _is_host_letter(character):
    # The vendor's class [A-Za-z+\-_]: letters and three punctuation marks.
    return (
        "a" <= character <= "z"
        or "A" <= character <= "Z"
        or character == "+"
        or character == "-"
        or character == "_"
    )


def _is_word(character):
    # \w under re.ASCII, which decides where \b holds: [A-Za-z0-9_].
    return (
        "a" <= character <= "z"
        or "A" <= character <= "Z"
        or "0" <= character <= "9"
        or character == "_"
    )


def _all_digits(text):
    """True for a non-empty string of ASCII digits (the vendor's \\d+)."""
    if not text:
        return False
    for character in text:
        if not _is_digit(character):
            return False
    return True


def _is_vendor_octet(segment):
    """One dot-separated piece of the vendor's IPv4 group, port included.

    Reasoning from the regex: the pieces are separated by `.` and an octet never
    contains a dot, so each piece must match one branch on its own:
      - `25[0-5]` or `2[0-4][0-9]`: 200..255, three digits, no port;
      - `[01]?[0-9][0-9]?` then an optional `:` and 1..5 digits: one or two
        digits of any value, or three digits starting with 0 or 1.
    So `250:5060` is rejected (no branch gives a 2xx octet a port) while
    `65:5060`, `010:1` and `1:00000` are accepted.
    """
    colon = segment.find(":")
    digits = segment if colon < 0 else segment[:colon]
    count = len(digits)
    if count < 1 or count > _OCTET_MAX_DIGITS or not _all_digits(digits):
        return False
    first = digits[0]
    if colon >= 0:
        port = segment[colon + 1 :]
        # _all_digits also refuses a second colon and an empty port.
        if len(port) > _PORT_MAX_DIGITS or not _all_digits(port):
            return False
        # Only the [01]?[0-9][0-9]? branch takes a port.
        return count < 3 or first == "0" or first == "1"
    if count < 3 or first == "0" or first == "1":
        return True
    if first != "2":
        return False
    second = digits[1]
    if second < "5":
        return True  # 2[0-4][0-9]
    return second == "5" and digits[2] <= "5"  # 25[0-5]


def _is_vendor_ipv4(text):
    """The vendor's `\\b((octet)(\\.|$)){4}\\b` consuming all of text.

    Why this is "exactly four dot-separated octets":
      - `$` (a zero-width end of string) can only close the fourth round: after
        it the next round would need an octet, and an octet needs a digit.
      - a fourth round closed by `.` leaves the final `\\b` between `.` and the
        end of the string, two non-word sides: no boundary, so a trailing dot
        (`1.2.3.4.`) never matches; three octets (`sip:1.2.3`) never match.
      - the leading `\\b` always holds: the octet starts with a digit right
        after `:` or `@`; the trailing one holds after a final digit.
      - `$` before a trailing newline cannot help under fullmatch: no part of
        the pattern consumes the newline, so `"1.2.3.4\\n"` is rejected.
    """
    segments = text.split(".")
    if len(segments) != _IPV4_OCTETS:
        return False
    for segment in segments:
        if not _is_vendor_octet(segment):
            return False
    return True


def _is_vendor_label(label):
    """One host label: `[0-9]*[A-Za-z+\\-_]+[0-9]*` (digits only at the ends)."""
    length = len(label)
    index = 0
    while index < length and _is_digit(label[index]):
        index += 1
    letters_start = index
    while index < length and _is_host_letter(label[index]):
        index += 1
    if index == letters_start:
        return False
    while index < length and _is_digit(label[index]):
        index += 1
    return index == length


def _is_vendor_host(text):
    """The vendor's host branch: `label(\\.label)+\\b` consuming all of text.

    At least two labels; the closing `\\b` sits at the end of the string, so the
    last character must be a word character: `a.b-` and `a.b+` are rejected,
    `a.b_` is accepted. Empty labels (`a..b`, `.a.b`, `a.b.`) never match.
    """
    labels = text.split(".")
    if len(labels) < 2:
        return False
    for label in labels:
        if not _is_vendor_label(label):
            return False
    return _is_word(text[-1])


def _is_vendor_user(text):
    """`[0-9A-Za-z+\\-_]*`: possibly empty (`sip:@host.com` is accepted)."""
    for character in text:
        if not (_is_digit(character) or _is_host_letter(character)):
            return False
    return True


def _is_number_line(text, prefix):
    return text.startswith(prefix) and _all_digits(text[len(prefix) :])


def _line_number(digits):
    """int of a line's digits, or None above MAX_LINE (checked before int():
    a body may hold thousands of digits)."""
    start = 0
    while start < len(digits) - 1 and digits[start] == "0":
        start += 1
    if len(digits) - start > _MAX_LINE_DIGITS:
        return None
    value = int(digits[start:])
    if value > MAX_LINE:
        return None
    return value


def destination_kind(text):
    """Which vendor pattern (KIND_*) text fully matches, or None.

    Equal to trying `re.fullmatch(pattern, text, re.ASCII)` with the five
    patterns of basip-api.md 3.2 in order. Non-strings give None.
    """
    if not isinstance(text, str):
        return None
    if _all_digits(text):
        return KIND_DIGITS
    if text.startswith(_SIP_PREFIX):
        rest = text[len(_SIP_PREFIX) :]
        at = rest.find("@")
        if at >= 0:
            # Neither the user part nor the host accepts "@", so the first "@"
            # is the only possible split.
            host = rest[at + 1 :]
            if _is_vendor_user(rest[:at]) and (_is_vendor_ipv4(host) or _is_vendor_host(host)):
                return KIND_SIP_URI
            return None
        if _is_vendor_ipv4(rest):
            return KIND_SIP_IP
        return None
    if _is_number_line(text, _LASKOMEX_PREFIX):
        return KIND_LASKOMEX
    if _is_number_line(text, _VIZIT_PREFIX):
        return KIND_VIZIT
    return None


def validate_destination(value):
    """The string to store for one forward_entity_list entry; ValueError if wrong.

    A JSON integer (never a bool) becomes its decimal text and must then be a
    valid entry (a negative number is not). "" is accepted and stored verbatim:
    a known server sends [""] for an apartment without numbers (3.2).
    """
    if isinstance(value, bool):
        raise ValueError("Wrong number")
    if isinstance(value, int):
        # CPython refuses str() of ints over 4300 digits with a ValueError too.
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("Wrong number")
    if text == "":
        return text
    kind = destination_kind(text)
    if kind is None:
        raise ValueError("Wrong number")
    if (kind == KIND_LASKOMEX or kind == KIND_VIZIT) and destination_line(text) is None:
        raise ValueError("Wrong number")  # a line the adapter cannot address
    return text


def destination_line(text):
    """("laskomex", line) or ("vizit", line) for a hybrid-adapter entry, else
    None (also for a line above MAX_LINE)."""
    if not isinstance(text, str):
        return None
    for system, prefix in (("laskomex", _LASKOMEX_PREFIX), ("vizit", _VIZIT_PREFIX)):
        if _is_number_line(text, prefix):
            line = _line_number(text[len(prefix) :])
            if line is None:
                return None
            return (system, line)
    return None


# ---------------------------------------------------------------------------
# Part B: dial patterns (filter_number, filter_fromnumber) and tran_number
# ---------------------------------------------------------------------------

INVALID_PATTERN = "invalid_pattern"

# The API limits filter_number / filter_fromnumber to 64 characters (2.2) and
# checks that itself. This larger bound only caps the compile work and the
# compiled tuple for any other caller, checked before anything is built.
_MAX_PATTERN_CHARS = const(256)

# Compiled tokens: a tuple whose items are
#   - a non-empty str: the set of characters that one number character may be;
#   - _ANY (None): any one character (`?`, and the first half of `.`);
#   - _STAR (""): zero or more characters (`*`, and the second half of `.`).
# `.` compiles to (_ANY, _STAR); runs of stars collapse to one; `[]` vanishes.
_ANY = None
_STAR = ""
_DIGITS = "0123456789"
_PATTERN_CLASSES = {
    "x": _DIGITS,
    "n": "23456789",
    "z": "123456789",
    "X": _DIGITS,
    "N": "23456789",
    "Z": "123456789",
}
_SET_SYMBOLS = "*#+"


def _pattern_error():
    return ValueError(INVALID_PATTERN)


def _compile_set(pattern, index, tokens):
    """Parse a `[...]` starting after the `[`; return the index after `]`."""
    length = len(pattern)
    members = ""
    while True:
        if index >= length:
            raise _pattern_error()  # unclosed [
        character = pattern[index]
        if character == "]":
            break
        if character in _SET_SYMBOLS:
            members += character
            index += 1
        elif _is_digit(character):
            if index + 1 < length and pattern[index + 1] == "-":
                if index + 2 >= length:
                    raise _pattern_error()
                high = pattern[index + 2]
                if not _is_digit(high) or high < character:
                    raise _pattern_error()  # [1-], [1-*], [4-1]
                members += _DIGITS[int(character) : int(high) + 1]
                index += 3
            else:
                members += character
                index += 1
        else:
            raise _pattern_error()  # letters, ?, [, -, ...
    # `[]` is the empty string (compatibility: `[]9XXX` is `9XXX`): no token.
    if members:
        tokens.append(members)
    return index + 1


def _append_star(tokens):
    # `**` and `*` match the same strings; one star keeps the matcher's
    # restart bookkeeping to the single latest star.
    if not tokens or tokens[-1] != _STAR:
        tokens.append(_STAR)


def compile_dial_pattern(pattern):
    """The compiled (cacheable) form of a dial pattern; ValueError if invalid.

    The empty pattern compiles to () and matches only the empty number. That
    "" in filter_fromnumber means "any caller" like "*" is the rule engine's
    business (redirectrules-api.md 5.1), not this matcher's.
    """
    if not isinstance(pattern, str) or len(pattern) > _MAX_PATTERN_CHARS:
        raise _pattern_error()
    tokens = []
    index = 0
    length = len(pattern)
    while index < length:
        character = pattern[index]
        index += 1
        if _is_digit(character) or character == "#" or character == "+":
            tokens.append(character)
        elif character in _PATTERN_CLASSES:
            tokens.append(_PATTERN_CLASSES[character])
        elif character == "?":
            tokens.append(_ANY)
        elif character == "*":
            _append_star(tokens)
        elif character == ".":
            tokens.append(_ANY)
            _append_star(tokens)
        elif character == "[":
            index = _compile_set(pattern, index, tokens)
        else:
            raise _pattern_error()  # ], letters, spaces, ...
    return tuple(tokens)


def dial_pattern_error(pattern):
    """None for a valid dial pattern, else "invalid_pattern" (for the API)."""
    try:
        compile_dial_pattern(pattern)
    except ValueError:
        return INVALID_PATTERN
    return None


def compiled_matches(compiled, number):
    """Whole-string match of number against a compiled dial pattern.

    The classic wildcard algorithm: walk both strings; on a mismatch, go back
    to the most recent star and let it swallow one more character. Only the
    latest star ever needs revisiting: every other token matches exactly one
    character, so whatever an earlier star could absorb the latest one can
    absorb too. Each restart moves the star's start one character on, so the
    work is at most len(compiled) * len(number) steps, never exponential, and
    nothing is allocated. Pattern sets contain no letters, so comparing the
    number case-insensitively and as written gives the same answer.
    """
    token_count = len(compiled)
    length = len(number)
    token_index = 0
    position = 0
    star_index = -1  # token index of the latest star seen, or -1
    star_position = 0  # where the characters that star absorbs end
    while position < length:
        if token_index < token_count:
            token = compiled[token_index]
            if token == _STAR:
                star_index = token_index
                star_position = position
                token_index += 1
                continue
            if token is _ANY or number[position] in token:
                token_index += 1
                position += 1
                continue
        if star_index < 0:
            return False
        star_position += 1
        position = star_position
        token_index = star_index + 1
    # The number is used up: only stars may remain (runs are collapsed).
    while token_index < token_count and compiled[token_index] == _STAR:
        token_index += 1
    return token_index == token_count


def dial_pattern_matches(pattern, number):
    """Whole-string match of number against pattern; ValueError if pattern is invalid."""
    return compiled_matches(compile_dial_pattern(pattern), number)


# --- tran_number (2.5) ------------------------------------------------------

FORM_NUMBER = "number"
FORM_TEMPLATE = "template"
FORM_SIP = "sip"
FORM_LINE = "line"

# RFC 3261 user part: unreserved, user-unreserved and %HH escapes.
_SIP_USER_MARKS = "-_.!~*'()&=+$,;?/"
_HEX_DIGITS = "0123456789abcdefABCDEF"
_SIP_PORT_MAX = const(65535)
_SIP_PORT_MAX_DIGITS = const(5)
_IPV4_PART_MAX_DIGITS = const(3)
_IPV4_PART_MAX = const(255)


def _plain_number_kind(text):
    """FORM_NUMBER for `[+]?[0-9*#]+`, FORM_TEMPLATE when X's join them, else None."""
    start = 1 if text.startswith("+") else 0
    if start >= len(text):
        return None
    has_template = False
    for index in range(start, len(text)):
        character = text[index]
        if character == "X" or character == "x":
            has_template = True
        elif not (_is_digit(character) or character == "*" or character == "#"):
            return None
    return FORM_TEMPLATE if has_template else FORM_NUMBER


def _is_alphanumeric(character):
    return "a" <= character <= "z" or "A" <= character <= "Z" or "0" <= character <= "9"


def _is_sip_user(text):
    length = len(text)
    if length == 0:
        return False
    index = 0
    while index < length:
        character = text[index]
        if character == "%":
            if index + 2 >= length:
                return False  # "%" needs two hex digits
            if text[index + 1] not in _HEX_DIGITS or text[index + 2] not in _HEX_DIGITS:
                return False
            index += 3
            continue
        if not (_is_alphanumeric(character) or character in _SIP_USER_MARKS):
            return False
        index += 1
    return True


def _is_dotted_ipv4(text):
    parts = text.split(".")
    if len(parts) != _IPV4_OCTETS:
        return False
    for part in parts:
        if len(part) > _IPV4_PART_MAX_DIGITS or not _all_digits(part):
            return False
        if int(part) > _IPV4_PART_MAX:
            return False
    return True


def _is_hostname(text):
    # RFC 3261 hostname without the optional final dot: labels of letters,
    # digits and inner hyphens; the last label starts with a letter (so that
    # "1.2.3.999" is not taken for a name).
    labels = text.split(".")
    for label in labels:
        if not label or label[0] == "-" or label[-1] == "-":
            return False
        for character in label:
            if not (_is_alphanumeric(character) or character == "-"):
                return False
    last = labels[-1][0]
    return "a" <= last <= "z" or "A" <= last <= "Z"


def _is_sip_destination(text):
    """`sip:user@host[:port]` (user required; host a name or an IPv4 address)."""
    if not text.startswith(_SIP_PREFIX):
        return False
    rest = text[len(_SIP_PREFIX) :]
    at = rest.find("@")
    if at < 0 or not _is_sip_user(rest[:at]):
        return False
    host = rest[at + 1 :]
    colon = host.find(":")
    if colon >= 0:
        port = host[colon + 1 :]
        host = host[:colon]
        if len(port) > _SIP_PORT_MAX_DIGITS or not _all_digits(port):
            return False
        if not 1 <= int(port) <= _SIP_PORT_MAX:
            return False
    return _is_dotted_ipv4(host) or _is_hostname(host)


def destination_form(tran_number):
    """ "number", "template", "sip", "line" or None (invalid) for a tran_number."""
    if not isinstance(tran_number, str):
        return None
    kind = _plain_number_kind(tran_number)
    if kind is not None:
        return kind
    if _is_sip_destination(tran_number):
        return FORM_SIP
    if destination_line(tran_number) is not None:
        return FORM_LINE
    return None


def apply_template(tran_number, called_number):
    """The destination a tran_number gives for called_number (2.5).

    With k X's (either case) the last k characters of the called number fill
    them in order: "9XX" and "112" give "912". None when the called number is
    shorter than k (the rule does not apply). Other valid forms come back
    unchanged; an invalid tran_number raises ValueError.
    """
    form = destination_form(tran_number)
    if form is None:
        raise ValueError("invalid tran_number")
    if form != FORM_TEMPLATE:
        return tran_number
    wanted = 0
    for character in tran_number:
        if character == "X" or character == "x":
            wanted += 1
    if len(called_number) < wanted:
        return None
    source = len(called_number) - wanted
    pieces = []
    for character in tran_number:
        if character == "X" or character == "x":
            pieces.append(called_number[source])
            source += 1
        else:
            pieces.append(character)
    return "".join(pieces)
