"""RTP for one call: 20 ms G.711 frames both ways, RTCP reports, RFC 4733 digits.

session = RtpSession(transport, plan, on_digit=None, tone_frequency=0,
                     random_bytes=None, source=None, sink=None,
                     rtcp_transport=None, cname="panel")
    transport   a bound UDP socket for our RTP port (the one in our SDP); the
                session wraps it (drivers.sockets.wrap), sets it non-blocking,
                polls it for readability and reads into one preallocated
                buffer (recvfrom_into where the runtime has it).
    plan        proto.sdp.MediaPlan from SipUserAgent's "answered" event
                (remote address and port, the negotiated law: plan.codec
                "pcmu" or "pcma", and the telephone-event type).
    on_digit    callable(digit) for each RFC 4733 digit, once per key press.
    source      what we send (duck-typed): source.read_frame(buffer) fills the
                320-byte buffer with 20 ms of 16-bit little-endian PCM at
                8 kHz and returns True, or returns False for silence. None: a
                ToneSource(tone_frequency) (0: silence), as before.
    sink        what we heard: sink.write_frame(frame) gets every 20 ms one
                320-byte frame of PCM out of the jitter buffer (a memoryview
                valid during the call only: copy it to keep it). None: the
                audio is still received, counted and buffered, then dropped.
    rtcp_transport  a bound UDP socket on our RTP port + 1 (RFC 3550 11), or
                None: no RTCP. Every RTCP_INTERVAL_MS a sender report (or a
                receiver report, before we sent anything) goes to the peer's
                port + 1; what comes in is parsed and counted.
session.start() / session.stop()   the 20 ms task (needs a running loop)
session.poll(now)                  one round: read packets, send due frames
session.set_tone(frequency)        a ToneSource instead of the source (0: silence)
session.counters                   sent, received, malformed, foreign, events,
                                   send_errors, receive_errors, poll_errors,
                                   audio_in, frames_out (to the sink),
                                   rtcp_sent, rtcp_received, rtcp_malformed,
                                   rtcp_send_errors
session.jitter                     the proto.jitter.JitterBuffer (its counters,
                                   depth)
Socket and heap errors are counted, logged, and the task backs off and goes
on (drivers.polled_socket); RTCP parse errors are counted, never raised out of
the poll. The 20 ms path allocates no buffers: packet, PCM and payload
buffers are preallocated (parsing an incoming packet copies its payload).

The lead's call controller feeds on_digit (and the UA's INFO "dtmf" events)
into a proto.rtp.DigitCollector to open locks, for instance
    collector = rtp.DigitCollector({1: code_1, 2: code_2})
    on_digit = lambda digit: open_locks(collector.add(digit, ticks_ms()))
Packets are accepted from any source address (no latching yet).
"""

from array import array

from panel.compat import const, ticks_add, ticks_diff, ticks_ms, urandom
from panel.drivers import sockets
from panel.drivers.polled_socket import PolledSocket
from panel.proto import g711, jitter, rtcp, rtp
from panel.proto.sip_message import RemoteError

# Frame period in ms (ptime 20: 160 G.711 samples).
FRAME_MS = const(20)
# Packets read per poll: bounds work under a flood (a normal peer sends 1 per 20 ms).
_MAX_PACKETS_PER_POLL = const(16)
# RTCP packets read per poll (a peer sends one every few seconds).
_MAX_RTCP_PER_POLL = const(4)
# If sending falls this many frames behind (a stalled loop), skip ahead
# instead of bursting the backlog out.
_MAX_BACKLOG_FRAMES = const(5)
# Between two RTCP reports (RFC 3550 6.2: 5 s is the recommended minimum).
RTCP_INTERVAL_MS = const(5000)
# RFC 3550 6.4.1: NTP time starts in 1900; Unix time in 1970.
_NTP_UNIX_OFFSET = 2208988800
# Seconds from 1970 to 2000 (the epoch of MicroPython's bare-metal ports).
_EPOCH_2000_OFFSET = 946684800


def _codec_for(plan):
    codec = g711.codec_named(getattr(plan, "codec", None) or "")
    if codec is None:
        # A plan without a codec name (older callers): its payload type says it.
        codec = g711.PCMA if plan.audio_type == g711.PCMA_PAYLOAD_TYPE else g711.PCMU
    return codec


