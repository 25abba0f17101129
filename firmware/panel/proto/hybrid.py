# Sans-I/O machine of the hybrid-adapter UART protocol.
#
# The wire format, the numbers and the reasons behind them are in
# docs/hybrid-adapter-protocol.md; this module is its one implementation, shared
# by the panel's driver (panel.drivers.adapter) and the host's adapter emulator
# (host/adapter_emulator.py). It does no I/O and reads no clock: bytes come in
# through feed(), time comes in as a ticks_ms() value, bytes to write come out
# of send(), hello() and poll().
#
# Frame on the wire:   0x00 COBS( type | seq | length | body... | crc16 ) 0x00
#   - COBS removes every 0x00 from the frame, so 0x00 only ever delimits:
#     after garbage, the receiver is back in step at the next 0x00; the
#     leading one isolates each frame from garbage left before it.
#   - CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over type..body, big-endian.
#   - length repeats the body size, a second check on top of the delimiter.
# Reliability: stop-and-wait. One reliable frame outstanding per direction,
# each acknowledged by an ACK frame that carries its sequence number and a
# status; retransmitted after a timeout, given up after a named retry budget.
# A receiver remembers the last sequence number it accepted and its status: a
# repeat of it is a duplicate (acknowledged again, never delivered twice).
from panel.compat import const, ticks_add, ticks_diff

# ---------------------------------------------------------------- identity

PROTOCOL_MAJOR = const(1)
PROTOCOL_MINOR = const(0)

PANEL = "panel"
ADAPTER = "adapter"

# System codes on the wire; index in SYSTEMS is the code.
SYSTEMS = (None, "laskomex", "vizit")
# Fault kinds on the wire (FAULT event); index is the code.
FAULT_KINDS = (None, "no_handset", "short", "open")
# Reset reasons on the wire (BOOT frame); index is the code.
RESET_REASONS = ("power_on", "watchdog", "brownout", "requested", "other")
# ACK statuses on the wire; index is the code.
STATUSES = ("ok", "unknown_line", "no_session", "bad_command")

_STATUS_OK = const(0)
_STATUS_UNKNOWN_LINE = const(1)
_STATUS_NO_SESSION = const(2)
_STATUS_BAD_COMMAND = const(3)

# ---------------------------------------------------------------- limits

# Largest body of any message: the HELLO reply with every range and the longest
# firmware text (4 + 2 + 1 + 8 * 5 + 1 + 24 = 72) fits with room to spare.
_MAX_BODY = const(80)
# type, seq, length.
_HEADER_SIZE = const(3)
_CRC_SIZE = const(2)
# Largest decoded frame: header + body + CRC = 85 bytes.
_MAX_RAW = const(85)
# COBS adds one byte per started block of 254; every frame is below 254 bytes,
# so an encoded frame is exactly one byte longer than the decoded one.
_MAX_ENCODED = const(86)
# Smallest decoded frame: header + CRC, empty body.
_MIN_RAW = const(5)
# Bytes a frame costs on the wire beyond its body: leading 0x00, COBS code
# byte, type, seq, length, two CRC bytes, trailing 0x00.
FRAME_OVERHEAD = 8
# Line numbers travel as an unsigned 16-bit integer.
MAX_LINE = 65535
# A HELLO reply lists at most this many line ranges.
_MAX_RANGES = const(8)
# Longest firmware version text in a HELLO reply.
_MAX_FIRMWARE_TEXT = const(24)
# Messages waiting behind the outstanding one; send() refuses beyond this
# (the caller must look at can_send first: a full queue is a caller bug).
QUEUE_LIMIT = 32
# Events waiting for next_event(); when the caller does not drain them, frames
# from the peer are dropped without an ACK (the peer retransmits later).
_EVENT_LIMIT = const(48)
# Bytes of ACK/reply frames waiting for poll(); beyond this an ACK is dropped
# and the peer's retransmission earns a new one.
_OUTBOX_LIMIT = const(512)

# ---------------------------------------------------------------- timers (ms)

# Time to wait for an ACK before retransmitting: a 92-byte exchange takes 8 ms
# at 115200 baud; the adapter must answer within 20 ms; the rest is margin.
RETRY_TIMEOUT_MS = 100
# Retransmissions after the first transmission before a message is given up:
# 4 transmissions, so a message is settled at most 400 ms after it first left.
RETRY_COUNT = 3
# The panel sends PING when it has sent nothing reliable for this long.
HEARTBEAT_MS = 1000
# The panel ends the session when nothing valid came from the adapter for this
# long (three missed heartbeats and a half).
PANEL_LIVENESS_MS = 3500
# The adapter ends the session (stops ringing, drops audio) when nothing valid
# came from the panel for this long; longer than the panel's, so the panel
# notices first in the usual case.
ADAPTER_LIVENESS_MS = 5000
# A freshly booted adapter repeats its BOOT frame this often until a HELLO.
BOOT_INTERVAL_MS = 1000

