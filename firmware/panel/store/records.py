# On-flash record formats of the store, and the checks on keys and values.
#
# Every record carries its own length and a CRC-32, so a write torn at any byte
# (a power cut in the middle of an append) is recognised and ignored instead of
# being read back as data. binascii.crc32 exists on CPython and on MicroPython
# 1.27 (checked on the WebAssembly build; the ESP32 port enables it too).
#
# Three kinds of files use these formats:
#   data file    sorted records of one partition, written whole to a new name
#                and renamed into place (never modified afterwards);
#   journal      append-only change records of one partition (one record per
#                put/delete/batch share), fsync'd before a change is acknowledged;
#   intent       one change record holding a whole batch that spans partitions.
import binascii
import struct

from panel.compat import const

# A key is printable ASCII, 1..64 characters: short enough to keep the RAM
# partition table small and a record header to one length byte.
MAX_KEY_BYTES = const(64)
# A value is at most 2 KiB: a redirect rule is ~600 bytes of JSON, so this
# leaves room while bounding the RAM a single read or merge needs.
MAX_VALUE_BYTES = const(2048)
# One write_batch changes at most 256 keys and 16 KiB of keys+values: a batch
# is held in RAM and lands whole in journals, so both are bounded.
MAX_BATCH_CHANGES = const(256)
MAX_BATCH_BYTES = const(16384)

# Value length that marks a deletion (a tombstone) in a journal entry;
# larger than any real value length.
_DELETED = const(0xFFFF)

# Data file: 20-byte header (magic, generation, record count, fence table
# length, CRC), the fence table, then the records sorted by key.
# PKD3: the partition's journal of the file's generation was created (holding
# one empty record) before the data file was renamed into place, so it must
# exist while the data file does: a missing or empty one is damage, not the
# state of a partition that had no change since its merge. PKD2 (stores
# written before): the journal appears at the first append, so a missing one
# proves nothing; such a file is read as before and becomes PKD3 at its
# partition's next merge.
DATA_MAGIC = b"PKD3"
_DATA_MAGIC_UNWITNESSED = b"PKD2"
DATA_HEADER_BYTES = const(20)
# The fence table names the first record of every stretch of about this many
# record bytes (offset and key), so a lookup reads the header, the table and
# one stretch instead of the whole data file.
FENCE_SPACING_BYTES = const(512)
# Data record header: key length (1), value length (2), CRC-32 (4).
DATA_RECORD_HEADER_BYTES = const(7)
# Journal/intent record header: body length (2), CRC-32 (4).
JOURNAL_RECORD_HEADER_BYTES = const(6)
# Journal entry header inside a record body: key length (1), value length (2).
ENTRY_HEADER_BYTES = const(3)
# Largest journal record body: the partition count, then the entries of a batch.
MAX_RECORD_BODY_BYTES = const(65535)
# A journal record without entries (header and partition count only): what a
# merge or split starts each new journal with. A journal this short holds no
# change, so reads skip opening it.
EMPTY_JOURNAL_BYTES = const(10)


# errno of a full file system: 28 (ENOSPC) on CPython and LittleFS boards;
# Emscripten's table (the WebAssembly test runner) numbers it 51.
ENOSPC = 28
_WEBASSEMBLY_ENOSPC = 51

# What decoding bytes that are not what we wrote can raise: our own checks
# (StoreError is a ValueError), struct on short buffers (struct.error on
# CPython, ValueError on MicroPython, which has no struct.error), and slicing
# past the end. The store catches exactly these where it reads files, so
# damage never leaves it as a raw exception.
DECODE_ERRORS = (ValueError, IndexError, getattr(struct, "error", ValueError))


class StoreError(ValueError):
    """Misuse of the store (invalid key, value or batch, store not open)."""


class StoreFull(StoreError):
    """A write that did not fit on the flash. Nothing of it was stored (the
    store is exactly as before the call); deletes still work (see the delete
    reserve in store.py). errno is ENOSPC, for an API that answers 507."""

    def __init__(self, message):
        super().__init__(message)
        self.errno = ENOSPC


