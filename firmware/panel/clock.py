# The panel clock: Unix time, or None while it is unset.
#
# Boards without a battery-backed RTC boot at 2000-01-01 until NTP sets the time;
# schedule-dependent rules must then treat the time as unknown (redirect-rules
# spec 2.6), so `now()` answers None until someone marks the clock as set.
import time

# Anything before 2020-01-01 is a clock that was never set.
_EARLIEST_PLAUSIBLE = 1577836800


class Clock:
    def __init__(self, source=None, assume_set=False):
        # source: a function returning Unix seconds (float); time.time by default.
        # MicroPython's epoch is 2000 on some ports: the board's main.py passes
        # a source corrected to the Unix epoch.
        self._source = source or time.time
        self._set = assume_set

    def mark_set(self):
        self._set = True

    def is_set(self):
        if self._set:
            return True
        return self._source() >= _EARLIEST_PLAUSIBLE

    def now(self):
        if not self.is_set():
            return None
        return self._source()

    def now_ms(self):
        """Unix milliseconds for log timestamps; 0 while unset."""
        seconds = self.now()
        if seconds is None:
            return 0
        return int(seconds * 1000)
