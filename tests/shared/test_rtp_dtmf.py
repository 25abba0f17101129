# DTMF: RFC 4733 telephone events, SIP INFO bodies, the lock-code collector.
from panel.proto import rtp


def _event_packets(event, timestamp, sequence, ends=3):
    """A digit as a sender emits it: start, updates, then repeated end packets."""
    packets = []
    for duration in (160, 320, 480):
        payload = rtp.build_telephone_event(event, False, 10, duration)
        packets.append(rtp.RtpPacket(101, sequence, timestamp, 1, payload))
        sequence += 1
    for _ in range(ends):
        payload = rtp.build_telephone_event(event, True, 10, 640)
        packets.append(rtp.RtpPacket(101, sequence, timestamp, 1, payload))
        sequence += 1
    return packets


def _feed(receiver, packets):
    digits = []
    for packet in packets:
        digits.extend(receiver.receive(packet))
    return digits


def test_end_packets_counted_once_and_codes_mapped():
    receiver = rtp.TelephoneEventReceiver()
    packets = []
    for index in range(16):
        packets.extend(_event_packets(index, 1000 + index * 800, index * 10))
    assert "".join(_feed(receiver, packets)) == "0123456789*#ABCD"


def test_lost_end_packets_reported_when_next_event_starts():
    receiver = rtp.TelephoneEventReceiver()
    first = _event_packets(1, 1000, 0, ends=0)
    second = _event_packets(2, 2000, 10)
    assert _feed(receiver, first + second) == ["1", "2"]


def test_same_digit_twice_is_two_events():
    receiver = rtp.TelephoneEventReceiver()
    packets = _event_packets(5, 1000, 0) + _event_packets(5, 1800, 10)
    assert _feed(receiver, packets) == ["5", "5"]


def test_non_digit_events_and_short_payloads_ignored():
    receiver = rtp.TelephoneEventReceiver()
    assert _feed(receiver, _event_packets(16, 1000, 0)) == []  # flash
    assert receiver.receive(rtp.RtpPacket(101, 99, 5000, 1, b"\x01")) == []
    assert receiver.ignored == 2


def test_info_bodies():
    assert rtp.parse_info_dtmf("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n") == "5"
    assert rtp.parse_info_dtmf("application/dtmf-relay", b"Signal= #\r\nDuration=160") == "#"
    assert rtp.parse_info_dtmf("Application/DTMF-Relay; x=1", b"signal=11\r\n") == "#"
    assert rtp.parse_info_dtmf("application/dtmf", b"*") == "*"
    assert rtp.parse_info_dtmf("application/dtmf", b"10") == "*"
    assert rtp.parse_info_dtmf("application/dtmf", b"x") is None
    assert rtp.parse_info_dtmf("text/plain", b"Signal=5") is None
    assert rtp.parse_info_dtmf(None, b"5") is None
    assert rtp.parse_info_dtmf("application/dtmf-relay", b"\xff\xfe") is None


def test_collector_matches_last_digits_and_resets_after_3_s():
    collector = rtp.DigitCollector({1: "1", 2: "2#"})
    assert collector.add("9", 0) == []
    assert collector.add("2", 500) == []
    assert collector.add("#", 1000) == [2]
    assert collector.buffer == ""  # reset after a match
    assert collector.add("1", 1200) == [1]
    assert collector.add("2", 2000) == []
    assert collector.add("#", 5000) == []  # 3 s passed: "2" was dropped
    collector.set_code(1, "123A")
    for digit, now in (("1", 6000), ("2", 6500), ("3", 7000)):
        assert collector.add(digit, now) == []
    assert collector.add("A", 9999) == [1]


def test_collector_keeps_only_max_code_length_and_ignores_bad_digits():
    collector = rtp.DigitCollector({1: "1234"})
    for index, digit in enumerate("999991234"):
        result = collector.add(digit, index * 100)
    assert result == [1]
    assert collector.add("", 2000) == [] and collector.add("x", 2100) == []
    assert len(collector.buffer) <= rtp.MAX_CODE_LENGTH


def test_collector_ignores_values_that_are_not_one_character_strings():
    # Found by the call machine's property test: a digit event with no value.
    collector = rtp.DigitCollector({1: "1"})
    for value in (None, 1, b"1", ["1"], "11"):
        assert collector.add(value, 0) == []
    assert collector.add("1", 100) == [1]
