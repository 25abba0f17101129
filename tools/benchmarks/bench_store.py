"""Benchmark of panel.store: flash written per change, bytes read per lookup,
speed, and the store's MicroPython heap, against a naive JSON-file baseline.

Prints one `name: value unit` line per figure:
  flash_bytes_per_change           our store, 10,000 single-record updates to a
                                   store of 10,000 forward rules, merges included,
                                   every byte written counted through the
                                   file_system wrapper
  record_bytes                     average size of a changed record (key + value)
  flash_bytes_per_change_ratio     the two above divided
  steady_flash_bytes_per_change    10,000 more updates right after those (every
  (_ratio)                         journal part-full: the long-run rate)
  insert_flash_bytes_per_change    10,000 forward rules added one put at a time,
  (_ratio)                         in apartment order, to an empty store
  baseline_flash_bytes_per_change  one JSON file of every record, rewritten
                                   (temp + fsync + rename) per change
  lookup_read_bytes_avg / _max     bytes read from files by one get()
  lfs_*                            the same updates on a LittleFS image (the C
                                   LittleFS of MicroPython, via littlefs-python
                                   when installed): bytes programmed and
                                   erased per change, blocks in use
  mpy_store_heap_bytes             MicroPython heap held by an open store of
                                   10,000 forward + 1,024 redirect rules with
                                   every partition loaded (WebAssembly build)

The MicroPython figures come from tools/benchmarks/mpy_store_heap.py, run by
tools/benchmarks/mpy_run.mjs (needs node and tools/mpy/node_modules).

Usage: python tools/benchmarks/bench_store.py [--quick] [--no-mpy]
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # support.faulty_fs (LittleFS adapter)

from panel.store import Store  # noqa: E402
from panel.store.file_system import OsFileSystem  # noqa: E402


class CountingFileSystem(OsFileSystem):
    """The default file system, counting bytes written and read."""

    def __init__(self):
        self.bytes_written = 0
        self.bytes_read = 0

    def open(self, path, mode):
        return _CountingHandle(self, open(path, mode))


class _CountingHandle:
    def __init__(self, counter, handle):
        self._counter = counter
        self._handle = handle

    def write(self, data):
        self._counter.bytes_written += len(data)
        return self._handle.write(data)

    def read(self, *args):
        data = self._handle.read(*args)
        self._counter.bytes_read += len(data)
        return data

    def readinto(self, buffer):
        count = self._handle.readinto(buffer)
        self._counter.bytes_read += count or 0
        return count

    def seek(self, *args):
        return self._handle.seek(*args)

    def tell(self):
        return self._handle.tell()

    def flush(self):
        self._handle.flush()

    def fileno(self):
        return self._handle.fileno()

    def close(self):
        self._handle.close()


def forward_rule(rng, apartment):
    """A forward rule document of 60..150 bytes, as the API stores it."""
    targets = []
    text = ""
    wanted = rng.randrange(60, 151)
    while True:
        targets.append(
            "sip:%d@10.0.%d.%d" % (rng.randrange(100, 9999), rng.randrange(256), rng.randrange(256))
        )
        text = json.dumps(
            {"apartment": apartment, "mode": "parallel", "targets": targets}, separators=(",", ":")
        )
        if len(text) >= wanted - 20:
            break
    return (text + " " * max(0, wanted - len(text))).encode()


def redirect_rule(rng):
    wanted = rng.randrange(300, 601)
    body = {
        "type": "schedule",
        "priority": rng.randrange(100),
        "mask": "2XX",
        "target": "sip:%d@pbx" % rng.randrange(1000),
        "comment": "",
    }
    text = json.dumps(body, separators=(",", ":"))
    body["comment"] = "x" * max(0, wanted - len(text))
    return json.dumps(body, separators=(",", ":")).encode()


def forward_key(apartment):
    return "f:%020d" % apartment


def fill(store, rng, forwards, redirects):
    batch = []
    for apartment in range(forwards):
        batch.append((forward_key(apartment), forward_rule(rng, apartment)))
        if len(batch) == 100:
            store.write_batch(batch)
            batch = []
    for number in range(redirects):
        batch.append(("r:%08x-%04x" % (rng.getrandbits(32), number), redirect_rule(rng)))
        if len(batch) == 20:
            store.write_batch(batch)
            batch = []
    if batch:
        store.write_batch(batch)


def change_random_rules(store, rng, records, changes):
    """`changes` single-rule puts to random apartments; the bytes of the
    records changed (key + value), the unit of flash_bytes_per_change."""
    changed_bytes = 0
    for _ in range(changes):
        apartment = rng.randrange(records)
        key = forward_key(apartment)
        value = forward_rule(rng, apartment)
        changed_bytes += len(key) + len(value)
        store.put(key, value)
    return changed_bytes


def measure_store(changes, records):
    rng = random.Random(1)
    directory = tempfile.mkdtemp(prefix="bench-store-")
    try:
        counter = CountingFileSystem()
        store = Store(directory + "/kv", counter)
        store.open()
        fill(store, rng, records, 0)
        counter.bytes_written = 0
        started = time.perf_counter()
        changed_bytes = change_random_rules(store, rng, records, changes)
        put_seconds = time.perf_counter() - started
        written = counter.bytes_written
        # Steady state: the same number of changes again, journals now at
        # every fill level, so merges run at their long-run rate.
        counter.bytes_written = 0
        steady_bytes = change_random_rules(store, rng, records, changes)
        steady_written = counter.bytes_written
        # Point lookups: bytes read per get, over a fresh open (cold RAM state
        # loaded by a count() first, as a running panel would have it).
        store.close()
        store = Store(directory + "/kv", counter)
        store.open()
        total = store.count()
        reads = []
        started = time.perf_counter()
        for _ in range(2000):
            key = forward_key(rng.randrange(records))
            counter.bytes_read = 0
            value = store.get(key)
            reads.append(counter.bytes_read)
            if value is None:
                raise SystemExit("lookup lost a record: %s" % key)
        get_seconds = time.perf_counter() - started
        counter.bytes_read = 0
        started = time.perf_counter()
        scanned = sum(1 for _ in store.scan("f:", "f;", reverse=True))
        scan_seconds = time.perf_counter() - started
        if scanned != total:
            raise SystemExit("reverse scan saw %d of %d" % (scanned, total))
        partitions = len(store._ids)
        on_disk = sum(
            os.path.getsize(os.path.join(directory, "kv", name))
            for name in os.listdir(directory + "/kv")
        )
        return {
            "flash_bytes_per_change": written / changes,
            "record_bytes": changed_bytes / changes,
            "steady_flash_bytes_per_change": steady_written / changes,
            "steady_record_bytes": steady_bytes / changes,
            "put_us": put_seconds / changes * 1e6,
            "get_us": get_seconds / len(reads) * 1e6,
            "lookup_read_bytes_avg": sum(reads) / len(reads),
            "lookup_read_bytes_max": max(reads),
            "reverse_scan_10000_ms": scan_seconds * 1000,
            "partitions": partitions,
            "disk_bytes": on_disk,
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure_inserts(records):
    """Provisioning: records added one put at a time, in apartment order, to
    an empty store (every split and merge on the way counted)."""
    rng = random.Random(2)
    directory = tempfile.mkdtemp(prefix="bench-store-inserts-")
    try:
        counter = CountingFileSystem()
        store = Store(directory + "/kv", counter)
        store.open()
        inserted = 0
        for apartment in range(records):
            key = forward_key(apartment)
            value = forward_rule(rng, apartment)
            inserted += len(key) + len(value)
            store.put(key, value)
        return {
            "insert_flash_bytes_per_change": counter.bytes_written / records,
            "insert_record_bytes": inserted / records,
            "insert_partitions": len(store._ids),
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure_baseline(changes, records):
    """Naive store: every record in one JSON file, rewritten per change."""
    rng = random.Random(1)
    directory = tempfile.mkdtemp(prefix="bench-store-baseline-")
    try:
        path = os.path.join(directory, "rules.json")
        rules = {}
        for apartment in range(records):
            rules[forward_key(apartment)] = forward_rule(rng, apartment).decode()
        written = 0
        started = time.perf_counter()
        for _ in range(changes):
            apartment = rng.randrange(records)
            rules[forward_key(apartment)] = forward_rule(rng, apartment).decode()
            data = json.dumps(rules, separators=(",", ":")).encode()
            with open(path + ".tmp", "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(path + ".tmp", path)
            written += len(data)
        seconds = time.perf_counter() - started
        return {
            "baseline_flash_bytes_per_change": written / changes,
            "baseline_put_us": seconds / changes * 1e6,
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure_littlefs(changes, records):
    """Flash programmed and erased per change on a real LittleFS image."""
    try:
        import littlefs  # noqa: F401  (optional: pip install littlefs-python)
    except ImportError:
        return {}
    from support.faulty_fs import LittleFsFileSystem

    rng = random.Random(1)
    file_system = LittleFsFileSystem(blocks=4096)  # a 16 MiB image
    store = Store("/kv", file_system)
    store.open()
    fill(store, rng, records, 0)
    blocks_after_fill = file_system.blocks_used()
    file_system.programmed = file_system.erased = 0
    changed_bytes = change_random_rules(store, rng, records, changes)
    figures = {
        "lfs_prog_bytes_per_change": file_system.programmed / changes,
        "lfs_erase_bytes_per_change": file_system.erased / changes,
        "lfs_record_bytes": changed_bytes / changes,
        "lfs_blocks_used_after_fill": blocks_after_fill,
        "lfs_blocks_used": file_system.blocks_used(),
    }
    # Baseline on the same kind of image: the JSON file rewritten per change.
    baseline = LittleFsFileSystem(blocks=4096)
    rules = {}
    for apartment in range(records):
        rules[forward_key(apartment)] = forward_rule(rng, apartment).decode()
    baseline_changes = 5
    for round_number in range(baseline_changes + 1):
        if round_number == 1:
            baseline.programmed = baseline.erased = 0
        data = json.dumps(rules, separators=(",", ":")).encode()
        handle = baseline.open("/rules.tmp", "wb")
        handle.write(data)
        baseline.fsync(handle)
        handle.close()
        baseline.rename("/rules.tmp", "/rules.json")
        rules[forward_key(rng.randrange(records))] = forward_rule(rng, 1).decode()
    figures["lfs_baseline_prog_bytes_per_change"] = baseline.programmed / baseline_changes
    return figures


def measure_micropython_heap(quick):
    """Run mpy_store_heap.py under the MicroPython WebAssembly build."""
    script = os.path.join(ROOT, "tools", "benchmarks", "mpy_run.mjs")
    snippet = os.path.join(ROOT, "tools", "benchmarks", "mpy_store_heap.py")
    command = ["node", script, snippet]
    if quick:
        command.append("--quick")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    figures = {}
    for line in result.stdout.splitlines():
        if ": " in line and line.startswith("mpy_"):
            name, rest = line.split(": ", 1)
            figures[name] = rest
    if result.returncode != 0 or not figures:
        sys.stderr.write(result.stdout + result.stderr)
    return figures


def main():
    quick = "--quick" in sys.argv
    changes = 1000 if quick else 10000
    records = 10000
    ours = measure_store(changes, records)
    baseline = measure_baseline(10 if quick else 30, records)
    inserts = measure_inserts(records)
    ratio = ours["flash_bytes_per_change"] / ours["record_bytes"]
    base_ratio = baseline["baseline_flash_bytes_per_change"] / ours["record_bytes"]
    print("flash_bytes_per_change: %.1f bytes" % ours["flash_bytes_per_change"])
    print("record_bytes: %.1f bytes" % ours["record_bytes"])
    print("flash_bytes_per_change_ratio: %.2f ratio" % ratio)
    print("steady_flash_bytes_per_change: %.1f bytes" % ours["steady_flash_bytes_per_change"])
    print(
        "steady_flash_bytes_per_change_ratio: %.2f ratio"
        % (ours["steady_flash_bytes_per_change"] / ours["steady_record_bytes"])
    )
    print("insert_flash_bytes_per_change: %.1f bytes" % inserts["insert_flash_bytes_per_change"])
    print(
        "insert_flash_bytes_per_change_ratio: %.2f ratio"
        % (inserts["insert_flash_bytes_per_change"] / inserts["insert_record_bytes"])
    )
    print(
        "baseline_flash_bytes_per_change: %.1f bytes" % baseline["baseline_flash_bytes_per_change"]
    )
    print("baseline_flash_bytes_per_change_ratio: %.1f ratio" % base_ratio)
    print("lookup_read_bytes_avg: %.0f bytes" % ours["lookup_read_bytes_avg"])
    print("lookup_read_bytes_max: %d bytes" % ours["lookup_read_bytes_max"])
    print("store_put_us: %.0f us" % ours["put_us"])
    print("baseline_put_us: %.0f us" % baseline["baseline_put_us"])
    print("store_get_us: %.0f us" % ours["get_us"])
    print("store_reverse_scan_10000_ms: %.0f ms" % ours["reverse_scan_10000_ms"])
    print("store_partitions: %d partitions" % ours["partitions"])
    print("store_disk_bytes: %d bytes" % ours["disk_bytes"])
    sys.stdout.flush()
    littlefs_figures = measure_littlefs(changes, records)
    if littlefs_figures:
        record = littlefs_figures["lfs_record_bytes"]
        print(
            "lfs_prog_bytes_per_change: %.0f bytes" % littlefs_figures["lfs_prog_bytes_per_change"]
        )
        print(
            "lfs_prog_bytes_per_change_ratio: %.2f ratio"
            % (littlefs_figures["lfs_prog_bytes_per_change"] / record)
        )
        print(
            "lfs_erase_bytes_per_change: %.0f bytes"
            % littlefs_figures["lfs_erase_bytes_per_change"]
        )
        print(
            "lfs_blocks_used_after_fill: %d blocks" % littlefs_figures["lfs_blocks_used_after_fill"]
        )
        print("lfs_blocks_used: %d blocks" % littlefs_figures["lfs_blocks_used"])
        print(
            "lfs_baseline_prog_bytes_per_change: %.0f bytes"
            % littlefs_figures["lfs_baseline_prog_bytes_per_change"]
        )
    else:
        print("# littlefs-python not installed: no lfs_* figures")
    sys.stdout.flush()
    if "--no-mpy" not in sys.argv:
        for name, value in measure_micropython_heap(quick).items():
            print("%s: %s" % (name, value))


if __name__ == "__main__":
    main()
