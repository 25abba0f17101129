# Forward rules (BAS-IP contract 3.1): forward number -> queue of destinations,
# kept in the store one record per apartment under "f:<20-digit number>", so the
# store's byte order is numeric order and a list is an ordered scan.
#
# Only the count is kept in RAM (for the board's rule limit); queues are read
# from the store when asked for, never all at once.
import json

from panel.compat import const
from panel.core.body import MAX_INT64
from panel.store import MAX_BATCH_BYTES, MAX_BATCH_CHANGES, MAX_VALUE_BYTES

_PREFIX = "f:"
_STOP = "f;"
# At most this many destinations per apartment (the vendor web UI's limit).
MAX_QUEUE_LENGTH = const(8)
# forward_number is an int64 (spec 3.1).
MAX_FORWARD_NUMBER = MAX_INT64
# A queue is stored as one store value (its JSON text), so it must fit the
# store's value limit: eight long SIP URIs, or one entry of 2,000 digits, do
# not. Measured as CPython's json.dumps writes it (", " between entries), which
# is never shorter than MicroPython's, so both runtimes take the same queues.
MAX_QUEUE_BYTES = MAX_VALUE_BYTES


def forward_key(number):
    return "%s%020d" % (_PREFIX, number)


def number_of_key(key):
    return int(key[len(_PREFIX) :])


class RuleLimitReached(Exception):
    pass


class TooManyAtOnce(Exception):
    """More rules in one atomic request than the store writes in one batch."""


class QueueTooLarge(Exception):
    """A queue whose stored form is longer than MAX_QUEUE_BYTES."""

    def __init__(self, number):
        super().__init__(number)
        self.number = number


def queue_stored_bytes(queue):
    """Bytes of the queue's JSON text with ", " separators: '["a", "b"]'.
    Exact for checked entries (ASCII without quotes or backslashes)."""
    total = 2
    for entry in queue:
        total += len(entry) + 2
    if len(queue) > 1:
        total += 2 * (len(queue) - 1)
    return total


# CPython's json.dumps escapes every non-ASCII character; MicroPython's
# writes them as UTF-8. A stored queue's bytes are only what json.dumps
# writes again if, on CPython, they are ASCII.
_CHECK_ASCII = hasattr(b"", "isascii")


def _is_canonical_queue(value):
    """Whether a stored queue is exactly what json.dumps writes for it again
    (the form upsert_many stores: '["a", "b"]', nothing escaped), so its
    bytes can go into an answer as they are. Anything else (another
    writer's spacing, an escape) is decoded and encoded instead. Every
    quote must be one of an entry's two (entries hold none of their own),
    every separator ", "."""
    if value == b"[]":
        return True
    return (
        value[:2] == b'["'
        and value[-2:] == b'"]'
        and value.count(b'"') == 2 * value.count(b'", "') + 2
        and b"\\" not in value
        and (not _CHECK_ASCII or value.isascii())
    )


