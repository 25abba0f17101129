# The hardware watchdog, fed only while the parts that make a panel are alive:
# the HTTP server, the SIP user agent and the adapter driver (each a check
# handed in: callable() -> bool). If one of them dies (a task ended by a bug,
# a loop stuck), feeding stops and machine.WDT resets the board after
# TIMEOUT_MS; the boot after that is counted by the safe boot
# (panel/safe_boot.py) like any other.
#
# The WDT is built in start() (it cannot be stopped once running on ESP32 and
# rp2: nothing may build it at import time, DESIGN.md rule 3).
import asyncio

from panel.compat import const, sleep_ms

TIMEOUT_MS = const(8000)  # rp2's longest is 8388 ms
FEED_MS = const(1000)


class Watchdog:
    def __init__(self, wdt_class, checks, timeout_ms=TIMEOUT_MS, feed_ms=FEED_MS, log=print):
        # checks: [(name, callable() -> bool)]
        self._wdt_class = wdt_class
        self.checks = list(checks)
        self.timeout_ms = timeout_ms
        self.feed_ms = feed_ms
        self._log = log
        self._wdt = None
        self._task = None
        self.feeds = 0
        self.failing = ()

    def start(self):
        self._wdt = self._wdt_class(timeout=self.timeout_ms)
        self._task = asyncio.create_task(self._run())

    def stop(self):
        # The WDT itself cannot be stopped: a stopped watchdog task resets the board.
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def failing_checks(self):
        failing = []
        for name, alive in self.checks:
            try:
                ok = alive()
            except Exception:  # a check that raises counts as dead
                ok = False
            if not ok:
                failing.append(name)
        return failing

    async def _run(self):
        while True:
            # Sleep first: at start() the HTTP server is still binding.
            await sleep_ms(self.feed_ms)
            failing = self.failing_checks()
            if failing:
                if tuple(failing) != self.failing:
                    self._log("watchdog: not feeding, dead: %s" % ", ".join(failing))
            else:
                self._wdt.feed()
                self.feeds += 1
            self.failing = tuple(failing)


def task_alive(task):
    """True for an asyncio task that has not ended."""
    return task is not None and not task.done()
