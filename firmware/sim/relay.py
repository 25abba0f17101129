# The simulator boards' lock relays: pins whose every change is logged.
#
# The firmware's LockRelay drives them through `value(0|1)` exactly as it drives a
# machine.Pin on a board. Each change is appended as a JSON line to a log file and
# echoed, so a developer can watch the door open.
import json
import sys
import time

from panel.drivers.pins import RecordingPin


class SimulatedRelayPin(RecordingPin):
    def __init__(self, number, log_path=None, echo=True):
        RecordingPin.__init__(self, number)
        self._log_path = log_path
        self._echo = echo

    def changed(self, state):
        line = {"time": time.time(), "lock": self.number, "state": "open" if state else "closed"}
        if self._log_path:
            with open(self._log_path, "a") as handle:
                handle.write(json.dumps(line) + "\n")
        if self._echo:
            # No print(flush=) on MicroPython; its stdout is unbuffered anyway.
            print("lock %d %s" % (self.number, line["state"]))
            flush = getattr(sys.stdout, "flush", None)
            if flush is not None:
                flush()