def is_full_error(error):
    """True when an OSError says the file system is full."""
    number = getattr(error, "errno", None)
    if number is None and error.args:
        number = error.args[0]
    return number == ENOSPC or number == _WEBASSEMBLY_ENOSPC


def check_key(key):
    """The key as bytes, or StoreError when it is not 1..64 printable ASCII chars."""
    if not isinstance(key, str):
        raise StoreError("key must be str")
    length = len(key)
    if length < 1 or length > MAX_KEY_BYTES:
        raise StoreError("key length must be 1..%d" % MAX_KEY_BYTES)
    for character in key:
        code = ord(character)
        if code < 0x20 or code > 0x7E:
            raise StoreError("key must be printable ASCII")
    return key.encode()


def check_bound(bound):
    """A scan/count bound as bytes. Any str up to MAX_KEY_BYTES + 1 characters,
    may be empty: bounds are only compared with keys, so "f;" and "f:\xff"
    both work as "just past every f: key" (UTF-8 sorts above ASCII)."""
    if not isinstance(bound, str):
        raise StoreError("range bound must be str")
    if len(bound) > MAX_KEY_BYTES + 1:
        raise StoreError("range bound too long")
    return bound.encode()


def check_value(value):
    """The value as bytes, or StoreError when it is not bytes of the allowed size."""
    if isinstance(value, bytearray) or isinstance(value, memoryview):
        value = bytes(value)
    if not isinstance(value, bytes):
        raise StoreError("value must be bytes")
    if len(value) > MAX_VALUE_BYTES:
        raise StoreError("value longer than %d bytes" % MAX_VALUE_BYTES)
    return value


def encode_entry(key, value):
    """A journal entry: key length, value length (or the deletion mark), key, value."""
    if value is None:
        return struct.pack("<BH", len(key), _DELETED) + key
    return struct.pack("<BH", len(key), len(value)) + key + value


def encode_journal_record(count_after, entries):
    """A journal record: length, CRC, then the body (partition count after the
    change, then the encoded entries)."""
    body_length = 4
    for entry in entries:
        body_length += len(entry)
    if body_length > MAX_RECORD_BODY_BYTES:
        raise StoreError("batch too large for one record")
    length_bytes = struct.pack("<H", body_length)
    body = struct.pack("<I", count_after) + b"".join(entries)
    crc = binascii.crc32(body, binascii.crc32(length_bytes))
    return length_bytes + struct.pack("<I", crc & 0xFFFFFFFF) + body


def next_journal_record(buffer, offset):
    """(end, count_after) of the valid record at offset, or None when the bytes
    there are not a whole record with a matching CRC (end or torn tail)."""
    total = len(buffer)
    if offset + JOURNAL_RECORD_HEADER_BYTES > total:
        return None
    body_length, crc = struct.unpack_from("<HI", buffer, offset)
    body_start = offset + JOURNAL_RECORD_HEADER_BYTES
    end = body_start + body_length
    if body_length < 4 or end > total:
        return None
    view = memoryview(buffer)
    computed = binascii.crc32(view[body_start:end], binascii.crc32(view[offset : offset + 2]))
    if computed & 0xFFFFFFFF != crc:
        return None
    count_after = struct.unpack_from("<I", buffer, body_start)[0]
    return end, count_after


def record_entries(buffer, start, end):
    """Yield (key, value or None) of the entries of the record body buffer[start:end]
    (start is the record's first byte; the record was checked already)."""
    position = start + JOURNAL_RECORD_HEADER_BYTES + 4
    while position < end:
        key_length, value_length = struct.unpack_from("<BH", buffer, position)
        position += ENTRY_HEADER_BYTES
        key = bytes(buffer[position : position + key_length])
        position += key_length
        if value_length == _DELETED:
            yield key, None
        else:
            yield key, bytes(buffer[position : position + value_length])
            position += value_length