# ---------------------------------------------------------------- frame types

_T_HELLO = const(0x01)
_T_PING = const(0x02)
_T_ACK = const(0x06)
_T_RING = const(0x10)
_T_STOP_RING = const(0x11)
_T_AUDIO_CONNECT = const(0x12)
_T_AUDIO_DISCONNECT = const(0x13)
_T_BOOT = const(0x80)
_T_HELLO_REPLY = const(0x81)
_T_ANSWERED = const(0x90)
_T_HUNG_UP = const(0x91)
_T_DOOR_BUTTON = const(0x92)
_T_BUSY = const(0x93)
_T_FAULT = const(0x94)

# Reliable messages each side may send, by kind: (type, body has a fault byte).
COMMANDS = ("ring", "stop_ring", "audio_connect", "audio_disconnect")
LINE_EVENTS = ("answered", "hung_up", "door_button", "busy", "fault")
_COMMAND_TYPES = {
    "ring": _T_RING,
    "stop_ring": _T_STOP_RING,
    "audio_connect": _T_AUDIO_CONNECT,
    "audio_disconnect": _T_AUDIO_DISCONNECT,
}
_EVENT_TYPES = {
    "answered": _T_ANSWERED,
    "hung_up": _T_HUNG_UP,
    "door_button": _T_DOOR_BUTTON,
    "busy": _T_BUSY,
    "fault": _T_FAULT,
}
_KIND_BY_TYPE = {}
for _kind in _COMMAND_TYPES:
    _KIND_BY_TYPE[_COMMAND_TYPES[_kind]] = _kind
for _kind in _EVENT_TYPES:
    _KIND_BY_TYPE[_EVENT_TYPES[_kind]] = _kind

# Session states.
_IDLE = const(0)  # panel: no session, not asking; adapter: session lost
_HELLO_SENT = const(1)  # panel: HELLO outstanding
_READY = const(2)  # both: session up
_BOOTED = const(3)  # adapter: fresh boot, announcing BOOT until a HELLO

_STAT_NAMES = (
    "frames_ok",
    "frames_sent",
    "retransmissions",
    "frames_dropped_crc",
    "frames_dropped_framing",
    "frames_dropped_oversize",
    "frames_dropped_invalid",
    "frames_dropped_unexpected",
    "bytes_discarded",
    "duplicates",
    "stale_replies",
    "messages_failed",
    "backpressure",
    "acks_dropped",
)


class LocalError(Exception):
    """Our own misuse of the machine (a bug in the caller)."""


class RemoteError(Exception):
    """Garbage from the peer; `hint` names the stats counter it lands in."""

    def __init__(self, message, hint="frames_dropped_invalid"):
        super().__init__(message)
        self.hint = hint


# ---------------------------------------------------------------- values


class Message:
    """A message or event: kind, line (system, number), detail, caller's tag.

    Kinds out of next_event():
      panel side:   ready (detail AdapterInfo), answered, hung_up, door_button,
                    busy, fault (detail a FAULT_KINDS name), adapter_reset
                    (detail a RESET_REASONS name), session_lost (detail
                    "liveness", "adapter_reset", "no_session", "closed"),
                    handshake_failed (detail "no_reply" or "incompatible x.y"),
                    acked (tag, detail a STATUSES name), failed (tag, detail
                    "no_ack" or "session_lost").
      adapter side: session (detail the nonce), ring, stop_ring,
                    audio_connect, audio_disconnect, acked, failed,
                    session_lost ("liveness", "closed").
    """

    def __init__(self, kind, system=None, line=None, detail=None, tag=None):
        self.kind = kind
        self.system = system
        self.line = line
        self.detail = detail
        self.tag = tag

    def __repr__(self):
        return "Message(%r, %r, %r, %r, %r)" % (
            self.kind,
            self.system,
            self.line,
            self.detail,
            self.tag,
        )

    def __eq__(self, other):
        return (
            isinstance(other, Message)
            and self.kind == other.kind
            and self.system == other.system
            and self.line == other.line
            and self.detail == other.detail
            and self.tag == other.tag
        )

    def __ne__(self, other):
        return not self.__eq__(other)


