# Debounced digital inputs: the inside exit button and the door sensor of each
# lock, with the active level from the board file ("inputs": [{"kind":
# "exit_button", "pin": 34, "active": 0, "lock": 1}, ...]).
#
# The core is pure: step(level, now_ms) takes one sample and answers True when
# the debounced state changed, so the tests feed bounces sample by sample on
# both runtimes. InputPoller is the thin asyncio loop sampling every input
# every POLL_MS and calling each input's handler with its new state.
#
# A contact bounces for a few milliseconds; a level must hold for DEBOUNCE_MS
# before it counts. The state at start() is taken as it is, without an event:
# a door that is open at boot is reported by the sensor's first change, and an
# exit button held at boot opens nothing (it has to be released and pressed).
# An input built with report_initial (the door sensor) hands its state at
# start() to its handler once: a door open at boot is known at boot.

from panel.compat import const, sleep_ms, ticks_diff, ticks_ms
from panel.drivers.task_driver import TaskDriver

# A level must be stable this long to count (typical contact bounce < 10 ms).
DEBOUNCE_MS = const(30)
# How often the poller samples (a press lasts at least ~100 ms).
POLL_MS = const(10)


class DebouncedInput:
    def __init__(
        self,
        pin,
        active_level=0,
        debounce_ms=DEBOUNCE_MS,
        on_change=None,
        name="",
        report_initial=False,
    ):
        if active_level not in (0, 1):
            raise ValueError("active level must be 0 or 1")
        self.pin = pin
        self.active_level = active_level
        self.debounce_ms = debounce_ms
        self.on_change = on_change
        self.name = name
        self.report_initial = report_initial
        self.active = False  # the debounced state
        self._candidate = None  # the raw state waiting to become stable
        self._since = 0
        self.changes = 0

    def reset(self, level, now_ms):
        """Take the state as it is now, without an event."""
        self.active = level == self.active_level
        self._candidate = None
        self._since = now_ms

    def step(self, level, now_ms):
        """One sample; True when the debounced state changed."""
        raw = level == self.active_level
        if raw == self.active:
            self._candidate = None
            return False
        if self._candidate != raw:
            self._candidate = raw
            self._since = now_ms
            return False
        if ticks_diff(now_ms, self._since) < self.debounce_ms:
            return False
        self.active = raw
        self._candidate = None
        self.changes += 1
        return True

    def sample(self, now_ms):
        """Read the pin once; calls on_change(active) on a debounced change."""
        if self.step(self.pin.value(), now_ms) and self.on_change is not None:
            self.on_change(self.active)


class InputPoller(TaskDriver):
    """One task sampling a list of DebouncedInput every POLL_MS."""

    def __init__(self, inputs, poll_ms=POLL_MS, ticks=ticks_ms, log=print):
        self.inputs = list(inputs)
        self.poll_ms = poll_ms
        self._ticks = ticks
        self._log = log
        self._task = None
        self.errors = 0

    def start(self):
        now = self._ticks()
        for item in self.inputs:
            item.reset(item.pin.value(), now)
            if item.report_initial and item.on_change is not None:
                item.on_change(item.active)
        self._start_task()

    async def _run(self):
        while True:
            now = self._ticks()
            for item in self.inputs:
                try:
                    item.sample(now)
                except Exception as error:  # a handler's failure must not stop the inputs
                    self.errors += 1
                    self._log("inputs: %s: %r" % (item.name, error))
            await sleep_ms(self.poll_ms)
