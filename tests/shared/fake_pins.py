# Pins for the shared driver tests (both runtimes): an output that records
# its writes, an input whose level a test sets, and a key matrix whose closed
# keys join rows to columns electrically (so ghosting shows as on a board).


class OutputPin:
    def __init__(self):
        self.level = None
        self.writes = []

    def value(self, level=None):
        if level is None:
            return self.level
        self.level = level
        self.writes.append(level)
        return None


class InputPin:
    def __init__(self, level=1):
        self.level = level

    def value(self, level=None):
        return self.level


class MatrixWiring:
    """rows x columns switches; columns pulled up; a closed key joins its row
    to its column, and everything joined reads the lowest driven row."""

    def __init__(self, rows, columns):
        self.rows = [OutputPin() for _ in range(rows)]
        self.columns = [_ColumnPin(self, index) for index in range(columns)]
        self.closed = set()

    def column_level(self, column):
        # Walk the closed switches from the column: rows and columns joined.
        seen_rows = set()
        seen_columns = {column}
        frontier = [("c", column)]
        while frontier:
            kind, index = frontier.pop()
            for row, col in self.closed:
                if kind == "c" and col == index and row not in seen_rows:
                    seen_rows.add(row)
                    frontier.append(("r", row))
                if kind == "r" and row == index and col not in seen_columns:
                    seen_columns.add(col)
                    frontier.append(("c", col))
        levels = [self.rows[row].level for row in seen_rows if self.rows[row].level is not None]
        return min(levels) if levels else 1


class _ColumnPin:
    def __init__(self, wiring, index):
        self._wiring = wiring
        self._index = index

    def value(self, level=None):
        return self._wiring.column_level(self._index)
