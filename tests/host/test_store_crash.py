"""Power cuts at every fault point of a long change sequence (panel.store).

One traced run applies 520+ changes (puts, deletes, batches spanning
partitions, a clear) to a store tuned small so that it merges, splits and
drops partitions many times. Before every write, fsync, rename, remove and
mkdir the memory file system is snapshotted; then, for every such point and,
for writes, every byte boundary (sampled for long writes: first and last 24
bytes and 16 in between), the files a power cut there would leave are rebuilt,
a store is opened on them with a clean file system, and its whole content must
equal the state after the last acknowledged change, or that plus the change in
flight, nothing else. A sample of the recovered stores is also written to and
reopened, to show recovery leaves them usable.

A smaller variant runs the same checks on real files in a temporary directory,
replaying the sequence with the cut injected for each point.
"""

import os
import random
import tempfile

from panel.store import Store
from panel.store.file_system import OsFileSystem
from support.faulty_fs import (
    FaultyFileSystem,
    MemoryFileSystem,
    PowerCut,
    crashed_files,
    remove_tree,
    tear_offsets,
)

DIRECTORY = "/store"


class SmallStore(Store):
    """The real store with partitions and journals a few hundred bytes big, so
    a few hundred changes run through every merge, split and drop path."""

    DATA_SPLIT_BYTES = 1024
    DATA_TARGET_BYTES = 512
    JOURNAL_MIN_BYTES = 256
    JOURNAL_PERCENT = 75
    MANIFEST_EDITS_PER_BASE = 6

    def _opened_content(self):
        self.open()
        return self.scan()