class AdapterInfo:
    """What the adapter says of itself in the handshake."""

    def __init__(self, firmware, ranges, major=PROTOCOL_MAJOR, minor=PROTOCOL_MINOR, boot_id=0):
        # ranges: list of (system name, first line, last line), inclusive.
        if not isinstance(firmware, str) or len(firmware) > _MAX_FIRMWARE_TEXT:
            raise LocalError("firmware text longer than %d" % _MAX_FIRMWARE_TEXT)
        for character in firmware:
            if not (" " <= character <= "~"):
                raise LocalError("firmware text must be printable ASCII")
        if len(ranges) > _MAX_RANGES:
            raise LocalError("more than %d line ranges" % _MAX_RANGES)
        checked = []
        for entry in ranges:
            system, first, last = entry
            _system_code(system)
            if not (_is_int(first) and _is_int(last) and 0 <= first <= last <= MAX_LINE):
                raise LocalError("bad line range %r" % (entry,))
            checked.append((system, first, last))
        self.firmware = firmware
        self.ranges = checked
        self.major = major
        self.minor = minor
        self.boot_id = boot_id

    @property
    def protocol_version(self):
        return "%d.%d" % (self.major, self.minor)

    def covers(self, system, line):
        """True when the adapter has that line."""
        for entry in self.ranges:
            if entry[0] == system and entry[1] <= line <= entry[2]:
                return True
        return False

    def systems(self):
        names = []
        for entry in self.ranges:
            if entry[0] not in names:
                names.append(entry[0])
        return names

    def describe(self):
        return {
            "protocol_version": self.protocol_version,
            "firmware": self.firmware,
            "systems": self.systems(),
            "ranges": [
                {"system": entry[0], "first": entry[1], "last": entry[2]} for entry in self.ranges
            ],
        }


def parse_line(text):
    """'laskomex:10' -> ('laskomex', 10); LocalError when malformed."""
    if not isinstance(text, str):
        raise LocalError("line must be text")
    colon = text.find(":")
    if colon < 0:
        raise LocalError("line %r has no system" % text)
    system = text[:colon]
    digits = text[colon + 1 :]
    _system_code(system)
    if not digits or len(digits) > 5:
        raise LocalError("line %r has no number" % text)
    for character in digits:
        if not ("0" <= character <= "9"):
            raise LocalError("line %r has no number" % text)
    number = int(digits)
    if number > MAX_LINE:
        raise LocalError("line %r beyond %d" % (text, MAX_LINE))
    return (system, number)


def format_line(system, line):
    return "%s:%d" % (system, line)


# ---------------------------------------------------------------- CRC and COBS


def _make_crc_table():
    # 256 entries of CRC-16/CCITT-FALSE: 512 bytes on a board, built once.
    import array

    table = array.array("H", [0] * 256)
    for byte in range(256):
        value = byte << 8
        for _ in range(8):
            if value & 0x8000:
                value = ((value << 1) ^ 0x1021) & 0xFFFF
            else:
                value = (value << 1) & 0xFFFF
        table[byte] = value
    return table


_CRC_TABLE = _make_crc_table()


def crc16(data, length=None):
    """CRC-16/CCITT-FALSE of data[:length] ('123456789' -> 0x29B1)."""
    table = _CRC_TABLE
    value = 0xFFFF
    if length is None:
        length = len(data)
    for index in range(length):
        value = ((value << 8) & 0xFFFF) ^ table[((value >> 8) ^ data[index]) & 0xFF]
    return value


def cobs_encode(data):
    """COBS-encode data (shorter than 254 bytes here); the result has no 0x00."""
    output = bytearray(len(data) + 1)
    code_index = 0
    code = 1
    position = 1
    for byte in data:
        if byte == 0:
            output[code_index] = code
            code_index = position
            position += 1
            code = 1
        else:
            output[position] = byte
            position += 1
            code += 1
            if code == 0xFF:
                # A full block of 254 non-zero bytes; cannot happen below 254.
                output[code_index] = code
                code_index = position
                output.append(0)
                position += 1
                code = 1
    output[code_index] = code
    return bytes(output[:position])


