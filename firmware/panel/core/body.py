# Strict request bodies: a hand-written JSON parser (RFC 8259) and the BAS-IP
# body helpers that turn a bad body into the vendor's exact 400 texts.
#
# Why not json.loads: MicroPython's json is lax ({"a": } -> {}, [1,] -> [1],
# 01 -> 1) and CPython's is not, so the API would answer the same malformed body
# differently on the board and on the host (DESIGN.md, "One code base"). This
# parser gives the values CPython's json.loads gives for valid JSON, and raises
# JsonError for everything else, on both runtimes.
#
# Decisions (documented differences from CPython's json.loads):
# - Lone surrogates are invalid: a "\ud800" escape without its low half (or a
#   low half alone) raises JsonError. CPython accepts them, but MicroPython
#   strings are UTF-8 and cannot hold them, so accepting them would make the two
#   runtimes disagree. A str argument holding a raw surrogate code point (only
#   possible on CPython) is rejected the same way.
# - NaN, Infinity and -Infinity are not JSON: rejected (CPython accepts them).
#   A number too big for a float (1e400) still gives inf, as in CPython.
# - An integer has at most _MAX_INTEGER_DIGITS digits: a body must not make the
#   panel allocate a huge big integer. Floats are not limited this way (float()
#   never builds a big integer).
# - Containers nest at most max_depth (default _MAX_DEPTH) deep; the parser keeps
#   its own stack and never recurses, so a deep body cannot exhaust the C stack.
# - Bytes must be UTF-8 (no BOM, no UTF-16/32 detection as json.loads does for
#   bytes). Overlong forms, encoded surrogates and code points above U+10FFFF are
#   invalid UTF-8 on both runtimes (MicroPython's decode() lets them through, so
#   non-ASCII runs are checked by hand there).
# - Duplicate keys: the last one wins, as in json.loads.
#
# Speed: the parser walks a bytes object with an index. On MicroPython indexing
# bytes gives a small int without allocating, while indexing a str builds a
# one-character string (and non-ASCII str indexing walks UTF-8). Strings are cut
# as whole runs (find() for the closing quote and backslashes, one slice, one
# decode), never built a character at a time. Control characters are found by
# one C-speed scan of the whole body per forbidden byte (_scan_controls), not by
# a per-string check.
from panel.compat import IS_MICROPYTHON, const
from panel.core.errors import ApiError

# Nesting limit for objects and arrays. BAS-IP bodies nest 3 deep at most
# (list_items -> item -> forward_entity_list); 32 leaves plenty of room.
_MAX_DEPTH = const(32)
MAX_DEPTH = _MAX_DEPTH

# Digits of a JSON integer (sign not counted): 20 holds every int64 and uint64
# (forward numbers are int64) and keeps a body from allocating a big integer of
# thousands of digits.
_MAX_INTEGER_DIGITS = const(20)
MAX_INTEGER_DIGITS = _MAX_INTEGER_DIGITS

# Path parameters such as forwardUid: int64, >= 1 (spec 3.5).
_MAX_INT64 = 9223372036854775807
# Decimal digits of 2**63 - 1; a longer text is rejected before int() runs.
_INT64_DIGITS = const(19)
# The one declaration of the int64 limits: forward numbers (spec 3.1), the
# keypad's longest apartment number and the call engine's number check.
MAX_INT64 = _MAX_INT64
INT64_DIGITS = _INT64_DIGITS

# Byte values used by the scanner (bytes indexing gives ints on both runtimes).
_SPACE = const(0x20)
_TAB = const(0x09)
_NEWLINE = const(0x0A)
_RETURN = const(0x0D)
_QUOTE = const(0x22)
_BACKSLASH = const(0x5C)
_COMMA = const(0x2C)
_COLON = const(0x3A)
_MINUS = const(0x2D)
_PLUS = const(0x2B)
_DOT = const(0x2E)
_ZERO = const(0x30)
_NINE = const(0x39)
_OPEN_BRACE = const(0x7B)
_CLOSE_BRACE = const(0x7D)
_OPEN_BRACKET = const(0x5B)
_CLOSE_BRACKET = const(0x5D)
_LOWER_E = const(0x65)
_UPPER_E = const(0x45)
_LOWER_T = const(0x74)
_LOWER_F = const(0x66)
_LOWER_N = const(0x6E)
_LOWER_U = const(0x75)

