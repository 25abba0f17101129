# panel.store with damaged files, on real files, under CPython and MicroPython
# alike: a journal with a bad record in the middle keeps the good records
# after it, a torn tail (a power cut's) is still dropped quietly, a damaged
# data file is fenced and salvaged, and health() says what happened.
import json
import os

from checks import temp_dir
from panel.store import Store, StoreFull, records


class JournalStore(Store):
    # Journals that never merge during these tests: every change stays a
    # record in p0_0.j.
    JOURNAL_MIN_BYTES = 100000
    RESERVE_BYTES = 512
    # Journals are read (and checked at first load) in pieces: pieces this
    # small put every record across a piece boundary.
    JOURNAL_PIECE_BYTES = 16


def _journal_store(name, count):
    directory = temp_dir(name) + "/kv"
    store = JournalStore(directory)
    store.open()
    for number in range(count):
        store.put("s:%02d" % number, b"value %d" % number)
    store.close()
    return directory


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def _record_starts(journal):
    starts = []
    offset = 0
    while offset < len(journal):
        starts.append(offset)
        found = records.next_journal_record(journal, offset)
        offset = found[0]
    return starts


def test_a_good_record_after_a_bad_one_is_kept():
    directory = _journal_store("store-journal-middle", 5)
    path = directory + "/p0_0.j"
    journal = bytearray(_read(path))
    starts = _record_starts(journal)
    assert len(starts) == 5
    journal[starts[2] + 9] ^= 0x20  # a byte inside the third record's body
    _write(path, journal)
    store = JournalStore(directory)
    store.open()
    served = dict(store.scan())
    # Records 4 and 5 each have their own good CRC: kept.
    assert served == {"s:%02d" % n: b"value %d" % n for n in (0, 1, 3, 4)}
    health = store.health()
    assert health["state"] == "damaged"
    assert health["damaged"][0]["records_lost"] is None or health["damaged"][0]["records_lost"] >= 1
    json.dumps(health)
    events = store.damage_found()
    assert events and events[0]["event"] == "partition damaged"
    # The fenced range takes writes: salvaged into a fresh partition.
    store.put("s:02", b"again")
    assert store.get("s:02") == b"again"
    assert store.quarantined() == ["p0_0.j"]
    store.close()
    store = JournalStore(directory)
    store.open()
    assert store.count() == 5
    assert store.health()["state"] == "ok"


def test_a_flipped_length_byte_does_not_hide_the_records_after_it():
    directory = _journal_store("store-journal-length", 4)
    path = directory + "/p0_0.j"
    journal = bytearray(_read(path))
    starts = _record_starts(journal)
    journal[starts[1] + 1] ^= 0x40  # the length now points past the end
    _write(path, journal)
    store = JournalStore(directory)
    store.open()
    served = dict(store.scan())
    assert served == {"s:%02d" % n: b"value %d" % n for n in (0, 2, 3)}
    assert store.health()["state"] == "damaged"


def test_a_torn_tail_is_still_dropped_quietly():
    directory = _journal_store("store-journal-torn", 4)
    path = directory + "/p0_0.j"
    journal = _read(path)
    starts = _record_starts(journal)
    for cut in (starts[3] + 1, starts[3] + 7, len(journal) - 1):
        _write(path, journal[:cut])
        store = JournalStore(directory)
        store.open()
        assert dict(store.scan()) == {"s:%02d" % n: b"value %d" % n for n in range(3)}
        health = store.health()
        assert health["state"] == "ok" and health["damaged"] == []
        assert store.damage_found() == []
        store.close()
    # Zeros after the last record (a file grown before its data landed).
    _write(path, journal + bytes(9))
    store = JournalStore(directory)
    store.open()
    assert store.count() == 4
    assert store.health()["state"] == "ok"


