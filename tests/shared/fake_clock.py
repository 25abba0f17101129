# A clock that moves only when a test says so: the interface of
# panel.calls.ticks_clock.TicksClock (ticks_ms, wait) plus advance(ms).
#
#   clock = FakeClock(start=0)
#   clock.ticks_ms() -> int          ms ticks; they wrap as the board's do
#   clock.advance(ms)                time passes: every wait whose `ms` have now
#                                    passed returns (its event is set, as a
#                                    real timeout would wake the waiter)
#   await clock.wait(event, ms)      until `event` is set or `ms` of this
#                                    clock have passed
#   clock.waiting() -> int           waits not yet over
#
# Nothing sleeps on a real timer: a test moves the clock, then lets the loop
# run a few turns (or calls the controller's step itself).
from panel.compat import ticks_add, ticks_diff


class FakeClock:
    def __init__(self, start=0):
        self.now = start
        self._waits = []  # [deadline, event] of every wait not yet over

    def ticks_ms(self):
        return self.now

    def advance(self, ms):
        self.now = ticks_add(self.now, ms)
        for entry in self._waits:
            if ticks_diff(self.now, entry[0]) >= 0:
                entry[1].set()

    async def wait(self, event, ms):
        entry = [ticks_add(self.now, ms), event]
        self._waits.append(entry)
        try:
            if ms <= 0:
                event.set()
            await event.wait()
        finally:
            self._waits.remove(entry)

    def waiting(self):
        return len(self._waits)
