# The durable key-value store: forward rules, redirect rules, settings, access
# identifiers and the call log, on flash, with a small RAM footprint.
#
# Layout (all in one directory):
#   MANIFEST        the partition table: for each partition its id and the
#                   lowest key it covers. A base record (the whole table)
#                   followed by edit records (one split or drop each); a new
#                   base replaces the file atomically (temp + rename) every
#                   MANIFEST_EDITS_PER_BASE edits.
#   p<id>.d         data file of a partition: header (generation, record count,
#                   fence table length), a fence table (the key and offset of
#                   a record every ~512 bytes), the records sorted by key.
#                   Never modified in place.
#   p<id>_<gen>.j   journal of a partition: change records appended since the
#                   data file of generation <gen> was written.
#   batch.log       intent record of a batch that spans partitions, present
#                   only while such a batch is being applied.
#
# The key space is split into partitions of a few KB each. A change is one
# record appended to its partition's journal and fsync'd: that is the
# acknowledgement point. When a partition's journal grows past a share of its
# data file (JOURNAL_PERCENT), the two are merged into a new data file
# (written to p<id>.t, fsync'd, renamed over p<id>.d, generation + 1) and the
# old journal is removed; only that partition's few KB are rewritten, so the
# flash written per change stays a small multiple of the change itself
# (about 1 + 100 / JOURNAL_PERCENT records). A merged partition that grew too
# big is split into new partitions (new ids; one MANIFEST edit commits the
# split); one that became empty is dropped (its range joins its left
# neighbour).
#
# RAM: per partition a handful of integers in arrays and its low key in one
# bytes object (about 45 bytes); nothing per record. Reading a key reads that
# partition's journal, then the data file's header, fence table and one
# ~512-byte stretch of records.
#
# Crash consistency (power cut at any byte of any write, or at any rename,
# remove or fsync): every journal and MANIFEST record carries a length and a
# CRC-32, so a torn tail is recognised and ignored (a partition is merged
# before its next append, MANIFEST gets a new base at open(), so nothing is
# ever appended after torn bytes); a data file or MANIFEST base is only ever
# replaced by rename of a complete, fsync'd file; files a crash left
# unreferenced are removed by open(). A batch that spans partitions is written
# whole to batch.log first; open() re-applies it (harmless: the last write of
# a key wins) and removes it. tests/host/test_store_crash.py cuts the power at
# every write, byte, fsync, rename and remove of a long run.
#
# On LittleFS (copy-on-write), an fsync'd append also rewrites the file's
# last, partly filled block, and a change costs about one block erase:
# measured on the real LittleFS code, 10,000 updates program ~11x the record
# size and erase ~4 KiB each (tools/benchmarks/bench_store.py, lfs_* lines).
# Smaller JOURNAL_PERCENT lowers that (shorter journals to copy) but raises
# the bytes the store itself writes; the default keeps the latter near 2.4x.
#
# Scans: scan()/keys() read one partition's bytes at a time (its journal, and
# its data file from the fence stretch of the scan's start) and make a key
# object only when it is reached; they continue from the last key returned,
# so a write between two steps of a scan never makes it fail, repeat or
# reorder keys: partitions not reached yet show the newer state, the
# partition being returned shows the state when it was read. A scan can
# skip its first N keys: whole partitions by their counts, unread.
#
# Reads check CRCs once: a journal's records when its partition is loaded
# (after that only this store appends to it), a data record whenever its
# value is read. Key walks (lists, counts) follow the records' lengths only.
import binascii
import struct
from array import array

from panel.compat import const
from panel.store import records
from panel.store.file_system import OsFileSystem, is_missing
from panel.store.records import StoreError

_MANIFEST = "MANIFEST"
_MANIFEST_TEMP = "MANIFEST.t"
_INTENT = "batch.log"
# First byte of a MANIFEST record body: the whole table, or one edit of it.
_MANIFEST_BASE = b"B"
_MANIFEST_EDIT = b"E"
# Length and CRC-32 before each MANIFEST record body.
_FRAME_BYTES = const(8)

# Partition flags (one byte each in a bytearray).
_LOADED = const(1)  # generation, sizes and count known
_TORN = const(2)  # the journal file has bytes past its last valid record

# Writes of data files and MANIFEST go out in chunks of this size: bounded RAM,
# and whole flash pages on the board.
_WRITE_CHUNK_BYTES = const(512)
# Most partitions one store holds (about 5 MB of data at 4 KB each): bounds
# the RAM table (about 54 KB at this count with 22-byte keys) and MANIFEST.
_MAX_PARTITIONS = const(1200)
# Largest MANIFEST record read at open(): a base of _MAX_PARTITIONS entries
# of 4 + 1 + 64 bytes.
_MAX_MANIFEST_BYTES = const(84000)


def _first(item):
    return item[0]


def _spliced(values, index, inserted):
    """values (array or bytearray) with the item at index replaced by inserted."""
    return values[:index] + inserted + values[index + 1 :]


def _framed(body):
    """A MANIFEST record: length, CRC-32 of length and body, body."""
    header = struct.pack("<I", len(body))
    crc = binascii.crc32(body, binascii.crc32(header)) & 0xFFFFFFFF
    return header + struct.pack("<I", crc) + body