def make_changes(seed, count):
    """A reproducible list of changes: ("put", key, value), ("delete", key),
    ("batch", [(key, value or None), ...]), ("clear",)."""
    rng = random.Random(seed)
    keys = ["f:%020d" % number for number in range(0, 900, 10)]
    keys += ["r:%08x-%04x" % (rng.getrandbits(32), rng.getrandbits(16)) for _ in range(25)]
    keys += ["s:" + name for name in ("network", "sip", "time", "door", "panel")]
    log_sequence = [0]  # call-log ring: append l:<n>, drop l:<n - 12>

    def value():
        if rng.random() < 0.08:
            return bytes(rng.getrandbits(8) for _ in range(rng.randrange(200, 700)))
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))

    changes = []
    for number in range(count):
        if number == count * 2 // 3:
            changes.append(("clear",))
            continue
        if number in (count // 5, count * 2 // 5, count * 9 // 10):
            # An installer removes a block of apartments: partitions empty out
            # and are dropped.
            changes.append(
                ("batch", [("f:%020d" % apartment, None) for apartment in range(200, 700, 10)])
            )
            continue
        roll = rng.random()
        if roll < 0.15:
            sequence = log_sequence[0]
            log_sequence[0] += 1
            if rng.random() < 0.5 or sequence < 12:
                changes.append(("put", "l:%06d" % sequence, value()))
            else:
                changes.append(
                    ("batch", [("l:%06d" % sequence, value()), ("l:%06d" % (sequence - 12), None)])
                )
            if sequence >= 12:
                changes.append(("delete", "l:%06d" % (sequence - 12)))
        elif roll < 0.6:
            changes.append(("put", rng.choice(keys), value()))
        elif roll < 0.72:
            changes.append(("delete", rng.choice(keys)))
        else:
            batch = []
            for _ in range(rng.randrange(2, 7)):
                key = rng.choice(keys)
                batch.append((key, None if rng.random() < 0.3 else value()))
            changes.append(("batch", batch))
    return changes


def apply_change(store, change):
    kind = change[0]
    if kind == "put":
        store.put(change[1], change[2])
    elif kind == "delete":
        store.delete(change[1])
    elif kind == "batch":
        store.write_batch(change[1])
    else:
        store.clear()


def apply_to_model(model, change):
    model = dict(model)
    kind = change[0]
    if kind == "put":
        model[change[1]] = change[2]
    elif kind == "delete":
        model.pop(change[1], None)
    elif kind == "batch":
        for key, value in change[1]:
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
    else:
        model = {}
    return model


def model_states(changes):
    """states[i]: content before change i; states[len]: after all of them."""
    states = [{}]
    for change in changes:
        states.append(apply_to_model(states[-1], change))
    return states


def check_recovered(file_system, before, after, deep):
    """Open a store on what the cut left; its content must be before or after.
    Returns "absent" or "applied"."""
    store = SmallStore(DIRECTORY, file_system)
    store.open()
    content = dict(store.scan())
    if content == after:
        outcome = "applied"
    elif content == before:
        outcome = "absent"
    else:
        missing = sorted(set(after) - set(content))
        extra = sorted(set(content) - set(after))
        wrong = sorted(key for key in content if key in after and content[key] != after[key])
        raise AssertionError(
            "recovered content is neither state: missing %r extra %r "
            "different %r" % (missing[:5], extra[:5], wrong[:5])
        )
    assert store.count() == len(content)
    # A power cut is never taken for damage (a journal cut or not yet
    # created, a half-made merge or split): nothing fenced, nothing rebuilt.
    assert store.health()["state"] == "ok", store.health()
    if deep:
        assert list(store.keys(reverse=True)) == sorted(content, reverse=True)
        for key in list(content)[:5]:
            assert store.get(key) == content[key]
        # The recovered store takes writes and keeps them across a reopen.
        store.put("z:after-recovery", b"still works")
        store.close()
        store = SmallStore(DIRECTORY, file_system)
        store.open()
        expected = dict(content)
        expected["z:after-recovery"] = b"still works"
        assert dict(store.scan()) == expected
        assert store.count() == len(expected)
    store.close()
    return outcome


def is_drop_edit(point):
    """True for the append of a MANIFEST edit that drops a partition: frame (8),
    "E", next id (4), old id (4), key length (1), key, count of new ones (1)."""
    if point["kind"] != "write" or not point["path"].endswith("/MANIFEST"):
        return False
    data = point["data"]
    key_length = data[17]
    return data[8:9] == b"E" and data[18 + key_length] == 0


def trace_run(changes):
    """Run every change once, recording each fault point with a snapshot of the
    files and directories just before it, and the change it belongs to."""
    memory = MemoryFileSystem()
    points = []
    current = {"change": -1}  # -1: the store's open()

    def on_point(point):
        point["change"] = current["change"]
        point["files"] = dict(memory.files)
        point["directories"] = set(memory.directories)
        points.append(point)

    faulty = FaultyFileSystem(memory, on_point=on_point)
    store = SmallStore(DIRECTORY, faulty)
    store.open()
    for number, change in enumerate(changes):
        current["change"] = number
        apply_change(store, change)
    return store, memory, points


def test_power_cut_at_every_point_of_520_changes():
    changes = make_changes(seed=20261123, count=520)
    states = model_states(changes)
    store, memory, points = trace_run(changes)
    # The traced run itself ends in the expected state.
    assert dict(store.scan()) == states[-1]
    kinds = {}
    for point in points:
        kinds[point["kind"]] = kinds.get(point["kind"], 0) + 1
    # Enough structure changes happened to exercise merges, splits and drops.
    renames_of_manifest = sum(
        1 for point in points if point["kind"] == "rename" and "MANIFEST" in point["path"]
    )
    manifest_edits = sum(
        1 for point in points if point["kind"] == "write" and point["path"].endswith("/MANIFEST")
    )
    renames_of_data = sum(
        1
        for point in points
        if point["kind"] == "rename"
        and ".t ->" in point["path"]
        and "MANIFEST" not in point["path"]
    )
    assert renames_of_manifest >= 3, renames_of_manifest
    drops = sum(1 for point in points if is_drop_edit(point))
    assert drops >= 2, drops
    assert manifest_edits >= 10, manifest_edits
    assert renames_of_data >= 30, renames_of_data

    crash_states = 0
    outcomes = {"absent": 0, "applied": 0}
    for number, point in enumerate(points):
        change = point["change"]
        before = states[change] if change >= 0 else {}
        after = states[change + 1] if change >= 0 else {}
        if point["kind"] == "write":
            tears = tear_offsets(len(point["data"]))
        else:
            tears = [0]
        for tear_index, tear in enumerate(tears):
            files = crashed_files(point["files"], point, tear)
            recovered = MemoryFileSystem(files, point["directories"])
            deep = (number + tear_index) % 11 == 0
            outcome = check_recovered(recovered, before, after, deep)
            outcomes[outcome] += 1
            crash_states += 1
    print(
        "\nstore crash test: %d changes, %d fault points %r, %d crash states checked, "
        "outcomes %r, %d MANIFEST edits appended, %d MANIFEST bases renamed, "
        "%d of them drops of an empty partition, %d data-file merges"
        % (
            len(changes),
            len(points),
            kinds,
            crash_states,
            outcomes,
            manifest_edits,
            renames_of_manifest,
            drops,
            renames_of_data,
        )
    )
    assert crash_states >= 5000
    assert outcomes["absent"] > 0 and outcomes["applied"] > 0


def test_power_cut_during_recovery():
    """Power cuts inside open() itself: wherever recovery writes (re-applying a
    batch.log, rewriting a MANIFEST with a torn edit, removing leftovers), a
    cut there followed by a clean open() gives what an uninterrupted recovery
    gives."""
    changes = make_changes(seed=7, count=160)
    states = model_states(changes)
    store, memory, points = trace_run(changes)
    checked = 0
    recoveries_that_write = 0
    for point in points[::2]:  # every other point: recovery paths repeat a lot
        change = point["change"]
        before = states[change] if change >= 0 else {}
        after = states[change + 1] if change >= 0 else {}
        tears = (
            [0]
            if point["kind"] != "write"
            else sorted(set([0, 1, len(point["data"]) // 2, len(point["data"]) - 1]))
        )
        for tear in tears:
            files = crashed_files(point["files"], point, tear)
            directories = point["directories"]
            # The uninterrupted recovery, counting its own fault points.
            reference = MemoryFileSystem(files, directories)
            probe = FaultyFileSystem(reference)
            SmallStore(DIRECTORY, probe).open()
            if probe.points == 0:
                continue
            recoveries_that_write += 1
            expected = dict(SmallStore(DIRECTORY, reference)._opened_content())
            assert expected in (before, after)
            for cut in range(probe.points):
                for recovery_tear in (0, 5):
                    inner = MemoryFileSystem(files, directories)
                    faulty = FaultyFileSystem(inner, cut_at=cut, tear=recovery_tear)
                    try:
                        SmallStore(DIRECTORY, faulty).open()
                    except PowerCut:
                        pass
                    recovered = MemoryFileSystem(inner.files, inner.directories)
                    store = SmallStore(DIRECTORY, recovered)
                    store.open()
                    assert dict(store.scan()) == expected
                    assert store.count() == len(expected)
                    checked += 1
    print(
        "\nrecoveries that write: %d, cuts inside them checked: %d"
        % (recoveries_that_write, checked)
    )
    assert recoveries_that_write >= 20
    assert checked >= 1000


def test_power_cut_on_real_files():
    """The same check on real files: replay 60 changes with the cut injected
    at each fault point (tears at 0, 1, half and last byte of writes)."""
    changes = make_changes(seed=99, count=60)
    states = model_states(changes)
    base = tempfile.mkdtemp(prefix="panel-store-crash-")
    directory = os.path.join(base, "store")
    try:
        sizes = []

        def on_point(point):
            sizes.append(len(point["data"]) if point["kind"] == "write" else 0)

        store = SmallStore(directory, FaultyFileSystem(OsFileSystem(), on_point=on_point))
        store.open()
        for change in changes:
            apply_change(store, change)
        assert dict(store.scan()) == states[-1]
        remove_tree(directory)
        checked = 0
        for cut, size in enumerate(sizes):
            tears = sorted(set([0, 1, size // 2, size - 1])) if size > 1 else [0]
            for tear in tears:
                remove_tree(directory)
                faulty = FaultyFileSystem(OsFileSystem(), cut_at=cut, tear=tear)
                store = SmallStore(directory, faulty)
                change_number = -1
                try:
                    store.open()
                    for change_number, change in enumerate(changes):  # noqa: B007 - read after the cut
                        apply_change(store, change)
                    raise AssertionError("the cut never came")
                except PowerCut:
                    pass
                before = states[change_number] if change_number >= 0 else {}
                after = states[change_number + 1] if change_number >= 0 else {}
                store = SmallStore(directory, OsFileSystem())
                store.open()
                content = dict(store.scan())
                assert content in (before, after), (cut, tear)
                assert store.count() == len(content)
                store.close()
                checked += 1
        print("\nreal-file crash states checked: %d (%d fault points)" % (checked, len(sizes)))
        assert checked >= 100
    finally:
        remove_tree(base)


class _FailingFileSystem(FaultyFileSystem):
    """Raises OSError(EIO) at one fault point instead of cutting the power: the
    process goes on, as after a flash error."""

    def _point(self, kind, path, handle=None, data=None):
        index = self.points
        self.points += 1
        if index == self.cut_at:
            if kind == "write" and self.tear:
                handle.inner.write(bytes(data)[: self.tear])
            raise OSError(5, "injected I/O error")
        return False


def test_io_error_in_a_write_is_recovered_from_by_the_next_call():
    """An OSError in the middle of any write (flash full, I/O error): the call
    raises; the next call on the same store object rebuilds its state from the
    files, so every acknowledged change is there (the failed one wholly or not
    at all), and the store goes on working without being reopened."""
    changes = make_changes(seed=11, count=90)
    states = model_states(changes)
    store, memory, points = trace_run(changes)
    checked = 0
    swallowed = 0
    for cut in range(0, len(points), 3):
        inner = MemoryFileSystem()
        failing = _FailingFileSystem(inner, cut_at=cut, tear=2)
        store = SmallStore(DIRECTORY, failing)
        failed_at = None
        try:
            store.open()
        except OSError:
            failed_at = -1
        if failed_at is None:
            for number, change in enumerate(changes):
                try:
                    apply_change(store, change)
                except OSError:
                    failed_at = number
                    break
        if failed_at is None:
            # The error hit a merge after its change was durable: the store
            # swallows it (the change is stored, so it must not look failed)
            # and merges again later; the run ends where the model does.
            assert dict(store.scan()) == states[-1], cut
            swallowed += 1
            checked += 1
            continue
        if failed_at < 0:
            store.open()  # the failure was in open() itself: open again
        content = dict(store.scan())
        before = states[failed_at] if failed_at >= 0 else {}
        after = states[failed_at + 1] if failed_at >= 0 else {}
        assert content in (before, after), cut
        # The rest of the run, on the same object, ends where the model does.
        model = content
        for change in changes[failed_at + 1 :]:
            apply_change(store, change)
            model = apply_to_model(model, change)
        assert dict(store.scan()) == model
        store.close()
        store = SmallStore(DIRECTORY, MemoryFileSystem(inner.files, inner.directories))
        store.open()
        assert dict(store.scan()) == model
        checked += 1
    print(
        "\nI/O errors injected and recovered from: %d (%d in merges after the change was durable)"
        % (checked, swallowed)
    )
    assert checked >= 100
    assert checked - swallowed >= 50


def test_power_cut_on_littlefs_at_every_flash_operation():
    """The store on the real LittleFS (the C code MicroPython runs, through
    littlefs-python, configured as on an ESP32): the power goes at every
    program and erase operation the file system makes during 100 changes
    (before it, and half-way through it), the image is mounted again and the
    store opened: its content is the last acknowledged state or that plus the
    change in flight."""
    import littlefs  # noqa: F401  pinned in requirements.txt: the real LittleFS C code

    from support.faulty_fs import LittleFsFileSystem

    blocks = 256
    block_size = LittleFsFileSystem.BLOCK_SIZE
    changes = make_changes(seed=5, count=100)
    states = model_states(changes)
    operations = []
    current = {"change": -1}

    def on_prog(block, offset, data):
        operations.append((current["change"], block * block_size + offset, bytes(data)))

    def on_erase(block):
        operations.append((current["change"], block * block_size, None))

    file_system = LittleFsFileSystem(blocks)
    initial = bytes(file_system.image)
    file_system.on_prog = on_prog
    file_system.on_erase = on_erase
    store = SmallStore("/kv", file_system)
    store.open()
    for number, change in enumerate(changes):
        current["change"] = number
        apply_change(store, change)
    assert dict(store.scan()) == states[-1]

    image = bytearray(initial)
    checked = 0
    for change, start, data in operations:
        before = states[change] if change >= 0 else {}
        after = states[change + 1] if change >= 0 else {}
        if data is None:
            # An erase cut before it began, or half done (NOR: undefined
            # content; here the first half erased, the rest as it was).
            partial = b"\xff" * (block_size // 2)
        else:
            partial = data[: len(data) // 2]
        for torn in (b"", partial):
            crashed = bytearray(image)
            crashed[start : start + len(torn)] = torn
            recovered = LittleFsFileSystem(blocks, image=crashed)
            store = SmallStore("/kv", recovered)
            store.open()
            content = dict(store.scan())
            assert content in (before, after), (change, start, len(torn))
            assert store.count() == len(content)
            checked += 1
        if data is None:
            image[start : start + block_size] = b"\xff" * block_size
        else:
            image[start : start + len(data)] = data
    print(
        "\nLittleFS power cuts checked: %d (%d program/erase operations, %d changes)"
        % (checked, len(operations), len(changes))
    )
    assert checked >= 1000