class ForwardRules:
    def __init__(self, store, limit):
        self._store = store
        self._limit = limit
        self._count = None

    def count(self):
        if self._count is None:
            self._count = self._store.count(_PREFIX, _STOP)
        return self._count

    def get(self, number):
        raw = self._store.get(forward_key(number))
        if raw is None:
            return None
        return json.loads(raw)

    def exists(self, number):
        return self._store.get(forward_key(number)) is not None

    def upsert_many(self, rules):
        """rules: list of (number, queue). Atomic; returns a list of booleans,
        True where the rule was created (False: replaced). Raises
        QueueTooLarge, TooManyAtOnce or RuleLimitReached, storing nothing."""
        changes = []
        for number, queue in rules:
            value = json.dumps(queue).encode()
            if max(len(value), queue_stored_bytes(queue)) > MAX_QUEUE_BYTES:
                raise QueueTooLarge(number)
            changes.append((forward_key(number), value))
        created = []
        new_numbers = {}
        for number, _ in rules:
            is_new = number not in new_numbers and not self.exists(number)
            if is_new:
                new_numbers[number] = True
            created.append(is_new)
        # One atomic batch: the store bounds its size (count and bytes).
        batch_bytes = 0
        for key, value in changes:
            batch_bytes += len(key) + len(value)
        if len(changes) > MAX_BATCH_CHANGES or batch_bytes > MAX_BATCH_BYTES:
            raise TooManyAtOnce()
        if self.count() + len(new_numbers) > self._limit:
            raise RuleLimitReached()
        self._store.write_batch(changes)
        self._count = self.count() + len(new_numbers)
        return created

    def delete_many(self, numbers):
        """Deletes the rules that exist, atomically; returns the list of
        booleans, True where a rule was deleted."""
        found = []
        changes = []
        seen = {}
        for number in numbers:
            exists = number not in seen and self.exists(number)
            seen[number] = True
            found.append(exists)
            if exists:
                changes.append((forward_key(number), None))
        # Deleting many is not atomic in the contract (unknown numbers are
        # skipped anyway), so a long list goes in store-sized batches; the
        # count is read again from the store, whichever batches landed.
        if changes:
            self._count = None
            self._store.write_in_batches(changes)
        return found

    def numbers(self, reverse=False):
        """Forward numbers in order, from the keys alone (no record decoded)."""
        for key in self._store.keys(_PREFIX, _STOP, reverse=reverse):
            yield number_of_key(key)

    def scan(self, reverse=False):
        """(number, queue) pairs in number order, read one at a time."""
        for key, value in self._store.scan(_PREFIX, _STOP, reverse=reverse):
            yield number_of_key(key), json.loads(value)

    def page(self, skip, limit, reverse=False):
        """(number, queue) of one page in number order: the store passes over
        the first `skip` rules by its partitions' counts, so a later page
        reads no more than the first."""
        if limit <= 0:
            return []
        numbers = []
        values = []
        if reverse:
            pairs = self._store.scan(_PREFIX, _STOP, reverse=True, skip=skip)
        else:
            # One list, read without a generator step per record: a third
            # of a 20-item list request on CPython was those steps.
            pairs = self._store.page(_PREFIX, _STOP, skip, limit)
        for key, value in pairs:
            numbers.append(number_of_key(key))
            values.append(value)
            if len(numbers) >= limit:
                break
        if not values:
            return []
        # The page's queues in one JSON array, one decode: a decode per record
        # was a quarter of a 20-item list request on CPython (the parser's
        # set-up per call). The records are let go before the decode, so the
        # heap holds one page's bytes once, not twice.
        # (The brackets go onto the first and last records: the page's bytes
        # are copied once, by the join.)
        values[0] = b"[" + values[0]
        values[-1] = values[-1] + b"]"
        joined = b",".join(values)
        values = None
        queues = json.loads(joined)
        joined = None
        return [(numbers[index], queues[index]) for index in range(len(numbers))]

    def page_json(self, skip, limit):
        """One page in ascending number order as JSON text: the items of the
        list answer ({"forward_number": n, "forward_entity_list": queue}),
        joined by ", ", as bytes, and how many there are. The same bytes
        json.dumps writes for the page's documents (tests/shared
        test_forward_rules_page_json), spliced from the stored queues without
        decoding and encoding them again: that was half of a 20-item list
        request's time on CPython."""
        if limit <= 0:
            return b"", 0
        parts = []
        pairs = self._store.page(_PREFIX, _STOP, skip, limit)
        prefix_length = len(_PREFIX)
        for key, value in pairs:
            if not _is_canonical_queue(value):
                value = json.dumps(json.loads(value)).encode()
            parts.append(
                b'{"forward_number": %d, "forward_entity_list": %s}'
                % (int(key[prefix_length:]), value)
            )
        return b", ".join(parts), len(pairs)

    def forget_count(self):
        # After a factory reset the store was cleared underneath us.
        self._count = None
