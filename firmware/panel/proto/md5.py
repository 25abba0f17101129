# MD5 (RFC 1321) for SIP digest authentication.
#
# Why a pure-Python copy: hashlib on some MicroPython builds (the WebAssembly
# build among them) has only sha256, and SIP registrars still challenge with
# MD5. `md5_hex()` uses hashlib.md5 when the runtime has it and falls back to
# this implementation otherwise; `Md5` is also usable directly (tests compare
# both against the RFC 1321 vectors).
#
# Integers: MD5 works on 32-bit words. MicroPython's small ints are 31-bit, so
# words above 2**30 become big ints there; that costs heap and time but stays
# exact. Every sum is masked back to 32 bits.
import struct

from panel.compat import hexlify, md5_hexdigest_available

_MASK = 0xFFFFFFFF
_BLOCK_BYTES = 64

# Per-round left-rotation amounts (RFC 1321, 3.4).
_SHIFTS = (
    7,
    12,
    17,
    22,
    7,
    12,
    17,
    22,
    7,
    12,
    17,
    22,
    7,
    12,
    17,
    22,
    5,
    9,
    14,
    20,
    5,
    9,
    14,
    20,
    5,
    9,
    14,
    20,
    5,
    9,
    14,
    20,
    4,
    11,
    16,
    23,
    4,
    11,
    16,
    23,
    4,
    11,
    16,
    23,
    4,
    11,
    16,
    23,
    6,
    10,
    15,
    21,
    6,
    10,
    15,
    21,
    6,
    10,
    15,
    21,
    6,
    10,
    15,
    21,
)

# floor(abs(sin(i + 1)) * 2**32), written out: single-precision floats on some
# MicroPython ports would not reproduce them.
_SINES = (
    0xD76AA478,
    0xE8C7B756,
    0x242070DB,
    0xC1BDCEEE,
    0xF57C0FAF,
    0x4787C62A,
    0xA8304613,
    0xFD469501,
    0x698098D8,
    0x8B44F7AF,
    0xFFFF5BB1,
    0x895CD7BE,
    0x6B901122,
    0xFD987193,
    0xA679438E,
    0x49B40821,
    0xF61E2562,
    0xC040B340,
    0x265E5A51,
    0xE9B6C7AA,
    0xD62F105D,
    0x02441453,
    0xD8A1E681,
    0xE7D3FBC8,
    0x21E1CDE6,
    0xC33707D6,
    0xF4D50D87,
    0x455A14ED,
    0xA9E3E905,
    0xFCEFA3F8,
    0x676F02D9,
    0x8D2A4C8A,
    0xFFFA3942,
    0x8771F681,
    0x6D9D6122,
    0xFDE5380C,
    0xA4BEEA44,
    0x4BDECFA9,
    0xF6BB4B60,
    0xBEBFBC70,
    0x289B7EC6,
    0xEAA127FA,
    0xD4EF3085,
    0x04881D05,
    0xD9D4D039,
    0xE6DB99E5,
    0x1FA27CF8,
    0xC4AC5665,
    0xF4292244,
    0x432AFF97,
    0xAB9423A7,
    0xFC93A039,
    0x655B59C3,
    0x8F0CCC92,
    0xFFEFF47D,
    0x85845DD1,
    0x6FA87E4F,
    0xFE2CE6E0,
    0xA3014314,
    0x4E0811A1,
    0xF7537E82,
    0xBD3AF235,
    0x2AD7D2BB,
    0xEB86D391,
)

# Which message word each step reads (RFC 1321, rounds 1-4).
_WORD_INDEX = tuple(
    [index for index in range(16)]
    + [(5 * index + 1) % 16 for index in range(16, 32)]
    + [(3 * index + 5) % 16 for index in range(32, 48)]
    + [(7 * index) % 16 for index in range(48, 64)]
)


def _compress(state, block):
    """One 64-byte block into the four-word state (a list, changed in place)."""
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for step in range(64):
        if step < 16:
            mixed = (b & c) | ((b ^ _MASK) & d)
        elif step < 32:
            mixed = (d & b) | ((d ^ _MASK) & c)
        elif step < 48:
            mixed = b ^ c ^ d
        else:
            mixed = c ^ (b | (d ^ _MASK))
        mixed = (mixed + a + _SINES[step] + words[_WORD_INDEX[step]]) & _MASK
        shift = _SHIFTS[step]
        a = d
        d = c
        c = b
        b = (b + (((mixed << shift) & _MASK) | (mixed >> (32 - shift)))) & _MASK
    state[0] = (state[0] + a) & _MASK
    state[1] = (state[1] + b) & _MASK
    state[2] = (state[2] + c) & _MASK
    state[3] = (state[3] + d) & _MASK


class Md5:
    """Incremental MD5: update(bytes) any number of times, then digest()."""

    def __init__(self, data=b""):
        self._state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
        self._pending = b""
        self._length = 0
        if data:
            self.update(data)

    def update(self, data):
        if isinstance(data, str):
            data = data.encode()
        self._length += len(data)
        pending = self._pending + bytes(data)
        offset = 0
        while len(pending) - offset >= _BLOCK_BYTES:
            _compress(self._state, pending[offset : offset + _BLOCK_BYTES])
            offset += _BLOCK_BYTES
        self._pending = pending[offset:]

    def digest(self):
        # Padding: 0x80, zeros to 56 mod 64, then the bit length (little endian).
        # Work on a copy so update() may continue after digest().
        state = list(self._state)
        tail = self._pending + b"\x80"
        tail += bytes((56 - len(tail)) % _BLOCK_BYTES)
        tail += struct.pack("<Q", (self._length * 8) & 0xFFFFFFFFFFFFFFFF)
        for offset in range(0, len(tail), _BLOCK_BYTES):
            _compress(state, tail[offset : offset + _BLOCK_BYTES])
        return struct.pack("<4I", state[0], state[1], state[2], state[3])

    def hexdigest(self):
        return hexlify(self.digest())


def pure_md5_hex(data):
    """Hex MD5 by the pure-Python code, whatever the runtime has."""
    return Md5(data).hexdigest()


if md5_hexdigest_available:
    import hashlib as _hashlib

    def md5_hex(data):
        """Hex MD5 of bytes or text, by hashlib where the runtime has md5."""
        if isinstance(data, str):
            data = data.encode()
        return hexlify(_hashlib.md5(data).digest())
else:
    md5_hex = pure_md5_hex

# Which implementation md5_hex() is, for tests and benchmarks.
USES_HASHLIB = md5_hexdigest_available
