# Runs under MicroPython (tools/benchmarks/mpy_run.mjs, WebAssembly build):
# fills a store with 10,000 forward rules and 1,024 redirect rules, then
# measures the heap an open store holds (gc.mem_alloc() after gc.collect()),
# with every partition loaded, and what single operations allocate.
# Prints `name: value unit` lines read by bench_store.py (not named bench_*
# so that tools/bench.py does not run it under CPython). The phase markers
# make each part a separate interpreter call (see mpy_run.mjs).
import gc
import os
import sys
import time

from panel.store import Store

QUICK = "--quick" in sys.argv
FORWARDS = 2000 if QUICK else 10000
REDIRECTS = 200 if QUICK else 1024
DIRECTORY = "/bench-store"


def forward_value(apartment):
    # 60..150 bytes of JSON-like text, varying with the apartment number.
    text = '{"apartment":%d,"mode":"parallel","targets":["sip:%d@10.0.1.%d"' % (
        apartment,
        100 + apartment % 900,
        apartment % 250,
    )
    return (text + "," + '"sip:9%d@pbx"' % apartment * (apartment % 3) + "]}").encode()


def redirect_value(number):
    return (
        '{"type":"schedule","priority":%d,"comment":"' % (number % 100)
        + "x" * (300 + number * 7 % 300)
        + '"}'
    ).encode()


def fill(store):
    batch = []
    for apartment in range(FORWARDS):
        batch.append(("f:%020d" % apartment, forward_value(apartment)))
        if len(batch) == 50:
            store.write_batch(batch)
            batch = []
    for number in range(REDIRECTS):
        batch.append(
            ("r:%08x-%04x" % (number * 2654435761 % 4294967296, number), redirect_value(number))
        )
        if len(batch) == 10:
            store.write_batch(batch)
            batch = []
    if batch:
        store.write_batch(batch)
    # Then single changes, as the API makes them, so journals are not empty.
    for apartment in range(0, FORWARDS, 7):
        store.put("f:%020d" % apartment, forward_value(apartment + 1))


os.mkdir(DIRECTORY)
started = time.ticks_ms()
store = Store(DIRECTORY + "/kv")
store.open()
fill(store)
store.close()
fill_ms = time.ticks_diff(time.ticks_ms(), started)
store = None
batch = None
# ---- phase ----
gc.collect()
baseline = gc.mem_alloc()
# ---- phase ----
gc.disable()
before = gc.mem_alloc()
store = Store(DIRECTORY + "/kv")
store.open()
open_alloc = gc.mem_alloc() - before
gc.enable()
# ---- phase ----
gc.collect()
gc.disable()
before = gc.mem_alloc()
total = store.count()  # loads every partition's state
count_alloc = gc.mem_alloc() - before
gc.enable()
# ---- phase ----
gc.collect()
held = gc.mem_alloc() - baseline
if total != FORWARDS + REDIRECTS:
    raise SystemExit("count %d" % total)
print("mpy_store_heap_bytes: %d bytes" % held)
print("mpy_store_records: %d records" % total)
print("mpy_store_partitions: %d partitions" % len(store._ids))
print("mpy_store_fill_ms: %d ms" % fill_ms)
print("mpy_store_open_alloc_bytes: %d bytes" % open_alloc)
print("mpy_store_first_count_alloc_bytes: %d bytes" % count_alloc)
# ---- phase ----
# What single operations allocate (gc disabled: garbage included, an upper
# bound of the extra heap they need at their peak).
gc.collect()
gc.disable()
before = gc.mem_alloc()
store.get("f:%020d" % 4321)
print("mpy_store_get_alloc_bytes: %d bytes" % (gc.mem_alloc() - before))
before = gc.mem_alloc()
store.put("f:%020d" % 4321, forward_value(4322))
print("mpy_store_put_alloc_bytes: %d bytes" % (gc.mem_alloc() - before))
before = gc.mem_alloc()
for _key in store.keys("f:", "f;", reverse=True):
    break
print("mpy_store_scan_step_alloc_bytes: %d bytes" % (gc.mem_alloc() - before))
gc.enable()
# ---- phase ----
gc.collect()
started = time.ticks_ms()
for apartment in range(0, FORWARDS, FORWARDS // 200):
    if store.get("f:%020d" % apartment) is None:
        raise SystemExit("lost %d" % apartment)
print("mpy_store_get_us: %d us" % (time.ticks_diff(time.ticks_ms(), started) * 1000 // 200))