def cobs_decode_into(source, length, target):
    """Decode source[:length] into target; returns the size or -1 when invalid."""
    read = 0
    written = 0
    capacity = len(target)
    while read < length:
        code = source[read]
        read += 1
        if code == 0:
            return -1
        block = code - 1
        if read + block > length or written + block > capacity:
            return -1
        for _ in range(block):
            byte = source[read]
            if byte == 0:
                return -1
            target[written] = byte
            written += 1
            read += 1
        if code != 0xFF and read < length:
            if written >= capacity:
                return -1
            target[written] = 0
            written += 1
    return written


def encode_frame(frame_type, seq, body):
    """The wire bytes of one frame (with its delimiter)."""
    if len(body) > _MAX_BODY:
        raise LocalError("body of %d bytes, limit %d" % (len(body), _MAX_BODY))
    raw = bytearray(_HEADER_SIZE + len(body) + _CRC_SIZE)
    raw[0] = frame_type
    raw[1] = seq & 0xFF
    raw[2] = len(body)
    raw[_HEADER_SIZE : _HEADER_SIZE + len(body)] = body
    crc = crc16(raw, _HEADER_SIZE + len(body))
    raw[-2] = crc >> 8
    raw[-1] = crc & 0xFF
    # A 0x00 on both sides: the leading one ends whatever garbage came before
    # (a frame whose delimiter was lost), so one damaged frame never takes the
    # next one (its retransmission) down with it.
    return b"\x00" + cobs_encode(raw) + b"\x00"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _system_code(system):
    if system == "laskomex":
        return 1
    if system == "vizit":
        return 2
    raise LocalError("unknown system %r" % (system,))


def _line_body(system, line, extra=None):
    if not _is_int(line) or line < 0 or line > MAX_LINE:
        raise LocalError("line number %r outside 0..%d" % (line, MAX_LINE))
    body = bytearray(3 if extra is None else 4)
    body[0] = _system_code(system)
    body[1] = line >> 8
    body[2] = line & 0xFF
    if extra is not None:
        body[3] = extra
    return body


# ---------------------------------------------------------------- the machine


class _Pending:
    # One reliable message waiting for transmission or for its ACK.
    def __init__(self, frame_type, body, tag, internal):
        self.frame_type = frame_type
        self.body = body
        self.tag = tag
        self.internal = internal  # PING and HELLO: not reported as acked/failed
        self.seq = 0
        self.frame = b""
        self.sent_at = 0
        self.tries = 0


