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
#                   data file of generation <gen> was written. Created (one
#                   record without entries) before that data file is renamed
#                   into place, so a data file without its journal shows a
#                   deleted journal (records.DATA_MAGIC; older stores' data
#                   files, PKD2, had theirs made at the first append).
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
# bytes object (about 30 bytes: a split's low key is the shortest prefix that
# separates the two pieces, _separator); nothing per record. A healthy
# partition's journal and data file are never read whole: in pieces of about
# 1 KB of whole records (_whole_pieces), and a merge holds only its journal's
# entries, never its partition's records (_compact). (MANIFEST's base record
# is read whole at open(), and a damaged partition's files when salvaged.) Reading a key reads that
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
# its data file from the fence stretch of the scan's start, in pieces of
# DATA_PIECE_BYTES) and make a key object only when it is reached; they continue from the last key returned,
# so a write between two steps of a scan never makes it fail, repeat or
# reorder keys: partitions not reached yet show the newer state, the
# partition being returned shows the state when it was read. A scan can
# skip its first N keys: whole partitions by their counts, unread.
#
# Reads check CRCs once: a journal's records when its partition is loaded
# (after that only this store appends to it), a data record whenever its
# value is read. Key walks (lists, counts) follow the records' lengths only.
#
# Damage (a flipped byte, a truncated or deleted file: what flash wear or a
# bad write leaves, never a power cut) is survived, never made worse:
# - open() checks every partition's files (CHECK_ON_OPEN); a read that meets
#   damage later does the same for its partition. A deleted journal, or one
#   cut below its first record, is damage too (reason "journal missing" /
#   "journal truncated"; what it held is unknown). A journal cut at a later
#   record boundary looks exactly like one whose last appends never came:
#   nothing on flash witnesses that (it would cost a second write per
#   change). A damaged partition is fenced: its intact records (each has
#   its own CRC) are still served from the damaged files, what is lost is
#   reported with the partition's key range (health(), damage_found()), the
#   other partitions are untouched.
# - The first write into a fenced range salvages it: its intact records are
#   written as a fresh partition (new id, one MANIFEST edit, as a split), the
#   damaged files move to quarantine/, then the write goes ahead as usual.
#   On a full flash the salvage, and so the write, raises StoreFull.
# - MANIFEST missing (with data files present), truncated or failing its
#   check: the table is rebuilt from the data files' and journals' own
#   records (each partition's key range is the span of its keys; where two
#   overlap, the higher id is the newer, as ids only grow), and the old
#   MANIFEST is quarantined. A MANIFEST that reads clean but lost its last
#   edits is caught by its leftovers: a file it does not list whose records
#   are not all served by the store triggers the same rebuild.
# - No file the MANIFEST does not list is deleted: it moves to quarantine/
#   (reported). The exceptions are files the protocol itself proves to be
#   copies: temporary files (p<id>.t, MANIFEST.t, never renamed into place),
#   a journal older than its data file's generation (merged into it), and
#   files of ids below the MANIFEST's floor (removed by clear()).
#
# Full flash: a delete reserve (file RESERVE, RESERVE_BYTES) keeps room for
# deletes. A put or batch with a value is refused with StoreFull before it
# writes anything while the reserve is not in place; a delete that meets a
# full flash releases the reserve and is retried, so deletes always work.
# A write that fails raises StoreFull and is not stored (a partial record
# fails its CRC; the next call reloads the state from the files); a merge
# that fails after a change was acknowledged is swallowed and retried later
# (the journal just grows past its share). open() never writes what it does
# not have room for: rewriting MANIFEST, the reserve, quarantine moves all
# give up quietly on a full flash and are tried again later.
import binascii
import struct
from array import array

from panel.compat import const
from panel.core.search import count_before
from panel.store import records
from panel.store.file_system import OsFileSystem, is_missing
from panel.store.records import DECODE_ERRORS, StoreError, StoreFull, is_full_error

_MANIFEST = "MANIFEST"
_MANIFEST_TEMP = "MANIFEST.t"
_INTENT = "batch.log"
# Where files the store will not use (damaged, unlisted) go instead of being
# deleted; a folder inside the store directory, never read by the store.
_QUARANTINE = "quarantine"
# The delete reserve: a file of RESERVE_BYTES zeros, released when a delete
# finds the flash full.
_RESERVE = "RESERVE"
# First byte of a MANIFEST record body: the whole table, or one edit of it.
_MANIFEST_BASE = b"B"
_MANIFEST_EDIT = b"E"
# Length and CRC-32 before each MANIFEST record body.
_FRAME_BYTES = const(8)

# Partition flags (one byte each in a bytearray).
_LOADED = const(1)  # generation, sizes and count known
_TORN = const(2)  # the journal file has bytes past its last valid record
_DAMAGED = const(4)  # fenced: served from its intact records, salvaged on write

# Writes of data files and MANIFEST go out in chunks of this size: bounded RAM,
# and whole flash pages on the board.
_WRITE_CHUNK_BYTES = const(512)
# Most partitions one store holds (about 5 MB of data at 4 KB each): bounds
# the RAM table (about 54 KB at this count with 22-byte keys) and MANIFEST.
_MAX_PARTITIONS = const(1200)
# Largest MANIFEST record read at open(): a base of _MAX_PARTITIONS entries
# of 4 + 1 + 64 bytes.
_MAX_MANIFEST_BYTES = const(84000)
# At most this many damage events are kept for damage_found() and health():
# a store damaged everywhere must not fill the heap with its own report.
_MAX_EVENTS = const(32)
# Quarantined names get a numeric suffix when the name is taken already;
# past this many tries the file stays where it is (never overwritten).
_MAX_QUARANTINE_SUFFIX = const(100)


def _first(item):
    return item[0]


def _partition_id(name):
    """The id of a partition file name (p<id>.d, p<id>_<gen>.j), else -1."""
    if not name.startswith("p"):
        return -1
    if name.endswith(".d"):
        digits = name[1:-2]
    elif name.endswith(".j") and "_" in name:
        digits = name[1 : name.find("_")]
        if not name[name.find("_") + 1 : -2].isdigit():
            return -1
    else:
        return -1
    if not digits.isdigit():
        return -1
    return int(digits)


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


def _manifest_tail_is_torn(handle, offset):
    """Whether MANIFEST's bytes after offset (past its last good record) are
    what a power cut leaves of one appended edit (see records.tail_is_torn)."""
    handle.seek(offset)
    rest = handle.read(_MAX_MANIFEST_BYTES + _FRAME_BYTES)
    if len(rest) < _FRAME_BYTES:
        return True
    length = struct.unpack_from("<I", rest, 0)[0]
    if length < 1:
        if rest != bytes(len(rest)):
            return False
    elif not records.tail_is_torn(rest, 0, _FRAME_BYTES, length):
        return False
    # A cut leaves a prefix of one record: a whole record after it (its
    # length byte flipped, say) means damage.
    for position in range(1, len(rest) - _FRAME_BYTES + 1):
        length, crc = struct.unpack_from("<II", rest, position)
        end = position + _FRAME_BYTES + length
        if length < 1 or end > len(rest):
            continue
        view = memoryview(rest)
        computed = binascii.crc32(
            view[position + _FRAME_BYTES : end], binascii.crc32(view[position : position + 4])
        )
        if computed & 0xFFFFFFFF == crc:
            return False
    return True


