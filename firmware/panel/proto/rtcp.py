# RTCP (RFC 3550 section 6) for the panel's one audio stream: sender and
# receiver reports (6.4) with one SDES CNAME (6.5: every compound packet
# carries one), the receiver statistics they report (appendix A.1, A.3, A.8),
# and a parser of the peer's compound packets. Pure: times come in as
# arguments (NTP seconds as an int and a 32-bit fraction, RTP timestamp units).
import struct

from panel.compat import const
from panel.proto.sip_message import RemoteError

SR = const(200)
RR = const(201)
SDES = const(202)
BYE = const(203)
# Largest compound packet read and parsed (one preallocated receive buffer).
MAX_PACKET = const(1500)
# Report blocks kept from one report (RC is 5 bits: up to 31 on the wire).
_MAX_BLOCKS = const(31)
# Packets of one compound looked at; the rest are ignored (bounds the work).
_MAX_PARTS = const(8)
_SDES_CNAME = const(1)
# RFC 3550 A.1: a sequence jump beyond this (or before by MAX_MISORDER) is a
# restart of the peer's stream, not a loss.
_MAX_DROPOUT = const(3000)
_MAX_MISORDER = const(100)


class ReportBlock:
    def __init__(self, ssrc, fraction_lost, cumulative_lost, highest_sequence, jitter, lsr, dlsr):
        self.ssrc = ssrc
        self.fraction_lost = fraction_lost
        self.cumulative_lost = cumulative_lost
        self.highest_sequence = highest_sequence
        self.jitter = jitter
        self.lsr = lsr
        self.dlsr = dlsr


class Report:
    """One SR or RR of a compound packet (sender_* are None in an RR)."""

    def __init__(self, kind, ssrc):
        self.kind = kind
        self.ssrc = ssrc
        self.ntp_seconds = None
        self.ntp_fraction = None
        self.rtp_timestamp = None
        self.sender_packets = None
        self.sender_octets = None
        self.blocks = []


