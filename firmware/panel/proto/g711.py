# G.711 (ITU-T, 11/88) mu-law (PCMU, RTP payload type 0) and A-law (PCMA,
# payload type 8) for the panel's voice: 8000 Hz, 20 ms frames of 160 samples.
# Pure: frames come in as buffers and go out into buffers the caller
# preallocated, so the 20 ms path allocates nothing.
#
# The arithmetic is that of the ITU-T's own reference code (G.191 software
# tools, g711.c: ulaw_compress/expand, alaw_compress/expand): negative samples
# are taken in one's complement (~x), which is what makes -1 encode to 0x7F in
# mu-law and 0x55 in A-law, as the standard's tables have it.
#
# Linear frames are 16-bit signed samples, little-endian, as bytes, bytearray
# or memoryview (320 bytes per frame), or an array('h'). Each operation has a
# plain-Python version and, on MicroPython ports with the native emitters, a
# @micropython.viper twin compiled at import (panel.compat.compile_native);
# the tests compare both bit for bit on every sample value.
from array import array

from panel.compat import compile_native, const

# Samples in one 20 ms frame at 8000 Hz (one byte each once encoded).
FRAME_SAMPLES = const(160)
# Bytes of one linear frame: 160 samples of 16 bits.
FRAME_BYTES = const(320)
PCMU_PAYLOAD_TYPE = const(0)
PCMA_PAYLOAD_TYPE = const(8)
# Encoded digital silence (the code a 0 sample gives).
PCMU_SILENCE = const(0xFF)
PCMA_SILENCE = const(0xD5)

# Bit length of 0..127: the segment of a sample's magnitude (mu-law: of
# magnitude >> 6, A-law: of magnitude >> 4). 128 bytes instead of a loop.
_BIT_LENGTH = bytearray(128)
for _value in range(1, 128):
    _BIT_LENGTH[_value] = _BIT_LENGTH[_value >> 1] + 1


def _ulaw_expand(code):
    # G.191 ulaw_expand: codes are stored inverted; 0x80 set means positive.
    inverted = code ^ 0xFF
    exponent = (inverted >> 4) & 7
    mantissa = inverted & 0x0F
    value = ((2 * mantissa + 33) << (exponent + 2)) - 132
    return value if code & 0x80 else -value


def _alaw_expand(code):
    # G.191 alaw_expand: even bits inverted (0x55); 0x80 set means positive.
    toggled = (code ^ 0x55) & 0x7F
    exponent = toggled >> 4
    mantissa = toggled & 0x0F
    if exponent > 0:
        mantissa += 16
    mantissa = (mantissa << 4) + 8
    if exponent > 1:
        mantissa <<= exponent - 1
    return mantissa if code & 0x80 else -mantissa


# Decoding is one table look-up per byte (2 x 512 bytes of heap).
ULAW_TABLE = array("h", [_ulaw_expand(code) for code in range(256)])
ALAW_TABLE = array("h", [_alaw_expand(code) for code in range(256)])


def ulaw_encode_sample(sample):
    """One 16-bit signed sample to a mu-law byte (G.191 ulaw_compress)."""
    if sample < 0:
        magnitude = ((~sample) >> 2) + 33
        sign = 0
    else:
        magnitude = (sample >> 2) + 33
        sign = 0x80
    if magnitude > 0x1FFF:
        magnitude = 0x1FFF
    segment = _BIT_LENGTH[magnitude >> 6] + 1
    return sign | ((8 - segment) << 4) | (15 - ((magnitude >> segment) & 0x0F))


def alaw_encode_sample(sample):
    """One 16-bit signed sample to an A-law byte (G.191 alaw_compress)."""
    if sample < 0:
        magnitude = (~sample) >> 4
        sign = 0
    else:
        magnitude = sample >> 4
        sign = 0x80
    if magnitude > 15:
        exponent = _BIT_LENGTH[magnitude >> 4]
        magnitude = (magnitude >> (exponent - 1)) - 16 + (exponent << 4)
    return (sign | magnitude) ^ 0x55


def _sample_reader(samples):
    """(indexable, is_bytes) for a linear frame of either accepted kind."""
    if isinstance(samples, array):
        return samples, False
    return samples, True


def _encode_python(samples, output, count, encode_sample):
    source, is_bytes = _sample_reader(samples)
    if is_bytes:
        for index in range(count):
            value = source[2 * index] | (source[2 * index + 1] << 8)
            if value & 0x8000:
                value -= 0x10000
            output[index] = encode_sample(value)
    else:
        for index in range(count):
            output[index] = encode_sample(source[index])


def ulaw_encode_python(samples, output, count=FRAME_SAMPLES):
    _encode_python(samples, output, count, ulaw_encode_sample)


def alaw_encode_python(samples, output, count=FRAME_SAMPLES):
    _encode_python(samples, output, count, alaw_encode_sample)


