# The lifecycle shared by drivers that own a non-blocking UDP socket and poll it
# from one asyncio task (MicroPython's asyncio has no datagram endpoints, so the
# SIP user agent and each RTP session poll instead of awaiting reads).
import asyncio

from panel.compat import const, ticks_ms

# How often the task polls: 10 ms keeps SIP timers (500 ms) and 20 ms RTP
# frames on time without loading the CPU.
POLL_MS = const(10)


class PolledSocket:
    """Subclasses set self.transport (a bound UDP socket) and define poll(now)."""

    _task = None

    def now_ms(self):
        # Subclasses with an injected clock override this.
        return ticks_ms()

    def start(self):
        """Start the polling task (needs a running loop); idempotent."""
        self.transport.setblocking(False)
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def stop(self):
        """Cancel the task; the socket stays open: its owner closes it."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self):
        while True:
            self.poll(self.now_ms())
            await asyncio.sleep(POLL_MS / 1000)
