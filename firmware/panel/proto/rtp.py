# RTP (RFC 3550) for the panel's audio: header pack/parse, PCMU (G.711 mu-law)
# frames of a tone or silence, RFC 4733 telephone events, SIP INFO DTMF bodies,
# and the DTMF digit collector that opens locks (BAS-IP contract 6.1).
# Pure: packets come in as bytes, time comes in as ms ticks.
import struct

from panel.compat import const, ticks_diff
from panel.proto.sip_message import RemoteError

RTP_VERSION = const(2)
_HEADER_BYTES = const(12)
# Largest RTP datagram we read: 20 ms of PCMU is 172 bytes; 1500 covers any
# ptime a peer may pick, and one receive buffer of this size is preallocated.
MAX_PACKET = const(1500)
# Samples per 20 ms at 8000 Hz: one PCMU frame.
FRAME_SAMPLES = const(160)
# A mu-law byte for digital silence.
PCMU_SILENCE = const(0xFF)

# RFC 4733 event codes 0..15 as the digits a keypad shows.
EVENT_DIGITS = "0123456789*#ABCD"
# Length of a DTMF code the collector keeps (the API allows 1..4 characters).
MAX_CODE_LENGTH = const(4)
# The digit buffer resets this long after the last digit (contract 6.1).
DIGIT_RESET_MS = const(3000)


class RtpPacket:
    def __init__(self, payload_type, sequence, timestamp, ssrc, payload, marker=False):
        self.payload_type = payload_type
        self.sequence = sequence
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
        self.marker = marker


def pack_header(buffer, payload_type, sequence, timestamp, ssrc, marker=False):
    """Write a 12-byte RTP header (no CSRC, no extension) at the start of buffer."""
    struct.pack_into(
        "!BBHII",
        buffer,
        0,
        RTP_VERSION << 6,
        (0x80 if marker else 0) | (payload_type & 0x7F),
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc & 0xFFFFFFFF,
    )


def build_packet(payload_type, sequence, timestamp, ssrc, payload, marker=False):
    packet = bytearray(_HEADER_BYTES + len(payload))
    pack_header(packet, payload_type, sequence, timestamp, ssrc, marker)
    packet[_HEADER_BYTES:] = payload
    return bytes(packet)


def parse_packet(data):
    """Bytes into an RtpPacket, or RemoteError for anything not RTP version 2."""
    length = len(data)
    if length < _HEADER_BYTES or length > MAX_PACKET:
        raise RemoteError("RTP packet length")
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data, 0)
    if first >> 6 != RTP_VERSION:
        raise RemoteError("RTP version")
    offset = _HEADER_BYTES + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension
        if length < offset + 4:
            raise RemoteError("RTP extension truncated")
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = length
    if first & 0x20:  # padding count in last byte
        padding = data[length - 1]
        if padding == 0 or padding > length - offset:
            raise RemoteError("RTP padding")
        end -= padding
    if offset > end:
        raise RemoteError("RTP header longer than packet")
    return RtpPacket(
        second & 0x7F, sequence, timestamp, ssrc, bytes(data[offset:end]), bool(second & 0x80)
    )


def linear_to_ulaw(sample):
    """One 16-bit signed sample to a G.711 mu-law byte."""
    bias = 0x84
    clip = 32635
    if sample < 0:
        sample = -sample
        sign = 0x80
    else:
        sign = 0
    if sample > clip:
        sample = clip
    sample += bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return (sign | (exponent << 4) | mantissa) ^ 0xFF


def ulaw_to_linear(byte):
    """One mu-law byte back to a 16-bit signed sample."""
    byte ^= 0xFF
    exponent = (byte >> 4) & 0x07
    sample = (((byte & 0x0F) << 3) + 0x84) << exponent
    sample -= 0x84
    return -sample if byte & 0x80 else sample


class ToneGenerator:
    """Phase-continuous PCMU frames of one sine tone (or silence).

    A 256-entry table of mu-law bytes over one period, stepped through with a
    16.16 fixed-point phase, so no float work happens per frame and the frame
    buffer is reused (no allocation in the 20 ms path).
    """

    def __init__(self, frequency=425, amplitude=8000, sample_rate=8000):
        import math

        self.table = bytearray(256)
        for index in range(256):
            value = int(amplitude * math.sin(2 * math.pi * index / 256))
            self.table[index] = linear_to_ulaw(value)
        # Phase step per sample: frequency / rate of a 256-entry period, in 16.16.
        self.step = (frequency * 256 * 65536) // sample_rate
        self.phase = 0
        self.frame = bytearray(FRAME_SAMPLES)
        self.silent = frequency == 0

    def next_frame(self):
        frame = self.frame
        if self.silent:
            for index in range(FRAME_SAMPLES):
                frame[index] = PCMU_SILENCE
            return frame
        table = self.table
        phase = self.phase
        step = self.step
        for index in range(FRAME_SAMPLES):
            frame[index] = table[(phase >> 16) & 0xFF]
            phase = (phase + step) & 0xFFFFFF
        self.phase = phase
        return frame