class HybridLink:
    """One end of the link: role PANEL or ADAPTER.

    feed(data); next_event() -> Message or None; send(message, now_ms, tag)
    -> bytes to write; poll(now_ms) -> bytes to write (ACKs, retransmissions,
    heartbeats, boot announcements); next_timeout_ms(now_ms).
    The panel opens a session with hello(now_ms, nonce); the adapter needs its
    AdapterInfo to answer one.
    """

    def __init__(
        self,
        role,
        info=None,
        retry_timeout_ms=RETRY_TIMEOUT_MS,
        retry_count=RETRY_COUNT,
        heartbeat_ms=HEARTBEAT_MS,
        liveness_ms=None,
        boot_reason="power_on",
    ):
        if role != PANEL and role != ADAPTER:
            raise LocalError("role must be panel or adapter")
        if role == ADAPTER and not isinstance(info, AdapterInfo):
            raise LocalError("the adapter side needs its AdapterInfo")
        if boot_reason not in RESET_REASONS:
            raise LocalError("unknown reset reason %r" % (boot_reason,))
        for value in (retry_timeout_ms, retry_count, heartbeat_ms):
            if not _is_int(value) or value < 0:
                raise LocalError("timer values are non-negative integers")
        self.role = role
        self.info = info
        self.retry_timeout_ms = retry_timeout_ms
        self.retry_count = retry_count
        self.heartbeat_ms = heartbeat_ms
        if liveness_ms is None:
            liveness_ms = PANEL_LIVENESS_MS if role == PANEL else ADAPTER_LIVENESS_MS
        self.liveness_ms = liveness_ms
        self.boot_reason = boot_reason
        self.stats = {}
        for name in _STAT_NAMES:
            self.stats[name] = 0
        # Receive side: the encoded frame being collected and where it decodes to.
        self._rx = bytearray(_MAX_ENCODED)
        self._rx_length = 0
        self._rx_overflow = False
        self._raw = bytearray(_MAX_RAW)
        self._rx_last_seq = -1
        self._rx_last_status = _STATUS_OK
        self._heard = False
        self._last_rx_ms = 0
        # Send side.
        self._tx_seq = 0
        self._outstanding = None
        self._queue = []
        self._outbox = bytearray()
        self._last_tx_ms = None
        self._events = []
        # Session.
        self._nonce = -1
        self._peer = None  # panel: the AdapterInfo of the session
        self._reply = b""  # adapter: the HELLO reply, repeated for a repeated HELLO
        self._next_boot_ms = None
        self._state = _BOOTED if role == ADAPTER else _IDLE

    # ------------------------------------------------------------ properties

    @property
    def ready(self):
        """True while a session is up."""
        return self._state == _READY

    @property
    def handshaking(self):
        return self._state == _HELLO_SENT

    @property
    def peer(self):
        """Panel side: the adapter's AdapterInfo of the current session."""
        return self._peer

    @property
    def can_send(self):
        return self._state == _READY and len(self._queue) < QUEUE_LIMIT

    @property
    def busy(self):
        """True while a message is outstanding or queued."""
        return self._outstanding is not None or len(self._queue) > 0

    # ------------------------------------------------------------ receive

    def feed(self, data):
        """Take bytes from the wire; garbage is counted in stats, never raised."""
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        start = 0
        total = len(data)
        while start < total:
            end = data.find(b"\x00", start)
            stop = total if end < 0 else end
            count = stop - start
            if count:
                if self._rx_overflow or self._rx_length + count > _MAX_ENCODED:
                    # Longer than any frame: discard up to the next delimiter.
                    if not self._rx_overflow:
                        self._rx_overflow = True
                        self.stats["bytes_discarded"] += self._rx_length
                        self.stats["frames_dropped_oversize"] += 1
                        self._rx_length = 0
                    self.stats["bytes_discarded"] += count
                else:
                    self._rx[self._rx_length : self._rx_length + count] = data[start:stop]
                    self._rx_length += count
            if end < 0:
                break
            if self._rx_overflow:
                self._rx_overflow = False
            elif self._rx_length:
                self._frame_received()
            # An empty frame (0x00 0x00) is the idle/sync filler: ignored.
            self._rx_length = 0
            start = end + 1

    def _frame_received(self):
        length = cobs_decode_into(self._rx, self._rx_length, self._raw)
        if length < 0 or length < _MIN_RAW:
            self._drop("frames_dropped_framing")
            return
        raw = self._raw
        expected = (raw[length - 2] << 8) | raw[length - 1]
        if crc16(raw, length - _CRC_SIZE) != expected:
            self._drop("frames_dropped_crc")
            return
        if raw[2] != length - _HEADER_SIZE - _CRC_SIZE:
            self._drop("frames_dropped_framing")
            return
        frame_type = raw[0]
        seq = raw[1]
        body = bytes(raw[_HEADER_SIZE : length - _CRC_SIZE])
        try:
            self._dispatch(frame_type, seq, body)
        except RemoteError as error:
            self._drop(error.hint)
            return
        # Anything that passed the CRC proves the peer is alive.
        self._heard = True

    def _drop(self, counter):
        self.stats[counter] += 1
        self.stats["bytes_discarded"] += self._rx_length + 1

    def _dispatch(self, frame_type, seq, body):
        if frame_type == _T_ACK:
            self._on_ack(seq, body)
        elif self.role == PANEL:
            if frame_type == _T_HELLO_REPLY:
                self._on_hello_reply(seq, body)
            elif frame_type == _T_BOOT:
                self._on_boot(body)
            elif frame_type in (_T_ANSWERED, _T_HUNG_UP, _T_DOOR_BUTTON, _T_BUSY, _T_FAULT):
                self._on_reliable(frame_type, seq, body)
            else:
                raise RemoteError(
                    "frame type 0x%02x not for the panel" % frame_type, "frames_dropped_unexpected"
                )
        else:
            if frame_type == _T_HELLO:
                self._on_hello(seq, body)
            elif frame_type in (
                _T_PING,
                _T_RING,
                _T_STOP_RING,
                _T_AUDIO_CONNECT,
                _T_AUDIO_DISCONNECT,
            ):
                self._on_reliable(frame_type, seq, body)
            else:
                raise RemoteError(
                    "frame type 0x%02x not for the adapter" % frame_type,
                    "frames_dropped_unexpected",
                )
        self.stats["frames_ok"] += 1

    def _on_ack(self, seq, body):
        if len(body) != 1 or body[0] >= len(STATUSES):
            raise RemoteError("bad ACK body")
        pending = self._outstanding
        if pending is None or pending.seq != seq or pending.frame_type == _T_HELLO:
            # The ACK of a retransmission we already settled, or of nothing.
            self.stats["stale_replies"] += 1
            return
        self._outstanding = None
        status = body[0]
        if status == _STATUS_NO_SESSION and self.role == PANEL:
            # The adapter lost our session (its liveness ran out): this message
            # did not happen; every other one is refused too until a new HELLO.
            self._fail(pending, "session_lost")
            self._end_session("no_session")
            return
        if not pending.internal:
            self._events.append(Message("acked", detail=STATUSES[status], tag=pending.tag))

    def _on_reliable(self, frame_type, seq, body):
        if self._state != _READY:
            if self.role == ADAPTER:
                # Commands outside a session are refused, so the panel learns
                # that it must say HELLO again.
                self._queue_ack(seq, _STATUS_NO_SESSION)
                return
            raise RemoteError("event outside a session", "frames_dropped_unexpected")
        if seq == self._rx_last_seq:
            self.stats["duplicates"] += 1
            self._queue_ack(seq, self._rx_last_status)
            return
        if len(self._events) >= _EVENT_LIMIT:
            # Our caller is behind: no ACK, the peer will retransmit.
            self.stats["backpressure"] += 1
            return
        status = _STATUS_OK
        event = None
        if frame_type == _T_PING:
            if body:
                status = _STATUS_BAD_COMMAND
        else:
            kind = _KIND_BY_TYPE[frame_type]
            want = 4 if frame_type == _T_FAULT else 3
            if len(body) != want or body[0] == 0 or body[0] >= len(SYSTEMS):
                status = _STATUS_BAD_COMMAND
            else:
                system = SYSTEMS[body[0]]
                line = (body[1] << 8) | body[2]
                detail = None
                if frame_type == _T_FAULT:
                    if body[3] == 0 or body[3] >= len(FAULT_KINDS):
                        status = _STATUS_BAD_COMMAND
                    else:
                        detail = FAULT_KINDS[body[3]]
                if (
                    status == _STATUS_OK
                    and self.role == ADAPTER
                    and not self.info.covers(system, line)
                ):
                    status = _STATUS_UNKNOWN_LINE
                if status == _STATUS_OK:
                    event = Message(kind, system, line, detail)
        self._rx_last_seq = seq
        self._rx_last_status = status
        if event is not None:
            self._events.append(event)
        self._queue_ack(seq, status)
        if status == _STATUS_BAD_COMMAND:
            # Well-framed but meaningless: a bug on the other side, counted.
            self.stats["frames_dropped_invalid"] += 1

    def _queue_ack(self, seq, status):
        frame = encode_frame(_T_ACK, seq, bytes((status,)))
        self._to_outbox(frame)

    def _to_outbox(self, frame):
        if len(self._outbox) + len(frame) > _OUTBOX_LIMIT:
            self.stats["acks_dropped"] += 1
            return
        self._outbox.extend(frame)

    # ------------------------------------------------------------ handshake

    def hello(self, now_ms, nonce):
        """Panel: start a new session (ending any current one); bytes to write."""
        if self.role != PANEL:
            raise LocalError("only the panel says HELLO")
        if not _is_int(nonce) or not (0 <= nonce <= 0xFFFF):
            raise LocalError("nonce is a 16-bit integer")
        if self._state == _READY:
            self._end_session("closed")
        else:
            self._fail_all("session_lost")
        self._nonce = nonce
        self._peer = None
        self._state = _HELLO_SENT
        self._rx_last_seq = -1
        self._tx_seq = 0
        body = bytes((PROTOCOL_MAJOR, PROTOCOL_MINOR, nonce >> 8, nonce & 0xFF))
        pending = _Pending(_T_HELLO, body, None, True)
        return self._transmit(pending, now_ms)

    def _on_hello(self, seq, body):
        # Adapter side.
        if len(body) != 4:
            raise RemoteError("bad HELLO body")
        nonce = (body[2] << 8) | body[3]
        if nonce == self._nonce and self._reply:
            # The panel did not get our reply: repeat it, change nothing.
            self.stats["duplicates"] += 1
            self._to_outbox(self._reply)
            return
        self._fail_all("session_lost")
        self._nonce = nonce
        self._rx_last_seq = seq
        self._rx_last_status = _STATUS_OK
        self._tx_seq = 0
        self._last_tx_ms = None
        info = self.info
        reply = bytearray(
            (
                info.major,
                info.minor,
                body[2],
                body[3],
                info.boot_id >> 8,
                info.boot_id & 0xFF,
                len(info.ranges),
            )
        )
        for entry in info.ranges:
            reply.extend(_line_body(entry[0], entry[1]))
            reply.append(entry[2] >> 8)
            reply.append(entry[2] & 0xFF)
        reply.append(len(info.firmware))
        reply.extend(info.firmware.encode())
        self._reply = encode_frame(_T_HELLO_REPLY, seq, reply)
        self._to_outbox(self._reply)
        if body[0] == info.major:
            self._state = _READY
            self._events.append(Message("session", detail=nonce))
        else:
            # We told the panel our version; it will not go further.
            self._state = _IDLE

    def _on_hello_reply(self, seq, body):
        # Panel side.
        pending = self._outstanding
        if (
            self._state != _HELLO_SENT
            or pending is None
            or pending.frame_type != _T_HELLO
            or pending.seq != seq
            or len(body) < 8
            or ((body[2] << 8) | body[3]) != self._nonce
        ):
            self.stats["stale_replies"] += 1
            return
        info = _parse_hello_reply(body)
        self._outstanding = None
        if info.major != PROTOCOL_MAJOR:
            self._state = _IDLE
            self._events.append(
                Message("handshake_failed", detail="incompatible %s" % info.protocol_version)
            )
            return
        self._peer = info
        self._state = _READY
        self._events.append(Message("ready", detail=info))

    def _on_boot(self, body):
        # Panel side: the adapter (re)started.
        if len(body) != 3:
            raise RemoteError("bad BOOT body")
        boot_id = (body[1] << 8) | body[2]
        if self._state != _READY or (self._peer is not None and self._peer.boot_id == boot_id):
            # No session to lose, or a BOOT sent before the adapter got our HELLO.
            return
        reason = RESET_REASONS[body[0]] if body[0] < len(RESET_REASONS) else "other"
        self._events.append(Message("adapter_reset", detail=reason))
        self._end_session("adapter_reset")

    def close(self, reason="closed"):
        """End the session (transport gone); queued messages are failed."""
        if self._state == _READY:
            self._end_session(reason)
        else:
            self._fail_all("session_lost")
            if self.role == PANEL:
                self._state = _IDLE
        self._outbox = bytearray()
        self._rx_length = 0
        self._rx_overflow = False

    def _end_session(self, reason):
        self._fail_all("session_lost")
        self._state = _IDLE
        self._reply = b""
        self._nonce = -1
        self._events.append(Message("session_lost", detail=reason))

    def _fail_all(self, reason):
        pending = self._outstanding
        self._outstanding = None
        if pending is not None:
            self._fail(pending, reason)
        queue = self._queue
        self._queue = []
        for pending in queue:
            self._fail(pending, reason)

    def _fail(self, pending, reason):
        self.stats["messages_failed"] += 1
        if pending.frame_type == _T_HELLO:
            self._state = _IDLE
            self._events.append(Message("handshake_failed", detail="no_reply"))
        elif not pending.internal:
            self._events.append(Message("failed", detail=reason, tag=pending.tag))

    # ------------------------------------------------------------ send

    def send(self, message, now_ms, tag=None):
        """Queue a command (panel) or line event (adapter); bytes to write now.

        message: a Message (kind, system, line, detail for a fault); the
        outcome comes back as an `acked` or `failed` event carrying `tag`.
        """
        if not isinstance(message, Message):
            raise LocalError("send() takes a Message")
        kinds = _COMMAND_TYPES if self.role == PANEL else _EVENT_TYPES
        if message.kind not in kinds:
            raise LocalError("the %s does not send %r" % (self.role, message.kind))
        if self._state != _READY:
            raise LocalError("no session: wait for ready before sending")
        if len(self._queue) >= QUEUE_LIMIT:
            raise LocalError("send queue full (%d): look at can_send" % QUEUE_LIMIT)
        extra = None
        if message.kind == "fault":
            if message.detail not in FAULT_KINDS or message.detail is None:
                raise LocalError("fault kind must be one of %r" % (FAULT_KINDS[1:],))
            extra = FAULT_KINDS.index(message.detail)
        body = _line_body(message.system, message.line, extra)
        pending = _Pending(kinds[message.kind], bytes(body), tag, False)
        if self._outstanding is None:
            return self._transmit(pending, now_ms)
        self._queue.append(pending)
        return b""

    def _transmit(self, pending, now_ms):
        self._tx_seq = (self._tx_seq + 1) & 0xFF if pending.frame_type != _T_HELLO else 0
        pending.seq = self._tx_seq
        pending.frame = encode_frame(pending.frame_type, pending.seq, pending.body)
        pending.sent_at = now_ms
        pending.tries = 1
        self._outstanding = pending
        self._last_tx_ms = now_ms
        self.stats["frames_sent"] += 1
        return pending.frame

    # ------------------------------------------------------------ time

    def poll(self, now_ms):
        """Advance timers to now_ms; returns the bytes to write (maybe b"")."""
        if self._heard:
            self._heard = False
            self._last_rx_ms = now_ms
        output = b""
        if self._outbox:
            output = bytes(self._outbox)
            self._outbox = bytearray()
        if self._state == _READY and ticks_diff(now_ms, self._last_rx_ms) > self.liveness_ms:
            self._end_session("liveness")
        pending = self._outstanding
        if pending is not None and ticks_diff(now_ms, pending.sent_at) >= self.retry_timeout_ms:
            if pending.tries > self.retry_count:
                self._outstanding = None
                self._fail(pending, "no_ack")
            else:
                pending.tries += 1
                pending.sent_at = now_ms
                self.stats["retransmissions"] += 1
                output += pending.frame
        if self._outstanding is None and self._queue and self._state == _READY:
            output += self._transmit(self._queue.pop(0), now_ms)
        if (
            self.role == PANEL
            and self._state == _READY
            and self._outstanding is None
            and ticks_diff(now_ms, self._last_tx_ms) >= self.heartbeat_ms
        ):
            output += self._transmit(_Pending(_T_PING, b"", None, True), now_ms)
        if self.role == ADAPTER and self._state == _BOOTED:
            if self._next_boot_ms is None or ticks_diff(now_ms, self._next_boot_ms) >= 0:
                self._next_boot_ms = ticks_add(now_ms, BOOT_INTERVAL_MS)
                boot_id = self.info.boot_id
                code = RESET_REASONS.index(self.boot_reason)
                output += encode_frame(_T_BOOT, 0, bytes((code, boot_id >> 8, boot_id & 0xFF)))
        return output

    def next_timeout_ms(self, now_ms):
        """Milliseconds until poll() has timer work (never negative)."""
        waits = []
        if self._outbox or self._heard or (self._queue and self._outstanding is None):
            return 0
        if self._outstanding is not None:
            waits.append(
                ticks_diff(ticks_add(self._outstanding.sent_at, self.retry_timeout_ms), now_ms)
            )
        if self._state == _READY:
            waits.append(ticks_diff(ticks_add(self._last_rx_ms, self.liveness_ms + 1), now_ms))
            if self.role == PANEL and self._last_tx_ms is not None:
                waits.append(ticks_diff(ticks_add(self._last_tx_ms, self.heartbeat_ms), now_ms))
        if self.role == ADAPTER and self._state == _BOOTED:
            if self._next_boot_ms is None:
                return 0
            waits.append(ticks_diff(self._next_boot_ms, now_ms))
        if not waits:
            return self.heartbeat_ms
        wait = min(waits)
        return wait if wait > 0 else 0

    # ------------------------------------------------------------ events

    def next_event(self):
        """The oldest event, or None."""
        if self._events:
            return self._events.pop(0)
        return None