def _entry_spans(buffer, length):
    """Yield (key start, value start, value end or -1 for a deletion) of every
    entry of the first length bytes of a journal, in order.

    Only the record lengths are followed: the records' CRCs were checked when
    the partition was loaded (Store._scan_journal), and since then only this
    store appended to the file. Checking them on every read cost more heap
    than the read itself on a 32-bit board (each CRC over 2**30 is a heap
    integer). Lengths that do not add up (the file changed under us; no power
    cut does that) still raise."""
    offset = 0
    while offset < length:
        if offset + JOURNAL_RECORD_HEADER_BYTES > length:
            raise StoreError("journal record corrupt")
        body_length = struct.unpack_from("<H", buffer, offset)[0]
        end = offset + JOURNAL_RECORD_HEADER_BYTES + body_length
        if body_length < 4 or end > length:
            raise StoreError("journal record corrupt")
        position = offset + JOURNAL_RECORD_HEADER_BYTES + 4
        while position < end:
            key_length, value_length = struct.unpack_from("<BH", buffer, position)
            key_start = position + ENTRY_HEADER_BYTES
            value_start = key_start + key_length
            if value_length == _DELETED:
                yield key_start, value_start, -1
                position = value_start
            else:
                position = value_start + value_length
                yield key_start, value_start, position
        if position != end:
            raise StoreError("journal record corrupt")
        offset = end


def journal_find(buffer, length, key):
    """(seen, value or None): whether the journal has an entry for key, and
    the value of its last one (None: deleted). Keys are compared in place."""
    seen = False
    value = None
    wanted = len(key)
    for key_start, value_start, value_end in _entry_spans(buffer, length):
        if value_start - key_start == wanted and buffer.startswith(key, key_start):
            seen = True
            value = None if value_end < 0 else buffer[value_start:value_end]
    return seen, value


def whole_records_length(buffer):
    """(length of buffer's prefix made of whole journal records, length of the
    record that is cut short after it or 0 when not even its header is
    there). Only the lengths are followed, as in _entry_spans."""
    offset = 0
    total = len(buffer)
    while offset + JOURNAL_RECORD_HEADER_BYTES <= total:
        end = offset + JOURNAL_RECORD_HEADER_BYTES + struct.unpack_from("<H", buffer, offset)[0]
        if end > total:
            return offset, end - offset
        offset = end
    return offset, 0


def journal_pending(buffer, length, low, high, with_values, pending=None):
    """{key: value} of the journal's keys with low <= key < high (None:
    unbounded), each with its last entry's value: None for a deletion, b""
    for a live key when with_values is false (values are not copied).
    pending: the dict of the journal's earlier pieces, updated in place."""
    if pending is None:
        pending = {}
    for key_start, value_start, value_end in _entry_spans(buffer, length):
        key = buffer[key_start:value_start]
        if (low is not None and key < low) or (high is not None and key >= high):
            continue
        if value_end < 0:
            pending[key] = None
        elif with_values:
            pending[key] = buffer[value_start:value_end]
        else:
            pending[key] = b""
    return pending


def encode_data_header(generation, count, fence_length):
    head = DATA_MAGIC + struct.pack("<III", generation, count, fence_length)
    return head + struct.pack("<I", binascii.crc32(head) & 0xFFFFFFFF)


def decode_data_header(buffer):
    """(generation, count, fence table length) from the header of a data file."""
    if len(buffer) < DATA_HEADER_BYTES:
        raise StoreError("data file header corrupt")
    magic = bytes(buffer[0:4])
    if magic != DATA_MAGIC and magic != _DATA_MAGIC_UNWITNESSED:
        raise StoreError("data file header corrupt")
    generation, count, fence_length, crc = struct.unpack_from("<IIII", buffer, 4)
    if binascii.crc32(memoryview(buffer)[0:16]) & 0xFFFFFFFF != crc:
        raise StoreError("data file header corrupt")
    return generation, count, fence_length


