# G.711 mu-law and A-law (panel.proto.g711) against a reference written here
# from the standard's tables (ITU-T G.711 Tables 1a and 2a: the decision
# levels of each segment, 16 intervals per segment; the decoder's output is the
# middle of an interval), with the input scaling of the ITU-T's reference code
# (G.191 g711.c: positive x >> 2 (mu) or >> 4 (A), negative (~x) >> 2 / >> 4).
# Every one of the 65536 sample values is checked, for the plain-Python
# version and, where the runtime has it (the unix MicroPython port), the viper
# twin, bit for bit.
from array import array

from panel.proto import g711


def _ulaw_lower_bounds():
    # Table 2a on the 14-bit scale: segment 1 is [0,1) then steps of 2 up to 31;
    # segment k+1 doubles the step; the last ends at 8159.
    bounds = [0, 1]
    value = 1
    for _ in range(14):
        value += 2
        bounds.append(value)
    step = 4
    value = 31
    for _ in range(7):
        for _ in range(16):
            bounds.append(value)
            value += step
        step *= 2
    return bounds, 8159


def _alaw_lower_bounds():
    # Table 1a on the 12-bit scale (x >> 4): segments 1 and 2 have step 1 over
    # [0,32); then the step doubles per segment up to 2048.
    bounds = list(range(32))
    step = 2
    value = 32
    for _ in range(6):
        for _ in range(16):
            bounds.append(value)
            value += step
        step *= 2
    return bounds, 2048


def _reference_codes(bounds, shift, code_for):
    """The reference code of every sample -32768..32767, as a bytearray."""
    codes = bytearray(65536)
    for sample in range(-32768, 32768):
        magnitude = ((~sample) if sample < 0 else sample) >> shift
        # Largest interval whose lower decision level is <= magnitude (a
        # binary search: the standard's tables read left to right).
        low, high = 0, len(bounds) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if bounds[middle] <= magnitude:
                low = middle
            else:
                high = middle - 1
        codes[sample + 32768] = code_for(low, sample >= 0)
    return codes


def _ulaw_code(interval, positive):
    return (0xFF if positive else 0x7F) - interval


def _alaw_code(interval, positive):
    return ((0x80 if positive else 0) | interval) ^ 0x55


def _reference_levels(bounds, top, scale, code_for):
    """Decoder output of every code: the middle of its interval (Tables 1a/2a)."""
    levels = {}
    for interval in range(128):
        upper = bounds[interval + 1] if interval + 1 < len(bounds) else top
        middle = (bounds[interval] + upper) * scale // 2
        if interval == 0 and code_for is _ulaw_code:
            middle = 0  # mu-law's first interval decodes to 0 (Table 2a)
        levels[code_for(interval, True)] = middle
        levels[code_for(interval, False)] = -middle
    return levels


def _encoders(law):
    found = [getattr(g711, law + "_encode_python")]
    if g711.NATIVE:
        found.append(getattr(g711, law + "_encode_native"))
    return found


def _decoders(law):
    found = [getattr(g711, law + "_decode_python")]
    if g711.NATIVE:
        found.append(getattr(g711, law + "_decode_native"))
    return found


def _check_every_sample(law, expected):
    frame = bytearray(256)
    for encode in _encoders(law):
        for start in range(-32768, 32768, 256):
            samples = array("h", range(start, start + 256))
            for given in (samples, bytes(samples), memoryview(bytearray(samples))):
                encode(given, frame, 256)
                offset = start + 32768
                assert frame == expected[offset : offset + 256], (law, encode, start)


def test_ulaw_every_sample_matches_the_standard_tables():
    bounds, _ = _ulaw_lower_bounds()
    _check_every_sample("ulaw", _reference_codes(bounds, 2, _ulaw_code))


def test_alaw_every_sample_matches_the_standard_tables():
    bounds, _ = _alaw_lower_bounds()
    _check_every_sample("alaw", _reference_codes(bounds, 4, _alaw_code))


def _check_every_code(law, levels):
    codes = bytes(range(256))
    for decode in _decoders(law):
        pcm = bytearray(512)
        decode(codes, pcm, 256)
        for code in range(256):
            value = pcm[2 * code] | (pcm[2 * code + 1] << 8)
            if value & 0x8000:
                value -= 0x10000
            assert value == levels[code], (law, decode, code, value, levels[code])


def test_ulaw_decoding_gives_the_middle_of_each_interval():
    bounds, top = _ulaw_lower_bounds()
    _check_every_code("ulaw", _reference_levels(bounds, top, 4, _ulaw_code))


def test_alaw_decoding_gives_the_middle_of_each_interval():
    bounds, top = _alaw_lower_bounds()
    _check_every_code("alaw", _reference_levels(bounds, top, 16, _alaw_code))


def test_known_vectors():
    # Published values: silence, -1 in one's complement, the two extremes.
    assert g711.ulaw_encode_sample(0) == 0xFF and g711.ulaw_encode_sample(-1) == 0x7F
    assert g711.ulaw_encode_sample(32767) == 0x80 and g711.ulaw_encode_sample(-32768) == 0x00
    assert g711.alaw_encode_sample(0) == 0xD5 and g711.alaw_encode_sample(-1) == 0x55
    assert g711.alaw_encode_sample(32767) == 0xAA and g711.alaw_encode_sample(-32768) == 0x2A
    assert g711.ULAW_TABLE[0x80] == 32124 and g711.ULAW_TABLE[0x00] == -32124
    assert g711.ALAW_TABLE[0xAA] == 32256 and g711.ALAW_TABLE[0x2A] == -32256
    assert g711.PCMU.silence == g711.ulaw_encode_sample(0)
    assert g711.PCMA.silence == g711.alaw_encode_sample(0)


def test_decoded_codes_encode_to_themselves():
    for codec, table in ((g711.PCMU, g711.ULAW_TABLE), (g711.PCMA, g711.ALAW_TABLE)):
        pcm = bytearray(512)
        codec.decode(bytes(range(256)), pcm, 256)
        again = bytearray(256)
        codec.encode(pcm, again, 256)
        for code in range(256):
            if table[code] == 0 and codec is g711.PCMU:
                assert again[code] == 0xFF  # -0 and +0 are one sample value
            else:
                assert again[code] == code, (codec.name, code)


def test_whole_frame_defaults_and_codec_lookup():
    samples = array("h", [(index * 409) % 60000 - 30000 for index in range(160)])
    payload = bytearray(g711.FRAME_SAMPLES)
    g711.PCMA.encode(samples, payload)
    pcm = bytearray(g711.FRAME_BYTES)
    g711.PCMA.decode(payload, pcm)
    for index in range(160):
        value = pcm[2 * index] | (pcm[2 * index + 1] << 8)
        value = value - 0x10000 if value & 0x8000 else value
        # A-law keeps 4 bits after the leading one: error within 1/32 + a step.
        assert abs(value - samples[index]) <= abs(samples[index]) // 32 + 16
    assert g711.codec_named("PCMU") is g711.PCMU and g711.codec_named("pcma") is g711.PCMA
    assert g711.codec_named("g722") is None