def _decode_python(payload, output, count, table):
    for index in range(count):
        value = table[payload[index]]
        output[2 * index] = value & 0xFF
        output[2 * index + 1] = (value >> 8) & 0xFF


def ulaw_decode_python(payload, output, count=FRAME_SAMPLES):
    _decode_python(payload, output, count, ULAW_TABLE)


def alaw_decode_python(payload, output, count=FRAME_SAMPLES):
    _decode_python(payload, output, count, ALAW_TABLE)


# The viper twins: the same arithmetic on raw 16-bit words (ptr16 reads a
# sample unsigned; bit 15 is its sign). Viper takes at most four arguments,
# so the segment table comes in as the fourth. Little-endian words, as on
# every board the panel runs on (Xtensa, ARM, RISC-V, x86).
_NATIVE_SOURCE = """
import micropython

@micropython.viper
def ulaw_encode(samples, output, count: int, segments):
    source = ptr16(samples)
    target = ptr8(output)
    bit_length = ptr8(segments)
    index = 0
    while index < count:
        word = source[index]
        if word & 0x8000:
            magnitude = ((word ^ 0xFFFF) >> 2) + 33
            sign = 0
        else:
            magnitude = (word >> 2) + 33
            sign = 0x80
        if magnitude > 0x1FFF:
            magnitude = 0x1FFF
        segment = bit_length[magnitude >> 6] + 1
        target[index] = sign | ((8 - segment) << 4) | (15 - ((magnitude >> segment) & 0x0F))
        index += 1

@micropython.viper
def alaw_encode(samples, output, count: int, segments):
    source = ptr16(samples)
    target = ptr8(output)
    bit_length = ptr8(segments)
    index = 0
    while index < count:
        word = source[index]
        if word & 0x8000:
            magnitude = (word ^ 0xFFFF) >> 4
            sign = 0
        else:
            magnitude = word >> 4
            sign = 0x80
        if magnitude > 15:
            exponent = bit_length[magnitude >> 4]
            magnitude = (magnitude >> (exponent - 1)) - 16 + (exponent << 4)
        target[index] = (sign | magnitude) ^ 0x55
        index += 1

@micropython.viper
def decode(payload, output, count: int, table):
    source = ptr8(payload)
    target = ptr16(output)
    values = ptr16(table)
    index = 0
    while index < count:
        target[index] = values[source[index]]
        index += 1
"""

_native = compile_native(_NATIVE_SOURCE, ("ulaw_encode", "alaw_encode", "decode"))
# True where the viper twins are in use (the tests and benchmarks report it).
NATIVE = _native is not None

if _native is not None:
    _native_ulaw_encode = _native["ulaw_encode"]
    _native_alaw_encode = _native["alaw_encode"]
    _native_decode = _native["decode"]

    def ulaw_encode_native(samples, output, count=FRAME_SAMPLES):
        _native_ulaw_encode(samples, output, count, _BIT_LENGTH)

    def alaw_encode_native(samples, output, count=FRAME_SAMPLES):
        _native_alaw_encode(samples, output, count, _BIT_LENGTH)

    def ulaw_decode_native(payload, output, count=FRAME_SAMPLES):
        _native_decode(payload, output, count, ULAW_TABLE)

    def alaw_decode_native(payload, output, count=FRAME_SAMPLES):
        _native_decode(payload, output, count, ALAW_TABLE)

    ulaw_encode = ulaw_encode_native
    alaw_encode = alaw_encode_native
    ulaw_decode = ulaw_decode_native
    alaw_decode = alaw_decode_native
else:
    ulaw_encode_native = alaw_encode_native = None
    ulaw_decode_native = alaw_decode_native = None
    ulaw_encode = ulaw_encode_python
    alaw_encode = alaw_encode_python
    ulaw_decode = ulaw_decode_python
    alaw_decode = alaw_decode_python


class Codec:
    """One G.711 law: encode(samples, payload[, count]), decode(payload, pcm[, count])."""

    def __init__(self, name, payload_type, silence, encode, decode):
        self.name = name
        self.payload_type = payload_type
        self.silence = silence
        self.encode = encode
        self.decode = decode


PCMU = Codec("pcmu", PCMU_PAYLOAD_TYPE, PCMU_SILENCE, ulaw_encode, ulaw_decode)
PCMA = Codec("pcma", PCMA_PAYLOAD_TYPE, PCMA_SILENCE, alaw_encode, alaw_decode)
# SDP encoding names we speak, in our order of preference (PCMU first).
CODECS = (PCMU, PCMA)


def codec_named(name):
    """The Codec for an SDP encoding name ("pcmu", "PCMA"), or None."""
    name = name.lower()
    for codec in CODECS:
        if codec.name == name:
            return codec
    return None