def journal_required(buffer):
    """Whether the data file whose header starts buffer was written with its
    journal created first (PKD3), so the journal must exist (see DATA_MAGIC)."""
    return bytes(buffer[0:4]) == DATA_MAGIC


def encode_fences(fences):
    """The fence table for [(absolute offset, key), ...], CRC-32 at its end."""
    table = bytearray()
    for offset, key in fences:
        table.extend(struct.pack("<IB", offset, len(key)))
        table.extend(key)
    table.extend(struct.pack("<I", binascii.crc32(table) & 0xFFFFFFFF))
    return table


def fence_span(table, key, records_end):
    """(start, end) file offsets of the stretch of records that holds key if
    the data file has it, from the fence table bytes; None if key is below the
    first record."""
    length = len(table) - 4
    if length < 0 or struct.unpack_from("<I", table, length)[0] != (
        binascii.crc32(memoryview(table)[0:length]) & 0xFFFFFFFF
    ):
        raise StoreError("data file fence table corrupt")
    position = 0
    start = None
    end = records_end
    while position < length:
        offset, key_length = struct.unpack_from("<IB", table, position)
        position += 5
        fence_key = bytes(table[position : position + key_length])
        position += key_length
        if fence_key <= key:
            start = offset
        else:
            end = offset
            break
    if start is None:
        return None
    return start, end


def encode_data_record(key, value):
    head = struct.pack("<BH", len(key), len(value))
    crc = binascii.crc32(value, binascii.crc32(key, binascii.crc32(head)))
    return head + struct.pack("<I", crc & 0xFFFFFFFF) + key + value


def data_record_size(key, value):
    return DATA_RECORD_HEADER_BYTES + len(key) + len(value)


def whole_data_records_length(buffer):
    """(length of buffer's prefix made of whole data records, length of the
    record that is cut short after it or 0 when not even its header is
    there): where a piece of a data file read in pieces ends."""
    offset = 0
    total = len(buffer)
    while offset + DATA_RECORD_HEADER_BYTES <= total:
        key_length, value_length = struct.unpack_from("<BH", buffer, offset)
        end = offset + DATA_RECORD_HEADER_BYTES + key_length + value_length
        if end > total:
            return offset, end - offset
        offset = end
    return offset, 0


def data_records(buffer, start, end, with_values):
    """Yield (key, value or None) of the data records in buffer[start:end].
    With values, each record is checked against its CRC before it is returned.
    with_values=False (a walk of keys: lists, counts) skips the value's copy
    and the CRC, whose big integers were most of such a walk's garbage, but
    still checks every record's bounds; the record's value is checked when it
    is read. Slices are taken from buffer directly, a 2-tuple per record: on
    a board a key walk makes about 80 bytes of garbage per record."""
    position = start
    view = memoryview(buffer) if with_values else None
    while position < end:
        if position + DATA_RECORD_HEADER_BYTES > end:
            raise StoreError("data file truncated")
        key_length, value_length = struct.unpack_from("<BH", buffer, position)
        key_start = position + DATA_RECORD_HEADER_BYTES
        value_start = key_start + key_length
        record_end = value_start + value_length
        if record_end > end:
            raise StoreError("data file truncated")
        if with_values:
            crc = struct.unpack_from("<I", buffer, position + 3)[0]
            computed = binascii.crc32(
                view[key_start:record_end], binascii.crc32(view[position : position + 3])
            )
            if computed & 0xFFFFFFFF != crc:
                raise StoreError("data record corrupt")
            yield buffer[key_start:value_start], buffer[value_start:record_end]
        else:
            yield buffer[key_start:value_start], None
        position = record_end


