# Runs under MicroPython (tools/benchmarks/mpy_run.mjs, WebAssembly build),
# started by bench_scale.py, which built the data on CPython and copied it to
# /data: /data/full/store (10,000 forward rules, 1,024 redirect rules and
# their routing index), /data/empty/store (the same app, no rules),
# /data/forwards.jsonl and /data/rules.jsonl (the baseline's data) and
# /data/probes.json (the dialled apartments to time).
# Prints `name: value unit` lines that bench_scale.py passes on. The phase
# markers make each part a separate interpreter call: gc.collect() only frees
# what earlier calls left (see mpy_run.mjs).
import asyncio
import gc
import json
import time

from panel.core import numbers, routing
from support.scale_fixtures import open_panel

AUTH = {"Authorization": "Basic YWRtaW46MTIzNDU2"}
# Each probe is timed over this many runs: this port's ticks_us() moves in
# whole milliseconds.
REPEATS = 10
LISTS = ("/api/v1/forward/items?limit=50", "/rest/v1/uc/redirectrules?limit=50")
figures = {}


def emit(name, value, unit):
    print("%s: %s %s" % (name, value, unit))


class WireReader:
    """The request bytes, as a socket's reader gives them to microdot."""

    def __init__(self, raw):
        self._raw = raw
        self._at = 0

    async def readline(self):
        end = self._raw.find(b"\n", self._at)
        end = len(self._raw) if end < 0 else end + 1
        line = self._raw[self._at : end]
        self._at = end
        return line

    async def readexactly(self, count):
        chunk = self._raw[self._at : self._at + count]
        self._at += len(chunk)
        return chunk

    async def read(self, count=-1):
        if count < 0:
            count = len(self._raw) - self._at
        return await self.readexactly(count)


class WireWriter:
    """The client's end of the socket: counts the answer's bytes, keeps none."""

    def __init__(self):
        self.sent = 0
        self.writes = 0
        self.peak = 0
        self.head = b""

    def sample(self):
        used = gc.mem_alloc()
        if used > self.peak:
            self.peak = used

    async def awrite(self, data):
        self.sample()
        if self.writes == 0:
            self.head = bytes(data[:12])
        self.sent += len(data)
        self.writes += 1
        gc.collect()  # asks for a collection...
        await asyncio.sleep_ms(2)  # ...which runs once back in JavaScript

    async def aclose(self):
        pass

    def get_extra_info(self, name):
        return ("127.0.0.1", 50000)


def raw_get(path):
    return (
        "GET %s HTTP/1.0\r\nHost: panel\r\nAuthorization: %s\r\n\r\n"
        % (path, AUTH["Authorization"])
    ).encode()


async def serve(app, path):
    """One GET through the server's own path; the answer's status line."""
    writer = WireWriter()
    await app.handle_request(WireReader(raw_get(path)), writer)
    return writer.head


def make_app(path):
    return open_panel(path)


def plan(panel, number):
    """The routing plan of one dialled apartment: queue + redirect candidates."""
    called = str(number)
    queue = panel.services.forward_rules.get(number)
    rules = list(panel.services.redirect_rules.candidates(called))
    state = routing.CallRouting(called, "panel", 600)
    first = state.next_step(rules, "absolute")
    busy = routing.CallRouting(called, "panel", 600).next_step(rules, "busy")
    return queue, len(rules), _step(first), _step(busy)


def baseline_plan(forwards, all_rules, number):
    """The same plan from plain dicts in RAM: every rule is scanned."""
    called = str(number)
    queue = forwards.get(number)
    rules = [
        rule for rule in all_rules if numbers.dial_pattern_matches(rule["filter_number"], called)
    ]
    state = routing.CallRouting(called, "panel", 600)
    first = state.next_step(rules, "absolute")
    busy = routing.CallRouting(called, "panel", 600).next_step(rules, "busy")
    return queue, len(rules), _step(first), _step(busy)


def _step(step):
    return None if step is None else (step.rule["id"], step.destination)


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


async def warm(app, panel, probes):
    # What a running panel does: calls and list pages; then every partition
    # of the store is loaded (count), the store's worst RAM state.
    for number in probes[:20]:
        plan(panel, number)
    for path in LISTS:
        head = await serve(app, path)
        if head != b"HTTP/1.0 200":
            raise RuntimeError("%s answered %s" % (path, head))
    panel.services.store.count()


with open("/data/probes.json") as handle:
    probes = json.loads(handle.read())
