# proto.hybrid framing: CRC, COBS, frames, garbage on the wire. Runs under
# pytest and under MicroPython (make test-mpy).
from checks import raises
from panel.proto import hybrid


def _adapter_info():
    return hybrid.AdapterInfo("1.0", [("laskomex", 1, 80), ("vizit", 1, 40)], boot_id=7)


def test_crc16_ccitt_false_check_value():
    # The catalogue check value of CRC-16/CCITT-FALSE.
    assert hybrid.crc16(b"123456789") == 0x29B1
    assert hybrid.crc16(b"") == 0xFFFF


def test_cobs_round_trip_removes_every_zero():
    for data in (
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x11\x00\x22",
        bytes(range(85)),
        bytes(85),
        b"\x01" * 85,
    ):
        encoded = hybrid.cobs_encode(data)
        assert 0 not in encoded
        assert len(encoded) == len(data) + 1
        target = bytearray(90)
        size = hybrid.cobs_decode_into(encoded, len(encoded), target)
        assert bytes(target[:size]) == data


def test_cobs_decode_rejects_bad_code():
    target = bytearray(10)
    # Code 5 promises four bytes; only two follow.
    assert hybrid.cobs_decode_into(b"\x05\x01\x02", 3, target) == -1
    # Output longer than the target.
    assert hybrid.cobs_decode_into(b"\x0c" + b"\x01" * 11, 12, target) == -1


def test_ring_frame_is_eleven_bytes():
    frame = hybrid.encode_frame(0x10, 1, b"\x01\x00\x0a")
    assert len(frame) == 3 + hybrid.FRAME_OVERHEAD == 11
    assert frame[0] == 0 and frame[-1] == 0 and 0 not in frame[1:-1]
    # 10 bits per byte at 115200 baud: 0.955 ms.
    assert int(len(frame) * 10 * 1000000 // 115200) == 954


def test_parse_line():
    assert hybrid.parse_line("laskomex:10") == ("laskomex", 10)
    assert hybrid.parse_line("vizit:0") == ("vizit", 0)
    for text in ("vizit:", "laskomex", "sip:10", "vizit:1a", "vizit:-1", "vizit:65536", 10):
        raises(hybrid.LocalError, hybrid.parse_line, text)
    assert hybrid.format_line("vizit", 7) == "vizit:7"


def test_adapter_info_limits():
    info = _adapter_info()
    assert info.covers("laskomex", 80) and not info.covers("laskomex", 81)
    assert info.covers("vizit", 1) and not info.covers("vizit", 0)
    assert info.systems() == ["laskomex", "vizit"]
    assert info.protocol_version == "1.0"
    raises(hybrid.LocalError, hybrid.AdapterInfo, "x" * 25, [])
    raises(hybrid.LocalError, hybrid.AdapterInfo, "1.0", [("tcp", 1, 2)])
    raises(hybrid.LocalError, hybrid.AdapterInfo, "1.0", [("vizit", 5, 2)])
    raises(hybrid.LocalError, hybrid.AdapterInfo, "1.0", [("vizit", 1, 2)] * 9)


def test_constructor_misuse_is_local_error():
    raises(hybrid.LocalError, hybrid.HybridLink, "router")
    raises(hybrid.LocalError, hybrid.HybridLink, hybrid.ADAPTER)
    panel = hybrid.HybridLink(hybrid.PANEL)
    raises(hybrid.LocalError, panel.send, hybrid.Message("ring", "vizit", 1), 0)
    raises(hybrid.LocalError, panel.send, "ring", 0)
    raises(hybrid.LocalError, panel.hello, 0, 70000)


def test_garbage_is_counted_never_raised():
    panel = hybrid.HybridLink(hybrid.PANEL)
    panel.feed(b"\x00\x00")  # idle filler: not a drop
    assert panel.stats["bytes_discarded"] == 0
    panel.feed(b"\x01\x02\x03\x00")  # too short
    assert panel.stats["frames_dropped_framing"] == 1
    frame = bytearray(hybrid.encode_frame(0x90, 1, b"\x01\x00\x0a"))
    frame[3] ^= 0x40
    panel.feed(bytes(frame))
    assert panel.stats["frames_dropped_crc"] == 1
    panel.feed(b"\x55" * 300 + b"\x00")  # longer than any frame
    assert panel.stats["frames_dropped_oversize"] == 1
    assert panel.stats["bytes_discarded"] >= 300
    assert panel.next_event() is None
    assert panel.stats["frames_ok"] == 0


def test_valid_frame_in_wrong_direction_is_dropped():
    panel = hybrid.HybridLink(hybrid.PANEL)
    panel.feed(hybrid.encode_frame(0x10, 1, b"\x01\x00\x0a"))  # a RING, to the panel
    assert panel.stats["frames_dropped_unexpected"] == 1
    assert panel.next_event() is None


def test_resynchronises_after_garbage_at_the_next_delimiter():
    adapter = hybrid.HybridLink(hybrid.ADAPTER, _adapter_info())
    hello = hybrid.encode_frame(0x01, 0, b"\x01\x00\x12\x34")
    # Garbage without a delimiter glued in front of a frame spoils that frame
    # only; the next one is read.
    adapter.feed(b"\x13\x37" + hello + hello[3:] + hello)
    event = adapter.next_event()
    assert event.kind == "session" and event.detail == 0x1234
    assert adapter.stats["frames_dropped_crc"] + adapter.stats["frames_dropped_framing"] == 2
    assert adapter.ready
