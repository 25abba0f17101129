# Async driver of the hybrid adapter: a thin asyncio loop around the sans-I/O
# machine panel.proto.hybrid (docs/hybrid-adapter-protocol.md).
#
# Runs on CPython's asyncio and on MicroPython's asyncio alike: it uses only
# create_task, sleep, Event, Lock, wait_for, TimeoutError and CancelledError.
# No threads, no task or I/O before start().
import asyncio

from panel.compat import const, ticks_diff, ticks_ms, urandom
from panel.proto import hybrid

# Reconnection backoff: first wait after a failure, doubled up to the maximum,
# back to the minimum after a successful handshake.
BACKOFF_MIN_MS = 250
BACKOFF_MAX_MS = 5000
# HELLO attempts (each with the protocol's retry budget) on one opened
# transport before it is closed and opened again.
_HANDSHAKES_PER_OPEN = const(2)
# Bytes asked of the transport per read: one UART FIFO's worth.
_READ_SIZE = const(64)
# Events kept for next_event() when no callback is given; the oldest is
# dropped (and counted) beyond this.
_EVENT_BUFFER_LIMIT = const(64)
# Lines remembered by lines_state(); a building has at most a few hundred
# handsets; beyond this an arbitrary old entry is forgotten (and counted).
_LINE_STATE_LIMIT = const(512)
# Tags of outstanding commands wrap here (stays a small int on MicroPython).
_TAG_WRAP = const(0x3FFFFFFF)


class AdapterEvent:
    """What the driver reports: kind, line ("vizit", 7) or None, detail, at_ms.

    kind: answered, hung_up, door_button, busy, fault (detail: no_handset,
    short or open), adapter_reset (detail: power_on, watchdog, brownout,
    requested, other), presence (detail: True or False; reason says why).
    """

    def __init__(self, kind, line=None, detail=None, at_ms=0, reason=None):
        self.kind = kind
        self.line = line
        self.detail = detail
        self.at_ms = at_ms
        self.reason = reason

    def __repr__(self):
        return "AdapterEvent(%r, %r, %r, reason=%r)" % (
            self.kind,
            self.line,
            self.detail,
            self.reason,
        )