# ---- phase ----
gc.collect()
# ---- phase ----
figures["base_empty"] = gc.mem_alloc()
empty = make_app("/data/empty/store")
# ---- phase ----
gc.collect()
# ---- phase ----
figures["empty_boot"] = gc.mem_alloc() - figures["base_empty"]
await warm(empty[2], empty[1], probes)
# ---- phase ----
gc.collect()
# ---- phase ----
figures["empty_warm"] = gc.mem_alloc() - figures["base_empty"]
empty[1].stop()
empty[0].close()
empty = None
# ---- phase ----
gc.collect()
# ---- phase ----
figures["base_full"] = gc.mem_alloc()
full = make_app("/data/full/store")
# ---- phase ----
gc.collect()
# ---- phase ----
figures["full_boot"] = gc.mem_alloc() - figures["base_full"]
await warm(full[2], full[1], probes)
# ---- phase ----
gc.collect()
# ---- phase ----
figures["full_warm"] = gc.mem_alloc() - figures["base_full"]
emit("mpy_heap_rules_bytes", figures["full_warm"] - figures["empty_warm"], "bytes")
emit("mpy_heap_rules_boot_bytes", figures["full_boot"] - figures["empty_boot"], "bytes")
emit("mpy_heap_app_idle_bytes", figures["full_warm"], "bytes")
# ---- phase ----
# Peak of each list request above the idle app, on the real request path:
# the raw HTTP request into app.handle_request (what the server loop does
# with a socket), the answer written to WireWriter, which drops the bytes.
# This port's GC only runs when control is back in JavaScript (gc.collect()
# inside a call just asks for one), so a figure taken inside one call would
# count every byte ever allocated, garbage included. A socket write is where
# a board's server may suspend, so each write here samples gc.mem_alloc()
# and then suspends for real (back to JavaScript, where the collection
# runs): the peak is the highest sample, the live heap at the previous write
# plus everything allocated since, an upper bound of what a board with a
# working GC needs at any moment of the request.
wire = {"at": 0}
gc.collect()
# ---- phase ----
# repeat while wire_pending
wire_request = WireReader(raw_get(LISTS[wire["at"]]))
wire_writer = WireWriter()
wire_idle = gc.mem_alloc()
await full[2].handle_request(wire_request, wire_writer)
wire_writer.sample()
if wire_writer.head != b"HTTP/1.0 200":
    raise RuntimeError("%s answered %s" % (LISTS[wire["at"]], wire_writer.head))
figures["list%d" % wire["at"]] = wire_writer.peak - wire_idle
figures["list%d_body" % wire["at"]] = wire_writer.sent
figures["list%d_writes" % wire["at"]] = wire_writer.writes
wire_request = None
wire_writer = None
wire["at"] += 1
wire_pending = wire["at"] < len(LISTS)
gc.collect()
# ---- phase ----
emit("mpy_heap_peak_list_bytes", max(figures["list0"], figures["list1"]), "bytes")
emit("mpy_heap_peak_forward_list_bytes", figures["list0"], "bytes")
emit("mpy_heap_peak_redirect_list_bytes", figures["list1"], "bytes")
emit("mpy_forward_list_answer_bytes", figures["list0_body"], "bytes")
emit("mpy_redirect_list_answer_bytes", figures["list1_body"], "bytes")
emit("mpy_forward_list_writes", figures["list0_writes"], "writes")
emit("mpy_redirect_list_writes", figures["list1_writes"], "writes")
# ---- phase ----
# Plan lookup: median over the probes (each the mean of REPEATS runs).
gc.collect()
durations = []
answers = []
for number in probes:
    started = time.ticks_us()
    for _ in range(REPEATS):
        answer = plan(full[1], number)
    durations.append(time.ticks_diff(time.ticks_us(), started) / REPEATS)
    answers.append(answer)
emit("mpy_plan_lookup_ms", "%.3f" % (median(durations) / 1000.0), "ms")
emit("mpy_plan_lookup_max_ms", "%.3f" % (max(durations) / 1000.0), "ms")
emit("mpy_plan_candidates_mean", "%.1f" % (sum([a[1] for a in answers]) / len(answers)), "rules")
full[1].stop()
full[0].close()
full = None
# ---- phase ----
gc.collect()
# ---- phase ----
# The baseline: the same data as plain Python objects in RAM.
figures["base_baseline"] = gc.mem_alloc()
forwards = {}
with open("/data/forwards.jsonl") as handle:
    for line in handle:
        item = json.loads(line)
        forwards[item[0]] = item[1]
all_rules = []
with open("/data/rules.jsonl") as handle:
    for line in handle:
        all_rules.append(json.loads(line))
line = None
item = None
handle = None
# ---- phase ----
gc.collect()
# ---- phase ----
emit("baseline_mpy_heap_rules_bytes", gc.mem_alloc() - figures["base_baseline"], "bytes")
durations = []
mismatches = 0
for index in range(len(probes)):
    started = time.ticks_us()
    for _ in range(REPEATS):
        answer = baseline_plan(forwards, all_rules, probes[index])
    durations.append(time.ticks_diff(time.ticks_us(), started) / REPEATS)
    if answer != answers[index]:
        mismatches += 1
emit("baseline_mpy_plan_lookup_ms", "%.3f" % (median(durations) / 1000.0), "ms")
emit("mpy_plan_mismatches", mismatches, "plans")
