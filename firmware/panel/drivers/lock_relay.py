# Door lock relays. A relay is driven through a pin-like object handed in by the
# board (machine.Pin on a board, sim.relay on the simulators): value(1)
# energises the relay and releases the lock, value(0) locks again.
#
# open_for() returns at once; a task closes the lock when the time is up. A new
# opening while the lock is open extends it to the later of the two ends.
import asyncio

from panel.compat import ticks_add, ticks_diff, ticks_ms


class LockRelay:
    def __init__(self, number, pin):
        self.number = number
        self._pin = pin
        self._close_at = None
        self._task = None
        self.openings = 0

    def is_open(self):
        return self._close_at is not None

    def open_for(self, seconds):
        """Release the lock for `seconds` (at least one second)."""
        seconds = max(1, int(seconds))
        close_at = ticks_add(ticks_ms(), seconds * 1000)
        self.openings += 1
        if self._close_at is None:
            self._close_at = close_at
            self._pin.value(1)
            self._task = asyncio.create_task(self._close_when_due())
        elif ticks_diff(close_at, self._close_at) > 0:
            self._close_at = close_at

    async def _close_when_due(self):
        while True:
            remaining = ticks_diff(self._close_at, ticks_ms())
            if remaining <= 0:
                break
            await asyncio.sleep_ms(min(remaining, 1000)) if hasattr(
                asyncio, "sleep_ms"
            ) else await asyncio.sleep(min(remaining, 1000) / 1000)
        self._pin.value(0)
        self._close_at = None
        self._task = None

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._close_at = None
        self._pin.value(0)
