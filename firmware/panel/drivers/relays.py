# Lock relays on machine.Pin outputs, with the active level from the board file
# ("relays": [{"pin": 32, "active": 1}, ...]). drivers/lock_relay.py speaks
# logical levels (value(1): the lock is released); this wrapper turns them into
# the level the relay board wants: an opto-isolated relay module is commonly
# driven low (active 0), a transistor stage high (active 1).
#
# The pin is handed in already built (DESIGN.md rule 3); construction writes
# nothing, start() drives the inactive level (main.py builds the pin with
# value=inactive as well, so the relay never clicks at boot).


class RelayOutput:
    """A pin-like logical output: value(1) energises the relay."""

    def __init__(self, pin, active_level=1):
        if active_level not in (0, 1):
            raise ValueError("active level must be 0 or 1")
        self._pin = pin
        self.active_level = active_level
        self.state = 0
        self.openings = 0

    def _write(self, state):
        self._pin.value(self.active_level if state else 1 - self.active_level)

    def start(self):
        """Drive the inactive level (the lock closed)."""
        self.state = 0
        self._write(0)

    def value(self, state=None):
        if state is None:
            return self.state
        state = 1 if state else 0
        if state and not self.state:
            self.openings += 1
        self.state = state
        self._write(state)
        return None

    def describe(self):
        return {"state": self.state, "active_level": self.active_level, "openings": self.openings}


def inactive_level(spec):
    """The pin level that keeps the relay of a board-file entry released."""
    return 1 - spec.get("active", 1)
