# Safe boot: three boots in a row that crash before the panel is up start the
# recovery mode instead of a crash loop.
#
# boot.py (which MicroPython runs before main.py) calls boot_started(): the
# count in COUNT_FILE goes up by one, durably, before anything that could
# crash. main.py calls panel_up() once the panel serves (HTTP listening, the
# drivers started): the count goes back to 0. A boot that finds the count at
# CRASH_LIMIT or more has followed that many boots that never came up, so
# main.py starts the recovery panel (recovery_board(): the HTTP API with the
# factory account, the log readable, no adapter, no SIP, no keypad: no calls)
# and clears the count, so the next reset tries a normal boot again.
#
# A watchdog reset counts like a crash: the panel was not up long enough to
# clear the count, or it was up, and the count started again from 0.
import os

from panel.compat import fsync

COUNT_FILE = "boot_count"
CRASH_LIMIT = 3
# The account store of the recovery panel: a fresh one, so the factory
# account (admin / 123456) logs in whatever the damaged store holds.
RECOVERY_ACCOUNT_DIR = "recovery_account"


class SafeBoot:
    def __init__(self, path=COUNT_FILE, limit=CRASH_LIMIT):
        self.path = path
        self.limit = limit

    def count(self):
        try:
            with open(self.path) as handle:
                return int(handle.read().strip() or "0")
        except (OSError, ValueError):
            return 0

    def _write(self, count):
        with open(self.path, "w") as handle:
            handle.write(str(count))
            fsync(handle)

    def boot_started(self):
        """Count this boot; the count before it."""
        before = self.count()
        self._write(before + 1)
        return before

    def in_recovery(self):
        """True when the boots before this one crashed CRASH_LIMIT times."""
        # This boot is counted already (boot_started): the crashed ones are
        # the count minus one.
        return self.count() - 1 >= self.limit

    def panel_up(self):
        self._write(0)

    def recovery_started(self):
        self._write(0)


def recovery_board(board):
    """The board file of the recovery panel (a new dict): no adapter, no SIP,
    no keypad nor inputs, and the flag the API shows."""
    board = dict(board)
    for name in ("adapter", "keypad", "inputs"):
        board.pop(name, None)
    board["sip"] = None
    board["recovery"] = True
    board["device_name"] = board.get("device_name", "Entrance panel") + " (recovery mode)"
    return board


def remove_tree(path):
    """Delete a directory and what it holds (the recovery account store)."""
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        child = path + "/" + name
        try:
            os.remove(child)
        except OSError:
            remove_tree(child)
    try:
        os.rmdir(path)
    except OSError:
        pass
