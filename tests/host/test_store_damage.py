"""Damaged store files on real files (panel.store): for each kind of file
(the MANIFEST index, a partition's data file, its journal), one flipped byte,
a truncation and a deletion, at several offsets. Each time the store must
open, serve every record it can (all of them when only the index is hit;
every record outside the damaged partition when a partition's file is hit,
and none with a value that was never written), report the damage in
health(), delete no file (what it will not use moves to quarantine/), and
take writes again, in the damaged range too.

A deleted journal is reported too: every journal is created (one record
without entries) before its data file is renamed into place, so a data file
without one shows the deletion. So is a journal cut below that first record.
A cut further on looks exactly like what a power cut leaves (the last append
cut short, or not made yet); those are checked for opening and serving
everything else, not for a damage report.
"""

import json
import os
import shutil
import tempfile

from panel.store import Store, records


class SmallStore(Store):
    # Partitions of a few hundred bytes and frequent MANIFEST edits, so a few
    # hundred changes leave many data files, journals and a MANIFEST of a
    # base plus edits.
    DATA_SPLIT_BYTES = 600
    DATA_TARGET_BYTES = 300
    JOURNAL_MIN_BYTES = 200
    JOURNAL_PERCENT = 75
    MANIFEST_EDITS_PER_BASE = 8
    RESERVE_BYTES = 1024


def _key(number):
    return "f:%06d" % number


def _build(directory):
    """A store with many partitions, journals and MANIFEST edits; returns the
    final content and every value each key ever had."""
    store = SmallStore(directory)
    store.open()
    content = {}
    history = {}

    def put(key, value):
        store.put(key, value)
        content[key] = value
        history.setdefault(key, set()).add(value)

    for number in range(120):
        put(_key(number), b"first-%d-" % number + b"x" * (number % 13))
    for number in range(0, 120, 7):
        put(_key(number), b"second-%d" % number)
    for number in range(0, 120, 11):
        store.delete(_key(number))
        content.pop(_key(number), None)
    for number in range(120, 130):
        put(_key(number), b"late-%d" % number)
    store.close()
    return content, history


def _snapshot(directory):
    files = {}
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), "rb") as handle:
            files[name] = handle.read()
    return files


def _restore(directory, files):
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.mkdir(directory)
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(data)


def _partition_keys(directory, partition_id, content):
    """Keys of content that the intact store routes to partition_id."""
    store = SmallStore(directory)
    store.open()
    keys = set()
    for key in content:
        if store._ids[store._route(key.encode())] == partition_id:
            keys.add(key)
    store.close()
    return keys


