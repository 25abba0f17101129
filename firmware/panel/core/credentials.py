# Parsing HTTP Basic credentials the same way on both runtimes. Boards' binascii
# differs (C module, or micropython-lib's Python one with other exceptions for
# bad input), and a header from outside must never raise: decode by hand.

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Longest Basic credentials we look at (user 64 + password 64 + colon, in base64).
MAX_BASIC_CHARS = 256


def decode_base64(text):
    """Standard base64 with padding -> bytes, or None when it is not valid."""
    if len(text) % 4 != 0 or len(text) > MAX_BASIC_CHARS:
        return None
    padding = 0
    if text.endswith("=="):
        padding = 2
    elif text.endswith("="):
        padding = 1
    body = text[: len(text) - padding]
    output = bytearray()
    accumulator = 0
    bits = 0
    for char in body:
        value = _ALPHABET.find(char)
        if value < 0:
            return None
        accumulator = ((accumulator << 6) | value) & 0xFFFFFF
        bits += 6
        if bits >= 8:
            bits -= 8
            output.append((accumulator >> bits) & 0xFF)
    return bytes(output)


def parse_basic(credentials):
    """The (username, password) of a Basic credentials string, or None."""
    raw = decode_base64(credentials.strip())
    if raw is None:
        return None
    try:
        text = raw.decode()
    except UnicodeError:
        return None
    username, separator, password = text.partition(":")
    if not separator:
        return None
    return username, password