def data_slice(buffer, start, end, low, high, count, found):
    """Append to found, up to count items in all, the (key, value) of the
    data records in buffer[start:end] with low <= key < high (high None: no
    bound), each checked against its CRC: what data_records yields, in one
    loop (a page read without a generator step per record). Returns True
    when a key at or past high was met (nothing later can be in range)."""
    position = start
    view = memoryview(buffer)
    unpack_from = struct.unpack_from
    crc32 = binascii.crc32
    while position < end and len(found) < count:
        if position + DATA_RECORD_HEADER_BYTES > end:
            raise StoreError("data file truncated")
        key_length, value_length, crc = unpack_from("<BHI", buffer, position)
        key_start = position + DATA_RECORD_HEADER_BYTES
        value_start = key_start + key_length
        record_end = value_start + value_length
        if record_end > end:
            raise StoreError("data file truncated")
        key = buffer[key_start:value_start]
        if high is not None and key >= high:
            return True
        if key >= low:
            if (
                crc32(view[key_start:record_end], crc32(view[position : position + 3]))
                & (0xFFFFFFFF)
                != crc
            ):
                raise StoreError("data record corrupt")
            found.append((key, buffer[value_start:record_end]))
        position = record_end
    return False


def data_find(buffer, start, end, key):
    """(found, value) of key among the data records in buffer[start:end] (the
    one fence stretch that may hold it: a few records)."""
    for record_key, value in data_records(buffer, start, end, True):
        if record_key == key:
            return True, value
        if record_key > key:
            break
    return False, None


# ------------------------------------------------------------------ salvage
#
# Reading files that are damaged (a flipped byte, a truncation): every record
# with its own intact CRC is kept, whatever lies before or after it. A record
# that fails is skipped by looking for the next offset where a whole record
# with a matching CRC starts (a false match needs a CRC-32 collision, about
# 1 in 4 billion per offset tried). Only used for files found damaged, so the
# byte-by-byte search costs nothing on a healthy store.


def tail_is_torn(buffer, offset, header_bytes, body_length):
    """Whether the bytes from offset to the end can be what a power cut left
    of one append: a record cut short (fewer bytes than its header, or than
    the length it states), or zeros (a file system that grew the file before
    the data reached it). Anything else after the last good record (a whole
    record whose CRC fails, a length too small) is damage, not a cut.
    body_length: the length the header there states (None: header cut)."""
    remaining = len(buffer) - offset
    if remaining < header_bytes or body_length is None:
        return True
    if offset + header_bytes + body_length > len(buffer):
        return True
    return bytes(buffer[offset:]) == bytes(remaining)


def journal_tail_is_torn(buffer, offset):
    """Whether a journal's bytes from offset (where no good record starts)
    are a power cut's torn tail. A cut leaves a prefix of one record, so a
    good record starting anywhere after offset means damage instead (a
    flipped length byte that points past the end, say)."""
    if len(buffer) - offset < JOURNAL_RECORD_HEADER_BYTES:
        return True
    body_length = struct.unpack_from("<H", buffer, offset)[0]
    if body_length < 4:
        if bytes(buffer[offset:]) != bytes(len(buffer) - offset):
            return False
    elif not tail_is_torn(buffer, offset, JOURNAL_RECORD_HEADER_BYTES, body_length):
        return False
    position = offset + 1
    while position + JOURNAL_RECORD_HEADER_BYTES <= len(buffer):
        if _journal_record_at(buffer, position) is not None:
            return False
        position += 1
    return True


def _checked_entries(buffer, start, end):
    """[(key, value or None)] of a CRC-valid record, or None when its entries
    do not add up to its length (a chance CRC match while resynchronising)."""
    entries = []
    position = start + JOURNAL_RECORD_HEADER_BYTES + 4
    while position < end:
        if position + ENTRY_HEADER_BYTES > end:
            return None
        key_length, value_length = struct.unpack_from("<BH", buffer, position)
        position += ENTRY_HEADER_BYTES
        key = bytes(buffer[position : position + key_length])
        position += key_length
        if key_length < 1 or position > end:
            return None
        if value_length == _DELETED:
            entries.append((key, None))
        else:
            if position + value_length > end:
                return None
            entries.append((key, bytes(buffer[position : position + value_length])))
            position += value_length
    if position != end:
        return None
    return entries