def test_salvage_readers_keep_every_intact_record():
    entries = [(b"k:%d" % n, b"v" * n) for n in range(1, 9)]
    journal = bytearray()
    for key, value in entries:
        journal.extend(records.encode_journal_record(1, [records.encode_entry(key, value)]))
    clean = records.journal_salvage(journal)
    assert clean == (entries, 0, 0)
    damaged = bytearray(journal)
    damaged[len(damaged) // 2] ^= 0x01
    found, lost_records, lost_bytes = records.journal_salvage(damaged)
    assert lost_records == 1 and lost_bytes > 0
    assert len(found) == 7 and found == [entry for entry in entries if entry in found]
    data = bytearray(records.encode_data_header(3, len(entries), 4))
    data.extend(records.encode_fences([]))
    for key, value in entries:
        data.extend(records.encode_data_record(key, value))
    found, generation, expected, lost = records.data_salvage(data)
    assert (len(found), generation, expected, lost) == (8, 3, 8, 0)
    data[0] ^= 0xFF  # the header: records are found without it
    found, generation, expected, lost = records.data_salvage(data)
    assert len(found) == 8 and generation is None and expected is None
    found = records.data_salvage(data[: len(data) - 3])[0]
    assert len(found) == 7


def test_health_of_a_clean_store():
    store = JournalStore(temp_dir("store-health") + "/kv")
    store.open()
    store.put("s:a", b"1")
    health = store.health()
    assert health["state"] == "ok"
    assert health["damaged"] == [] and health["quarantined"] == []
    assert health["delete_reserve"] is True
    assert health["index_rebuilt"] is False
    free = health["free_bytes"]
    assert free is None or free > 0
    json.dumps(health)
    assert store.damage_found() == []
    assert issubclass(StoreFull, Exception)
    assert "RESERVE" in os.listdir(store._directory)


class SplitStore(Store):
    # Partitions of a few hundred bytes: a few dozen changes merge and split.
    DATA_SPLIT_BYTES = 600
    DATA_TARGET_BYTES = 300
    JOURNAL_MIN_BYTES = 200
    JOURNAL_PERCENT = 75
    RESERVE_BYTES = 512


def _split_store(name):
    """A store of several partitions, one with journal entries after its
    merge; (directory, content, index of that partition, its journal name)."""
    directory = temp_dir(name) + "/kv"
    store = SplitStore(directory)
    store.open()
    content = {}
    for number in range(90):
        key = "f:%04d" % number
        content[key] = b"rule %d" % number
        store.put(key, content[key])
    for number in range(30, 40, 3):
        key = "f:%04d" % number
        content[key] = b"changed %d" % number
        store.put(key, content[key])
    index = store._route(b"f:0030")
    name = store._journal_name(index)
    assert len(store._ids) >= 3 and 0 < index < len(store._ids) - 1
    assert store._journal_sizes[index] > records.EMPTY_JOURNAL_BYTES
    store.close()
    return directory, content, index, name


def _range_of(directory, index):
    store = SplitStore(directory)
    store.open()
    low = store._low_key(index).decode()
    high = store._high_key(index).decode()
    store.close()
    return low, high


def _check_fenced_journal(directory, content, index, reason):
    low, high = _range_of(directory, index)
    names = sorted(os.listdir(directory))
    store = SplitStore(directory)
    store.open()
    served = dict(store.scan())
    assert store.page("", None, 0, 1000) == sorted(served.items())
    assert store.page("f:", "f;", 20, 30) == sorted(served.items())[20:50]
    for key in content:
        if not low <= key < high:
            assert served[key] == content[key], key
    # The data file's records are still served: the values before the journal.
    assert served["f:0031"] == b"rule 31"
    assert served["f:0030"] == b"rule 30"
    health = store.health()
    assert health["state"] == "damaged"
    report = health["damaged"][0]
    assert (report["low"], report["high"], report["reason"]) == (low, high, reason)
    json.dumps(health)
    events = store.damage_found()
    assert events[0]["event"] == "partition damaged" and events[0]["low"] == low
    # Nothing deleted; a write into the range salvages it, and lasts.
    assert set(names) <= set(os.listdir(directory)) | set(store.quarantined())
    store.put("f:0030", b"again")
    assert store.get("f:0030") == b"again"
    store.close()
    store = SplitStore(directory)
    store.open()
    assert store.get("f:0030") == b"again"
    assert store.health()["state"] == "ok"
    assert store.count() == len(served)
    store.close()


def test_a_deleted_journal_is_reported_with_its_key_range():
    directory, content, index, name = _split_store("store-journal-deleted")
    os.remove(directory + "/" + name)
    _check_fenced_journal(directory, content, index, "journal missing")


def test_a_journal_cut_below_its_first_record_is_reported():
    for cut in (0, 1, records.EMPTY_JOURNAL_BYTES - 1):
        directory, content, index, name = _split_store("store-journal-cut-%d" % cut)
        path = directory + "/" + name
        _write(path, _read(path)[:cut])
        _check_fenced_journal(directory, content, index, "journal truncated")


def test_a_store_of_the_previous_format_opens_and_is_migrated():
    import binascii

    from old_store_files import CONTENT, FILES

    directory = temp_dir("store-old-format") + "/kv"
    os.mkdir(directory)
    for name in FILES:
        _write(directory + "/" + name, binascii.unhexlify("".join(FILES[name])))
    # Partitions whose data file has no journal: the old format's normal state.
    assert "p3.d" in FILES and not [name for name in FILES if name.startswith("p3_")]
    store = SplitStore(directory)
    store.open()
    assert dict(store.scan()) == CONTENT
    assert store.count() == len(CONTENT)
    health = store.health()
    assert health["state"] == "ok" and health["quarantined"] == [], health
    # Changes everywhere merge every partition into the new format.
    expected = dict(CONTENT)
    for round_number in range(3):
        for key in sorted(CONTENT):
            value = b"round %d %s" % (round_number, key.encode())
            store.put(key, value)
            expected[key] = value
    assert dict(store.scan()) == expected
    store.close()
    for name in os.listdir(directory):
        if name.endswith(".d"):
            assert _read(directory + "/" + name)[0:4] == records.DATA_MAGIC, name
    store = SplitStore(directory)
    store.open()
    assert dict(store.scan()) == expected
    assert store.health()["state"] == "ok"
