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
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
)

# floor(abs(sin(i + 1)) * 2**32), written out: single-precision floats on some
# MicroPython ports would not reproduce them.
_SINES = (
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
    0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
    0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
    0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
    0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
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
        self._state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
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
            _compress(self._state, pending[offset:offset + _BLOCK_BYTES])
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
            _compress(state, tail[offset:offset + _BLOCK_BYTES])
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