def _separator(below, key):
    """The shortest low key for a partition that starts at `key` when `below`
    is the last key left of it: the shortest prefix of key that is greater
    than below (below < separator <= key, so every key routes as before).
    Partition low keys live in RAM, and keys that differ early (a rule's
    UUID after its prefix) need only a few bytes of theirs. The cut never
    falls inside a UTF-8 character: low keys are reported as text."""
    same = 0
    while same < len(below) and same < len(key) and below[same] == key[same]:
        same += 1
    end = same + 1
    while end < len(key) and key[end] & 0xC0 == 0x80:
        end += 1
    return key[:end]


def _merged(pieces, low, high, pending, waiting, with_values, past_data=None):
    """Yield (key, value) of a partition's live keys with low <= key < high
    (None: unbounded) in key order: the data records in `pieces` (its data
    file in pieces of whole records, from low's stretch) with its journal's
    entries applied (pending: {key: value or None}, limited to the range;
    waiting: its keys sorted), values None without with_values. The one
    merge of the store's reads and merges. past_data (a one-item list), when
    given, turns True once every data record is given (the keys after it lie
    above the data file's last one). Closes pieces (a generator holding the
    data file) when it ends or is closed itself."""
    next_pending = 0
    try:
        past_high = False
        for piece in pieces:
            for key, value in records.data_records(piece, 0, len(piece), with_values):
                if high is not None and key >= high:
                    past_high = True
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
            piece = None
            if past_high:
                break
    finally:
        _close(pieces)
    if past_data is not None:
        past_data[0] = True
    while next_pending < len(waiting):
        pending_key = waiting[next_pending]
        next_pending += 1
        pending_value = pending[pending_key]
        if pending_value is not None:
            yield pending_key, pending_value if with_values else None


def _taken(pieces):
    """Yield a list's items, each dropped from it as it goes (a scan's pieces
    are freed as it passes them)."""
    while pieces:
        yield pieces.pop(0)


def _between(source, first, end):
    """Yield items first..end-1 of a fresh iterator of source (a callable),
    closing it when stopping early (a generator's finally, a data file)."""
    iterator = source()
    try:
        position = 0
        for item in iterator:
            if position >= end:
                break
            if position >= first:
                yield item
            position += 1
    finally:
        _close(iterator)


