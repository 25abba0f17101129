"""RTP for one call: PCMU out every 20 ms (a tone or silence), RTP in.

session = RtpSession(transport, plan, on_digit=None, tone_frequency=0,
                     random_bytes=None)
    transport   a bound UDP socket for our RTP port (the one in our SDP); the
                session wraps it (drivers.sockets.wrap), sets it non-blocking,
                polls it for readability and reads into one preallocated
                buffer (recvfrom_into where the runtime has it).
    plan        proto.sdp.MediaPlan from SipUserAgent's "answered" event
                (remote address and port, PCMU and telephone-event types).
    on_digit    callable(digit) for each RFC 4733 digit, once per key press.
session.start() / session.stop()   the 20 ms task (needs a running loop)
session.poll(now)                  one round: read packets, send due frames
session.set_tone(frequency)        0 for silence
session.counters                   sent, received, malformed, foreign, events,
                                   send_errors, receive_errors, poll_errors
Socket and heap errors are counted, logged, and the task backs off and goes on
(drivers.polled_socket); an idle poll allocates nothing.

The lead's call controller feeds on_digit (and the UA's INFO "dtmf" events)
into a proto.rtp.DigitCollector to open locks, for instance
    collector = rtp.DigitCollector({1: code_1, 2: code_2})
    on_digit = lambda digit: open_locks(collector.add(digit, ticks_ms()))
Packets are accepted from any source address (no latching yet).
"""

from panel.compat import const, ticks_add, ticks_diff, urandom
from panel.drivers import sockets
from panel.drivers.polled_socket import PolledSocket
from panel.proto import rtp
from panel.proto.sip_message import RemoteError

# Frame period in ms (ptime 20: 160 PCMU samples).
FRAME_MS = const(20)
# Packets read per poll: bounds work under a flood (a normal peer sends 1 per 20 ms).
_MAX_PACKETS_PER_POLL = const(16)
# If sending falls this many frames behind (a stalled loop), skip ahead
# instead of bursting the backlog out.
_MAX_BACKLOG_FRAMES = const(5)


class RtpSession(PolledSocket):
    def __init__(self, transport, plan, on_digit=None, tone_frequency=0, random_bytes=None):
        random_bytes = random_bytes or urandom
        self.transport = sockets.wrap(transport)
        self.remote = (plan.address, plan.port)
        self.audio_type = plan.audio_type
        self.event_type = plan.event_type
        self.on_digit = on_digit
        self.generator = rtp.ToneGenerator(tone_frequency)
        seed = random_bytes(8)
        # RFC 3550: random SSRC, initial sequence number and timestamp.
        self.ssrc = int.from_bytes(seed[:4], "big") & 0x7FFFFFFF
        self.sequence = int.from_bytes(seed[4:6], "big")
        self.timestamp = int.from_bytes(seed[6:8], "big") * 65536
        self.events = rtp.TelephoneEventReceiver()
        self.counters = {
            "sent": 0,
            "received": 0,
            "malformed": 0,
            "foreign": 0,
            "events": 0,
            "send_errors": 0,
            "receive_errors": 0,
            "poll_errors": 0,
        }
        # One preallocated packet buffer: header + one PCMU frame.
        self._packet = bytearray(12 + rtp.FRAME_SAMPLES)
        # One preallocated receive buffer, a byte longer than the longest
        # packet accepted so that an oversized one is seen (and refused).
        self._received = bytearray(rtp.MAX_PACKET + 1)
        self._received_view = memoryview(self._received)
        self._next_send = None
        self._marker = True

    def set_tone(self, frequency):
        self.generator = rtp.ToneGenerator(frequency)

    def poll(self, now):
        """Read waiting packets, then send every frame that is due."""
        for _ in range(_MAX_PACKETS_PER_POLL):
            count = self.receive_into(self._received)
            if not count:
                break  # nothing waiting, or an error (counted, logged, backed off)
            self.receive_packet(self._received_view[:count])
        if self._next_send is None:
            self._next_send = now
        behind = ticks_diff(now, self._next_send) // FRAME_MS
        if behind > _MAX_BACKLOG_FRAMES:
            skipped = behind - 1
            self._next_send = ticks_add(self._next_send, skipped * FRAME_MS)
            self.timestamp += skipped * rtp.FRAME_SAMPLES
        while ticks_diff(now, self._next_send) >= 0:
            self._send_frame()
            self._next_send = ticks_add(self._next_send, FRAME_MS)

    def _send_frame(self):
        packet = self._packet
        rtp.pack_header(
            packet, self.audio_type, self.sequence, self.timestamp, self.ssrc, self._marker
        )
        packet[12:] = self.generator.next_frame()
        try:
            self.transport.sendto(packet, self.remote)
            self.counters["sent"] += 1
            self._marker = False
        except (OSError, MemoryError):
            self.counters["send_errors"] += 1
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + rtp.FRAME_SAMPLES) & 0xFFFFFFFF

    def receive_packet(self, data, address=None):
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
        elif packet.payload_type != self.audio_type:
            self.counters["foreign"] += 1
