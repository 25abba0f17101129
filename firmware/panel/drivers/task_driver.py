# The lifecycle a board driver that runs one asyncio task shares (the keypad
# matrix, the inputs, the network link, the NTP clock): start() creates the
# task (never the constructor: STYLE rule 11), stop() cancels it, alive() says
# whether it runs (the watchdog asks). Subclasses define `async _run()`.
import asyncio


class TaskDriver:
    _task = None

    def _start_task(self):
        self._task = asyncio.create_task(self._run())

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def alive(self):
        return self._task is not None
