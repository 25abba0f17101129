# The clock the call controller runs its timers on (STYLE.md rule 18: time is
# handed in). Monotonic ms ticks that wrap like MicroPython's time.ticks_ms()
# (compare them with compat.ticks_diff), not the wall clock of panel.clock.
#
# The interface, which tests/shared/fake_clock.FakeClock has too:
#   ticks_ms() -> int                 now, in ms ticks
#   await wait(event, ms)             until the asyncio.Event `event` is set or
#                                     `ms` have passed, whichever comes first;
#                                     the event is left as it is (not cleared)
import asyncio

from panel.compat import ticks_ms


class TicksClock:
    def ticks_ms(self):
        return ticks_ms()

    async def wait(self, event, ms):
        try:
            await asyncio.wait_for(event.wait(), ms / 1000)
        except asyncio.TimeoutError:
            pass
