"""panel.store on a full flash: a size-limited memory file system and a small
real LittleFS image are filled until writes fail. Every failing write raises
StoreFull (a StoreError with errno ENOSPC) and is not stored, now or after a
reopen; every acknowledged one is; deletes keep working on the full flash
(the delete reserve); opening the store on the full flash works.
"""

import errno

from panel.store import Store, StoreError, StoreFull
from support.faulty_fs import LimitedFileSystem, LittleFsFileSystem, MemoryFileSystem

DIRECTORY = "/kv"


class SmallStore(Store):
    DATA_SPLIT_BYTES = 1024
    DATA_TARGET_BYTES = 512
    JOURNAL_MIN_BYTES = 256
    JOURNAL_PERCENT = 75
    MANIFEST_EDITS_PER_BASE = 6
    RESERVE_BYTES = 4096


def _value(number):
    return (b"rule-%d:" % number) * (3 + number % 9)


def _fill(store, model):
    """Put new keys until the store says it is full; returns the refused keys.
    A refused key is retried once later (after a few more refusals), to
    show a refusal leaves nothing half there."""
    refused = []
    number = 0
    while len(refused) < 5:
        key = "f:%06d" % number
        try:
            store.put(key, _value(number))
            model[key] = _value(number)
        except StoreFull as error:
            assert isinstance(error, StoreError)
            assert error.errno == errno.ENOSPC
            refused.append(key)
            assert store.get(key) is None
        number += 1
        assert number < 100000, "never full"
    return refused


def _check(store, model, refused):
    content = dict(store.scan())
    assert content == model
    for key in refused:
        assert key not in content
    assert store.count() == len(model)


class LittleFsStore(SmallStore):
    # LittleFS copies a file's last block on every append and writes whole
    # 4 KiB blocks: the store's default reserve (four blocks) is what it needs.
    RESERVE_BYTES = Store.RESERVE_BYTES


def _full_flash_run(make_file_system, reopen_file_system, store_class=SmallStore):
    file_system = make_file_system()
    store = store_class(DIRECTORY, file_system)
    store.open()
    model = {}
    refused = _fill(store, model)
    assert len(model) > 20
    _check(store, model, refused)
    health = store.health()
    assert health["state"] == "ok"
    # Deletes work on the full flash, many of them.
    for key in sorted(model)[::3]:
        assert store.delete(key) is True
        del model[key]
    _check(store, model, refused)
    # A batch of deletes too.
    doomed = sorted(model)[:5]
    store.write_batch([(key, None) for key in doomed])
    for key in doomed:
        del model[key]
    _check(store, model, refused)
    # Fill again to the brim, then reopen on the full flash.
    refused += _fill(store, model)
    _check(store, model, refused)
    store.close()
    store = store_class(DIRECTORY, reopen_file_system(file_system))
    store.open()
    _check(store, model, refused)
    # Updates of existing keys with bigger values: refused or stored, never both.
    for key in sorted(model)[:10]:
        try:
            store.put(key, b"bigger" * 60)
            model[key] = b"bigger" * 60
        except StoreFull:
            pass
    _check(store, model, refused)
    for key in sorted(model):
        assert store.delete(key) is True
        del model[key]
    _check(store, model, refused)
    # After deleting everything there is room again.
    store.put("s:after", b"room again")
    assert store.get("s:after") == b"room again"
    # And clear() works on a full flash too (it may use the reserve).
    model = {"s:after": b"room again"}
    refused = _fill(store, model)
    store.clear()
    assert list(store.scan()) == []
    store.put("s:fresh", b"1")
    assert dict(store.scan()) == {"s:fresh": b"1"}
    return store


def test_a_size_limited_file_system_filled_until_writes_fail():
    def make():
        return LimitedFileSystem(40000)

    def reopen(file_system):
        return LimitedFileSystem(file_system.capacity, file_system.files, file_system.directories)

    store = _full_flash_run(make, reopen)
    assert store.health()["free_bytes"] is not None


def test_a_small_littlefs_image_filled_until_writes_fail():
    import littlefs  # noqa: F401  the real LittleFS C code (requirements.txt)

    blocks = 24

    def make():
        return LittleFsFileSystem(blocks)

    def reopen(file_system):
        return LittleFsFileSystem(blocks, image=bytearray(file_system.image))

    _full_flash_run(make, reopen, LittleFsStore)


def test_opening_on_a_flash_with_no_room_for_the_reserve():
    # A store whose flash filled up by other means (another file) while its
    # reserve was gone, leaving less room than the reserve (but a merge's
    # worth: with none at all not even a tombstone fits): it opens,
    # reads, refuses puts with StoreFull (they would eat the room deletes
    # need), and still deletes (each delete merges, freeing room).
    memory = MemoryFileSystem()
    store = SmallStore(DIRECTORY, memory)
    store.open()
    for number in range(40):
        store.put("f:%06d" % number, _value(number))
    store.close()
    used = sum(len(content) for content in memory.files.values())
    memory.files["/other-file"] = bytes(1)
    memory.files.pop(DIRECTORY + "/RESERVE")
    full = LimitedFileSystem(
        used - SmallStore.RESERVE_BYTES + 2000, memory.files, memory.directories
    )
    store = SmallStore(DIRECTORY, full)
    store.open()
    assert store.health()["delete_reserve"] is False
    assert store.count() == 40
    try:
        store.put("f:new", b"x")
        raise AssertionError("StoreFull not raised")
    except StoreFull:
        pass
    assert store.get("f:new") is None
    for number in range(0, 40, 2):
        assert store.delete("f:%06d" % number) is True
        assert store.get("f:%06d" % number) is None
    assert store.count() == 20
    store.close()
    store = SmallStore(DIRECTORY, full)
    store.open()
    assert store.count() == 20
