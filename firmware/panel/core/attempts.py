# Brute-force limits: wrong secrets (passwords, tokens, personal codes) counted
# per source, and a lockout window that doubles with every further failure.
# Pure and sans-I/O (DESIGN.md rule 2): the time comes in as an argument, in
# ms ticks that wrap (compat.ticks_diff), so tests drive it with a fake clock.
#
#   limiter = AttemptLimiter(free_failures=5, base_ms=1000, max_ms=300000,
#                            forget_ms=900000, max_sources=16)
#   limiter.blocked_ms(source, now) -> 0 when source may try, else the ms
#       left in its lockout window (the caller refuses without checking)
#   limiter.failed(source, now) -> the ms of the window this failure opened
#       (0: none yet)
#   limiter.succeeded(source)  forget the source (a right secret)
#   limiter.clear(); limiter.tracked() -> number of sources remembered
#
# [D] Semantics, the same for the HTTP API and the keypad:
# - the first free_failures - 1 failures of a source cost nothing; the
#   free_failures-th opens a window of base_ms, each later failure (it can only
#   come after the window ended) a window twice the last, at most max_ms;
# - while a window is open the source's attempts are refused unchecked, so the
#   window is not a delay that a guess can wait through inside one connection;
# - a source is forgotten forget_ms after its last failure (and forget_ms is
#   at least max_ms) or at its first right secret;
# - at most max_sources sources are remembered: a new one evicts the one whose
#   last failure is oldest (bounded memory whatever the number of clients).
from panel.compat import ticks_add, ticks_diff

# Entry layout: [failures, last_failure_ticks, window_end_ticks or None].
_FAILURES = 0
_LAST = 1
_WINDOW_END = 2


class AttemptLimiter:
    def __init__(self, free_failures, base_ms, max_ms, forget_ms, max_sources):
        if free_failures < 1 or base_ms < 1 or max_ms < base_ms or max_sources < 1:
            raise ValueError("bad limiter limits")
        self.free_failures = free_failures
        self.base_ms = base_ms
        self.max_ms = max_ms
        # A source must not be forgotten while its window is still open.
        self.forget_ms = max(forget_ms, max_ms)
        self.max_sources = max_sources
        self._entries = {}  # source -> entry

    def _live(self, source, now):
        entry = self._entries.get(source)
        if entry is None:
            return None
        if self._stale(entry, now):
            del self._entries[source]
            return None
        return entry

    def _stale(self, entry, now):
        # A negative age can only be ticks that wrapped past an entry left
        # alone for half a tick period: stale as well.
        age = ticks_diff(now, entry[_LAST])
        return age < 0 or age >= self.forget_ms

    def blocked_ms(self, source, now):
        entry = self._live(source, now)
        if entry is None or entry[_WINDOW_END] is None:
            return 0
        left = ticks_diff(entry[_WINDOW_END], now)
        return left if left > 0 else 0

    def window_ms(self, failures):
        """The lockout window after `failures` failures in a row (0: none)."""
        if failures < self.free_failures:
            return 0
        window = self.base_ms
        for _ in range(failures - self.free_failures):
            window *= 2
            if window >= self.max_ms:
                return self.max_ms
        return window

    def failed(self, source, now):
        entry = self._live(source, now)
        if entry is None:
            self._make_room(now)
            entry = [0, now, None]
            self._entries[source] = entry
        entry[_FAILURES] += 1
        entry[_LAST] = now
        window = self.window_ms(entry[_FAILURES])
        entry[_WINDOW_END] = ticks_add(now, window) if window else None
        return window

    def _make_room(self, now):
        entries = self._entries
        for source in [key for key in entries if self._stale(entries[key], now)]:
            del entries[source]
        while len(entries) >= self.max_sources:
            oldest = None
            oldest_age = -1
            for source in entries:
                age = ticks_diff(now, entries[source][_LAST])
                if age > oldest_age:
                    oldest = source
                    oldest_age = age
            del entries[oldest]

    def succeeded(self, source):
        if source in self._entries:
            del self._entries[source]

    def clear(self):
        self._entries = {}

    def tracked(self):
        return len(self._entries)

    def failures(self, source, now):
        entry = self._live(source, now)
        return 0 if entry is None else entry[_FAILURES]


class LogThrottle:
    """At most `limit` log entries per window of `window_ms` (a fixed window
    that starts with its first entry); the ones refused are counted so the
    next entry allowed can say how many were left out."""

    def __init__(self, limit, window_ms):
        self.limit = limit
        self.window_ms = window_ms
        self._window_start = None
        self._in_window = 0
        self.suppressed = 0  # refused since the last entry allowed

    def allow(self, now):
        """True when one more entry may be written now."""
        if self._window_start is None or not (
            0 <= ticks_diff(now, self._window_start) < self.window_ms
        ):
            self._window_start = now
            self._in_window = 0
        if self._in_window >= self.limit:
            self.suppressed += 1
            return False
        self._in_window += 1
        return True

    def take_suppressed(self):
        count = self.suppressed
        self.suppressed = 0
        return count