# The simple escapes: byte after the backslash -> the character it stands for.
_ESCAPES = {
    0x22: '"',
    0x5C: "\\",
    0x2F: "/",
    0x62: "\b",
    0x66: "\f",
    0x6E: "\n",
    0x72: "\r",
    0x74: "\t",
}


def _hex_values():
    # Byte -> its hex digit value, 0xFF for a byte that is not a hex digit: one
    # table look-up per digit instead of a chain of comparisons (256 bytes).
    table = bytearray(b"\xff" * 256)
    for offset in range(10):
        table[0x30 + offset] = offset
    for offset in range(6):
        table[0x61 + offset] = 10 + offset
        table[0x41 + offset] = 10 + offset
    return bytes(table)


_HEX_VALUES = _hex_values()

# The control bytes JSON allows nowhere, one needle each for _scan_controls.
_FORBIDDEN_CONTROLS = tuple(
    bytes((code,)) for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)
)

# MicroPython's bytes.decode() rejects broken sequences but accepts overlong
# forms, encoded surrogates and code points past U+10FFFF; CPython's is strict.
_DECODE_IS_STRICT = not IS_MICROPYTHON


class JsonError(ValueError):
    """The text is not valid JSON (or breaks one of the limits above)."""

    def __init__(self, message, position=-1):
        super().__init__(message if position < 0 else "%s at byte %d" % (message, position))
        self.position = position


class BodyError(ApiError):
    """A request the API answers with `status {"error": text}` (400 by default)."""

    def __init__(self, text, status=400):
        super().__init__(status, text)


# ---------------------------------------------------------------------------
# JSON parser


def parse_json(text, max_depth=_MAX_DEPTH):
    """Parse one JSON text (str or bytes) strictly; raise JsonError if invalid."""
    data = _as_bytes(text)
    end = len(data)
    check_runs = _scan_controls(data)
    index = _skip_space(data, 0, end)
    # The open containers, innermost last, and for each the key its next value
    # goes under (None for an array). A list, not recursion: depth is bounded by
    # max_depth and never by the C stack. `container` and `key` mirror the
    # innermost entry (container None: at the top level).
    containers = []
    keys = []
    container = None
    key = None
    # Whitespace is rare in machine-written bodies: every call site below tests
    # one byte (all JSON whitespace is <= 0x20) before paying for a call.
    while True:
        # A value starts at index.
        if index >= end:
            raise JsonError("Expecting value", index)
        byte = data[index]
        if byte == _QUOTE:
            value, index = _read_string(data, index + 1, end, check_runs)
        elif byte == _OPEN_BRACE or byte == _OPEN_BRACKET:
            if len(containers) >= max_depth:
                raise JsonError("Nesting deeper than %d" % max_depth, index)
            index += 1
            if index < end and data[index] <= _SPACE:
                index = _skip_space(data, index, end)
            if byte == _OPEN_BRACE:
                if index < end and data[index] == _CLOSE_BRACE:
                    value = {}
                    index += 1
                else:
                    key, index = _read_key(data, index, end, check_runs)
                    container = {}
                    containers.append(container)
                    keys.append(key)
                    continue
            else:
                if index < end and data[index] == _CLOSE_BRACKET:
                    value = []
                    index += 1
                else:
                    key = None
                    container = []
                    containers.append(container)
                    keys.append(None)
                    continue
        elif byte == _MINUS or _ZERO <= byte <= _NINE:
            value, index = _read_number(data, index, end)
        elif byte == _LOWER_T and data[index : index + 4] == b"true":
            value = True
            index += 4
        elif byte == _LOWER_F and data[index : index + 5] == b"false":
            value = False
            index += 5
        elif byte == _LOWER_N and data[index : index + 4] == b"null":
            value = None
            index += 4
        else:
            raise JsonError("Expecting value", index)
        # A complete value: store it in the innermost container, then read the
        # separators; a closing bracket completes that container in turn.
        while True:
            if index < end and data[index] <= _SPACE:
                index = _skip_space(data, index, end)
            if container is None:
                if index != end:
                    raise JsonError("Extra data", index)
                return value
            if key is None:
                container.append(value)
            else:
                container[key] = value
            if index >= end:
                raise JsonError("Unterminated container", index)
            byte = data[index]
            if byte == _COMMA:
                index += 1
                if index < end and data[index] <= _SPACE:
                    index = _skip_space(data, index, end)
                if key is not None:
                    key, index = _read_key(data, index, end, check_runs)
                    keys[-1] = key
                break
            if byte == (_CLOSE_BRACKET if key is None else _CLOSE_BRACE):
                index += 1
                value = containers.pop()
                keys.pop()
                if containers:
                    container = containers[-1]
                    key = keys[-1]
                else:
                    container = None
                    key = None
                continue
            raise JsonError("Expecting ',' or end of container", index)