def _journal_record_at(buffer, offset):
    """(end, entries) of a whole, CRC-valid, well-formed record at offset, or None."""
    found = next_journal_record(buffer, offset)
    if found is None:
        return None
    entries = _checked_entries(buffer, offset, found[0])
    if entries is None:
        return None
    return found[0], entries


def journal_salvage(buffer):
    """(entries, lost_records, lost_bytes) of a journal that may be damaged:
    the entries of every intact record in order (a good record after a bad
    one is kept), how many stretches failed and their bytes. A torn tail (a
    power cut's) is dropped and not counted as lost."""
    entries = []
    lost_records = 0
    lost_bytes = 0
    offset = 0
    total = len(buffer)
    while offset < total:
        found = _journal_record_at(buffer, offset)
        if found is not None:
            offset = found[0]
            entries.extend(found[1])
            continue
        if journal_tail_is_torn(buffer, offset):
            break
        lost_records += 1
        resume = -1
        # The stated length is usually intact (a flipped byte in the body):
        # the next record starts right after it.
        body_length = struct.unpack_from("<H", buffer, offset)[0]
        after = offset + JOURNAL_RECORD_HEADER_BYTES + body_length
        if after < total and _journal_record_at(buffer, after) is not None:
            resume = after
        else:
            position = offset + 1
            while position + JOURNAL_RECORD_HEADER_BYTES <= total:
                if _journal_record_at(buffer, position) is not None:
                    resume = position
                    break
                position += 1
        if resume < 0:
            lost_bytes += total - offset
            break
        lost_bytes += resume - offset
        offset = resume
    return entries, lost_records, lost_bytes


def _printable(key):
    for code in key:
        if code < 0x20 or code > 0x7E:
            return False
    return True


def _data_record_end(buffer, position, total, last_key):
    """End of a whole, CRC-valid data record at position whose key is
    printable and sorts after last_key, or -1."""
    if position + DATA_RECORD_HEADER_BYTES > total:
        return -1
    key_length, value_length = struct.unpack_from("<BH", buffer, position)
    key_start = position + DATA_RECORD_HEADER_BYTES
    record_end = key_start + key_length + value_length
    if key_length < 1 or key_length > MAX_KEY_BYTES or record_end > total:
        return -1
    if value_length > MAX_VALUE_BYTES:
        return -1
    view = memoryview(buffer)
    crc = struct.unpack_from("<I", buffer, position + 3)[0]
    computed = binascii.crc32(
        view[key_start:record_end], binascii.crc32(view[position : position + 3])
    )
    if computed & 0xFFFFFFFF != crc:
        return -1
    key = bytes(buffer[key_start : key_start + key_length])
    if not _printable(key) or (last_key is not None and key <= last_key):
        return -1
    return record_end


def data_salvage(buffer):
    """(records, generation or None, expected count or None, lost_bytes) of a
    data file that may be damaged: every intact record, in key order. The
    header (when its CRC holds) gives the generation, the record count and
    where the records start; otherwise records are searched from byte 0."""
    total = len(buffer)
    generation = None
    expected = None
    position = 0
    try:
        generation, expected, fence_length = decode_data_header(buffer)
        position = DATA_HEADER_BYTES + fence_length
        if position > total:
            position = DATA_HEADER_BYTES
    except StoreError:
        position = 0
    found = []
    lost_bytes = 0
    last_key = None
    while position < total:
        end = _data_record_end(buffer, position, total, last_key)
        if end > 0:
            key_start = position + DATA_RECORD_HEADER_BYTES
            key_length = buffer[position]
            last_key = bytes(buffer[key_start : key_start + key_length])
            found.append((last_key, bytes(buffer[key_start + key_length : end])))
            position = end
            continue
        resume = position + 1
        while resume < total and _data_record_end(buffer, resume, total, last_key) < 0:
            resume += 1
        lost_bytes += resume - position
        position = resume
    return found, generation, expected, lost_bytes