def _close(iterator):
    """Close a generator (its finally runs: a data file's handle); other
    iterators have nothing to close."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _cut(sizes, first, end, piece_bytes, cuts):
    """Append to cuts the (first, end) ranges of records first..end-1 (sizes:
    each record's size) in pieces of about equal size near piece_bytes, each
    at least one record."""
    total = 0
    for position in range(first, end):
        total += sizes[position]
    pieces = (total + piece_bytes - 1) // piece_bytes
    if pieces < 1:
        pieces = 1
    limit = total // pieces + 1
    while first < end:
        stop = first
        size = 0
        while stop < end and (stop == first or size < limit):
            size += sizes[stop]
            stop += 1
        cuts.append((first, stop))
        first = stop


def _cut_low_keys(source, cuts, low_key):
    """The low key of each cut's partition: low_key for the first, then the
    shortest separator (_separator) between the records on either side of
    each cut, from one pass over source."""
    low_keys = [low_key] if cuts else []
    starts = [first for first, _ in cuts[1:]]
    if starts:
        previous = None
        position = 0
        for key, _ in _between(source, 0, starts[-1] + 1):
            if position == starts[len(low_keys) - 1]:
                low_keys.append(_separator(previous, key))
            previous = key
            position += 1
    if len(low_keys) != len(cuts):
        raise StoreError("records changed during a merge")
    return low_keys


def _sorted_contains(values, wanted):
    """Whether the sorted array `values` holds `wanted` (binary search)."""
    index = count_before(len(values), lambda middle: values[middle] < wanted)
    return index < len(values) and values[index] == wanted


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
    # A journal is read in pieces of whole records of about this many bytes
    # (_journal_pieces; and checked so at a partition's first load,
    # _scan_journal), never whole.
    JOURNAL_PIECE_BYTES = 1024
    # A data file is read in pieces of whole records of about this many
    # bytes (_data_pieces), never whole: merges, pages, scans and checks.
    DATA_PIECE_BYTES = 1024
    # At most this many edits follow a MANIFEST base; the next split writes a
    # new base. Each edit makes open() rebuild the table arrays (garbage the
    # size of the table); a base costs the whole table in writes. 32 keeps
    # both small: about 15 bytes of MANIFEST written per insert when adding
    # rules one by one.
    MANIFEST_EDITS_PER_BASE = 32
    # Room kept for deletes on a full flash. A delete appends a tombstone
    # (one record) and may merge its partition (a new data file of up to
    # DATA_SPLIT_BYTES plus a MANIFEST edit); on LittleFS each file written
    # also costs a 4 KiB block of copy-on-write. 16 KiB covers a merge of a
    # full partition plus those blocks.
    RESERVE_BYTES = 16384
    # open() reads every partition's files once to find damage at boot
    # (bounded RAM: one partition at a time). False: damage is found when a
    # read meets it (the panel boots faster on a big store).
    CHECK_ON_OPEN = True

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
        # Ids below the floor belong to a store clear() replaced.
        self._floor = 0
        # Damage known this session: partition id -> report (a dict), and
        # the events found (open, then reads), for damage_found().
        self._damage = {}
        self._events = []
        self._rebuilt = False
        # The delete reserve: in place, or released by a delete on a full
        # flash (not made again until a write that needs it).
        self._reserve_ok = False
        self._reset_table()

    # ----------------------------------------------------------- lifecycle

    def open(self):
        """Create the store or recover whatever a power cut left; check the
        files and fence what is damaged. Never fails for a full flash."""
        if self._opened:
            return
        self._damage = {}
        self._events = []
        self._rebuilt = False
        self._open(self.CHECK_ON_OPEN)
        try:
            self._make_reserve()
        except StoreFull:
            pass  # reported by health(); puts refuse until there is room

    def _open(self, check):
        try:
            self._files.stat(self._directory)
        except OSError as error:
            if not is_missing(error):
                raise
            self._files.mkdir(self._directory)
        if not self._read_manifest():
            self._rebuild_from_files()
        self._handle_unlisted()
        if check:
            for index in range(len(self._ids)):
                self._verify(index)
        self._opened = True
        self._recover_intent()

    # --------------------------------------------------------------- health

    def health(self):
        """A JSON-serialisable report: state "ok" or "damaged" (damage seen
        this session), damaged partitions (key range, records recovered and
        lost, lost bytes, whether salvaged), quarantined files, free bytes
        (None when the file system cannot tell), the delete reserve."""
        self._check_open()
        damaged = []
        for partition_id in sorted(self._damage):
            damaged.append(dict(self._damage[partition_id]))
        return {
            "state": "damaged" if (damaged or self._rebuilt) else "ok",
            "damaged": damaged,
            "index_rebuilt": self._rebuilt,
            "quarantined": self.quarantined(),
            "free_bytes": self._free_bytes(),
            "delete_reserve": self._reserve_ok,
        }

    def damage_found(self):
        """Damage events (dicts with "event" and details) found since open(),
        oldest first, at most _MAX_EVENTS: for the panel's log at boot."""
        return [dict(event) for event in self._events]

    def quarantined(self):
        """Names of the files in quarantine/ (sorted)."""
        try:
            return sorted(self._files.listdir(self._path(_QUARANTINE)))
        except OSError as error:
            if is_missing(error):
                return []
            raise

    def release_quarantine(self):
        """Delete the quarantined files (after someone looked at them); the
        one way they ever go. Returns how many were removed."""
        self._check_open()
        names = self.quarantined()
        for name in names:
            self._files.remove(self._path(_QUARANTINE) + "/" + name)
        return len(names)

    def _free_bytes(self):
        statvfs = getattr(self._files, "statvfs", None)
        if statvfs is None:
            return None
        try:
            info = statvfs(self._directory)
            return info[1] * info[4]
        except (OSError, AttributeError, TypeError):
            return None

    def _event(self, event):
        if len(self._events) < _MAX_EVENTS:
            self._events.append(event)

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

    def page(self, start="", stop=None, skip=0, limit=20):
        """The first `limit` (key, value) pairs of scan(start, stop,
        skip=skip), as a list: one page of a list, read with a loop per
        partition instead of a generator step per record (the same state
        scan() would show, as it reads each partition once)."""
        low = records.check_bound(start)
        high = None if stop is None else records.check_bound(stop)
        self._check_open()
        found = []
        if limit <= 0 or (high is not None and high <= low):
            return found
        cursor = low
        while len(found) < limit:
            index = self._route(cursor)
            partition_high = self._high_key(index)
            if self._skippable(index, cursor, high, skip):
                skip -= self._counts[index]
            else:
                skip = self._partition_page(index, cursor, high, skip, limit, found)
            if partition_high is None or (high is not None and partition_high >= high):
                break
            cursor = partition_high
        return found

    def _partition_page(self, index, low, high, skip, limit, found):
        """Append to found (up to limit items in all) the live (key, value)
        pairs of partition index with low <= key < high, after skipping
        `skip` of them; returns what is left of skip."""
        self._load(index)
        items = None
        if not self._flags[index] & _DAMAGED:
            try:
                items = self._page_items_clean(index, low, high, skip + limit - len(found))
            except DECODE_ERRORS as error:
                self._fence(index, str(error))
        if items is None:
            items = self._salvaged(index, low, high, True)
        for key, value in items:
            if skip > 0:
                skip -= 1
                continue
            if len(found) >= limit:
                break
            found.append((key.decode(), value))
        return skip

    def _page_items_clean(self, index, low, high, wanted):
        """Sorted [(key, value)]: the first `wanted` live keys of partition
        index with low <= key < high (at least; a few more may follow)."""
        pending = self._journal_pending(index, low, high, True)
        # Each journal key can hide at most one data record.
        count = wanted + len(pending)
        items = []
        pieces = self._data_pieces(index, low)
        try:
            for piece in pieces:
                if records.data_slice(piece, 0, len(piece), low, high, count, items):
                    break  # past high
                if len(items) >= count:
                    break
        finally:
            pieces.close()
        if not pending:
            return items
        merged = {}
        for key, value in items:
            merged[key] = value
        for key in pending:
            merged[key] = pending[key]
        last = items[-1][0] if len(items) >= wanted + len(pending) else None
        result = []
        for key in sorted(merged):
            value = merged[key]
            # Past the last data record read, data records not read could
            # sort between journal keys: stop there.
            if last is not None and key > last:
                break
            if value is not None:
                result.append((key, value))
        return result

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
        self._guarded_apply([(key, value)], False)

    def delete(self, key):
        """Remove key; True if it existed. Durable on return."""
        key = records.check_key(key)
        self._check_open()
        return self._guarded_apply([(key, None)], True) > 0

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
        deletes_only = True
        for _, value in entries:
            if value is not None:
                deletes_only = False
        self._guarded_apply(entries, deletes_only)

    def clear(self):
        """Remove every key (factory reset); durable on return."""
        self._check_open()
        try:
            self._clear()
        except OSError as error:
            self._needs_recovery = True
            if not is_full_error(error):
                raise
            # Like a delete, a clear may use the reserve: it frees everything.
            self._release_reserve()
            self._check_open()
            try:
                self._clear()
            except OSError as error:
                self._needs_recovery = True
                if is_full_error(error):
                    raise StoreFull("flash full: clear not done") from None
                raise
        try:
            self._make_reserve()
        except StoreFull:
            pass

    def _clear(self):
        new_id = self._next_id
        ids = array("I", [new_id])
        ends = array("I", [0])
        # The floor (new_id) says every older id is gone: the old files are
        # removed, here or by open() after a power cut.
        floor = self._floor
        self._floor = new_id
        try:
            self._write_manifest_base(new_id + 1, ids, b"", ends)
        except OSError:
            self._floor = floor
            raise
        self._install_table(new_id + 1, ids, b"", ends)
        self._damage = {}
        self._handle_unlisted()

    def _guarded_apply(self, entries, deletes_only):
        """_apply_files, and a MemoryError (a small board's heap ran out part
        way, where an OSError could have struck) handled as a failed write:
        the RAM table is rebuilt from the files at the next call."""
        try:
            return self._apply_files(entries, deletes_only)
        except MemoryError:
            self._needs_recovery = True
            raise

    def _apply_files(self, entries, deletes_only):
        """_apply, with recovery after the file system fails part way, and
        the delete reserve.

        An OSError (flash full, I/O error) may leave the files anywhere a
        power cut could, and the RAM table may then disagree with them (a
        MANIFEST edit fully written but its fsync failed, say). The error goes
        to the caller; the next call first rebuilds the RAM state from the
        files, exactly as open() after a power cut does. A change that raised
        is not stored: the record it was writing is cut short, so its CRC
        fails and it is dropped as a torn tail (on LittleFS a failed write
        is not committed at all). A full flash raises StoreFull."""
        if not deletes_only:
            # Writes that add data never eat the room kept for deletes.
            self._make_reserve()
            try:
                return self._apply(entries)
            except OSError as error:
                self._needs_recovery = True
                if is_full_error(error):
                    raise StoreFull("flash full: change not stored") from None
                raise

        # Deletes. With the reserve released (an earlier delete needed it),
        # each one also merges what it wrote to, so deletes free room instead
        # of filling the flash with tombstones, until the reserve fits again.
        reclaim = not self._reserve_ok
        try:
            deleted = self._apply(entries, False, reclaim)
        except OSError as error:
            self._needs_recovery = True
            if not is_full_error(error):
                raise
            if not self._reserve_ok:
                raise StoreFull("flash full even for a delete") from None
            # A delete on a full flash: give it the reserve, reload the state
            # the failed attempt may have left, and try once more.
            self._release_reserve()
            self._check_open()
            try:
                deleted = self._apply(entries, False, True)
            except OSError as error:
                self._needs_recovery = True
                if is_full_error(error):
                    raise StoreFull("flash full even for a delete") from None
                raise
        if not self._reserve_ok:
            try:
                self._make_reserve()
            except StoreFull:
                pass  # not yet: the next deletes reclaim more
        return deleted

    # ------------------------------------------------------ delete reserve

    def _make_reserve(self):
        """Put the delete reserve in place if it is not; StoreFull when there
        is no room for it (then nothing that adds data is written)."""
        if self._reserve_ok:
            return
        path = self._path(_RESERVE)
        try:
            if self._files.stat(path)[6] >= self.RESERVE_BYTES:
                self._reserve_ok = True
                return
        except OSError as error:
            if not is_missing(error):
                raise
        # Written in chunks from one buffer: no RESERVE_BYTES allocation.
        chunk = bytes(_WRITE_CHUNK_BYTES)
        try:
            handle = self._files.open(path, "wb")
            try:
                written = 0
                while written < self.RESERVE_BYTES:
                    handle.write(chunk)
                    written += len(chunk)
                self._files.fsync(handle)
            finally:
                handle.close()
        except OSError as error:
            if not is_full_error(error):
                raise
            # A part-made reserve would hold room for nothing: it goes.
            self._remove_quietly(_RESERVE)
            raise StoreFull("flash full: no room for the delete reserve") from None
        self._reserve_ok = True

    def _release_reserve(self):
        self._reserve_ok = False
        self._remove_quietly(_RESERVE)

    def _remove_quietly(self, name):
        try:
            self._files.remove(self._path(name))
        except OSError:
            pass  # missing already, or the flash refuses: nothing to lose

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
        """Index of the partition holding key: the last one whose low key <= key
        (the first partition for a key below every low key)."""
        starting_at_or_before = count_before(
            len(self._ids), lambda middle: self._low_key(middle) <= key
        )
        return max(0, starting_at_or_before - 1)

    def _replace_partitions(self, index, new_partitions):
        """Replace partition index by new_partitions, a list of (id, low key,
        generation, count, data size), and commit the change to MANIFEST.
        An empty list drops the partition (its range joins the left neighbour)."""
        if len(self._ids) - 1 + len(new_partitions) > _MAX_PARTITIONS:
            raise StoreFull("store full: too many partitions")
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
        # Every new partition starts with its empty journal (_replace_with_pieces).
        self._journal_sizes = _spliced(
            self._journal_sizes,
            index,
            array("I", [records.EMPTY_JOURNAL_BYTES] * len(new_partitions)),
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
        """Install the table MANIFEST holds; False when MANIFEST is damaged
        (or missing while partition files exist): then it must be rebuilt."""
        self._manifest_size = 0
        self._manifest_base_size = 0
        self._manifest_edits = 0
        self._floor = 0
        try:
            handle = self._files.open(self._path(_MANIFEST), "rb")
        except OSError as error:
            if not is_missing(error):
                raise
            # A store that never split: one partition (id 0) covering every
            # key. If MANIFEST was lost instead, the files of other ids are
            # unlisted and hold records p0 does not serve: _handle_unlisted
            # rebuilds the table from them then.
            self._install_table(1, array("I", [0]), b"", array("I", [0]))
            return True
        torn = False
        try:
            try:
                body = _read_framed(handle)
                if body is None or body[0:1] != _MANIFEST_BASE:
                    raise StoreError("MANIFEST base corrupt")
                self._load_base(body)
                self._manifest_base_size = self._manifest_size = _FRAME_BYTES + len(body)
                body = None
                while True:
                    body = _read_framed(handle)
                    if body is None:
                        break
                    if body[0:1] != _MANIFEST_EDIT:
                        raise StoreError("MANIFEST edit corrupt")
                    self._load_edit(body)
                    self._manifest_size += _FRAME_BYTES + len(body)
                    self._manifest_edits += 1
                    body = None
                if self._manifest_size != self._file_size(_MANIFEST):
                    # Bytes after the last whole record: a power cut tore an
                    # edit, or damage hides the edits after it.
                    if not _manifest_tail_is_torn(handle, self._manifest_size):
                        raise StoreError("MANIFEST record corrupt")
                    torn = True
            except DECODE_ERRORS as error:
                self._event({"event": "index damaged", "reason": str(error)})
                return False
        finally:
            handle.close()
        self._install_table(self._next_id, self._ids, self._low_keys, self._key_ends)
        if torn:
            # Never append after torn bytes: a new base now, or (flash full)
            # at the next table change (_commit_edit sees _manifest_torn).
            self._manifest_torn = True
            try:
                self._write_manifest_base(self._next_id, self._ids, self._low_keys, self._key_ends)
            except OSError as error:
                if not is_full_error(error):
                    raise
        return True

    def _load_base(self, body):
        next_id, partitions = struct.unpack_from("<II", body, 1)
        if partitions < 1 or partitions > _MAX_PARTITIONS:
            raise StoreError("MANIFEST base corrupt")
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
        if position > len(body) or (key_ends and key_ends[0] != 0):
            raise StoreError("MANIFEST base corrupt")
        # The floor follows the table (bases written before it had none: 0).
        if position + 4 <= len(body):
            self._floor = struct.unpack_from("<I", body, position)[0]
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
        body_length = 9 + 5 * len(ids) + len(low_keys) + 4
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
            chunk.extend(struct.pack("<I", self._floor))
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

    def _handle_unlisted(self):
        """Files a crash or damage left that the table does not list: copies
        the protocol proves redundant are removed (temporary files, ids below
        the floor); every other one is checked against the store and moved
        to quarantine/, or, when it holds records the store does not serve
        (MANIFEST lost edits), the table is rebuilt from the files."""
        known = array("I", sorted(self._ids))
        unlisted = []
        for name in list(self._files.listdir(self._directory)):
            if name == _MANIFEST_TEMP or (name.startswith("p") and name.endswith(".t")):
                self._remove_if_present(name)  # never renamed into place
                continue
            partition_id = _partition_id(name)
            if partition_id < 0 or _sorted_contains(known, partition_id):
                continue
            if partition_id < self._floor:
                self._remove_if_present(name)  # cleared by the MANIFEST's floor
                continue
            unlisted.append(name)
        if not unlisted:
            return
        checked = {}
        for name in unlisted:
            partition_id = _partition_id(name)
            if partition_id not in checked:
                checked[partition_id] = self._served_already(partition_id)
            if not checked[partition_id] and not self._rebuilt:
                self._event({"event": "index lost edits", "file": name})
                self._rebuild_from_files()
                self._handle_unlisted()
                return
        for name in unlisted:
            self._quarantine(name, "unlisted")

    def _served_already(self, partition_id):
        """Whether every live record of an unlisted partition's files is what
        the store serves for its key (a split, drop or salvage that a power
        cut interrupted leaves exactly such copies)."""
        content = self._salvage_files(partition_id, None, None)[0]
        for key in content:
            value = content[key]
            if value is None:
                continue
            index = self._route(key)
            if self._find(index, key)[1] != value:
                return False
        return True

    def _quarantine(self, name, reason):
        """Move a file into quarantine/ (never delete it); False when the
        file system refuses (full flash): it stays where it is, and ids keep
        clear of it."""
        folder = self._path(_QUARANTINE)
        try:
            try:
                self._files.stat(folder)
            except OSError as error:
                if not is_missing(error):
                    raise
                self._files.mkdir(folder)
            target = name
            suffix = 0
            while True:
                try:
                    self._files.stat(folder + "/" + target)
                except OSError as error:
                    if is_missing(error):
                        break
                    raise
                suffix += 1
                if suffix > _MAX_QUARANTINE_SUFFIX:
                    raise OSError(17, "quarantine name taken")
                target = "%s.%d" % (name, suffix)
            self._files.rename(self._path(name), folder + "/" + target)
        except OSError:
            partition_id = _partition_id(name)
            if partition_id >= self._next_id:
                self._next_id = partition_id + 1
            self._event({"event": "quarantine failed", "file": name, "reason": reason})
            return False
        self._event({"event": "file quarantined", "file": target, "reason": reason})
        return True

    def _rebuild_from_files(self):
        """Rebuild the partition table from the partition files themselves:
        each partition's range is the span of the keys its files hold; of two
        that overlap the higher id (the newer) wins, the other is
        quarantined. The damaged MANIFEST is quarantined, a new one written
        (if the flash has room: else at the next table change)."""
        self._rebuilt = True
        ids = []
        highest = -1
        for name in self._files.listdir(self._directory):
            partition_id = _partition_id(name)
            if partition_id >= self._floor and partition_id not in ids:
                ids.append(partition_id)
            if partition_id > highest:
                highest = partition_id
        ids.sort()
        ids.reverse()
        spans = []  # (first key, last key, id), accepted ones
        rejected = []
        for partition_id in ids:
            content = self._salvage_files(partition_id, None, None)[0]
            first = None
            last = None
            for key in content:
                if first is None or key < first:
                    first = key
                if last is None or key > last:
                    last = key
            content = None
            overlaps = first is None
            for span in spans:
                if first is not None and not (last < span[0] or first > span[1]):
                    overlaps = True
            if overlaps:
                rejected.append(partition_id)
            else:
                spans.append((first, last, partition_id))
        spans.sort(key=_first)
        if not spans:
            spans = [(b"", b"", highest + 1)]
            highest += 1
        table_ids = array("I")
        low_keys = bytearray()
        key_ends = array("I")
        for position in range(len(spans)):
            table_ids.append(spans[position][2])
            if position:
                low_keys.extend(spans[position][0])
            key_ends.append(len(low_keys))
        if self._next_id < highest + 1:
            self._next_id = highest + 1
        self._install_table(self._next_id, table_ids, bytes(low_keys), key_ends)
        self._event({"event": "index rebuilt", "partitions": len(spans)})
        for name in list(self._files.listdir(self._directory)):
            if _partition_id(name) in rejected:
                self._quarantine(name, "superseded")
        try:
            self._files.stat(self._path(_MANIFEST))
            self._quarantine(_MANIFEST, "damaged index")
        except OSError as error:
            if not is_missing(error):
                raise
        self._manifest_torn = True
        try:
            self._write_manifest_base(self._next_id, self._ids, self._low_keys, self._key_ends)
        except OSError as error:
            if not is_full_error(error):
                raise

    def _recover_intent(self):
        """Finish a batch that spans partitions if its intent record is whole;
        otherwise it was never acknowledged and no journal holds any of it."""
        buffer = self._read_file(_INTENT, records.MAX_BATCH_BYTES * 2)
        if buffer is None:
            return
        found = records.next_journal_record(buffer, 0)
        if found is None:
            if records.journal_tail_is_torn(buffer, 0):
                self._remove_if_present(_INTENT)  # cut short: never acknowledged
            else:
                # Whole but failing its CRC: damage. The batch may stand
                # half applied; keep the evidence and say so.
                self._quarantine(_INTENT, "damaged batch intent")
                self._event({"event": "batch intent damaged"})
            return
        entries = list(records.record_entries(buffer, 0, found[0]))
        buffer = None
        try:
            self._apply(entries, True)
        except (OSError, StoreFull) as error:
            if not (isinstance(error, StoreFull) or is_full_error(error)):
                raise
            # Full flash: the reserve is for exactly this (the batch was
            # acknowledged); if even that does not do, the next write retries.
            self._release_reserve()
            self._reset_table()
            self._needs_recovery = True
            self._event({"event": "batch recovery postponed: flash full"})

    # ------------------------------------------------------------ partition

    def _journal_name(self, index):
        return "p%d_%d.j" % (self._ids[index], self._generations[index])

    def _data_name(self, index):
        return "p%d.d" % self._ids[index]

    def _load(self, index):
        """Learn a partition's generation, count and sizes (first use only);
        a partition whose files do not decode is fenced instead."""
        if self._flags[index] & _LOADED:
            return
        try:
            self._load_clean(index)
        except DECODE_ERRORS as error:
            self._fence(index, str(error))

    def _load_clean(self, index):
        generation = 0
        count = 0
        data_size = 0
        journal_required = False
        header = self._read_file(self._data_name(index), records.DATA_HEADER_BYTES)
        if header is not None:
            generation, count, _ = records.decode_data_header(header)
            journal_required = records.journal_required(header)
            data_size = self._files.stat(self._path(self._data_name(index)))[6]
        self._generations[index] = generation
        self._data_sizes[index] = data_size
        flags = _LOADED
        # Every byte of the journal may be an acknowledged change: each record
        # is checked, in pieces (_scan_journal), never the whole file at once.
        scan = self._scan_journal(self._journal_name(index))
        journal_size = 0
        if scan is None and journal_required:
            # Created before its data file was renamed into place: a power
            # cut cannot lose it, so it was deleted (what it held is unknown).
            raise StoreError("journal missing")
        if scan is not None:
            journal_size, last_count, file_size, torn = scan
            if journal_size == 0 and journal_required:
                # Its first record (fsync'd before the data file's rename)
                # is gone: cut short or damaged, not torn by a power cut.
                if file_size < records.EMPTY_JOURNAL_BYTES:
                    raise StoreError("journal truncated")
                raise StoreError("journal record corrupt")
            if last_count is not None:
                count = last_count
            if journal_size < file_size:
                if not torn:
                    # Not what a power cut leaves: records may follow.
                    raise StoreError("journal record corrupt")
                flags |= _TORN
        self._counts[index] = count
        self._journal_sizes[index] = journal_size
        self._flags[index] = flags
        if generation > 0:
            # The journal of the previous generation, if a power cut came
            # between the data file's rename and the journal's removal.
            self._remove_if_present("p%d_%d.j" % (self._ids[index], generation - 1))

    def _scan_journal(self, name):
        """(valid length, count_after of its last valid record or None, file
        length, whether the bytes after the valid length are a power cut's
        torn tail) of a journal, None when it is missing. The records are
        read and CRC-checked in pieces of about JOURNAL_PIECE_BYTES (a longer
        record in one read of its own): a journal grows to most of its data
        file's size, and on a small board's fragmented heap one block that
        large may not be free. Only bytes that are no valid record (after a
        power cut, or damage) are read whole, to judge them."""
        handle = self._open_if_present(name)
        if handle is None:
            return None
        try:
            file_size = self._files.stat(self._path(name))[6]
            base = 0  # file offset of buffer[0]
            buffer = b""
            count_after = None
            wanted = self.JOURNAL_PIECE_BYTES
            while True:
                chunk = handle.read(min(wanted, file_size - base - len(buffer)))
                if chunk:
                    buffer = buffer + chunk if buffer else chunk
                # (An empty read before the stated size: the file shrank.)
                at_end = not chunk or base + len(buffer) >= file_size
                chunk = None
                offset = 0
                needed = 0
                while True:
                    found = records.next_journal_record(buffer, offset)
                    if found is not None:
                        offset, count_after = found
                        continue
                    # No valid record at offset: cut short in this piece (read
                    # on), or the journal's valid bytes end here.
                    rest = len(buffer) - offset
                    if rest < records.JOURNAL_RECORD_HEADER_BYTES:
                        needed = records.JOURNAL_RECORD_HEADER_BYTES - rest
                    else:
                        body_length = struct.unpack_from("<H", buffer, offset)[0]
                        needed = records.JOURNAL_RECORD_HEADER_BYTES + body_length - rest
                    break
                if needed <= 0 or at_end:
                    valid = base + offset
                    if valid >= file_size:
                        return valid, count_after, file_size, True
                    buffer = None
                    return valid, count_after, file_size, self._torn_tail(handle, valid, file_size)
                base += offset
                buffer = buffer[offset:]
                wanted = max(self.JOURNAL_PIECE_BYTES, needed)
        finally:
            handle.close()

    def _torn_tail(self, handle, valid, file_size):
        """Whether a journal's bytes from `valid` to its end are a power
        cut's torn tail: at most one record's worth (records'
        journal_tail_is_torn), read whole; more than that is damage."""
        if file_size - valid > records.JOURNAL_RECORD_HEADER_BYTES + records.MAX_RECORD_BODY_BYTES:
            return False
        handle.seek(valid)
        return records.journal_tail_is_torn(handle.read(file_size - valid), 0)

    def _verify(self, index):
        """Check every byte of a partition's files (open(), CHECK_ON_OPEN):
        data header, fence table, each record's CRC, order, range and count;
        a journal that decodes to its end (or a torn tail); a data file
        where one must be. Fence the partition when any check fails."""
        self._load(index)
        if self._flags[index] & _DAMAGED:
            return
        try:
            problem = self._check_files(index)
        except DECODE_ERRORS as error:
            problem = str(error)
        if problem is not None:
            self._fence(index, problem)

    def _check_files(self, index):
        low = self._low_key(index)
        high = self._high_key(index)
        if self._data_sizes[index] == 0:
            # Only the one partition of a new or cleared store starts
            # without a data file; splits, salvages and merges write one, and
            # a merge writes it before any journal of a later generation.
            if len(self._ids) > 1:
                return "data file missing"
            names = self._journal_names(self._ids[index], None)
            first_merge = "p%d_1.j" % self._ids[index]
            for name in names:
                if name.endswith("_0.j"):
                    continue
                if (
                    name == first_merge
                    and names[0].endswith("_0.j")
                    and self._file_size(name) <= records.EMPTY_JOURNAL_BYTES
                ):
                    # Made by the first merge, which a power cut stopped
                    # before its data file's rename (the journal it merges
                    # is still there); the next merge overwrites it.
                    continue
                return "data file missing"
            return None
        handle = self._open_data(index)
        try:
            header = handle.read(records.DATA_HEADER_BYTES)
            count, fence_length = records.decode_data_header(header)[1:]
            # fence_span checks the fence table's CRC (raises when it fails).
            records.fence_span(handle.read(fence_length), low, self._data_sizes[index])
        finally:
            handle.close()
        seen = 0
        previous = None
        pieces = self._data_pieces(index, None)
        try:
            for piece in pieces:
                for key, _ in records.data_records(piece, 0, len(piece), True):
                    if (previous is not None and key <= previous) or key < low:
                        return "data file out of order"
                    if high is not None and key >= high:
                        return "data file out of range"
                    previous = key
                    seen += 1
        finally:
            pieces.close()
        if seen != count:
            return "data file record count wrong"
        for key in self._journal_pending(index, None, None, False):
            if key < low or (high is not None and key >= high):
                return "journal out of range"
        return None

    def _fence(self, index, reason):
        """Mark partition index damaged: from now on it is served from the
        intact records of its files (_salvaged), and the first write into
        its range salvages it (_salvage_partition). Reported once."""
        content, lost_records, lost_bytes = self._salvage_files(
            self._ids[index], self._low_key(index), self._high_key(index)
        )
        live = 0
        for key in content:
            if content[key] is not None:
                live += 1
        content = None
        if reason == "data file missing" or reason == "journal missing":
            lost_records = None  # whatever it held is unknown
        self._counts[index] = live
        self._flags[index] = _LOADED | _DAMAGED
        partition_id = self._ids[index]
        high = self._high_key(index)
        report = {
            "partition": partition_id,
            "low": self._low_key(index).decode(),
            "high": None if high is None else high.decode(),
            "reason": reason,
            "records_served": live,
            "records_lost": lost_records,
            "bytes_lost": lost_bytes,
            "salvaged": False,
        }
        if partition_id not in self._damage:
            event = dict(report)
            event["event"] = "partition damaged"
            self._event(event)
        self._damage[partition_id] = report

    def _journal_names(self, partition_id, generation):
        """Journal file names of a partition, oldest generation first: the
        one of generation when known, else every one there is (replaying an
        older one over the data file it was merged into is harmless: the
        data file holds its last values already)."""
        if generation is not None:
            name = "p%d_%d.j" % (partition_id, generation)
            try:
                self._files.stat(self._path(name))
                return [name]
            except OSError as error:
                if is_missing(error):
                    return []
                raise
        prefix = "p%d_" % partition_id
        found = []
        for name in self._files.listdir(self._directory):
            if name.startswith(prefix) and _partition_id(name) == partition_id:
                found.append((int(name[len(prefix) : -2]), name))
        found.sort(key=_first)
        return [name for _, name in found]

    def _salvage_files(self, partition_id, low, high):
        """({key: value or None (deleted)}, records lost or None if unknown,
        bytes lost) from whatever of a partition's files is intact, keys
        limited to [low, high) when given."""
        content = {}
        lost_records = 0
        lost_bytes = 0
        generation = None
        data = self._read_file("p%d.d" % partition_id, None)
        if data is not None:
            found, generation, expected, lost = records.data_salvage(data)
            data = None
            if expected is None:
                lost_records = None  # the header is gone: its count with it
            elif expected > len(found):
                lost_records = expected - len(found)
            elif lost:
                lost_records = None
            lost_bytes += lost
            for key, value in found:
                content[key] = value
            found = None
        for name in self._journal_names(partition_id, generation):
            journal = self._read_file(name, None)
            if journal is None:
                continue
            entries, journal_lost, lost = records.journal_salvage(journal)
            journal = None
            if journal_lost and lost_records is not None:
                # A lost journal record may hold many entries: count unknown.
                lost_records = None
            lost_bytes += lost
            for key, value in entries:
                content[key] = value
        if low is not None or high is not None:
            for key in list(content):
                if (low is not None and key < low) or (high is not None and key >= high):
                    del content[key]
        return content, lost_records, lost_bytes

    def _salvaged(self, index, low, high, with_values):
        """Sorted [(key, value or None)] of the live keys of a fenced
        partition with low <= key < high, from its intact records."""
        content = self._salvage_files(
            self._ids[index], self._low_key(index), self._high_key(index)
        )[0]
        result = []
        for key in content:
            value = content[key]
            if value is None:
                continue
            if (low is not None and key < low) or (high is not None and key >= high):
                continue
            result.append((key, value if with_values else None))
        content = None
        result.sort(key=_first)
        return result

    def _index_of(self, partition_id, fallback):
        for index in range(len(self._ids)):
            if self._ids[index] == partition_id:
                return index
        return fallback

    def _salvage_partition(self, index):
        """Write a fenced partition's intact records as fresh partition(s)
        (new ids, one MANIFEST edit) and quarantine its damaged files. On a
        full flash this raises (StoreFull to the caller) and nothing changed."""
        partition_id = self._ids[index]
        items = self._salvaged(index, None, None, True)
        low_key = self._low_key(index)
        cuts = []
        if items:
            sizes = [records.data_record_size(key, value) for key, value in items]
            _cut(sizes, 0, len(items), self.DATA_TARGET_BYTES, cuts)
            sizes = None
        elif index == 0:
            cuts.append((0, 0))

        def source():
            return iter(items)

        # The pieces are copies of what the fenced partition still serves.
        new_ids = self._replace_with_pieces(index, low_key, source, cuts)
        items = None
        report = self._damage.get(partition_id)
        if report is not None:
            report["salvaged"] = True
            report["salvaged_into"] = new_ids
        for name in list(self._files.listdir(self._directory)):
            if _partition_id(name) == partition_id:
                self._quarantine(name, "damaged")

    def _journal_pieces(self, index):
        """Yield the valid bytes of a partition's journal as pieces of whole
        records, of about JOURNAL_PIECE_BYTES (a larger record is a piece of
        its own): a journal grows to most of its data file's size, and on a
        small board's fragmented heap one block that large may not be free."""
        size = self._journal_sizes[index]
        if size <= records.EMPTY_JOURNAL_BYTES:
            return  # no record with an entry fits: nothing to read
        try:
            handle = self._files.open(self._path(self._journal_name(index)), "rb")
        except OSError as error:
            if is_missing(error):
                raise StoreError("journal shorter than recorded") from None
            raise
        try:
            yield from self._whole_pieces(
                handle,
                0,
                size,
                self.JOURNAL_PIECE_BYTES,
                records.whole_records_length,
                "journal shorter than recorded",
                "journal record corrupt",
            )
        finally:
            handle.close()

    def _data_pieces(self, index, low):
        """Yield a partition's data records from the stretch that may hold
        low (the fence table's; None: from the first) to the file's end, as
        pieces of whole records of about DATA_PIECE_BYTES (a larger record is
        a piece of its own), so no read needs the data file's size in one
        block. The file is open until the generator ends: callers take the
        pieces without suspending in between, and close() it when they stop
        early (a MicroPython generator left unfinished runs no finally)."""
        size = self._data_sizes[index]
        if size == 0:
            return
        handle = self._open_data(index)
        try:
            header = handle.read(records.DATA_HEADER_BYTES)
            fence_length = records.decode_data_header(header)[2]
            start = records.DATA_HEADER_BYTES + fence_length
            if low is not None:
                span = records.fence_span(handle.read(fence_length), low, size)
                if span is not None:
                    start = span[0]
            handle.seek(start)
            yield from self._whole_pieces(
                handle,
                start,
                size,
                self.DATA_PIECE_BYTES,
                records.whole_data_records_length,
                "data file truncated",
                "data file truncated",
            )
        finally:
            handle.close()

    def _whole_pieces(self, handle, position, size, piece_bytes, measure, short, beyond):
        """Yield the bytes of handle from position to size as pieces of whole
        records (measure: records' whole_records_length or
        whole_data_records_length) of about piece_bytes, one read each: a
        record cut at a piece's end is read again at the start of the next
        (a seek back), instead of copying the two parts together. short: the
        error when the file ends early; beyond: when a record's length runs
        past size."""
        wanted = piece_bytes
        while position < size:
            chunk = handle.read(min(wanted, size - position))
            if not chunk:
                raise StoreError(short)
            whole, cut_record = measure(chunk)
            if whole == 0:
                if len(chunk) >= size - position:
                    raise StoreError(beyond)  # lengths beyond the file
                # One record longer than a piece: read it whole.
                wanted = max(piece_bytes, cut_record)
                handle.seek(position)
                continue
            if whole < len(chunk):
                chunk = chunk[:whole]
                handle.seek(position + whole)
            position += whole
            wanted = piece_bytes
            yield chunk

    def _journal_find(self, index, key):
        """(seen, value or None) of key's last entry in a partition's journal."""
        seen = False
        value = None
        for piece in self._journal_pieces(index):
            found, found_value = records.journal_find(piece, len(piece), key)
            if found:
                seen, value = True, found_value
        return seen, value

    def _journal_pending(self, index, low, high, with_values):
        """records.journal_pending over a partition's whole journal, read in pieces."""
        pending = {}
        for piece in self._journal_pieces(index):
            records.journal_pending(piece, len(piece), low, high, with_values, pending)
        return pending

    def _open_data(self, index):
        try:
            return self._files.open(self._path(self._data_name(index)), "rb")
        except OSError as error:
            if is_missing(error):
                raise StoreError("data file missing") from None
            raise

    def _find_in_data(self, index, key):
        """(found, value) for key in a partition's data file, reading only the
        header, the fence table and the one stretch of records that may hold it."""
        size = self._data_sizes[index]
        if size == 0:
            return False, None
        handle = self._open_data(index)
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
        if not self._flags[index] & _DAMAGED:
            try:
                return self._find_clean(index, key)
            except DECODE_ERRORS as error:
                self._fence(index, str(error))
        found = self._salvaged(index, key, key + b"\x00", True)
        if found:
            return True, found[0][1]
        return False, None

    def _find_clean(self, index, key):
        seen, value = self._journal_find(index, key)
        if seen:
            return value is not None, value
        return self._find_in_data(index, key)

    def _materialize(self, index, low, high, with_values):
        """Sorted list of (key, value or None) of the live keys of partition
        index with low <= key < high (None: unbounded)."""
        self._load(index)
        if not self._flags[index] & _DAMAGED:
            try:
                return self._materialize_clean(index, low, high, with_values)
            except DECODE_ERRORS as error:
                self._fence(index, str(error))
        return self._salvaged(index, low, high, with_values)

    def _materialize_clean(self, index, low, high, with_values):
        pending = self._journal_pending(index, low, high, with_values)
        merged = _merged(
            self._data_pieces(index, low), low, high, pending, sorted(pending), with_values
        )
        return list(merged)

    def _partition_items(self, index, low, high, with_values):
        """Yield (key, value or None) of the live keys of partition index with
        low <= key < high, in key order, made one at a time: the partition's
        journal and data bytes are read at the first step (so the partition
        is seen as it was then), and a key becomes an object only when it is
        reached. What _materialize returns, without the list. Damage met
        part way fences the partition; the rest comes from its intact
        records, after the last key already given."""
        self._load(index)
        last = None
        if not self._flags[index] & _DAMAGED:
            partition_id = self._ids[index]
            try:
                for key, value in self._partition_items_clean(index, low, high, with_values):
                    last = key
                    yield key, value
                return
            except DECODE_ERRORS as error:
                # Writes between two steps may have moved the partition.
                index = self._index_of(partition_id, -1)
                if index < 0:
                    return
                if not self._flags[index] & _DAMAGED:
                    self._fence(index, str(error))
        if last is not None:
            low = last + b"\x00"
        for key, value in self._salvaged(index, low, high, with_values):
            yield key, value

    def _partition_items_clean(self, index, low, high, with_values):
        pending = self._journal_pending(index, low, high, with_values)
        # All of it now, as the partition is at this step (later steps may
        # follow writes), in pieces: no block of the data file's size.
        pieces = list(self._data_pieces(index, low))
        return _merged(_taken(pieces), low, high, pending, sorted(pending), with_values)

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

    def _apply(self, entries, recovering=False, reclaim=False):
        """Apply sorted, distinct (key, value or None) entries atomically;
        returns how many existing keys were deleted. reclaim: merge every
        partition written to (a delete while the reserve is released: the
        merge drops the deleted records, so each delete frees room)."""
        while True:
            groups = self._group(entries)
            torn = -1
            for group in groups:
                self._load(group[0])
                if self._flags[group[0]] & (_TORN | _DAMAGED):
                    torn = group[0]
            if torn < 0:
                break
            # A journal with a torn tail is never appended to: merge it first
            # (which may split it), then group again. A fenced partition is
            # salvaged into a fresh one first (its files go to quarantine).
            if self._flags[torn] & _DAMAGED:
                self._salvage_partition(torn)
            else:
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
        # The change is durable now: a merge that fails (flash full) must
        # not make it look failed. The journal just stays longer; the next
        # write to the partition tries again, after the state is reloaded
        # from the files (the failed merge may have committed part way). A
        # merge holds its journal's entries: on a small board's heap it is
        # the likeliest step to meet a MemoryError, which must not fail the
        # stored change either; nor a data file that changed between its
        # passes (StoreError; no power cut does that).
        try:
            for group in reversed(groups):
                index = group[0]
                if reclaim or self._journal_sizes[index] > self._journal_limit(index):
                    if self._journal_sizes[index] > records.EMPTY_JOURNAL_BYTES:
                        self._compact(index)
        except (OSError, StoreFull, MemoryError, StoreError):
            self._needs_recovery = True
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
        result when too big, drop the partition when empty (not the first).
        The merged records are never all in RAM: each pass walks the data
        file in pieces with the journal's entries (_merged_records), one to
        size the result, then one per file written."""
        self._load(index)
        plan = None
        if not self._flags[index] & _DAMAGED:
            try:
                plan = self._merge_plan(index)
            except DECODE_ERRORS as error:
                self._fence(index, str(error))
        if plan is None:
            # Damage met while reading: never write over its files.
            self._salvage_partition(index)
            return
        source, sizes, total, tail = plan
        plan = None
        old_data = self._data_name(index)
        old_journal = self._journal_name(index)
        count = len(sizes)
        if not count and index > 0:
            self._replace_partitions(index, [])
            self._remove_if_present(old_data)
            self._remove_if_present(old_journal)
            return
        if total + records.DATA_HEADER_BYTES <= self.DATA_SPLIT_BYTES:
            generation = self._generations[index] + 1
            temporary = "p%d.t" % self._ids[index]
            # The new generation's journal first (see records.DATA_MAGIC):
            # until the rename it is a file of the next generation that no
            # read uses, and the next merge overwrites it.
            self._write_empty_journal(self._ids[index], generation, count)
            size = self._write_data_file(temporary, generation, source, 0, count)
            self._files.rename(self._path(temporary), self._path(old_data))
            self._generations[index] = generation
            self._data_sizes[index] = size
            self._journal_sizes[index] = records.EMPTY_JOURNAL_BYTES
            self._counts[index] = count
            self._flags[index] = _LOADED
            self._remove_if_present(old_journal)
            return
        # Split. Usually into pieces of about equal size; but when the new
        # records all lie above the old data file's last key (apartments or
        # log entries added in increasing order), the old records stay
        # together in full pieces and the new ones start a partition of their
        # own: the full pieces will not be rewritten again by more appends.
        cuts = []
        if 0 < tail < count:
            _cut(sizes, 0, tail, self.DATA_SPLIT_BYTES * 7 // 8, cuts)
            _cut(sizes, tail, count, self.DATA_TARGET_BYTES, cuts)
        else:
            _cut(sizes, 0, count, self.DATA_TARGET_BYTES, cuts)
        sizes = None
        # The new data files are written from the old ones, which are
        # removed only once the table no longer names them.
        self._replace_with_pieces(index, self._low_key(index), source, cuts)
        self._remove_if_present(old_data)
        self._remove_if_present(old_journal)

    def _merge_plan(self, index):
        """(source, sizes, total, tail) of a merge of partition index: source
        makes a fresh iterator of its live (key, value) records in key order
        (_merged_records: read again by each pass, in pieces), sizes each
        record's size in its data file ('H': at most a key, a value and a
        header), total their sum and tail how many lie at or below the old
        data file's last key. Every record's CRC is checked on the way."""
        pending = self._journal_pending(index, None, None, True)
        waiting = sorted(pending)

        def source():
            return self._merged_records(index, pending, waiting)

        sizes = array("H")
        total = 0
        tail = 0
        past_data = [False]
        for key, value in self._merged_records(index, pending, waiting, past_data):
            size = records.data_record_size(key, value)
            sizes.append(size)
            total += size
            if not past_data[0]:
                tail = len(sizes)
        return source, sizes, total, tail

    def _merged_records(self, index, pending, waiting, past_data=None):
        """An iterator of (key, value) of partition index's live records in
        key order: its data file, read in pieces, with the journal's entries
        (pending: {key: value or None}, waiting: its keys sorted) applied
        (_merged; past_data as there)."""
        pieces = self._data_pieces(index, None)
        return _merged(pieces, None, None, pending, waiting, True, past_data)

    def _replace_with_pieces(self, index, low_key, source, cuts):
        """Write a data file per cut (first, end) of source's records (a
        callable making a fresh iterator of them, in key order) and put them
        in the table in place of partition `index` (no cuts: the partition
        goes). Until the table is committed the pieces are copies of what the
        partition still serves, so on any failure they are removed (left
        behind they would only take the room a full flash lacks) and the
        error is raised. Returns the new partitions' ids."""
        new_partitions = []
        pieces = []
        try:
            low_keys = _cut_low_keys(source, cuts, low_key)
            for position in range(len(cuts)):
                first, end = cuts[position]
                new_id = self._next_id
                self._next_id += 1
                name = "p%d.d" % new_id
                pieces.append("p%d_0.j" % new_id)
                self._write_empty_journal(new_id, 0, end - first)
                pieces.append(name)
                size = self._write_data_file(name, 0, source, first, end)
                new_partitions.append((new_id, low_keys[position], 0, end - first, size))
            self._replace_partitions(index, new_partitions)
        except (OSError, StoreError):
            for name in pieces:
                self._remove_quietly(name)
            raise
        return [partition[0] for partition in new_partitions]

    def _write_empty_journal(self, partition_id, generation, count):
        """Create the journal of a data file about to be written: one record
        without entries (the partition's count), fsync'd. The data file's
        rename (or MANIFEST commit) that follows makes it the journal that
        must exist; the directory sync of that rename makes it durable too."""
        handle = self._files.open(self._path("p%d_%d.j" % (partition_id, generation)), "wb")
        try:
            handle.write(records.encode_journal_record(count, []))
            self._files.fsync(handle)
        finally:
            handle.close()

    def _write_data_file(self, name, generation, source, first, end):
        """Write records first..end-1 of source (a callable making a fresh
        iterator of (key, value) in key order) as a data file, fsync it;
        returns its size. Two passes: the fence table precedes the records."""
        # Fences first: one every FENCE_SPACING_BYTES of records, the first
        # record always one.
        fences = []
        relative = 0
        next_fence = 0
        for key, value in _between(source, first, end):
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
            for key, value in _between(source, first, end):
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
        if size != records_start + relative:
            # The source changed between the passes (nothing in the store does that).
            raise StoreError("data file written short")
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
            # files before anything else. If that fails too (an OSError, or a
            # MemoryError on a small heap), the error goes to the caller and
            # the next call tries again: the store stays open, with its
            # recovery still due, never closed for good by the failure.
            # (Not open(): no full check again, and the delete reserve stays
            # released when a delete just gave it up.)
            self._needs_recovery = False
            try:
                self._reset_table()
                self._open(False)
            except BaseException:
                self._opened = True
                self._needs_recovery = True
                raise

    def _path(self, name):
        return self._directory + "/" + name

    def _open_if_present(self, name):
        """A file opened for reading, or None when it does not exist."""
        try:
            return self._files.open(self._path(name), "rb")
        except OSError as error:
            if is_missing(error):
                return None
            raise

    def _read_file(self, name, limit):
        """Bytes of a file (at most limit bytes when given), None if missing."""
        handle = self._open_if_present(name)
        if handle is None:
            return None
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
