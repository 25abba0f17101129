# A pin-like output that only remembers its state: the relay of a board that has
# none wired, the tests' relay on both runtimes, and the base of the host
# simulator's logged relay (firmware/sim/relay.py).


class RecordingPin:
    def __init__(self, number):
        self.number = number
        self.state = 0
        self.openings = 0

    def value(self, state=None):
        if state is None:
            return self.state
        state = 1 if state else 0
        if state == self.state:
            return None
        self.state = state
        if state:
            self.openings += 1
        self.changed(state)
        return None

    def changed(self, state):
        """Called after each change; subclasses log it."""

    def describe(self):
        return {
            "lock": self.number,
            "state": "open" if self.state else "closed",
            "openings": self.openings,
        }