class AdapterDriver:
    """The panel's side of the hybrid adapter.

    Construction (nothing starts, nothing is opened):
        driver = AdapterDriver(open_transport, clock=ticks_ms, on_event=callback)
      open_transport: `async def open_transport()` returning a stream with
        `async read(n)` (b"" when the device went away), `write(data)`,
        `async drain()`, `close()`: a MicroPython asyncio.StreamReader around
        machine.UART, or host.serial_transport.SerialTransport. It may raise
        OSError; the driver retries with backoff.
      clock: a ticks_ms()-style function (wrap-safe arithmetic with ticks_diff).
      on_event: called with each AdapterEvent; without it, events wait for
        `await driver.next_event()`.
      link_options: keyword arguments for hybrid.HybridLink (timers).
      On the board:  async def open_transport():
                         return asyncio.StreamReader(machine.UART(1, 115200, ...))
      On the host:   host.serial_transport.serial_opener("/tmp/hybrid-pty")
    Lifecycle: start() (creates the task), stop() (cancels, closes the
    transport, fails waiting commands), `await wait_stopped()`.
    /api/info: hybrid_enable = driver.present, hybrid_version = driver.version.
    State: present (bool), version (adapter firmware text of the last
    handshake, None before one), protocol_version ("1.0"), capabilities
    (dict: systems, ranges), covers(line), lines_state() -> {("vizit", 7):
    {"event", "detail", "at_ms"}}, describe() -> dict for
    GET /api/v1/hybrid/state, stats.
    Commands (line: ("laskomex", 10) or "laskomex:10"): `await ring(line)`,
    stop_ring, connect_audio, disconnect_audio. True when the adapter
    acknowledged and accepted it; False when it refused it (unknown line),
    the retry budget ran out, the line is outside the adapter's ranges, the
    adapter is absent or the send queue is full. A malformed line raises
    hybrid.LocalError (a caller bug).
    """

    def __init__(
        self,
        open_transport,
        clock=ticks_ms,
        on_event=None,
        link_options=None,
        backoff_min_ms=BACKOFF_MIN_MS,
        backoff_max_ms=BACKOFF_MAX_MS,
    ):
        self._open_transport = open_transport
        self._clock = clock
        self._on_event = on_event
        self._link_options = link_options or {}
        self.backoff_min_ms = backoff_min_ms
        self.backoff_max_ms = backoff_max_ms
        self.link = None
        self.present = False
        self.version = None
        self.protocol_version = None
        self.capabilities = None
        self._peer = None
        self._transport = None
        self._transport_lost = False
        self._handshake_failures = 0
        self._running = False
        self._task = None
        self._reader = None
        self._wake = None
        self._write_lock = None
        self._waiters = {}
        self._next_tag = 1
        self._lines = {}
        self._events = []
        self._event_ready = None
        self.last_error = None
        self.stats = {
            "connects": 0,
            "handshakes": 0,
            "open_failures": 0,
            "transport_losses": 0,
            "adapter_resets": 0,
            "commands": 0,
            "commands_acked": 0,
            "commands_refused": 0,
            "commands_failed": 0,
            "events": 0,
            "events_dropped": 0,
            "callback_errors": 0,
            "lines_forgotten": 0,
        }

    # ------------------------------------------------------------ lifecycle

    def start(self):
        """Start the connection task (once)."""
        if self._running:
            return
        self._running = True
        self._wake = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._event_ready = asyncio.Event()
        self._task = asyncio.create_task(self._supervise())

    def stop(self):
        """Stop: cancel the tasks, close the transport, fail waiting commands."""
        self._running = False
        for task in (self._reader, self._task):
            if task is not None:
                task.cancel()
        self._close_connection("stopped")

    async def wait_stopped(self):
        """Wait until the tasks cancelled by stop() have ended."""
        for task in (self._reader, self._task):
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._reader = None
        self._task = None

    # ------------------------------------------------------------ commands

    async def ring(self, line):
        return await self._command("ring", line)

    async def stop_ring(self, line):
        return await self._command("stop_ring", line)

    async def connect_audio(self, line):
        return await self._command("audio_connect", line)

    async def disconnect_audio(self, line):
        return await self._command("audio_disconnect", line)

    async def _command(self, kind, line):
        system, number = _line_key(line)
        link = self.link
        if not self.present or link is None or not link.ready:
            return False
        self.stats["commands"] += 1
        if not link.peer.covers(system, number):
            self.stats["commands_refused"] += 1
            return False
        if not link.can_send:
            self.stats["commands_failed"] += 1
            return False
        tag = self._next_tag
        self._next_tag = 1 if tag >= _TAG_WRAP else tag + 1
        waiter = [asyncio.Event(), False]
        self._waiters[tag] = waiter
        data = link.send(hybrid.Message(kind, system, number), self._clock(), tag)
        # The timer loop recomputes its wait: there is now an ACK to wait for.
        self._wake.set()
        await self._write(data)
        await waiter[0].wait()
        return waiter[1]

    # ------------------------------------------------------------ state

    def covers(self, line):
        """True when the adapter of the current session has that line."""
        system, number = _line_key(line)
        return self._peer is not None and self._peer.covers(system, number)

    def lines_state(self):
        """Each line's last event: {(system, number): {event, detail, at_ms}}."""
        result = {}
        for key in self._lines:
            result[key] = dict(self._lines[key])
        return result

    def describe(self):
        """Everything GET /api/v1/hybrid/state shows (JSON-ready).

        {"present": bool, "version": "1.0" or None, "protocol_version": "1.0",
         "capabilities": {"protocol_version", "firmware", "systems": [...],
                          "ranges": [{"system", "first", "last"}]} or None,
         "lines": [{"line": "vizit:7", "event": "answered", "detail": None,
                    "age_ms": 1200}],   # each line's last event, by line text
         "stats": {...driver counters}, "link": {...frame counters},
         "last_error": text or None}
        """
        now = self._clock()
        lines = []
        for key in self._lines:
            entry = self._lines[key]
            lines.append(
                {
                    "line": hybrid.format_line(key[0], key[1]),
                    "event": entry["event"],
                    "detail": entry["detail"],
                    "age_ms": ticks_diff(now, entry["at_ms"]),
                }
            )
        lines.sort(key=lambda item: item["line"])
        link_stats = dict(self.link.stats) if self.link is not None else {}
        return {
            "present": self.present,
            "version": self.version,
            "protocol_version": self.protocol_version,
            "capabilities": self.capabilities,
            "lines": lines,
            "stats": dict(self.stats),
            "link": link_stats,
            "last_error": self.last_error,
        }

    async def next_event(self):
        """The next AdapterEvent (only when no on_event callback was given)."""
        while not self._events:
            self._event_ready.clear()
            await self._event_ready.wait()
        return self._events.pop(0)

    # ------------------------------------------------------------ the loops

    async def _supervise(self):
        backoff = self.backoff_min_ms
        while self._running:
            try:
                transport = await self._open_transport()
            except OSError as error:
                self.stats["open_failures"] += 1
                self.last_error = "open: %s" % (error,)
                await asyncio.sleep(backoff / 1000)
                backoff = min(backoff * 2, self.backoff_max_ms)
                continue
            self.stats["connects"] += 1
            self._transport = transport
            self._transport_lost = False
            self._handshake_failures = 0
            self.link = hybrid.HybridLink(hybrid.PANEL, **self._link_options)
            self._reader = asyncio.create_task(self._read_loop(transport))
            try:
                while self._running and not self._transport_lost:
                    link = self.link
                    if not link.ready and not link.handshaking:
                        if self._handshake_failures >= _HANDSHAKES_PER_OPEN:
                            break
                        nonce = urandom(2)
                        await self._write(link.hello(self._clock(), (nonce[0] << 8) | nonce[1]))
                    await self._tick()
                    if self.present:
                        backoff = self.backoff_min_ms
            finally:
                if self._reader is not None:
                    self._reader.cancel()
                    self._reader = None
                self._close_connection("transport" if self._transport_lost else "handshake")
            if self._running:
                await asyncio.sleep(backoff / 1000)
                backoff = min(backoff * 2, self.backoff_max_ms)

    async def _tick(self):
        link = self.link
        wait_ms = link.next_timeout_ms(self._clock())
        if wait_ms > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait_ms / 1000)
            except asyncio.TimeoutError:
                pass
        if self.link is link and not self._transport_lost:
            data = link.poll(self._clock())
            self._handle_events()
            await self._write(data)

    async def _read_loop(self, transport):
        try:
            while True:
                data = await transport.read(_READ_SIZE)
                if not data:
                    self.last_error = "transport: end of stream"
                    break
                link = self.link
                link.feed(data)
                output = link.poll(self._clock())
                self._handle_events()
                await self._write(output)
        except OSError as error:
            self.last_error = "transport: %s" % (error,)
        self._transport_lost = True
        self.stats["transport_losses"] += 1
        self._wake.set()

    async def _write(self, data):
        transport = self._transport
        if not data or transport is None:
            return
        try:
            transport.write(data)
            async with self._write_lock:
                await transport.drain()
        except OSError as error:
            self.last_error = "transport: %s" % (error,)
            self._transport_lost = True
            self._wake.set()

    def _close_connection(self, reason):
        transport = self._transport
        self._transport = None
        if transport is not None:
            try:
                transport.close()
            except OSError:
                pass
        if self.link is not None:
            self.link.close(reason)
            self._handle_events()
        self._set_absent(reason)
        # Commands whose machine is gone can never be settled.
        for tag in list(self._waiters):
            self._settle(tag, False)

    # ------------------------------------------------------------ events

    def _handle_events(self):
        link = self.link
        event = link.next_event()
        while event is not None:
            self._handle(event)
            event = link.next_event()

    def _handle(self, event):
        kind = event.kind
        now = self._clock()
        if kind == "acked":
            accepted = event.detail == "ok"
            self.stats["commands_acked" if accepted else "commands_refused"] += 1
            self._settle(event.tag, accepted)
        elif kind == "failed":
            self.stats["commands_failed"] += 1
            self._settle(event.tag, False)
        elif kind == "ready":
            info = event.detail
            self._peer = info
            self.version = info.firmware
            self.protocol_version = info.protocol_version
            self.capabilities = info.describe()
            self.stats["handshakes"] += 1
            self._handshake_failures = 0
            if not self.present:
                self.present = True
                self._emit(AdapterEvent("presence", None, True, now, "handshake"))
        elif kind == "handshake_failed":
            self._handshake_failures += 1
            self.last_error = "handshake: %s" % (event.detail,)
            self._wake_up()
        elif kind == "session_lost":
            self._set_absent(event.detail)
            # The supervisor says HELLO again at once, not at its next timer.
            self._wake_up()
        elif kind == "adapter_reset":
            self.stats["adapter_resets"] += 1
            self._emit(AdapterEvent("adapter_reset", None, event.detail, now))
        else:
            key = (event.system, event.line)
            if key not in self._lines and len(self._lines) >= _LINE_STATE_LIMIT:
                for old in self._lines:
                    del self._lines[old]
                    self.stats["lines_forgotten"] += 1
                    break
            self._lines[key] = {"event": kind, "detail": event.detail, "at_ms": now}
            self._emit(AdapterEvent(kind, key, event.detail, now))

    def _wake_up(self):
        if self._wake is not None:
            self._wake.set()

    def _set_absent(self, reason):
        if self.present:
            self.present = False
            self._emit(AdapterEvent("presence", None, False, self._clock(), reason))

    def _settle(self, tag, result):
        waiter = self._waiters.pop(tag, None)
        if waiter is not None:
            waiter[1] = result
            waiter[0].set()

    def _emit(self, event):
        self.stats["events"] += 1
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception as error:  # the consumer's bug must not stop the link
                self.stats["callback_errors"] += 1
                self.last_error = "on_event: %r" % (error,)
            return
        if len(self._events) >= _EVENT_BUFFER_LIMIT:
            self._events.pop(0)
            self.stats["events_dropped"] += 1
        self._events.append(event)
        if self._event_ready is not None:
            self._event_ready.set()


def _line_key(line):
    # ("vizit", 7) or "vizit:7" -> ("vizit", 7); LocalError when malformed.
    if isinstance(line, str):
        return hybrid.parse_line(line)
    if isinstance(line, tuple) and len(line) == 2:
        system, number = line
        if (
            system in hybrid.SYSTEMS
            and system is not None
            and isinstance(number, int)
            and not isinstance(number, bool)
            and 0 <= number <= hybrid.MAX_LINE
        ):
            return (system, number)
    raise hybrid.LocalError(
        "line must be ('laskomex'|'vizit', 0..%d) or 'system:N', not %r" % (hybrid.MAX_LINE, line)
    )
