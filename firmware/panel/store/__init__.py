# Durable key-value store on flash (LittleFS) or a host directory.
# Usage: store = Store(directory); store.open(); store.put("s:name", b"...").
from panel.store.records import (StoreError, MAX_KEY_BYTES, MAX_VALUE_BYTES,
                                 MAX_BATCH_CHANGES, MAX_BATCH_BYTES)
from panel.store.store import Store
from panel.store.file_system import OsFileSystem
