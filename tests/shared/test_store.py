# panel.store on real files, under CPython and MicroPython alike.
from checks import raises, temp_dir
from panel.store import MAX_BATCH_CHANGES, MAX_VALUE_BYTES, Store, StoreError


class SmallStore(Store):
    # Tiny partitions and journals so that a few dozen changes merge and split.
    DATA_SPLIT_BYTES = 600
    DATA_TARGET_BYTES = 300
    JOURNAL_MIN_BYTES = 200
    JOURNAL_PERCENT = 75


def _opened(name, store_class=Store):
    store = store_class(temp_dir(name) + "/kv")
    store.open()
    return store


def _forward_key(number):
    return "f:%020d" % number


def test_put_get_delete():
    store = _opened("store-basic")
    assert store.get("s:network") is None
    store.put("s:network", b'{"dhcp": true}')
    assert store.get("s:network") == b'{"dhcp": true}'
    store.put("s:network", b"")
    assert store.get("s:network") == b""
    assert store.delete("s:network") is True
    assert store.delete("s:network") is False
    assert store.get("s:network") is None
    assert store.count() == 0
    store.close()


def test_constructor_touches_nothing():
    import os

    base = temp_dir("store-lazy")
    store = Store(base + "/kv")
    assert os.listdir(base) == []
    raises(StoreError, store.get, "s:x")
    store.open()
    assert store.get("s:x") is None


def test_batch_is_applied_whole():
    store = _opened("store-batch", SmallStore)
    store.put("i:0001", b"card")
    store.write_batch(
        [
            ("f:%020d" % 1, b"one"),
            ("r:aaaa", b"rule"),
            ("i:0001", None),
            ("s:time", b"utc"),
            ("f:%020d" % 1, b"uno"),
        ]
    )
    assert store.get("f:%020d" % 1) == b"uno"  # the last value of a key wins
    assert store.get("r:aaaa") == b"rule"
    assert store.get("i:0001") is None
    assert store.count() == 3
    store.write_batch([])
    assert store.count() == 3
    raises(StoreError, store.write_batch, [("s:a", b"x")] * (MAX_BATCH_CHANGES + 1))
    raises(StoreError, store.write_batch, [("s:a", b"x"), ("bad\n", b"y")])
    assert store.get("s:a") is None  # a rejected batch changed nothing
    raises(StoreError, store.write_batch, [("s:a",)])


def test_ordered_scans_and_ranges():
    store = _opened("store-scan", SmallStore)
    numbers = [7, 3, 250, 11, 0, 99, 42, 1000, 500, 64]
    for number in numbers:
        store.put(_forward_key(number), b"rule %d" % number)
    store.put("r:x", b"redirect")
    store.put("s:sip", b"settings")
    forward = [_forward_key(number) for number in sorted(numbers)]
    assert list(store.keys("f:", "f;")) == forward
    assert list(store.keys("f:", "f;", reverse=True)) == forward[::-1]
    assert list(store.keys()) == forward + ["r:x", "s:sip"]
    assert list(store.keys(reverse=True)) == ["s:sip", "r:x"] + forward[::-1]
    pairs = list(store.scan(_forward_key(11), _forward_key(500)))
    assert pairs == [(_forward_key(n), b"rule %d" % n) for n in (11, 42, 64, 99, 250)]
    pairs = list(store.scan(_forward_key(11), _forward_key(500), reverse=True))
    assert [key for key, _ in pairs] == [_forward_key(n) for n in (250, 99, 64, 42, 11)]
    assert list(store.keys("s:", "s;")) == ["s:sip"]
    assert list(store.keys("t:")) == []
    assert list(store.keys("s:", "f:")) == []
    assert store.count("f:", "f;") == 10
    assert store.count(_forward_key(11), _forward_key(500)) == 5
    assert store.count("r:") == 2
    assert store.count() == 12
    assert store.count("z") == 0
    assert list(store.keys("f:", "f:\xff")) == forward  # another common stop
    assert store.count("f:", "f:\xff") == 10
    raises(StoreError, store.count, "f:", 7)
    raises(StoreError, store.keys, "x" * 66)