def _targets(directory, files):
    """(label, file name, partition id or None) for each kind of file: the
    MANIFEST, and the data file and the journal of a middle partition that
    has both."""
    store = SmallStore(directory)
    store.open()
    with_journal = [
        index
        for index in range(len(store._ids))
        if "p%d_%d.j" % (store._ids[index], store._generations[index]) in files
        and "p%d.d" % store._ids[index] in files
    ]
    assert len(store._ids) >= 6 and with_journal, (len(store._ids), with_journal)
    index = with_journal[len(with_journal) // 2]
    partition_id = store._ids[index]
    journal = "p%d_%d.j" % (partition_id, store._generations[index])
    store.close()
    return [
        ("index", "MANIFEST", None),
        ("data", "p%d.d" % partition_id, partition_id),
        ("journal", journal, partition_id),
    ]


def _damages(length):
    """(kind, offset) of each damage tried on a file of length bytes."""
    offsets = sorted(set([0, 1, 5, 9, length // 3, length // 2, length - 2, length - 1]))
    offsets = [offset for offset in offsets if 0 <= offset < length]
    found = [("flip", offset) for offset in offsets]
    found += [("truncate", offset) for offset in offsets]
    found.append(("delete", None))
    return found


def _damage(directory, name, kind, offset):
    path = os.path.join(directory, name)
    if kind == "delete":
        os.remove(path)
        return
    with open(path, "rb") as handle:
        data = bytearray(handle.read())
    if kind == "flip":
        data[offset] ^= 0x40
    else:
        data = data[:offset]
    with open(path, "wb") as handle:
        handle.write(data)


def _journal_length_field(files, name, offset):
    """Whether offset is in the length field of the journal's last record
    (a longer stated length there reads as a torn tail: see the module doc)."""
    data = files[name]
    position = 0
    last = 0
    while position + 6 <= len(data):
        last = position
        position += 6 + int.from_bytes(data[position : position + 2], "little")
    return last <= offset < last + 2


def test_damaged_files_never_stop_the_store_nor_lose_what_is_intact():
    base = tempfile.mkdtemp(prefix="panel-store-damage-")
    try:
        pristine = os.path.join(base, "pristine")
        content, history = _build(pristine)
        files = _snapshot(pristine)
        directory = os.path.join(base, "kv")
        checked = 0
        for label, name, partition_id in _targets(pristine, files):
            fenced = (
                set() if partition_id is None else _partition_keys(pristine, partition_id, content)
            )
            for kind, offset in _damages(len(files[name])):
                case = (label, name, kind, offset)
                _restore(directory, files)
                _damage(directory, name, kind, offset)
                before = set(os.listdir(directory))
                store = SmallStore(directory)
                store.open()
                served = dict(store.scan())
                for key, value in content.items():
                    if key in fenced:
                        continue
                    assert served.get(key) == value, case + (key,)
                for key, value in served.items():
                    assert value in history.get(key, ()), case + (key,)
                assert store.count() == len(served), case
                for key in list(served)[:10]:
                    assert store.get(key) == served[key], case
                health = store.health()
                json.dumps(health)
                json.dumps(store.damage_found())
                silent = label == "journal" and (
                    (kind == "truncate" and offset >= records.EMPTY_JOURNAL_BYTES)
                    or (kind == "flip" and _journal_length_field(files, name, offset))
                )
                if not silent:
                    assert health["state"] == "damaged", case + (health,)
                    assert store.damage_found(), case
                missing = [key for key in fenced if key not in served]
                if missing and label == "data":
                    reports = [r for r in health["damaged"] if r["partition"] == partition_id]
                    assert reports, case
                    assert reports[0]["records_lost"] != 0, case + (reports,)
                    assert reports[0]["low"] <= min(missing), case
                if label == "journal" and not silent:
                    # The fenced partition's key range: the keys it held.
                    reports = [r for r in health["damaged"] if r["partition"] == partition_id]
                    assert reports, case + (health,)
                    assert reports[0]["low"] <= min(fenced), case + (reports,)
                    high = reports[0]["high"]
                    assert high is None or max(fenced) < high, case + (reports,)
                    if kind == "delete":
                        assert reports[0]["reason"] == "journal missing", case
                        assert reports[0]["records_lost"] is None, case
                # Nothing deleted: every file is still there or in quarantine.
                after = set(os.listdir(directory)) | set(store.quarantined())
                assert before - after <= {"RESERVE"}, case + (before - after,)
                # Writes work, in the damaged range and elsewhere, and last.
                target = min(fenced) if fenced else _key(3)
                store.put(target, b"after damage")
                store.put("z:elsewhere", b"fine")
                store.delete(_key(1))
                expected = dict(served)
                expected[target] = b"after damage"
                expected["z:elsewhere"] = b"fine"
                expected.pop(_key(1), None)
                assert dict(store.scan()) == expected, case
                store.close()
                store = SmallStore(directory)
                store.open()
                assert dict(store.scan()) == expected, case
                assert store.count() == len(expected), case
                store.close()
                checked += 1
        print("\ndamaged-file cases checked: %d" % checked)
        assert checked >= 40
    finally:
        shutil.rmtree(base)


def test_a_missing_index_is_rebuilt_from_the_files():
    base = tempfile.mkdtemp(prefix="panel-store-noindex-")
    try:
        directory = os.path.join(base, "kv")
        content, _ = _build(directory)
        names = set(os.listdir(directory))
        os.remove(os.path.join(directory, "MANIFEST"))
        store = SmallStore(directory)
        store.open()
        assert dict(store.scan()) == content
        health = store.health()
        assert health["state"] == "damaged" and health["index_rebuilt"]
        events = [event["event"] for event in store.damage_found()]
        assert "index rebuilt" in events
        assert names - {"MANIFEST"} <= set(os.listdir(directory)) | set(store.quarantined())
        store.close()
        # The rebuilt MANIFEST is written: the next open is clean.
        store = SmallStore(directory)
        store.open()
        assert dict(store.scan()) == content
        assert store.health()["state"] == "ok"
    finally:
        shutil.rmtree(base)