def _read_framed(handle):
    """The body of the next whole, CRC-checked record from handle, or None."""
    header = handle.read(_FRAME_BYTES)
    if len(header) < _FRAME_BYTES:
        return None
    length, crc = struct.unpack("<II", header)
    if length < 1 or length > _MAX_MANIFEST_BYTES:
        return None
    body = handle.read(length)
    if len(body) < length:
        return None
    if binascii.crc32(body, binascii.crc32(header[0:4])) & 0xFFFFFFFF != crc:
        return None
    return body


def _sorted_contains(values, wanted):
    """Binary search in a sorted array."""
    low = 0
    high = len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] < wanted:
            low = middle + 1
        else:
            high = middle
    return low < len(values) and values[low] == wanted


class Store:
    """Durable, ordered key-value store over a directory (see module comment)."""

    # The caller-facing limits (also exported by panel.store).
    MAX_KEY_BYTES = records.MAX_KEY_BYTES
    MAX_VALUE_BYTES = records.MAX_VALUE_BYTES
    MAX_BATCH_CHANGES = records.MAX_BATCH_CHANGES
    MAX_BATCH_BYTES = records.MAX_BATCH_BYTES

    # Tuning, as class attributes so tests can shrink them in a subclass.
    # A merged partition larger than this is split...
    DATA_SPLIT_BYTES = 8192
    # ...into pieces of about this size.
    DATA_TARGET_BYTES = 4096
    # A partition's journal is merged into its data file once it holds more
    # than JOURNAL_PERCENT of the data file's size, and at least this much:
    # flash written per change is about (1 + 100 / JOURNAL_PERCENT) records.
    JOURNAL_MIN_BYTES = 1024
    JOURNAL_PERCENT = 75
    # At most this many edits follow a MANIFEST base; the next split writes a
    # new base. Each edit makes open() rebuild the table arrays (garbage the
    # size of the table); a base costs the whole table in writes. 32 keeps
    # both small: about 15 bytes of MANIFEST written per insert when adding
    # rules one by one.
    MANIFEST_EDITS_PER_BASE = 32

    def __init__(self, directory, file_system=None):
        # Nothing is read or written here: open() does it.
        if directory.endswith("/") and len(directory) > 1:
            directory = directory[:-1]
        self._directory = directory
        self._files = file_system if file_system is not None else OsFileSystem()
        self._opened = False
        self._manifest_size = 0
        self._manifest_base_size = 0
        self._manifest_edits = 0
        self._manifest_torn = False
        self._needs_recovery = False
        self._last_data_key = None
        self._reset_table()

    # ----------------------------------------------------------- lifecycle

    def open(self):
        """Create the store or recover whatever a power cut left."""
        if self._opened:
            return
        try:
            self._files.stat(self._directory)
        except OSError as error:
            if not is_missing(error):
                raise
            self._files.mkdir(self._directory)
        self._read_manifest()
        self._remove_orphans()
        self._opened = True
        self._recover_intent()

    def close(self):
        """Forget the RAM state; every change is already durable."""
        self._opened = False
        self._needs_recovery = False
        self._reset_table()

    # ---------------------------------------------------------------- reads

    def get(self, key):
        """The value of key (bytes), or None."""
        key = records.check_key(key)
        self._check_open()
        index = self._route(key)
        return self._find(index, key)[1]

    def scan(self, start="", stop=None, reverse=False, skip=0):
        """(key, value) pairs with start <= key < stop, in key order (descending
        with reverse), the first `skip` of them left out. Reads one partition
        at a time, a key at a time (descending: the partition's keys as one
        list), and skips whole partitions by their counts
        without reading them (a list's later pages); a write made while a scan
        is suspended is seen in the partitions not reached yet, never makes the
        scan fail, repeat or reorder a key."""
        return self._iterate(start, stop, reverse, True, skip)

    def keys(self, start="", stop=None, reverse=False, skip=0):
        """Keys with start <= key < stop, in key order (as scan())."""
        return self._iterate(start, stop, reverse, False, skip)

    def count(self, start="", stop=None):
        """Number of keys with start <= key < stop; reads only the partitions
        that the bounds cut through."""
        low = records.check_bound(start)
        high = None if stop is None else records.check_bound(stop)
        self._check_open()
        if high is not None and high <= low:
            return 0
        total = 0
        index = self._route(low)
        partitions = len(self._ids)
        while index < partitions:
            partition_low = self._low_key(index)
            if high is not None and partition_low >= high:
                break
            partition_high = self._high_key(index)
            self._load(index)
            inside_low = partition_low >= low
            inside_high = high is None or (partition_high is not None and partition_high <= high)
            if inside_low and inside_high:
                total += self._counts[index]
            else:
                for _ in self._partition_items(index, low, high, False):
                    total += 1
            index += 1
        return total

    # --------------------------------------------------------------- writes

    def put(self, key, value):
        """Store value (bytes) under key; durable on return."""
        key = records.check_key(key)
        value = records.check_value(value)
        self._check_open()
        self._guarded_apply([(key, value)])

    def delete(self, key):
        """Remove key; True if it existed. Durable on return."""
        key = records.check_key(key)
        self._check_open()
        return self._guarded_apply([(key, None)]) > 0

    def write_in_batches(self, changes):
        """Apply a list of changes of any length in batches within the limits
        above: each batch atomic and durable, the whole not atomic (for bulk
        deletes the callers' contracts do not make atomic)."""
        batch = []
        batch_bytes = 0
        for key, value in changes:
            size = len(key) + (0 if value is None else len(value))
            if batch and (
                len(batch) >= records.MAX_BATCH_CHANGES
                or batch_bytes + size > records.MAX_BATCH_BYTES
            ):
                self.write_batch(batch)
                batch = []
                batch_bytes = 0
            batch.append((key, value))
            batch_bytes += size
        if batch:
            self.write_batch(batch)

    def write_batch(self, changes):
        """Apply [(key, bytes or None to delete), ...] atomically; durable on
        return. A key listed twice takes its last value."""
        if not isinstance(changes, (list, tuple)):
            raise StoreError("changes must be a list")
        if len(changes) > records.MAX_BATCH_CHANGES:
            raise StoreError("more than %d changes in a batch" % records.MAX_BATCH_CHANGES)
        latest = {}
        total_bytes = 0
        for change in changes:
            if not isinstance(change, (list, tuple)) or len(change) != 2:
                raise StoreError("a change is (key, value or None)")
            key = records.check_key(change[0])
            value = change[1]
            if value is not None:
                value = records.check_value(value)
                total_bytes += len(value)
            total_bytes += len(key)
            latest[key] = value
        if total_bytes > records.MAX_BATCH_BYTES:
            raise StoreError("batch larger than %d bytes" % records.MAX_BATCH_BYTES)
        self._check_open()
        if not latest:
            return
        entries = sorted(latest.items(), key=_first)
        self._guarded_apply(entries)

    def clear(self):
        """Remove every key (factory reset); durable on return."""
        self._check_open()
        new_id = self._next_id
        ids = array("I", [new_id])
        ends = array("I", [0])
        try:
            self._write_manifest_base(new_id + 1, ids, b"", ends)
            self._install_table(new_id + 1, ids, b"", ends)
            # Old files are now unreferenced: remove them (open() would too).
            self._remove_orphans()
        except OSError:
            self._needs_recovery = True
            raise

    def _guarded_apply(self, entries):
        """_apply, with recovery after the file system fails part way.

        An OSError (flash full, I/O error) may leave the files anywhere a
        power cut could, and the RAM table may then disagree with them (a
        MANIFEST edit fully written but its fsync failed, say). The error goes
        to the caller (the change may be wholly there or wholly absent); the
        next call first rebuilds the RAM state from the files, exactly as
        open() after a power cut does, so every acknowledged change is there."""
        try:
            return self._apply(entries)
        except OSError:
            self._needs_recovery = True
            raise

    # ------------------------------------------------------ partition table

    def _reset_table(self):
        self._next_id = 0
        # Low keys of all partitions, concatenated; _key_ends[i] is where
        # partition i's key ends. Partition 0's low key is always b"".
        self._low_keys = b""
        self._key_ends = array("I")
        self._ids = array("I")
        self._generations = array("I")
        self._counts = array("I")
        self._data_sizes = array("I")
        self._journal_sizes = array("I")
        self._flags = bytearray()

    def _install_table(self, next_id, ids, low_keys, key_ends):
        """Make ids (array), low_keys (bytes, concatenated) and key_ends
        (array) the RAM table; no partition loaded yet."""
        self._reset_table()
        self._next_id = next_id
        self._low_keys = low_keys
        self._key_ends = key_ends
        self._ids = ids
        partitions = len(ids)
        self._generations = array("I", bytes(4 * partitions))
        self._counts = array("I", bytes(4 * partitions))
        self._data_sizes = array("I", bytes(4 * partitions))
        self._journal_sizes = array("I", bytes(4 * partitions))
        self._flags = bytearray(partitions)

    def _low_key(self, index):
        start = self._key_ends[index - 1] if index else 0
        return self._low_keys[start : self._key_ends[index]]

    def _high_key(self, index):
        """Low key of the next partition (exclusive bound), None for the last."""
        if index + 1 >= len(self._ids):
            return None
        return self._low_key(index + 1)

    def _route(self, key):
        """Index of the partition holding key: the last one whose low key <= key."""
        low = 0
        high = len(self._ids) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self._low_key(middle) <= key:
                low = middle
            else:
                high = middle - 1
        return low

    def _replace_partitions(self, index, new_partitions):
        """Replace partition index by new_partitions, a list of (id, low key,
        generation, count, data size), and commit the change to MANIFEST.
        An empty list drops the partition (its range joins the left neighbour)."""
        if len(self._ids) - 1 + len(new_partitions) > _MAX_PARTITIONS:
            raise StoreError("store full: too many partitions")
        old_id = self._ids[index]
        old_key = self._low_key(index)
        new_ids = array("I", [partition[0] for partition in new_partitions])
        new_keys = [partition[1] for partition in new_partitions]
        table = self._edited_table(index, new_ids, new_keys)
        self._commit_edit(old_id, old_key, new_ids, new_keys, table)
        # Committed: install the new table, keeping what is known of the others.
        self._generations = _spliced(
            self._generations, index, array("I", [partition[2] for partition in new_partitions])
        )
        self._counts = _spliced(
            self._counts, index, array("I", [partition[3] for partition in new_partitions])
        )
        self._data_sizes = _spliced(
            self._data_sizes, index, array("I", [partition[4] for partition in new_partitions])
        )
        self._journal_sizes = _spliced(
            self._journal_sizes, index, array("I", bytes(4 * len(new_partitions)))
        )
        self._flags = _spliced(self._flags, index, bytearray([_LOADED] * len(new_partitions)))
        self._ids, self._low_keys, self._key_ends = table

    def _edited_table(self, index, new_ids, new_keys):
        """(ids, low_keys, key_ends) with partition index replaced by new_ids
        whose low keys are new_keys; built from slices, no object per partition."""
        key_start = self._key_ends[index - 1] if index else 0
        key_end = self._key_ends[index]
        inserted_keys = b"".join(new_keys)
        inserted_ends = array("I")
        position = key_start
        for key in new_keys:
            position += len(key)
            inserted_ends.append(position)
        shift = len(inserted_keys) - (key_end - key_start)
        tail_ends = self._key_ends[index + 1 :]
        for position in range(len(tail_ends)):
            tail_ends[position] += shift
        return (
            _spliced(self._ids, index, new_ids),
            self._low_keys[:key_start] + inserted_keys + self._low_keys[key_end:],
            self._key_ends[:index] + inserted_ends + tail_ends,
        )

    # --------------------------------------------------------------- MANIFEST
    #
    # MANIFEST is a base record (the whole partition table) followed by edit
    # records (one split, or one dropped partition, each), every record framed
    # as length (4), CRC-32 (4), body. An edit is appended and fsync'd: that
    # is its commit point, and costs tens of bytes instead of rewriting the
    # table. After MANIFEST_EDITS_PER_BASE edits, a new base is written to
    # MANIFEST.t and renamed over MANIFEST. A torn edit at the end (power cut)
    # is ignored and open() rewrites the base, so nothing is appended after it.

    def _read_manifest(self):
        self._manifest_size = 0
        self._manifest_base_size = 0
        self._manifest_edits = 0
        try:
            handle = self._files.open(self._path(_MANIFEST), "rb")
        except OSError as error:
            if not is_missing(error):
                raise
            # A new store: one partition covering every key, no files yet.
            self._install_table(1, array("I", [0]), b"", array("I", [0]))
            return
        torn = False
        try:
            body = _read_framed(handle)
            if body is None or body[0:1] != _MANIFEST_BASE:
                raise StoreError("MANIFEST corrupt")
            self._load_base(body)
            self._manifest_base_size = self._manifest_size = _FRAME_BYTES + len(body)
            body = None
            while True:
                body = _read_framed(handle)
                if body is None:
                    break
                if body[0:1] != _MANIFEST_EDIT:
                    raise StoreError("MANIFEST corrupt")
                self._load_edit(body)
                self._manifest_size += _FRAME_BYTES + len(body)
                self._manifest_edits += 1
                body = None
            torn = self._manifest_size != self._file_size(_MANIFEST)
        finally:
            handle.close()
        self._install_table(self._next_id, self._ids, self._low_keys, self._key_ends)
        if torn:
            # Bytes after the last whole record: a power cut tore an edit.
            self._write_manifest_base(self._next_id, self._ids, self._low_keys, self._key_ends)

    def _load_base(self, body):
        next_id, partitions = struct.unpack_from("<II", body, 1)
        if partitions < 1 or partitions > _MAX_PARTITIONS:
            raise StoreError("MANIFEST corrupt")
        ids = array("I")
        key_ends = array("I")
        low_keys = bytearray()
        position = 9
        view = memoryview(body)
        for _ in range(partitions):
            partition_id, key_length = struct.unpack_from("<IB", body, position)
            position += 5
            ids.append(partition_id)
            low_keys.extend(view[position : position + key_length])
            key_ends.append(len(low_keys))
            position += key_length
        self._install_table(next_id, ids, bytes(low_keys), key_ends)

    def _load_edit(self, body):
        next_id, old_id, key_length = struct.unpack_from("<IIB", body, 1)
        position = 10
        old_key = bytes(body[position : position + key_length])
        position += key_length
        count = body[position]
        position += 1
        new_ids = array("I")
        new_keys = []
        for _ in range(count):
            partition_id, key_length = struct.unpack_from("<IB", body, position)
            position += 5
            new_ids.append(partition_id)
            new_keys.append(bytes(body[position : position + key_length]))
            position += key_length
        index = self._route(old_key)
        if self._ids[index] != old_id or self._low_key(index) != old_key:
            raise StoreError("MANIFEST edit does not match its table")
        if not new_ids and index == 0:
            raise StoreError("MANIFEST edit drops the first partition")
        # Only the three table arrays change here; the per-partition state
        # arrays are sized once, after the last edit (see _read_manifest).
        self._ids, self._low_keys, self._key_ends = self._edited_table(index, new_ids, new_keys)
        self._next_id = next_id

    def _commit_edit(self, old_id, old_key, new_ids, new_keys, table):
        """Make the table edit durable: append an edit record, or write a new
        base when the edits have outgrown the last one."""
        body = bytearray(_MANIFEST_EDIT)
        body.extend(struct.pack("<IIB", self._next_id, old_id, len(old_key)))
        body.extend(old_key)
        body.append(len(new_ids))
        for position in range(len(new_ids)):
            body.extend(struct.pack("<IB", new_ids[position], len(new_keys[position])))
            body.extend(new_keys[position])
        record_size = _FRAME_BYTES + len(body)
        if (
            self._manifest_base_size == 0
            or self._manifest_torn
            or self._manifest_edits >= self.MANIFEST_EDITS_PER_BASE
        ):
            self._write_manifest_base(self._next_id, table[0], table[1], table[2])
            return
        handle = self._files.open(self._path(_MANIFEST), "ab")
        try:
            try:
                handle.write(_framed(body))
                self._files.fsync(handle)
            finally:
                handle.close()
        except OSError:
            # Part of the record may be there: write a base next time.
            self._manifest_torn = True
            raise
        self._manifest_size += record_size
        self._manifest_edits += 1

    def _write_manifest_base(self, next_id, ids, low_keys, key_ends):
        """Write the whole partition table to MANIFEST.t, fsync, rename over MANIFEST."""
        body_length = 9 + 5 * len(ids) + len(low_keys)
        header = struct.pack("<I", body_length)
        handle = self._files.open(self._path(_MANIFEST_TEMP), "wb")
        try:
            chunk = bytearray(_MANIFEST_BASE)
            chunk.extend(struct.pack("<II", next_id, len(ids)))
            crc = binascii.crc32(header)
            handle.write(header + bytes(4))  # CRC placeholder, filled in below
            key_start = 0
            for position in range(len(ids)):
                key_end = key_ends[position]
                chunk.extend(struct.pack("<IB", ids[position], key_end - key_start))
                chunk.extend(low_keys[key_start:key_end])
                key_start = key_end
                if len(chunk) >= _WRITE_CHUNK_BYTES:
                    crc = binascii.crc32(chunk, crc)
                    handle.write(chunk)
                    chunk = bytearray()
            crc = binascii.crc32(chunk, crc)
            handle.write(chunk)
            handle.seek(4)
            handle.write(struct.pack("<I", crc & 0xFFFFFFFF))
            self._files.fsync(handle)
        finally:
            handle.close()
        self._files.rename(self._path(_MANIFEST_TEMP), self._path(_MANIFEST))
        self._manifest_size = self._manifest_base_size = _FRAME_BYTES + body_length
        self._manifest_edits = 0
        self._manifest_torn = False

    # ------------------------------------------------------------- recovery

    def _remove_orphans(self):
        """Remove files no partition refers to (left by a power cut during a
        split, drop or clear) and unfinished temporary files."""
        known = array("I", sorted(self._ids))
        doomed = []
        for name in self._files.listdir(self._directory):
            if name == _MANIFEST_TEMP or (name.startswith("p") and name.endswith(".t")):
                doomed.append(name)
                continue
            if not name.startswith("p"):
                continue
            if name.endswith(".d"):
                digits = name[1:-2]
            elif name.endswith(".j") and "_" in name:
                digits = name[1 : name.find("_")]
            else:
                continue
            if not digits.isdigit():
                continue
            if not _sorted_contains(known, int(digits)):
                doomed.append(name)
        for name in doomed:
            self._remove_if_present(name)

    def _recover_intent(self):
        """Finish a batch that spans partitions if its intent record is whole;
        otherwise it was never acknowledged and no journal holds any of it."""
        buffer = self._read_file(_INTENT, records.MAX_BATCH_BYTES * 2)
        if buffer is None:
            return
        found = records.next_journal_record(buffer, 0)
        if found is None:
            self._remove_if_present(_INTENT)
            return
        entries = list(records.record_entries(buffer, 0, found[0]))
        buffer = None
        self._apply(entries, True)

    # ------------------------------------------------------------ partition

    def _journal_name(self, index):
        return "p%d_%d.j" % (self._ids[index], self._generations[index])

    def _data_name(self, index):
        return "p%d.d" % self._ids[index]

    def _load(self, index):
        """Learn a partition's generation, count and sizes (first use only)."""
        if self._flags[index] & _LOADED:
            return
        generation = 0
        count = 0
        data_size = 0
        header = self._read_file(self._data_name(index), records.DATA_HEADER_BYTES)
        if header is not None:
            generation, count, _ = records.decode_data_header(header)
            data_size = self._files.stat(self._path(self._data_name(index)))[6]
        self._generations[index] = generation
        self._data_sizes[index] = data_size
        flags = _LOADED
        # Read whole and not capped: every byte of it may be an acknowledged
        # change. Its size is bounded by the merge rule (JOURNAL_PERCENT of a
        # data file of at most DATA_SPLIT_BYTES, plus one batch record of at
        # most MAX_BATCH_BYTES), except when merges keep failing (flash full).
        journal = self._read_file(self._journal_name(index), None)
        journal_size = 0
        if journal is not None:
            journal_size, last_count = records.journal_valid_length(journal)
            if last_count is not None:
                count = last_count
            if journal_size < len(journal):
                flags |= _TORN
        journal = None
        self._counts[index] = count
        self._journal_sizes[index] = journal_size
        self._flags[index] = flags
        if generation > 0:
            # The journal of the previous generation, if a power cut came
            # between the data file's rename and the journal's removal.
            self._remove_if_present("p%d_%d.j" % (self._ids[index], generation - 1))

    def _read_journal(self, index):
        """The valid bytes of a partition's journal (b"" when empty)."""
        size = self._journal_sizes[index]
        if size == 0:
            return b""
        buffer = self._read_file(self._journal_name(index), size)
        if buffer is None or len(buffer) < size:
            raise StoreError("journal shorter than recorded")
        return buffer

    def _read_data(self, index):
        """A partition's whole data file, and where its records start and end.
        (At most about DATA_SPLIT_BYTES + one record: bigger merges are split.)"""
        if self._data_sizes[index] == 0:
            return b"", 0, 0
        buffer = self._read_file(self._data_name(index), None)
        if buffer is None:
            raise StoreError("data file missing")
        fence_length = records.decode_data_header(buffer)[2]
        return buffer, records.DATA_HEADER_BYTES + fence_length, len(buffer)

    def _find_in_data(self, index, key):
        """(found, value) for key in a partition's data file, reading only the
        header, the fence table and the one stretch of records that may hold it."""
        size = self._data_sizes[index]
        if size == 0:
            return False, None
        handle = self._files.open(self._path(self._data_name(index)), "rb")
        try:
            header = handle.read(records.DATA_HEADER_BYTES)
            fence_length = records.decode_data_header(header)[2]
            span = records.fence_span(handle.read(fence_length), key, size)
            if span is None:
                return False, None
            handle.seek(span[0])
            stretch = handle.read(span[1] - span[0])
        finally:
            handle.close()
        if len(stretch) != span[1] - span[0]:
            raise StoreError("data file truncated")
        return records.data_find(stretch, 0, len(stretch), key)

    def _find(self, index, key):
        """(found, value or None) for key in partition index (journal first)."""
        self._load(index)
        journal = self._read_journal(index)
        seen, value = records.journal_find(journal, len(journal), key)
        journal = None
        if seen:
            return value is not None, value
        return self._find_in_data(index, key)

    def _materialize(self, index, low, high, with_values):
        """Sorted list of (key, value or None) of the live keys of partition
        index with low <= key < high (None: unbounded)."""
        self._load(index)
        journal = self._read_journal(index)
        pending = records.journal_pending(journal, len(journal), low, high, with_values)
        journal = None
        result = []
        data, start, end = self._read_data(index)
        # The data file's last key, for _compact's choice of split.
        self._last_data_key = None
        if end:
            for key, value in records.data_records(data, start, end, with_values):
                self._last_data_key = key
                if high is not None and key >= high:
                    break
                if low is not None and key < low:
                    continue
                if key in pending:
                    continue
                result.append((key, value))
        data = None
        for key in pending:
            value = pending[key]
            if value is not None:
                result.append((key, value if with_values else None))
        pending = None
        result.sort(key=_first)
        return result

    def _data_from(self, index, low):
        """(buffer, start, end): a partition's data records from the stretch
        that may hold low (the fence table's) to the file's end, so a scan
        that starts inside a partition neither reads nor walks the records
        before it. low None: all records."""
        if low is None:
            return self._read_data(index)
        size = self._data_sizes[index]
        if size == 0:
            return b"", 0, 0
        handle = self._files.open(self._path(self._data_name(index)), "rb")
        try:
            header = handle.read(records.DATA_HEADER_BYTES)
            fence_length = records.decode_data_header(header)[2]
            span = records.fence_span(handle.read(fence_length), low, size)
            start = records.DATA_HEADER_BYTES + fence_length if span is None else span[0]
            handle.seek(start)
            buffer = handle.read(size - start)
        finally:
            handle.close()
        if len(buffer) != size - start:
            raise StoreError("data file truncated")
        return buffer, 0, len(buffer)

    def _partition_items(self, index, low, high, with_values):
        """Yield (key, value or None) of the live keys of partition index with
        low <= key < high, in key order, made one at a time: the partition's
        journal and data bytes are read at the first step (so the partition
        is seen as it was then), and a key becomes an object only when it is
        reached. What _materialize returns, without the list."""
        self._load(index)
        journal = self._read_journal(index)
        pending = records.journal_pending(journal, len(journal), low, high, with_values)
        journal = None
        waiting = sorted(pending)
        next_pending = 0
        data, start, end = self._data_from(index, low)
        for key, value in records.data_records(data, start, end, with_values):
            if high is not None and key >= high:
                break
            if low is not None and key < low:
                continue
            # Journal keys before this one, then this one: the journal's
            # entry (newer) when it has one, else the data file's.
            replaced = False
            while next_pending < len(waiting) and waiting[next_pending] <= key:
                pending_key = waiting[next_pending]
                next_pending += 1
                pending_value = pending[pending_key]
                if pending_value is not None:
                    yield pending_key, pending_value if with_values else None
                replaced = pending_key == key
            if not replaced:
                yield key, value
        data = None
        while next_pending < len(waiting):
            pending_key = waiting[next_pending]
            next_pending += 1
            pending_value = pending[pending_key]
            if pending_value is not None:
                yield pending_key, pending_value if with_values else None

    # --------------------------------------------------------------- apply

    def _group(self, entries):
        """[(partition index, first entry, end entry)] for sorted entries."""
        groups = []
        position = 0
        total = len(entries)
        while position < total:
            index = self._route(entries[position][0])
            high = self._high_key(index)
            end = position + 1
            while end < total and (high is None or entries[end][0] < high):
                end += 1
            groups.append((index, position, end))
            position = end
        return groups

    def _apply(self, entries, recovering=False):
        """Apply sorted, distinct (key, value or None) entries atomically;
        returns how many existing keys were deleted."""
        while True:
            groups = self._group(entries)
            torn = -1
            for group in groups:
                self._load(group[0])
                if self._flags[group[0]] & _TORN:
                    torn = group[0]
            if torn < 0:
                break
            # A journal with a torn tail is never appended to: merge it first
            # (which may split it), then group again.
            self._compact(torn)
        spans = len(groups) > 1
        if spans and not recovering:
            self._write_intent(entries)
        deleted = 0
        for group in groups:
            deleted += self._append(group[0], entries[group[1] : group[2]])
        if spans or recovering:
            self._remove_if_present(_INTENT)
        # Merge full journals, from the right so earlier indexes stay valid
        # when a merge splits or drops a partition.
        for group in reversed(groups):
            index = group[0]
            if self._journal_sizes[index] > self._journal_limit(index):
                self._compact(index)
        return deleted

    def _journal_limit(self, index):
        limit = self._data_sizes[index] * self.JOURNAL_PERCENT // 100
        if limit < self.JOURNAL_MIN_BYTES:
            limit = self.JOURNAL_MIN_BYTES
        return limit

    def _write_intent(self, entries):
        encoded = [records.encode_entry(key, value) for key, value in entries]
        record = records.encode_journal_record(0, encoded)
        encoded = None
        handle = self._files.open(self._path(_INTENT), "wb")
        try:
            handle.write(record)
            self._files.fsync(handle)
        finally:
            handle.close()

    def _append(self, index, entries):
        """Append one journal record with entries to partition index and fsync;
        returns the number of existing keys deleted."""
        self._load(index)
        if len(entries) == 1:
            present = {}
            if self._find(index, entries[0][0])[0]:
                present[entries[0][0]] = True
        else:
            present = {}
            low = entries[0][0]
            high = entries[-1][0] + b"\x00"
            for key, _ in self._materialize(index, low, high, False):
                present[key] = True
        delta = 0
        deleted = 0
        encoded = []
        for key, value in entries:
            existed = key in present
            if value is None:
                if not existed:
                    continue  # nothing to delete: write nothing for it
                delta -= 1
                deleted += 1
            elif not existed:
                delta += 1
            encoded.append(records.encode_entry(key, value))
        if not encoded:
            return 0
        count_after = self._counts[index] + delta
        record = records.encode_journal_record(count_after, encoded)
        encoded = None
        handle = self._files.open(self._path(self._journal_name(index)), "ab")
        try:
            try:
                handle.write(record)
                self._files.fsync(handle)
            finally:
                handle.close()
        except OSError:
            # Part of the record may be on flash: merge before the next append.
            self._flags[index] |= _TORN
            raise
        self._journal_sizes[index] += len(record)
        self._counts[index] = count_after
        return deleted

    # -------------------------------------------------------------- merging

    def _compact(self, index):
        """Merge partition index's journal into a new data file; split the
        result when too big, drop the partition when empty (not the first)."""
        items = self._materialize(index, None, None, True)
        old_data = self._data_name(index)
        old_journal = self._journal_name(index)
        total = 0
        for key, value in items:
            total += records.data_record_size(key, value)
        if not items and index > 0:
            self._replace_partitions(index, [])
            self._remove_if_present(old_data)
            self._remove_if_present(old_journal)
            return
        if total + records.DATA_HEADER_BYTES <= self.DATA_SPLIT_BYTES:
            generation = self._generations[index] + 1
            temporary = "p%d.t" % self._ids[index]
            size = self._write_data_file(temporary, generation, items, 0, len(items))
            self._files.rename(self._path(temporary), self._path(old_data))
            self._generations[index] = generation
            self._data_sizes[index] = size
            self._journal_sizes[index] = 0
            self._counts[index] = len(items)
            self._flags[index] = _LOADED
            self._remove_if_present(old_journal)
            return
        # Split. Usually into pieces of about equal size; but when the new
        # records all lie above the old data file's last key (apartments or
        # log entries added in increasing order), the old records stay
        # together in full pieces and the new ones start a partition of their
        # own: the full pieces will not be rewritten again by more appends.
        cuts = []
        tail = len(items)
        last_data_key = self._last_data_key
        if last_data_key is not None:
            tail = 0
            while tail < len(items) and items[tail][0] <= last_data_key:
                tail += 1
        if 0 < tail < len(items):
            self._cut(items, 0, tail, self.DATA_SPLIT_BYTES * 7 // 8, cuts)
            self._cut(items, tail, len(items), self.DATA_TARGET_BYTES, cuts)
        else:
            self._cut(items, 0, len(items), self.DATA_TARGET_BYTES, cuts)
        new_partitions = []
        low_key = self._low_key(index)
        for first, end in cuts:
            new_id = self._next_id
            self._next_id += 1
            name = "p%d.d" % new_id
            written = self._write_data_file(name, 0, items, first, end)
            new_partitions.append(
                (new_id, low_key if first == 0 else items[first][0], 0, end - first, written)
            )
        items = None
        self._replace_partitions(index, new_partitions)
        self._remove_if_present(old_data)
        self._remove_if_present(old_journal)

    def _cut(self, items, first, end, piece_bytes, cuts):
        """Append to cuts the (first, end) ranges of items[first:end] in pieces
        of about equal size near piece_bytes, each at least one record."""
        total = 0
        for position in range(first, end):
            total += records.data_record_size(items[position][0], items[position][1])
        pieces = (total + piece_bytes - 1) // piece_bytes
        if pieces < 1:
            pieces = 1
        limit = total // pieces + 1
        while first < end:
            stop = first
            size = 0
            while stop < end and (stop == first or size < limit):
                size += records.data_record_size(items[stop][0], items[stop][1])
                stop += 1
            cuts.append((first, stop))
            first = stop

    def _write_data_file(self, name, generation, items, first, end):
        """Write items[first:end] as a data file, fsync it; returns its size."""
        # Fences first (they precede the records): one every
        # FENCE_SPACING_BYTES of records, the first record always one.
        fences = []
        relative = 0
        next_fence = 0
        for position in range(first, end):
            key, value = items[position]
            if relative >= next_fence:
                fences.append((relative, key))
                next_fence = relative + records.FENCE_SPACING_BYTES
            relative += records.data_record_size(key, value)
        fence_length = 4
        for _, key in fences:
            fence_length += 5 + len(key)
        records_start = records.DATA_HEADER_BYTES + fence_length
        table = records.encode_fences([(records_start + offset, key) for offset, key in fences])
        fences = None
        handle = self._files.open(self._path(name), "wb")
        size = 0
        try:
            chunk = bytearray(records.encode_data_header(generation, end - first, len(table)))
            chunk.extend(table)
            table = None
            for position in range(first, end):
                key, value = items[position]
                chunk.extend(records.encode_data_record(key, value))
                if len(chunk) >= _WRITE_CHUNK_BYTES:
                    handle.write(chunk)
                    size += len(chunk)
                    chunk = bytearray()
            if chunk:
                handle.write(chunk)
                size += len(chunk)
            self._files.fsync(handle)
        finally:
            handle.close()
        return size

    # ------------------------------------------------------------ iteration

    def _iterate(self, start, stop, reverse, with_values, skip=0):
        # Checked now, not at the first next(): a bad call fails where it is made.
        low = records.check_bound(start)
        high = None if stop is None else records.check_bound(stop)
        self._check_open()
        return self._generate(low, high, reverse, with_values, skip)

    def _skippable(self, index, low, high, skip):
        """Whether the first `skip` keys of a scan cover all of partition
        index, known from its count alone: it lies wholly inside [low, high)
        and holds at most `skip` keys."""
        if skip <= 0:
            return False
        self._load(index)
        if self._counts[index] > skip or self._low_key(index) < low:
            return False
        partition_high = self._high_key(index)
        return high is None or (partition_high is not None and partition_high <= high)

    def _generate(self, low, high, reverse, with_values, skip):
        if high is not None and high <= low:
            return
        if reverse:
            # bound: keys < bound remain (None: no bound yet).
            bound = high
            while True:
                if bound is None:
                    index = len(self._ids) - 1
                else:
                    index = self._route(bound)
                    if self._low_key(index) >= bound:
                        # bound == this partition's low key: nothing below it here.
                        if index == 0:
                            return
                        index -= 1
                partition_low = self._low_key(index)
                if self._skippable(index, low, bound, skip):
                    skip -= self._counts[index]
                else:
                    items = self._materialize(index, low, bound, with_values)
                    for position in range(len(items) - 1, -1, -1):
                        if skip > 0:
                            skip -= 1
                            continue
                        key, value = items[position]
                        if with_values:
                            yield key.decode(), value
                        else:
                            yield key.decode()
                    items = None
                if partition_low <= low or index == 0:
                    return
                bound = partition_low
        else:
            cursor = low
            while True:
                index = self._route(cursor)
                partition_high = self._high_key(index)
                if self._skippable(index, cursor, high, skip):
                    skip -= self._counts[index]
                else:
                    for key, value in self._partition_items(index, cursor, high, with_values):
                        if skip > 0:
                            skip -= 1
                        elif with_values:
                            yield key.decode(), value
                        else:
                            yield key.decode()
                if partition_high is None or (high is not None and partition_high >= high):
                    return
                cursor = partition_high

    # ---------------------------------------------------------------- files

    def _check_open(self):
        if not self._opened:
            raise StoreError("store not open")
        if self._needs_recovery:
            # A write failed part way (see _guarded_apply): recover from the
            # files before anything else. If that fails too, the OSError goes
            # to the caller and the next call tries again.
            self._opened = False
            self._reset_table()
            self.open()
            self._needs_recovery = False

    def _path(self, name):
        return self._directory + "/" + name

    def _read_file(self, name, limit):
        """Bytes of a file (at most limit bytes when given), None if missing."""
        try:
            handle = self._files.open(self._path(name), "rb")
        except OSError as error:
            if is_missing(error):
                return None
            raise
        try:
            if limit is None:
                return handle.read()
            return handle.read(limit)
        finally:
            handle.close()

    def _file_size(self, name):
        return self._files.stat(self._path(name))[6]

    def _remove_if_present(self, name):
        try:
            self._files.remove(self._path(name))
        except OSError as error:
            if not is_missing(error):
                raise
