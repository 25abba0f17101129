# The front keypad as a switch matrix (4x3: 0-9 * #, or 4x4 with A-D), scanned
# from one asyncio task. Keys that settle go to a callback (firmware/main.py
# hands in the call controller's press(), as the host's /sim/keypad does).
#
# Electrically: the column pins are inputs pulled to the inactive level; one
# row at a time is driven to the active level (0 with pull-ups, the usual
# wiring), the others to the inactive one; a closed key connects its row to
# its column, so that column reads the active level. Board file:
#     "keypad": {"rows": [2, 14, 15, 13], "columns": [35, 39, 33],
#                "keys": ["123", "456", "789", "*0#"], "active": 0}
#
# The scanner is pure over the pins handed in (scan() reads one frame,
# step(now_ms) debounces and answers the keys that went down), so the tests
# drive a fake matrix sample by sample on both runtimes.
#
# Three rules, each with a test (tests/shared/test_keypad_matrix.py):
# - debounce: a key counts once it has read the same for DEBOUNCE_MS;
# - repeat suppression: a held key gives one key; it must be released (for
#   DEBOUNCE_MS) before it can give another;
# - ghosting: without diodes, three closed keys at the corners of a rectangle
#   make the fourth corner read closed too. A frame where two closed keys
#   share a row and two share a column is ambiguous: it changes nothing, and
#   keys resume once it is resolved. Two keys pressed at once in different
#   rows and columns are not ambiguous: each gives its key once, in scan order.

from panel.compat import const, sleep_ms, ticks_diff, ticks_ms
from panel.drivers.task_driver import TaskDriver

DEBOUNCE_MS = const(20)
# One full scan per SCAN_MS: a key press lasts ~100 ms, a bounce < 10 ms.
SCAN_MS = const(10)
LAYOUT_4X3 = ("123", "456", "789", "*0#")
LAYOUT_4X4 = ("123A", "456B", "789C", "*0#D")


def ambiguous(closed):
    """True when the closed (row, column) set may hold a ghost: two of its
    keys share a row and one of those shares a column with a third."""
    rows = {}
    columns = {}
    for row, column in closed:
        rows[row] = rows.get(row, 0) + 1
        columns[column] = columns.get(column, 0) + 1
    for row, column in closed:
        if rows[row] > 1 and columns[column] > 1:
            return True
    return False


class KeypadMatrix:
    def __init__(self, rows, columns, keys, active_level=0, debounce_ms=DEBOUNCE_MS):
        # rows: output pins; columns: input pins; keys: one string per row.
        if len(keys) != len(rows) or any(len(line) != len(columns) for line in keys):
            raise ValueError("keys must have one character per row and column")
        if active_level not in (0, 1):
            raise ValueError("active level must be 0 or 1")
        self.rows = list(rows)
        self.columns = list(columns)
        self.keys = tuple(keys)
        self.active_level = active_level
        self.debounce_ms = debounce_ms
        self._down = set()  # the debounced closed keys
        self._candidate = None  # a frame waiting to become stable
        self._since = 0
        self.ghost_frames = 0

    def release_rows(self):
        for pin in self.rows:
            pin.value(1 - self.active_level)

    def scan(self):
        """One frame: the set of (row, column) reading closed."""
        closed = set()
        inactive = 1 - self.active_level
        for row_index, row in enumerate(self.rows):
            row.value(self.active_level)
            for column_index, column in enumerate(self.columns):
                if column.value() == self.active_level:
                    closed.add((row_index, column_index))
            row.value(inactive)
        return closed

    def step(self, now_ms, frame=None):
        """Scan (or take frame), debounce; the keys that went down, in scan order."""
        if frame is None:
            frame = self.scan()
        if ambiguous(frame):
            self.ghost_frames += 1
            self._candidate = None
            return ""
        if frame == self._down:
            self._candidate = None
            return ""
        if frame != self._candidate:
            self._candidate = frame
            self._since = now_ms
            return ""
        if ticks_diff(now_ms, self._since) < self.debounce_ms:
            return ""
        pressed = sorted(frame - self._down)
        self._down = frame
        self._candidate = None
        return "".join(self.keys[row][column] for row, column in pressed)

    def held(self):
        return "".join(self.keys[row][column] for row, column in sorted(self._down))


class KeypadScanner(TaskDriver):
    """The task: scan every SCAN_MS, hand each settled key to on_key(key)."""

    def __init__(self, matrix, on_key, scan_ms=SCAN_MS, ticks=ticks_ms, log=print):
        self.matrix = matrix
        self.on_key = on_key
        self.scan_ms = scan_ms
        self._ticks = ticks
        self._log = log
        self._task = None
        self.keys_given = 0
        self.errors = 0

    def start(self):
        self.matrix.release_rows()
        self._start_task()

    async def _run(self):
        while True:
            keys = self.matrix.step(self._ticks())
            for key in keys:
                self.keys_given += 1
                try:
                    self.on_key(key)
                except Exception as error:  # the controller's failure must not stop the keypad
                    self.errors += 1
                    self._log("keypad: %r" % (error,))
            await sleep_ms(self.scan_ms)
