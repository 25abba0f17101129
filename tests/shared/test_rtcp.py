# RTCP sender and receiver reports (RFC 3550 6.4) and receiver statistics (A.1, A.3, A.8).
from checks import raises
from panel.proto import rtcp
from panel.proto.sip_message import RemoteError


def test_receiver_statistics_count_losses_over_the_wrap():
    stats = rtcp.ReceptionStats()
    sequences = [65530 + index for index in range(6)] + [0, 1, 3, 4]  # 2 is lost
    for position, sequence in enumerate(sequences):
        # Packets every 160 timestamp units arriving exactly on time: no jitter.
        stats.update(0xABC, sequence & 0xFFFF, 1000 + 160 * position, 5000 + 160 * position)
    block = stats.block(None)
    assert block.highest_sequence == 65536 + 4
    assert block.cumulative_lost == 1 and block.jitter == 0
    assert block.fraction_lost == (1 << 8) // 11
    # The next interval had no loss: fraction 0, the cumulative count stays.
    stats.update(0xABC, 5, 1000 + 160 * 10, 5000 + 160 * 10)
    assert stats.block(None).fraction_lost == 0


def test_jitter_follows_arrival_variation():
    stats = rtcp.ReceptionStats()
    for index in range(200):
        late = 80 if index % 2 else 0  # every other packet 10 ms late
        stats.update(1, index, 160 * index, 160 * index + late)
    # A.8: J converges towards the mean |D| = 80 units.
    assert 60 <= stats.block(None).jitter <= 80


def test_sender_and_receiver_reports_round_trip():
    block = rtcp.ReportBlock(0x1234, 12, -3, 70000, 55, 0xAABBCCDD, 6554)
    sender = (3900000000, 0x80000000, 123456, 250, 40000)
    packet = rtcp.build_report(0x99, "panel@10.0.0.7", block, sender)
    assert len(packet) % 4 == 0
    (report,) = rtcp.parse(packet)
    assert report.kind == rtcp.SR and report.ssrc == 0x99
    assert report.ntp_seconds == 3900000000 and report.sender_packets == 250
    (parsed,) = report.blocks
    assert (parsed.ssrc, parsed.fraction_lost, parsed.cumulative_lost) == (0x1234, 12, -3)
    assert (parsed.highest_sequence, parsed.jitter, parsed.lsr) == (70000, 55, 0xAABBCCDD)
    (receiver,) = rtcp.parse(rtcp.build_report(0x77, "p", None, None))
    assert receiver.kind == rtcp.RR and receiver.blocks == [] and receiver.sender_packets is None


def test_garbage_is_a_remote_error():
    good = rtcp.build_report(1, "x", rtcp.ReportBlock(2, 0, 0, 0, 0, 0, 0))
    cases = [
        b"",
        b"\x80\xc9\x00",
        b"\x40\xc9\x00\x01" + b"\x00" * 4,  # version 1
        bytes(good[:-4]),  # length beyond the packet
        b"\x81\xca\x00\x01" + b"\x00" * 4,  # starts with SDES
        b"\x81\xc9\x00\x01" + b"\x00" * 4,  # RR claims a block it lacks
        b"\x80\xc9\x00\x01" * 400,  # too long
    ]
    for data in cases:
        raises(RemoteError, rtcp.parse, data)