def _as_bytes(text):
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        try:
            return text.encode("utf-8")
        except UnicodeError:
            # CPython only: a str holding a lone surrogate code point.
            raise JsonError("Lone surrogate in text")
    if isinstance(text, (bytearray, memoryview)):
        return bytes(text)
    # Our misuse, not garbage from outside: a bug to fail loudly on.
    raise TypeError("parse_json needs str or bytes")


def _skip_space(data, index, end):
    # JSON whitespace is exactly space, tab, line feed and carriage return.
    while index < end:
        byte = data[index]
        if byte != _SPACE and byte != _NEWLINE and byte != _RETURN and byte != _TAB:
            break
        index += 1
    return index


def _read_key(data, index, end, check_runs):
    """Read `"key" :` at index; return the key and the index after the colon."""
    if index >= end or data[index] != _QUOTE:
        raise JsonError("Expecting property name in double quotes", index)
    key, index = _read_string(data, index + 1, end, check_runs)
    if index < end and data[index] <= _SPACE:
        index = _skip_space(data, index, end)
    if index >= end or data[index] != _COLON:
        raise JsonError("Expecting ':' delimiter", index)
    index += 1
    if index < end and data[index] <= _SPACE:
        index = _skip_space(data, index, end)
    return key, index


def _read_string(data, index, end, check_runs):
    """Read string content from index (after the opening quote) to its close."""
    quote = data.find(b'"', index)
    if quote < 0:
        raise JsonError("Unterminated string", index)
    backslash = data.find(b"\\", index, quote)
    if backslash < 0:
        # The common case: no escapes, one slice and one decode.
        return _decode_run(data, index, quote, check_runs), quote + 1
    parts = []
    while True:
        if backslash > index:
            parts.append(_decode_run(data, index, backslash, check_runs))
        # A run of escapes (PHP's json_encode writes every non-ASCII
        # character as \uXXXX, so runs are long): no find() between them.
        index = backslash
        while index < end and data[index] == _BACKSLASH:
            character, index = _read_escape(data, index, end)
            parts.append(character)
        if quote < index:
            # That quote was part of an escape (\"): look for the real one.
            quote = data.find(b'"', index)
            if quote < 0:
                raise JsonError("Unterminated string", index)
        backslash = data.find(b"\\", index, quote)
        if backslash < 0:
            if quote > index:
                parts.append(_decode_run(data, index, quote, check_runs))
            return "".join(parts), quote + 1


def _decode_run(data, start, stop, check_runs):
    """Decode the plain characters data[start:stop] (no quote, no backslash)."""
    if start == stop:
        return ""
    run = data[start:stop]
    # Tab, line feed and carriage return are whitespace between tokens but not
    # allowed raw inside a string; only bodies holding one need the check.
    if check_runs and (b"\n" in run or b"\t" in run or b"\r" in run):
        raise JsonError("Control character in string", start + _first_control(run))
    try:
        text = run.decode("utf-8")
    except UnicodeError:
        raise JsonError("Invalid UTF-8", start)
    # CPython's decoder is strict; MicroPython's needs the check by hand, and
    # only for runs holding non-ASCII bytes (then the text has fewer
    # characters than the run has bytes; len() is C-speed, max() is not).
    if not _DECODE_IS_STRICT and len(text) != len(run) and not utf8_is_valid(run):
        raise JsonError("Invalid UTF-8", start)
    return text


def _scan_controls(data):
    """Raise JsonError if data holds a control byte that JSON never allows
    (below 0x20, not tab, line feed or carriage return: invalid inside and
    outside strings, and no UTF-8 sequence contains one). Return True if it
    holds tab, line feed or carriage return, so string runs must be checked.

    One C-speed scan per byte value over the whole body is far cheaper on
    MicroPython than checking every string (min() of a short run costs about
    as much as a scan of 1 KiB)."""
    for needle in _FORBIDDEN_CONTROLS:
        if needle in data:
            raise JsonError("Control character", data.find(needle))
    return b"\n" in data or b"\t" in data or b"\r" in data