class ToneSource:
    """A source of one sine tone (frequency 0: silence), phase-continuous.

    A 256-entry table of samples over one period, stepped through with a
    16.16 fixed-point phase: no float work and no allocation per frame.
    """

    def __init__(self, frequency=425, amplitude=8000, sample_rate=8000):
        import math

        self.frequency = frequency
        self.table = array(
            "h", [int(amplitude * math.sin(2 * math.pi * index / 256)) for index in range(256)]
        )
        self.step = (frequency * 256 * 65536) // sample_rate
        self.phase = 0

    def read_frame(self, buffer):
        if not self.frequency:
            return False
        table = self.table
        phase = self.phase
        step = self.step
        for index in range(g711.FRAME_SAMPLES):
            value = table[(phase >> 16) & 0xFF]
            buffer[2 * index] = value & 0xFF
            buffer[2 * index + 1] = (value >> 8) & 0xFF
            phase = (phase + step) & 0xFFFFFF
        self.phase = phase
        return True


class RtpSession(PolledSocket):
    def __init__(
        self,
        transport,
        plan,
        on_digit=None,
        tone_frequency=0,
        random_bytes=None,
        source=None,
        sink=None,
        rtcp_transport=None,
        cname="panel",
    ):
        random_bytes = random_bytes or urandom
        self.transport = sockets.wrap(transport)
        self.rtcp_transport = None if rtcp_transport is None else sockets.wrap(rtcp_transport)
        self.remote = (plan.address, plan.port)
        self.rtcp_remote = (plan.address, plan.port + 1)
        self.codec = _codec_for(plan)
        self.audio_type = plan.audio_type
        self.event_type = plan.event_type
        self.on_digit = on_digit
        self.source = source if source is not None else ToneSource(tone_frequency)
        self.sink = sink
        self.cname = cname
        seed = random_bytes(8)
        # RFC 3550: random SSRC, initial sequence number and timestamp.
        self.ssrc = int.from_bytes(seed[:4], "big") & 0x7FFFFFFF
        self.sequence = int.from_bytes(seed[4:6], "big")
        self.timestamp = int.from_bytes(seed[6:8], "big") * 65536
        self.events = rtp.TelephoneEventReceiver()
        self.jitter = jitter.JitterBuffer(self.codec.decode)
        self.reception = rtcp.ReceptionStats()
        self.counters = {
            "sent": 0,
            "received": 0,
            "malformed": 0,
            "foreign": 0,
            "events": 0,
            "send_errors": 0,
            "receive_errors": 0,
            "poll_errors": 0,
            "audio_in": 0,
            "frames_out": 0,
            "rtcp_sent": 0,
            "rtcp_received": 0,
            "rtcp_malformed": 0,
            "rtcp_send_errors": 0,
        }
        self.octets_sent = 0
        self.last_report = None  # the peer's last proto.rtcp.Report
        # One preallocated packet buffer: header + one G.711 frame, and a view
        # of its payload for the encoder.
        self._packet = bytearray(12 + g711.FRAME_SAMPLES)
        self._payload = memoryview(self._packet)[12:]
        # 20 ms of PCM from the source, and 20 ms for the sink.
        self._pcm_out = bytearray(g711.FRAME_BYTES)
        self._pcm_in = bytearray(g711.FRAME_BYTES)
        self._pcm_in_view = memoryview(self._pcm_in)
        # One preallocated receive buffer, a byte longer than the longest
        # packet accepted so that an oversized one is seen (and refused).
        self._received = bytearray(rtp.MAX_PACKET + 1)
        self._received_view = memoryview(self._received)
        self._rtcp_received = bytearray(rtcp.MAX_PACKET + 1)
        self._rtcp_view = memoryview(self._rtcp_received)
        self._next_send = None
        self._next_report = None
        self._started_at = None
        self._report_received_at = None
        self._marker = True

    def set_tone(self, frequency):
        self.source = ToneSource(frequency)

    def poll(self, now):
        """Read waiting packets, then send (and play) every frame that is due."""
        for _ in range(_MAX_PACKETS_PER_POLL):
            count = self.receive_into(self._received)
            if not count:
                break  # nothing waiting, or an error (counted, logged, backed off)
            self.receive_packet(self._received_view[:count], None, now)
        if self.rtcp_transport is not None:
            self._poll_rtcp(now)
        if self._next_send is None:
            self._next_send = now
            self._started_at = now
            self._next_report = ticks_add(now, RTCP_INTERVAL_MS)
        behind = ticks_diff(now, self._next_send) // FRAME_MS
        if behind > _MAX_BACKLOG_FRAMES:
            skipped = behind - 1
            self._next_send = ticks_add(self._next_send, skipped * FRAME_MS)
            self.timestamp += skipped * g711.FRAME_SAMPLES
        while ticks_diff(now, self._next_send) >= 0:
            self._send_frame()
            self._play_frame()
            self._next_send = ticks_add(self._next_send, FRAME_MS)
        if self.rtcp_transport is not None and ticks_diff(now, self._next_report) >= 0:
            self._next_report = ticks_add(now, RTCP_INTERVAL_MS)
            self.send_report(now)

    def _send_frame(self):
        packet = self._packet
        rtp.pack_header(
            packet, self.audio_type, self.sequence, self.timestamp, self.ssrc, self._marker
        )
        if self.source.read_frame(self._pcm_out):
            self.codec.encode(self._pcm_out, self._payload)
        else:
            payload = self._payload
            silence = self.codec.silence
            for index in range(g711.FRAME_SAMPLES):
                payload[index] = silence
        try:
            self.transport.sendto(packet, self.remote)
            self.counters["sent"] += 1
            self.octets_sent += g711.FRAME_SAMPLES
            self._marker = False
        except (OSError, MemoryError):
            self.counters["send_errors"] += 1
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + g711.FRAME_SAMPLES) & 0xFFFFFFFF

    def _play_frame(self):
        # One 20 ms frame out of the jitter buffer, on the send clock.
        self.jitter.pull(self._pcm_in)
        if self.sink is not None:
            self.sink.write_frame(self._pcm_in_view)
            self.counters["frames_out"] += 1

    def receive_packet(self, data, address=None, now=None):
        """One datagram from the peer (bytes or a memoryview, valid during the
        call only); garbage is counted and dropped."""
        self.counters["received"] += 1
        try:
            packet = rtp.parse_packet(data)
        except RemoteError:
            self.counters["malformed"] += 1
            return
        if self.event_type is not None and packet.payload_type == self.event_type:
            for digit in self.events.receive(packet):
                self.counters["events"] += 1
                if self.on_digit is not None:
                    self.on_digit(digit)
        elif packet.payload_type == self.audio_type:
            self.counters["audio_in"] += 1
            self.jitter.put(packet.sequence, packet.payload)
            if now is None:
                now = ticks_ms()
            # Arrival in RTP units (8 per ms) for the interarrival jitter.
            self.reception.update(packet.ssrc, packet.sequence, packet.timestamp, now * 8)
        else:
            self.counters["foreign"] += 1

    # ------------------------------------------------------------ RTCP

    def _poll_rtcp(self, now):
        transport = self.rtcp_transport
        for _ in range(_MAX_RTCP_PER_POLL):
            try:
                if not transport.readable():
                    return
                count = transport.receive_into(self._rtcp_received)[0]
            except Exception as error:  # noqa: BLE001 - OSError, MemoryError: from outside
                self.failed("receive_errors", error)
                return
            if not count:
                return
            self.receive_report(self._rtcp_view[:count], now)

    def receive_report(self, data, now):
        """One RTCP datagram from the peer: parsed and counted; garbage counted."""
        self.counters["rtcp_received"] += 1
        try:
            reports = rtcp.parse(data)
        except RemoteError:
            self.counters["rtcp_malformed"] += 1
            return
        for report in reports:
            self.last_report = report
            if report.kind == rtcp.SR:
                # LSR: the middle 32 bits of its NTP time (RFC 3550 6.4.1).
                self.reception.lsr = ((report.ntp_seconds & 0xFFFF) << 16) | (
                    report.ntp_fraction >> 16
                )
                self._report_received_at = now

    def send_report(self, now):
        """An SR (we have sent RTP) or RR, with a block on the peer's stream."""
        since = None
        if self._report_received_at is not None:
            since = ticks_diff(now, self._report_received_at)
        block = self.reception.block(since)
        sender = None
        if self.counters["sent"]:
            import time

            # Wall time where the board has it set; RFC 3550 allows any
            # NTP-format clock, the peer only echoes it back (LSR).
            seconds = int(time.time()) + _NTP_UNIX_OFFSET
            if time.gmtime(0)[0] == 2000:
                seconds += _EPOCH_2000_OFFSET  # the boards' epoch is 2000-01-01
            sender = (
                seconds,
                0,
                self.timestamp,
                self.counters["sent"],
                self.octets_sent,
            )
        try:
            packet = rtcp.build_report(self.ssrc, self.cname, block, sender)
            self.rtcp_transport.sendto(packet, self.rtcp_remote)
            self.counters["rtcp_sent"] += 1
        except (OSError, MemoryError):
            self.counters["rtcp_send_errors"] += 1