def test_reopen_keeps_everything_and_compaction_keeps_everything():
    directory = temp_dir("store-reopen") + "/kv"
    store = SmallStore(directory)
    store.open()
    expected = {}
    for round_number in range(3):
        for number in range(40):
            key = _forward_key(number * 7 % 40)
            value = b"%d-%d" % (round_number, number) * (1 + number % 5)
            store.put(key, value)
            expected[key] = value
        for number in range(0, 40, 6):
            store.delete(_forward_key(number))
            expected.pop(_forward_key(number), None)
    # The tiny limits forced merges and splits: several partition data files.
    import os

    names = os.listdir(directory)
    assert len([name for name in names if name.endswith(".d")]) >= 3
    assert "MANIFEST" in names
    assert dict(store.scan()) == expected
    store.close()
    raises(StoreError, store.get, "s:x")
    store = SmallStore(directory)
    store.open()
    assert dict(store.scan()) == expected
    assert store.count() == len(expected)
    assert list(store.keys(reverse=True)) == sorted(expected, reverse=True)
    for key in expected:
        assert store.get(key) == expected[key]


def test_big_values_up_to_the_limit():
    store = _opened("store-big", SmallStore)
    big = bytes(range(256)) * (MAX_VALUE_BYTES // 256)
    assert len(big) == MAX_VALUE_BYTES
    for number in range(4):
        store.put("r:%04d" % number, big)
    store.put("r:small", b"x")
    raises(StoreError, store.put, "r:toolarge", big + b"!")
    assert store.get("r:toolarge") is None
    for number in range(4):
        assert store.get("r:%04d" % number) == big
    assert store.count() == 5


def test_invalid_keys_and_values_raise_store_error():
    store = _opened("store-invalid")
    assert isinstance(StoreError("x"), ValueError)
    raises(StoreError, store.put, "", b"x")
    raises(StoreError, store.put, "k" * 65, b"x")
    raises(StoreError, store.put, "tab\there", b"x")
    raises(StoreError, store.put, "caf\u00e9", b"x")
    raises(StoreError, store.put, b"bytes-key", b"x")
    raises(StoreError, store.put, "s:x", "text, not bytes")
    raises(StoreError, store.put, "s:x", None)
    raises(StoreError, store.get, 17)
    raises(StoreError, store.delete, "")
    store.put("k" * 64, bytearray(b"ok"))
    assert store.get("k" * 64) == b"ok"
    assert store.count() == 1


def test_clear_removes_everything_durably():
    directory = temp_dir("store-clear") + "/kv"
    store = SmallStore(directory)
    store.open()
    for number in range(30):
        store.put(_forward_key(number), b"%d" % number * 9)
    store.clear()
    assert store.count() == 0
    assert list(store.scan()) == []
    store.put("s:after", b"1")
    store.close()
    store = SmallStore(directory)
    store.open()
    assert list(store.scan()) == [("s:after", b"1")]


def test_write_during_scan_neither_fails_nor_repeats():
    store = _opened("store-scan-write", SmallStore)
    for number in range(30):
        store.put(_forward_key(number), b"v" * 20)
    seen = []
    for key in store.keys():
        seen.append(key)
        if len(seen) == 3:
            # Writes in the middle of a scan, enough to merge and split.
            for number in range(30, 60):
                store.put(_forward_key(number), b"w" * 20)
            store.delete(_forward_key(29))
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert _forward_key(29) not in seen
    assert seen[:3] == [_forward_key(0), _forward_key(1), _forward_key(2)]


def test_lookups_in_big_partitions_read_the_right_stretch():
    # Default limits: partitions of several KB with a fence every 512 bytes;
    # every key, and keys between and around them, must be found or not.
    directory = temp_dir("store-fences") + "/kv"
    store = Store(directory)
    store.open()
    expected = {}
    batch = []
    for number in range(0, 600, 2):
        key = _forward_key(number)
        value = (b"%d:" % number) * (5 + number % 17)
        expected[key] = value
        batch.append((key, value))
        if len(batch) == 50:
            store.write_batch(batch)
            batch = []
    for number in range(0, 600, 6):
        value = b"updated %d" % number
        store.put(_forward_key(number), value)
        expected[_forward_key(number)] = value
    store.close()
    store = Store(directory)
    store.open()
    for number in range(-1, 601):
        key = _forward_key(number) if number >= 0 else "e:before-all"
        assert store.get(key) == expected.get(key)
    assert store.get("zz") is None
    assert store.count() == len(expected)
    assert store.count(_forward_key(100), _forward_key(200)) == 50


def test_write_in_batches_splits_past_the_batch_limits():
    store = Store(temp_dir("store-in-batches"))
    store.open()
    try:
        # More changes and more bytes than one batch may hold.
        changes = [("k:%05d" % number, b"v" * 100) for number in range(600)]
        raises(StoreError, store.write_batch, changes)
        store.write_in_batches(changes)
        assert store.count("k:", "k;") == 600
        store.write_in_batches([("k:%05d" % number, None) for number in range(0, 600, 2)])
        assert store.count("k:", "k;") == 300
        assert store.get("k:00001") == b"v" * 100 and store.get("k:00002") is None
    finally:
        store.close()


def test_skip_from_every_start_in_both_directions():
    # Keys spread over many small partitions, some of them with journals
    # (puts and deletes after the first merge): every start and stop key, every
    # skip up to past the end, against the plain list.
    store = _opened("store-skip", SmallStore)
    for number in range(0, 90, 2):
        store.put(_forward_key(number), b"v" * 20)
    for number in range(1, 90, 6):
        store.put(_forward_key(number), b"w" * 10)
    for number in range(0, 90, 10):
        store.delete(_forward_key(number))
    keys = list(store.keys())
    assert len(store._ids) > 4
    bounds = [_forward_key(number) for number in range(0, 92, 7)]
    for low in bounds:
        for high in (None, _forward_key(60)):
            inside = [key for key in keys if key >= low and (high is None or key < high)]
            for skip in range(0, len(inside) + 2):
                assert list(store.keys(low, high, skip=skip)) == inside[skip:]
                assert list(store.keys(low, high, reverse=True, skip=skip)) == inside[::-1][skip:]
    assert [key for key, _ in store.scan(skip=5)] == keys[5:]


def test_a_flipped_value_byte_in_a_data_file_is_fenced_when_read():
    # Data files are immutable once renamed into place; a value's CRC is
    # checked whenever the value is read (get, scan). Damage found after
    # open() fences the partition: the damaged record is reported lost, every
    # other record still serves, nothing raises.
    import os

    directory = temp_dir("store-bitrot") + "/kv"
    store = SmallStore(directory)
    store.open()
    for number in range(40):
        store.put(_forward_key(number), b"value-%02d" % number)
    store.close()
    store = SmallStore(directory)
    store.open()
    assert store.health()["state"] == "ok"
    name = [name for name in os.listdir(directory) if name.endswith(".d")][0]
    with open(directory + "/" + name, "rb") as handle:
        content = bytearray(handle.read())
    content[-1] ^= 0x01  # the last byte of the file: its last record's value
    with open(directory + "/" + name, "wb") as handle:
        handle.write(content)
    lost = [key for key in store.keys() if store.get(key) is None]
    assert len(lost) == 1
    pairs = dict(store.scan())
    assert len(pairs) == 39 and lost[0] not in pairs
    for number in range(40):
        key = _forward_key(number)
        if key != lost[0]:
            assert pairs[key] == b"value-%02d" % number
    health = store.health()
    assert health["state"] == "damaged"
    assert len(health["damaged"]) == 1
    report = health["damaged"][0]
    assert report["records_lost"] == 1 and report["records_served"] >= 1
    assert report["low"] <= lost[0] and (report["high"] is None or lost[0] < report["high"])
    # A write into the fenced range salvages it: the damaged file is kept in
    # quarantine, the range is writable and everything intact still there.
    store.put(lost[0], b"rewritten")
    assert store.get(lost[0]) == b"rewritten"
    # The damaged partition's files (its data file and any journal of it)
    # are what quarantine holds; which partition that is depends on the
    # order the file system lists the files in.
    partition = name.split(".")[0]
    quarantined = store.quarantined()
    assert name in quarantined
    assert all(entry.split(".")[0].split("_")[0] == partition for entry in quarantined)
    assert len(dict(store.scan())) == 40
    store.close()
    store = SmallStore(directory)
    store.open()
    assert len(dict(store.scan())) == 40
    assert store.health()["damaged"] == []


def _scan_page(store, start, stop, skip, limit):
    found = []
    if limit <= 0:
        return found
    for pair in store.scan(start, stop, skip=skip):
        found.append(pair)
        if len(found) >= limit:
            break
    return found


def test_page_is_the_first_items_of_the_scan():
    # Partitions with data files and journals holding puts and deletes
    # (a journal key can replace, hide or add to the data file's records).
    store = _opened("store-page", SmallStore)
    seed = 12345
    for step in range(400):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        key = _forward_key(seed % 90)
        if seed % 5 == 0:
            store.delete(key)
        else:
            store.put(key, b"v%d" % step)
        if step % 97 == 0:
            for start, stop in (("", None), ("f:", "f;"), (_forward_key(30), _forward_key(60))):
                for skip in (0, 1, 7, 25, 80):
                    for limit in (0, 1, 5, 20, 100):
                        expected = _scan_page(store, start, stop, skip, limit)
                        assert store.page(start, stop, skip, limit) == expected, (
                            step,
                            start,
                            stop,
                            skip,
                            limit,
                        )
    assert len(store._ids) > 2
    assert store.page(_forward_key(5), _forward_key(5)) == []


class StarvedMergeStore(SmallStore):
    # A small board's heap runs out in the merge after a change is on flash
    # (a merge holds its journal's entries: the largest allocations of a write).
    starve = False

    def _compact(self, *args, **kwargs):
        if self.starve:
            raise MemoryError("memory allocation failed")
        return SmallStore._compact(self, *args, **kwargs)


def test_a_memory_error_in_the_merge_does_not_fail_the_stored_change():
    store = _opened("store-heap", StarvedMergeStore)
    for number in range(40):
        store.put(_forward_key(number), b"queue %d" % number)
    store.starve = True
    # Enough changes to one partition that its journal must merge.
    for round_number in range(30):
        store.put(_forward_key(7), b"changed %d" % round_number)
    store.starve = False
    assert store.get(_forward_key(7)) == b"changed 29"
    for number in range(40):
        if number != 7:
            assert store.get(_forward_key(number)) == b"queue %d" % number
    store.put(_forward_key(40), b"after")
    assert store.count() == 41
    directory = store._directory
    store.close()
    reopened = SmallStore(directory)
    reopened.open()
    assert reopened.get(_forward_key(7)) == b"changed 29"
    assert reopened.count() == 41
    assert reopened.health()["state"] == "ok"
    reopened.close()


class StarvedRecoveryStore(SmallStore):
    # A MemoryError part way through a write, then again in the recovery
    # that reads the files back (MANIFEST's base is one block).
    starve_writes = 0
    starve_reads = 0

    def _apply(self, *args, **kwargs):
        if self.starve_writes:
            self.starve_writes -= 1
            raise MemoryError("memory allocation failed")
        return SmallStore._apply(self, *args, **kwargs)

    def _read_manifest(self):
        if self.starve_reads:
            self.starve_reads -= 1
            raise MemoryError("memory allocation failed")
        return SmallStore._read_manifest(self)


def test_a_recovery_that_meets_a_memory_error_is_tried_again():
    store = _opened("store-heap-recovery", StarvedRecoveryStore)
    for number in range(40):
        store.put(_forward_key(number), b"queue %d" % number)
    store.starve_writes = 1
    raises(MemoryError, store.put, _forward_key(41), b"lost")
    store.starve_reads = 2
    # Each call tries the recovery again; the heap's failure goes to the caller.
    raises(MemoryError, store.get, _forward_key(3))
    raises(MemoryError, store.count)
    assert store.get(_forward_key(3)) == b"queue 3"
    assert store.count() == 40
    store.put(_forward_key(41), b"stored")
    assert store.get(_forward_key(41)) == b"stored"
    store.close()


class PiecewiseJournalStore(Store):
    # Journals that never merge, read back 16 bytes at a time: every record
    # is cut by a piece boundary somewhere, and the batch below is far larger
    # than a piece.
    JOURNAL_MIN_BYTES = 100000
    JOURNAL_PIECE_BYTES = 16


def test_a_journal_read_in_pieces_gives_every_last_value():
    store = _opened("store-pieces", PiecewiseJournalStore)
    for number in range(30):
        store.put(_forward_key(number), b"queue %d" % number)
    for number in range(0, 30, 3):
        store.put(_forward_key(number), b"again %d" % number)
    store.delete(_forward_key(4))
    store.write_batch([(_forward_key(100 + number), b"x" * 300) for number in range(20)])
    expected = {}
    for number in range(30):
        expected[_forward_key(number)] = (
            b"again %d" % number if number % 3 == 0 else b"queue %d" % number
        )
    del expected[_forward_key(4)]
    for number in range(20):
        expected[_forward_key(100 + number)] = b"x" * 300
    for key in expected:
        assert store.get(key) == expected[key]
    assert store.get(_forward_key(4)) is None
    assert list(store.scan()) == sorted(expected.items())
    assert [key for key, _ in store.page("f:", "f;", 5, 7)] == sorted(expected)[5:12]
    assert store.count() == len(expected)
    store.close()


def test_a_split_keeps_only_the_shortest_separating_low_key():
    # Keys that differ early (a rule's UUID after its prefix) split with low
    # keys of a few bytes; each key still routes to the partition holding it,
    # and the table survives a reopen.
    name = temp_dir("store-separators") + "/kv"
    store = SmallStore(name)
    store.open()
    values = {}
    for number in range(60):
        key = "r:%08x-%04x-rule" % (number * 2654435761 % 4294967296, number)
        values[key] = b"rule %d" % number
        store.put(key, values[key])
    keys = sorted(values)
    partitions = len(store._ids)
    assert partitions > 3
    for index in range(1, partitions):
        low = store._low_key(index)
        below = [key for key in keys if key.encode() < low]
        assert below and len(low) <= len("r:") + 8
        # The shortest: one byte less would not separate the pieces.
        assert low[:-1] <= below[-1].encode()
    assert len(store._low_keys) < (partitions - 1) * len(keys[0]) // 2
    store.close()
    store = SmallStore(name)
    store.open()
    assert len(store._ids) == partitions
    for key in keys:
        assert store.get(key) == values[key]
    assert list(store.keys()) == keys
    store.close()


def test_the_separator_is_between_its_keys_and_cuts_no_utf8_character():
    from panel.store.store import _separator

    assert _separator(b"r:01ff", b"r:0281") == b"r:02"
    assert _separator(b"f:0051", b"f:0052") == b"f:0052"
    assert _separator(b"ab", b"abc") == b"abc"
    assert _separator(b"", b"x:1") == b"x"
    # "\u00e9" is two bytes in UTF-8: the cut takes both.
    low = _separator("k:e".encode(), "k:\u00e9t\u00e9".encode())
    assert low == "k:\u00e9".encode()
    assert low.decode() == "k:\u00e9"


class _ReadSizes:
    """A real file handle that notes the largest read made of it (asked or,
    for a whole-file read, got) and how many reads, in reads: [count, largest]."""

    def __init__(self, handle, reads):
        self._handle = handle
        self._reads = reads

    def read(self, size=-1):
        whole = size is None or size < 0
        data = self._handle.read() if whole else self._handle.read(size)
        self._reads[0] += 1
        self._reads[1] = max(self._reads[1], len(data) if whole else size)
        return data

    def seek(self, offset):
        return self._handle.seek(offset)

    def close(self):
        self._handle.close()


def _reads_noted(suffix, reads):
    """The real file system, noting in reads (_ReadSizes) every read of the
    files whose names end with suffix."""
    from panel.store.file_system import OsFileSystem

    class NotedReads(OsFileSystem):
        def open(self, path, mode):
            handle = OsFileSystem.open(self, path, mode)
            if mode == "rb" and path.endswith(suffix):
                return _ReadSizes(handle, reads)
            return handle

    return NotedReads()


def test_a_journal_is_checked_at_first_load_in_pieces():
    reads = [0, 0]

    name = temp_dir("store-first-load") + "/kv"
    store = PiecewiseJournalStore(name)
    store.open()
    for number in range(40):
        store.put(_forward_key(number), b"queue %d" % number)
    store.close()
    import os

    journal_bytes = os.stat(name + "/p0_0.j")[6]
    assert journal_bytes > 20 * PiecewiseJournalStore.JOURNAL_PIECE_BYTES
    store = PiecewiseJournalStore(name, _reads_noted(".j", reads))
    store.open()
    assert store.get(_forward_key(39)) == b"queue 39"
    assert store.count() == 40
    assert store.damage_found() == []
    # Every read asked for one piece or one record (each about 40 bytes),
    # never the journal's whole length.
    assert reads[0] and reads[1] <= 64
    store.close()


def test_merges_splits_pages_and_checks_read_data_files_in_pieces():
    # Data files are read DATA_PIECE_BYTES at a time (a longer record in one
    # read of its own) by merges, splits, pages, scans and the open-time
    # check; a lookup reads one fence stretch. A model dict and every read's
    # size say so, over enough changes for many merges and splits.
    import os

    from panel.store import records

    reads = [0, 0]

    class PiecewiseData(Store):
        DATA_SPLIT_BYTES = 3000
        DATA_TARGET_BYTES = 1500
        JOURNAL_MIN_BYTES = 300
        DATA_PIECE_BYTES = 48

    name = temp_dir("store-data-pieces") + "/kv"
    store = PiecewiseData(name, _reads_noted(".d", reads))
    store.open()
    model = {}
    seed = 7
    for step in range(1500):
        seed = (seed * 1103515245 + 12345) % 2147483648
        key = "k:%04d" % (seed % 300)
        if seed % 7 == 0:
            store.delete(key)
            model.pop(key, None)
        else:
            value = b"v%d." % step + b"x" * (seed % 90)
            store.put(key, value)
            model[key] = value
    assert len(store._ids) > 3
    wanted = sorted(model.items())
    assert list(store.scan()) == wanted
    assert list(store.scan(reverse=True)) == wanted[::-1]
    assert store.page("k:", "k;", 9, 11) == wanted[9:20]
    store.close()
    store = PiecewiseData(name, _reads_noted(".d", reads))
    store.open()  # checks every file (CHECK_ON_OPEN)
    assert store.damage_found() == []
    for key in model:
        assert store.get(key) == model[key]
    assert store.count() == len(model)
    largest_file = max(
        os.stat(name + "/" + entry)[6] for entry in os.listdir(name) if entry.endswith(".d")
    )
    assert largest_file > 1500
    # The largest record: its header, a 6-byte key and a value of up to 97 bytes.
    largest_record = records.DATA_RECORD_HEADER_BYTES + 6 + 97
    assert reads[0] and reads[1] <= records.FENCE_SPACING_BYTES + largest_record
    store.close()