def _first_control(run):
    offset = 0
    for byte in run:
        if byte < _SPACE:
            return offset
        offset += 1
    return 0


def _read_escape(data, index, end):
    """Read the escape at index (a backslash); return (character, next index)."""
    if index + 1 >= end:
        raise JsonError("Unterminated string", index)
    kind = data[index + 1]
    if kind != _LOWER_U:
        character = _ESCAPES.get(kind)
        if character is None:
            raise JsonError("Invalid \\escape", index)
        return character, index + 2
    code = _read_hex4(data, index + 2, end)
    if 0xDC00 <= code <= 0xDFFF:
        raise JsonError("Lone surrogate", index)
    if 0xD800 <= code <= 0xDBFF:
        # A high surrogate must be followed by the escape of a low one; the pair
        # stands for one character above U+FFFF.
        if not (index + 7 < end and data[index + 6] == _BACKSLASH and data[index + 7] == _LOWER_U):
            raise JsonError("Lone surrogate", index)
        low = _read_hex4(data, index + 8, end)
        if not 0xDC00 <= low <= 0xDFFF:
            raise JsonError("Lone surrogate", index)
        return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), index + 12
    return chr(code), index + 6


def _read_hex4(data, index, end):
    if index + 4 > end:
        raise JsonError("Invalid \\uXXXX escape", index)
    first = _HEX_VALUES[data[index]]
    second = _HEX_VALUES[data[index + 1]]
    third = _HEX_VALUES[data[index + 2]]
    fourth = _HEX_VALUES[data[index + 3]]
    if (first | second | third | fourth) > 15:
        raise JsonError("Invalid \\uXXXX escape", index)
    return (first << 12) | (second << 8) | (third << 4) | fourth


def _read_number(data, index, end):
    """Read -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at index."""
    start = index
    if data[index] == _MINUS:
        index += 1
    digits_start = index
    if index >= end or not _ZERO <= data[index] <= _NINE:
        raise JsonError("Expecting value", start)
    if data[index] == _ZERO:
        index += 1
        # A leading zero stands alone: 01 and -01 are not JSON.
        if index < end and _ZERO <= data[index] <= _NINE:
            raise JsonError("Leading zero", start)
    else:
        index = _skip_digits(data, index, end)
    integer_digits = index - digits_start
    is_float = False
    if index < end and data[index] == _DOT:
        index += 1
        after = _skip_digits(data, index, end)
        if after == index:
            raise JsonError("Expecting digits after '.'", index)
        index = after
        is_float = True
    if index < end and (data[index] == _LOWER_E or data[index] == _UPPER_E):
        index += 1
        if index < end and (data[index] == _PLUS or data[index] == _MINUS):
            index += 1
        after = _skip_digits(data, index, end)
        if after == index:
            raise JsonError("Expecting exponent digits", index)
        index = after
        is_float = True
    text = data[start:index].decode("utf-8")
    if is_float:
        return float(text), index
    if integer_digits > _MAX_INTEGER_DIGITS:
        raise JsonError("Integer longer than %d digits" % _MAX_INTEGER_DIGITS, start)
    return int(text), index


def _skip_digits(data, index, end):
    while index < end and _ZERO <= data[index] <= _NINE:
        index += 1
    return index


def utf8_is_valid(data):
    """True if data is well-formed UTF-8 (RFC 3629): no overlong forms, no
    encoded surrogates, nothing above U+10FFFF. Used on MicroPython, whose
    decode() is laxer; tested against CPython's decoder on the host."""
    index = 0
    end = len(data)
    while index < end:
        byte = data[index]
        if byte < 0x80:
            index += 1
            continue
        # Lead byte: the length of the sequence and the allowed range of the
        # second byte (the tight ranges rule out overlongs, surrogates and
        # code points above U+10FFFF, per RFC 3629 table 3-7).
        if 0xC2 <= byte <= 0xDF:
            length, low, high = 2, 0x80, 0xBF
        elif byte == 0xE0:
            length, low, high = 3, 0xA0, 0xBF
        elif 0xE1 <= byte <= 0xEC or byte == 0xEE or byte == 0xEF:
            length, low, high = 3, 0x80, 0xBF
        elif byte == 0xED:
            length, low, high = 3, 0x80, 0x9F
        elif byte == 0xF0:
            length, low, high = 4, 0x90, 0xBF
        elif 0xF1 <= byte <= 0xF3:
            length, low, high = 4, 0x80, 0xBF
        elif byte == 0xF4:
            length, low, high = 4, 0x80, 0x8F
        else:
            return False
        if index + length > end:
            return False
        second = data[index + 1]
        if not low <= second <= high:
            return False
        for offset in range(2, length):
            if not 0x80 <= data[index + offset] <= 0xBF:
                return False
        index += length
    return True