def parse_telephone_event(payload):
    """RFC 4733 payload -> (event, end, volume, duration); RemoteError if short."""
    if len(payload) < 4:
        raise RemoteError("telephone-event payload too short")
    event, flags, duration = struct.unpack_from("!BBH", payload, 0)
    return event, bool(flags & 0x80), flags & 0x3F, duration


def build_telephone_event(event, end, volume, duration):
    return struct.pack("!BBH", event, (0x80 if end else 0) | (volume & 0x3F), duration)


class TelephoneEventReceiver:
    """Turns RFC 4733 packets into digits, each reported once.

    One event is all packets with the same RTP timestamp (RFC 4733 2.5.1.3).
    A digit is reported when its first end packet arrives; the end packet's
    retransmissions (usually three) are ignored. If a new event starts before
    any end packet of the previous one arrived, the previous digit is reported
    then (its end packets were lost).
    """

    def __init__(self):
        self._timestamp = None
        self._event = None
        self._reported = True
        self.ignored = 0

    def receive(self, packet):
        """An RtpPacket of the telephone-event type -> list of digits (0, 1 or 2)."""
        try:
            event, end, volume, duration = parse_telephone_event(packet.payload)
        except RemoteError:
            self.ignored += 1
            return []
        digits = []
        if packet.timestamp != self._timestamp:
            if not self._reported and self._event is not None:
                digits.append(self._event)
            self._timestamp = packet.timestamp
            self._event = EVENT_DIGITS[event] if event < 16 else None
            self._reported = False
            if self._event is None:
                self.ignored += 1  # flash hook and tones: not a digit
        if end and not self._reported:
            self._reported = True
            if self._event is not None:
                digits.append(self._event)
        return digits


def _digit_from_text(text):
    text = text.strip()
    if len(text) == 1 and text.upper() in EVENT_DIGITS:
        return text.upper()
    if text.isdigit() and len(text) <= 2 and int(text) < 16:
        return EVENT_DIGITS[int(text)]
    return None


def parse_info_dtmf(content_type, body):
    """A SIP INFO body -> digit, or None when the body carries no DTMF.

    application/dtmf-relay: lines "Signal=5" and "Duration=160".
    application/dtmf: the digit itself (or its event code) as the body.
    """
    if content_type is None or len(body) > 256:
        return None
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = bytes(body).decode()
    except UnicodeError:
        return None
    if kind == "application/dtmf-relay":
        for line in text.replace("\r\n", "\n").split("\n"):
            equals = line.find("=")
            if equals > 0 and line[:equals].strip().lower() == "signal":
                return _digit_from_text(line[equals + 1 :])
        return None
    if kind == "application/dtmf":
        return _digit_from_text(text)
    return None


class DigitCollector:
    """Matches the last digits received against lock codes (contract 6.1).

    codes: {lock number: code text}. add(digit, now) returns the list of locks
    whose code equals the last digits. The buffer resets DIGIT_RESET_MS after
    the previous digit, and after a match (so a repeated final digit does not
    open the lock a second time) [CHOICE].
    """

    def __init__(self, codes, reset_ms=DIGIT_RESET_MS):
        self.codes = {}
        for lock in codes:
            self.set_code(lock, codes[lock])
        self.reset_ms = reset_ms
        self.buffer = ""
        self._last = None

    def set_code(self, lock, code):
        if not code or len(code) > MAX_CODE_LENGTH:
            raise ValueError("DTMF code length")
        for character in code:
            if character not in EVENT_DIGITS:
                raise ValueError("DTMF code character")
        self.codes[lock] = code

    def add(self, digit, now):
        # Digits come from the network (RFC 4733, SIP INFO): anything but one
        # DTMF character is ignored, never raised.
        if not isinstance(digit, str) or len(digit) != 1 or digit not in EVENT_DIGITS:
            return []
        if self._last is not None and ticks_diff(now, self._last) >= self.reset_ms:
            self.buffer = ""
        self._last = now
        self.buffer = (self.buffer + digit)[-MAX_CODE_LENGTH:]
        opened = []
        for lock in sorted(self.codes):
            if self.buffer.endswith(self.codes[lock]):
                opened.append(lock)
        if opened:
            self.buffer = ""
        return opened
