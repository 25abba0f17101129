# The lifecycle shared by drivers that own a non-blocking UDP socket and poll it
# from one asyncio task (MicroPython's asyncio has no datagram endpoints, so the
# SIP user agent and each RTP session poll instead of awaiting reads).
#
# Robustness (STYLE.md rule 20): nothing from outside stops the task. A socket
# error or a MemoryError while receiving, or any exception out of poll(), is
# counted (counters "receive_errors", "poll_errors"), logged with
# compat.print_exception, and the task backs off (doubling the pause up to
# MAX_BACKOFF_MS, so the heap can recover and the log is not flooded) and goes
# on; one clean round resets the pause. Only cancellation (stop()) ends it.
#
# Garbage: an idle poll allocates nothing. The socket (drivers.sockets) is
# asked first whether anything waits (select.poll's ipoll on MicroPython), so
# recvfrom, which allocates its full buffer size on MicroPython even when it
# then raises EAGAIN, runs only when a datagram is there.
from panel.compat import EAGAIN, const, error_number, print_exception, sleep_ms, ticks_ms

# How often the task polls: 10 ms keeps SIP timers (500 ms) and 20 ms RTP
# frames on time without loading the CPU.
POLL_MS = const(10)
# Longest pause after repeated failures: SIP retransmits every 500 ms or more,
# so a second of back-off loses nothing a retransmission does not recover.
MAX_BACKOFF_MS = const(1000)


class PolledSocket:
    """Subclasses set self.transport (drivers.sockets.wrap of a bound UDP socket),
    self.counters (a dict) and define poll(now)."""

    _task = None
    _backoff_ms = 0  # pause before the next round while failures go on
    _failures_this_round = 0

    def now_ms(self):
        # Subclasses with an injected clock override this.
        return ticks_ms()

    def start(self):
        """Start the polling task (needs a running loop); idempotent."""
        import asyncio

        self.transport.setblocking(False)
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def stop(self):
        """Cancel the task; the socket stays open: its owner closes it."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _count(self, name):
        self.counters[name] = self.counters.get(name, 0) + 1

    def failed(self, counter, error):
        """An error from outside (socket, heap): count, log, back off."""
        self._count(counter)
        self._failures_this_round += 1
        if self._backoff_ms:
            self._backoff_ms = min(self._backoff_ms * 2, MAX_BACKOFF_MS)
        else:
            self._backoff_ms = POLL_MS * 2
        try:
            print_exception(error)
        except Exception:  # noqa: BLE001 - logging under MemoryError may fail too
            pass

    def receive(self, size):
        """(data, (ip, port)) of one waiting datagram, or None; never raises."""
        transport = self.transport
        try:
            if not transport.readable():
                return None
            return transport.recvfrom(size)
        except Exception as error:  # noqa: BLE001 - OSError, MemoryError: from outside
            if not isinstance(error, OSError) or error_number(error) != EAGAIN:
                self.failed("receive_errors", error)
            return None

    def receive_into(self, buffer):
        """Byte count of one datagram read into buffer (0: none); never raises."""
        transport = self.transport
        try:
            if not transport.readable():
                return 0
            return transport.receive_into(buffer)[0]
        except Exception as error:  # noqa: BLE001 - OSError, MemoryError: from outside
            if not isinstance(error, OSError) or error_number(error) != EAGAIN:
                self.failed("receive_errors", error)
            return 0

    async def _run(self):
        while True:
            self._failures_this_round = 0
            try:
                self.poll(self.now_ms())
            except Exception as error:  # noqa: BLE001 - the poll task must survive
                self.failed("poll_errors", error)
            if not self._failures_this_round:
                self._backoff_ms = 0
            await sleep_ms(self._backoff_ms or POLL_MS)
