# Durable key-value store on flash (LittleFS) or a host directory.
# Usage: store = Store(directory); store.open(); store.put("s:name", b"...").
# Damage never stops it: store.health() and store.damage_found() report what
# was fenced, rebuilt or quarantined (see store.py). A write that does not
# fit on the flash raises StoreFull (a StoreError, errno ENOSPC) and is not
# stored; deletes always have room (the delete reserve).
from panel.store.file_system import OsFileSystem
from panel.store.records import (
    MAX_BATCH_BYTES,
    MAX_BATCH_CHANGES,
    MAX_KEY_BYTES,
    MAX_VALUE_BYTES,
    StoreError,
    StoreFull,
)
from panel.store.store import Store

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_CHANGES",
    "MAX_KEY_BYTES",
    "MAX_VALUE_BYTES",
    "OsFileSystem",
    "Store",
    "StoreError",
    "StoreFull",
]
