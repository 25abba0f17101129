# RTP packets and PCMU frames (RFC 3550, G.711 mu-law).
from checks import raises
from panel.proto import rtp
from panel.proto.sip_message import RemoteError


def test_packet_round_trip():
    data = rtp.build_packet(0, 65535, 0xFFFFFFF0, 0x12345678, b"\xff" * 160, marker=True)
    assert len(data) == 172 and data[0] == 0x80 and data[1] == 0x80
    packet = rtp.parse_packet(data)
    assert packet.payload_type == 0 and packet.sequence == 65535 and packet.marker
    assert packet.timestamp == 0xFFFFFFF0 and packet.ssrc == 0x12345678
    assert packet.payload == b"\xff" * 160


def test_csrc_extension_and_padding_are_skipped():
    header = bytes([0xB1, 101, 0, 1, 0, 0, 0, 9, 0, 0, 0, 7])  # padding, ext, 1 CSRC
    csrc = b"\x00\x00\x00\x05"
    extension = b"\xbe\xde\x00\x01" + b"\x01\x02\x03\x04"
    payload = b"\x05\x8a\x03\x20"
    packet = rtp.parse_packet(header + csrc + extension + payload + b"\x00\x00\x03")
    assert packet.payload == payload and packet.payload_type == 101


def test_garbage_packets_are_remote_errors():
    cases = [
        b"",
        b"\x80" * 11,
        b"\x40" + b"\x00" * 20,
        bytes([0xA0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0]),  # padding 0
        bytes([0xA0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 200]),  # padding too big
        bytes([0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]),  # truncated ext
        bytes([0x8F, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),  # CSRCs missing
        b"\x80" * (rtp.MAX_PACKET + 1),
    ]
    for data in cases:
        raises(RemoteError, rtp.parse_packet, data)


def test_mu_law_known_values_and_round_trip():
    assert rtp.linear_to_ulaw(0) == 0xFF
    assert rtp.linear_to_ulaw(-1) == 0x7F
    assert rtp.linear_to_ulaw(32767) == 0x80
    assert rtp.linear_to_ulaw(-32768) == 0x00
    for sample in (-30000, -1000, -100, 0, 100, 1000, 30000):
        decoded = rtp.ulaw_to_linear(rtp.linear_to_ulaw(sample))
        # mu-law keeps about 4 significant bits: error within 1/16 of the value.
        assert abs(decoded - sample) <= abs(sample) // 16 + 8


def test_tone_frames_are_continuous_and_silence_is_ff():
    generator = rtp.ToneGenerator(frequency=1000, amplitude=8000)
    first = bytes(generator.next_frame())
    second = bytes(generator.next_frame())
    assert len(first) == rtp.FRAME_SAMPLES
    # 1000 Hz at 8000 Hz repeats every 8 samples: frames are identical and periodic.
    assert first == second and first[:8] == first[8:16]
    peak = max(abs(rtp.ulaw_to_linear(byte)) for byte in first)
    assert 7000 < peak < 9000
    silence = rtp.ToneGenerator(frequency=0)
    assert bytes(silence.next_frame()) == b"\xff" * rtp.FRAME_SAMPLES