# ---------------------------------------------------------------------------
# BAS-IP body helpers (spec basip-api.md 1.2)

WRONG_BODY = "Wrong JSON body"


def parse_object(raw):
    """The body as a dict, or BodyError("Wrong JSON body") if it is missing,
    not JSON or not an object. raw: bytes or str (None or empty: missing)."""
    if raw is None or len(raw) == 0:
        raise BodyError(WRONG_BODY)
    try:
        body = parse_json(raw)
    except JsonError:
        raise BodyError(WRONG_BODY)
    if not isinstance(body, dict):
        raise BodyError(WRONG_BODY)
    return body


def no_value(name):
    return BodyError("Wrong JSON body: no value for `%s`" % name)


def wrong_type(name):
    return BodyError("Wrong JSON body: value `%s` was of the wrong type" % name)


def range_error(name, reason):
    """The vendor's range/conflict wording (no backticks, reason in brackets)."""
    return BodyError("Wrong JSON body: value %s was wrong. (%s)" % (name, reason))


def is_kind(value, kind):
    """True if value is of the JSON kind: "int" (an integer, not a bool, not a
    float), "bool", "str", "list", "dict" or "number" (int or float, no bool)."""
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    # An unknown kind is our bug, not the client's.
    raise ValueError("unknown kind %r" % (kind,))


def _check_object(body):
    # A nested value handed over unchecked (an item of list_items that is not
    # an object) must still give a 400, never a TypeError (a 500).
    if not isinstance(body, dict):
        raise BodyError(WRONG_BODY)


def require(body, name, kind):
    """body[name], which must be present and of the kind; else the vendor texts.
    JSON null counts as present and of the wrong type (as the vendor's Android
    org.json does: "no value" means the key is absent)."""
    _check_object(body)
    if name not in body:
        raise no_value(name)
    value = body[name]
    if not is_kind(value, kind):
        raise wrong_type(name)
    return value


def optional(body, name, kind, default=None):
    """body[name] if present (then of the kind, else wrong type), else default."""
    _check_object(body)
    if name not in body:
        return default
    value = body[name]
    if not is_kind(value, kind):
        raise wrong_type(name)
    return value


def int_in_range(body, name, low, high, required=True, default=None, reason=None):
    """An integer field within low..high; out of range gives the range text
    with reason (default "<low>..<high>", the wording the API modules use)."""
    if required:
        value = require(body, name, "int")
    else:
        value = optional(body, name, "int", None)
        if value is None:
            return default
    if value < low or value > high:
        raise range_error(name, reason if reason is not None else "%d..%d" % (low, high))
    return value


def str_in_length(body, name, low, high, required=True, default=None, reason=None):
    """A string field of low..high characters; out of range gives the range
    text with reason (default "<low>..<high> characters")."""
    if required:
        value = require(body, name, "str")
    else:
        value = optional(body, name, "str", None)
        if value is None:
            return default
    if len(value) < low or len(value) > high:
        raise range_error(name, reason if reason is not None else "%d..%d characters" % (low, high))
    return value


def parse_positive_int(text):
    """A path parameter such as forwardUid: decimal digits only (no sign, no
    spaces), 1 .. 2**63-1. Returns the int, or None if it is anything else."""
    if not isinstance(text, str) or not text:
        return None
    # Leading zeros are tolerated (digits only is the rule), but the length
    # check must not count them, or "000...01" would be rejected as too long.
    start = 0
    length = len(text)
    while start < length - 1 and text[start] == "0":
        start += 1
    if length - start > _INT64_DIGITS:
        return None
    for character in text:
        if not "0" <= character <= "9":
            return None
    value = int(text[start:])
    if value < 1 or value > _MAX_INT64:
        return None
    return value