def _parse_hello_reply(body):
    # major minor nonce(2) boot_id(2) count [system first(2) last(2)]* fw_len fw
    count = body[6]
    if count > _MAX_RANGES:
        raise RemoteError("too many ranges in HELLO reply")
    position = 7
    ranges = []
    for _ in range(count):
        if position + 5 > len(body):
            raise RemoteError("HELLO reply cut short")
        code = body[position]
        if code == 0 or code >= len(SYSTEMS):
            raise RemoteError("unknown system %d in HELLO reply" % code)
        first = (body[position + 1] << 8) | body[position + 2]
        last = (body[position + 3] << 8) | body[position + 4]
        if first > last:
            raise RemoteError("empty line range in HELLO reply")
        ranges.append((SYSTEMS[code], first, last))
        position += 5
    if position >= len(body):
        raise RemoteError("HELLO reply cut short")
    text_length = body[position]
    position += 1
    if text_length > _MAX_FIRMWARE_TEXT or position + text_length != len(body):
        raise RemoteError("bad firmware text in HELLO reply")
    text = body[position : position + text_length]
    for byte in text:
        if byte < 0x20 or byte > 0x7E:
            raise RemoteError("firmware text not printable")
    try:
        return AdapterInfo(text.decode(), ranges, body[0], body[1], (body[4] << 8) | body[5])
    except LocalError as error:
        raise RemoteError(str(error))