class ReceptionStats:
    """What we received from one source, for our report blocks (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self):
        self.ssrc = None
        self.base = 0  # extended sequence number of the first packet
        self.cycles = 0  # count of sequence wraps, times 65536
        self.max_sequence = 0
        self.received = 0
        self.jitter = 0  # interarrival jitter, scaled by 16 (A.8)
        self._transit = None
        self._expected_prior = 0
        self._received_prior = 0
        self.lsr = 0  # middle 32 bits of the last SR's NTP time
        self.lsr_at = None  # our ms ticks when that SR arrived (the caller keeps time)

    def update(self, ssrc, sequence, timestamp, arrival):
        """One RTP packet: its SSRC, sequence, RTP timestamp, and arrival in RTP units."""
        if self.ssrc != ssrc:
            self.ssrc = ssrc
            self.base = sequence
            self.max_sequence = sequence
            self.cycles = 0
            self.received = 0
            self.jitter = 0
            self._transit = None
            self._expected_prior = 0
            self._received_prior = 0
        delta = (sequence - self.max_sequence) & 0xFFFF
        if delta < _MAX_DROPOUT:
            if sequence < self.max_sequence:
                self.cycles += 65536
            self.max_sequence = sequence
        elif delta <= 65536 - _MAX_MISORDER:
            # A big jump: a new start of the stream (A.1 would wait for a
            # second packet; one call's stream restarting is rare enough).
            self.base = sequence
            self.max_sequence = sequence
            self.cycles = 0
            self.received = 0
            self._expected_prior = 0
            self._received_prior = 0
        self.received += 1
        transit = (arrival - timestamp) & 0xFFFFFFFF
        if self._transit is not None:
            difference = (transit - self._transit) & 0xFFFFFFFF
            if difference & 0x80000000:
                difference = 0x100000000 - difference
            self.jitter += difference - ((self.jitter + 8) >> 4)
        self._transit = transit

    def extended_max(self):
        return self.cycles + self.max_sequence

    def block(self, since_sr_ms):
        """Our report block on this source (A.3), or None before any packet.

        since_sr_ms: ms since the peer's last SR arrived (for DLSR), or None.
        """
        if self.ssrc is None:
            return None
        expected = self.extended_max() - self.base + 1
        lost = expected - self.received
        lost = max(-0x800000, min(0x7FFFFF, lost))
        expected_interval = expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        dlsr = 0
        if self.lsr and since_sr_ms is not None:
            dlsr = (since_sr_ms * 65536) // 1000
        return ReportBlock(
            self.ssrc,
            fraction,
            lost,
            self.extended_max() & 0xFFFFFFFF,
            self.jitter >> 4,
            self.lsr,
            dlsr & 0xFFFFFFFF,
        )


def _pack_block(buffer, offset, block):
    struct.pack_into(
        "!IIIIII",
        buffer,
        offset,
        block.ssrc & 0xFFFFFFFF,
        ((block.fraction_lost & 0xFF) << 24) | (block.cumulative_lost & 0xFFFFFF),
        block.highest_sequence & 0xFFFFFFFF,
        block.jitter & 0xFFFFFFFF,
        block.lsr & 0xFFFFFFFF,
        block.dlsr & 0xFFFFFFFF,
    )


def build_report(ssrc, cname, block=None, sender=None):
    """A compound packet: SR (sender given) or RR, then SDES CNAME.

    sender: (ntp_seconds, ntp_fraction, rtp_timestamp, packets, octets) when we
    sent RTP since the last report; block: a ReportBlock or None.
    """
    blocks = 0 if block is None else 1
    if sender is not None:
        head = 28
        kind = SR
    else:
        head = 8
        kind = RR
    report_bytes = head + 24 * blocks
    cname_bytes = bytes(cname, "utf-8")[:255]
    # SDES: header, SSRC, item (type, length, text), a zero item end, padded to 4.
    chunk = 4 + 2 + len(cname_bytes) + 1
    chunk += (4 - chunk % 4) % 4
    sdes_bytes = 4 + chunk
    packet = bytearray(report_bytes + sdes_bytes)
    struct.pack_into("!BBHI", packet, 0, 0x80 | blocks, kind, report_bytes // 4 - 1, ssrc)
    if sender is not None:
        ntp_seconds, ntp_fraction, rtp_timestamp, packets, octets = sender
        struct.pack_into(
            "!IIIII",
            packet,
            8,
            ntp_seconds & 0xFFFFFFFF,
            ntp_fraction & 0xFFFFFFFF,
            rtp_timestamp & 0xFFFFFFFF,
            packets & 0xFFFFFFFF,
            octets & 0xFFFFFFFF,
        )
    if block is not None:
        _pack_block(packet, head, block)
    offset = report_bytes
    struct.pack_into("!BBHIBB", packet, offset, 0x81, SDES, sdes_bytes // 4 - 1, ssrc, 1, 0)
    packet[offset + 9] = len(cname_bytes)
    packet[offset + 10 : offset + 10 + len(cname_bytes)] = cname_bytes
    return packet


def parse(data):
    """A compound RTCP packet -> list of Report (SR and RR only); RemoteError if garbage."""
    length = len(data)
    if length < 8 or length > MAX_PACKET:
        raise RemoteError("RTCP packet length")
    reports = []
    offset = 0
    parts = 0
    while offset < length and parts < _MAX_PARTS:
        parts += 1
        if length - offset < 4:
            raise RemoteError("RTCP header truncated")
        first, kind, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != 2:
            raise RemoteError("RTCP version")
        size = 4 * (words + 1)
        if offset + size > length:
            raise RemoteError("RTCP length beyond packet")
        if parts == 1 and kind not in (SR, RR):
            # RFC 3550 6.1: a compound packet starts with an SR or an RR.
            raise RemoteError("RTCP compound must start with SR or RR")
        if kind in (SR, RR):
            reports.append(_parse_report(data, offset, size, first & 0x1F, kind))
        offset += size
    return reports


def _parse_report(data, offset, size, count, kind):
    head = 28 if kind == SR else 8
    if size < head + 24 * count:
        raise RemoteError("RTCP report shorter than its blocks")
    report = Report(kind, struct.unpack_from("!I", data, offset + 4)[0])
    if kind == SR:
        (
            report.ntp_seconds,
            report.ntp_fraction,
            report.rtp_timestamp,
            report.sender_packets,
            report.sender_octets,
        ) = struct.unpack_from("!IIIII", data, offset + 8)
    for index in range(min(count, _MAX_BLOCKS)):
        ssrc, lost_word, highest, jitter, lsr, dlsr = struct.unpack_from(
            "!IIIIII", data, offset + head + 24 * index
        )
        cumulative = lost_word & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 0x1000000
        report.blocks.append(
            ReportBlock(ssrc, lost_word >> 24, cumulative, highest, jitter, lsr, dlsr)
        )
    return report
