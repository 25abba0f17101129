"""The host board's lock relays: pin-like objects whose every change is logged.

The firmware's LockRelay drives them through `value(0|1)` exactly as it drives a
machine.Pin on a board. Each change is kept in memory (for the /sim routes) and
appended as a JSON line to a log file, so a developer can watch the door open.
"""
import json
import time


class SimulatedRelayPin:
    def __init__(self, number, log_path=None, echo=True):
        self.number = number
        self.state = 0
        self.openings = 0
        self.history = []  # (unix seconds, state), bounded below
        self._log_path = log_path
        self._echo = echo

    def value(self, state=None):
        if state is None:
            return self.state
        state = 1 if state else 0
        if state == self.state:
            return None
        self.state = state
        if state:
            self.openings += 1
        stamp = time.time()
        self.history.append((stamp, state))
        del self.history[:-100]
        line = {"time": stamp, "lock": self.number, "state": "open" if state else "closed"}
        if self._log_path:
            with open(self._log_path, "a") as handle:
                handle.write(json.dumps(line) + "\n")
        if self._echo:
            print("lock %d %s" % (self.number, line["state"]), flush=True)
        return None

    def describe(self):
        return {"lock": self.number, "state": "open" if self.state else "closed",
                "openings": self.openings}
