# Durable key-value store on flash (LittleFS) or a host directory.
# Usage: store = Store(directory); store.open(); store.put("s:name", b"...").
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
