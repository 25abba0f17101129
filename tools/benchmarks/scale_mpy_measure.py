# Runs under MicroPython (tools/benchmarks/mpy_run.mjs, WebAssembly build),
# started by bench_scale.py, which built the data on CPython and copied it to
# /data: /data/full/store (10,000 forward rules, 1,024 redirect rules and
# their routing index), /data/empty/store (the same app, no rules),
# /data/forwards.jsonl and /data/rules.jsonl (the baseline's data) and
# /data/probes.json (the dialled apartments to time).
# Prints `name: value unit` lines that bench_scale.py passes on. The phase
# markers make each part a separate interpreter call: gc.collect() only frees
# what earlier calls left (see mpy_run.mjs).
import gc
import json
import time

from microdot.test_client import TestClient
from panel import redirect_index
from panel.app import Panel, build_app
from panel.clock import Clock
from panel.core import numbers, routing
from panel.drivers.pins import RecordingPin
from panel.store import Store

AUTH = {"Authorization": "Basic YWRtaW46MTIzNDU2"}
BOARD = {"name": "bench", "device_model": "BENCH-PANEL", "mcu_version": "bench",
         "device_serial_number": "00000000-0000-4000-8000-000000000001",
         "limits": {"forward_rules": 10000, "redirect_rules": 1024, "tokens": 8,
                    "call_log_entries": 20, "identifiers": 10, "body_bytes": 16384}}
# Each probe is timed over this many runs: this port's ticks_us() moves in
# whole milliseconds.
REPEATS = 10
LISTS = ("/api/v1/forward/items?limit=50", "/rest/v1/uc/redirectrules?limit=50")
figures = {}


def emit(name, value, unit):
    print("%s: %s %s" % (name, value, unit))


def make_app(path):
    store = Store(path)
    store.open()
    panel = Panel(json.loads(json.dumps(BOARD)), store, Clock(assume_set=True),
                  [RecordingPin(1), RecordingPin(2)])
    app = build_app(panel)
    return store, panel, TestClient(app)


def plan(panel, number):
    """The routing plan of one dialled apartment: queue + redirect candidates."""
    called = str(number)
    queue = panel.forward_rules.get(number)
    rules = list(redirect_index.candidates(panel.store, called))
    state = routing.CallRouting(called, "panel", 600)
    first = state.next_step(rules, "absolute")
    busy = routing.CallRouting(called, "panel", 600).next_step(rules, "busy")
    return queue, len(rules), _step(first), _step(busy)


def baseline_plan(forwards, all_rules, number):
    """The same plan from plain dicts in RAM: every rule is scanned."""
    called = str(number)
    queue = forwards.get(number)
    rules = [rule for rule in all_rules if numbers.dial_pattern_matches(rule["filter_number"], called)]
    state = routing.CallRouting(called, "panel", 600)
    first = state.next_step(rules, "absolute")
    busy = routing.CallRouting(called, "panel", 600).next_step(rules, "busy")
    return queue, len(rules), _step(first), _step(busy)


def _step(step):
    return None if step is None else (step.rule["id"], step.destination)


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


async def warm(client, panel, probes):
    # What a running panel does: calls and list pages; then every partition
    # of the store is loaded (count), the store's worst RAM state.
    for number in probes[:20]:
        plan(panel, number)
    for path in LISTS:
        response = await client.get(path, headers=dict(AUTH))
        if response.status_code != 200:
            raise RuntimeError("%s answered %d" % (path, response.status_code))
    panel.store.count()


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
# Peak of each list request above the idle app: every byte the request
# allocates, GC off. An upper bound of the peak live heap on a board; and on
# this WebAssembly port it is the heap the request really needs, since
# gc.collect() frees nothing allocated during the running call (measured:
# garbage made and collected within one runPythonAsync stays allocated).
# The response body the test client holds is included.
gc.collect()
# ---- phase ----
gc.disable()
idle = gc.mem_alloc()
response = await full[2].get(LISTS[0], headers=dict(AUTH))
figures["list0"] = gc.mem_alloc() - idle
figures["list0_body"] = len(response.body)
response = None
gc.enable()
# ---- phase ----
gc.collect()
# ---- phase ----
gc.disable()
idle = gc.mem_alloc()
response = await full[2].get(LISTS[1], headers=dict(AUTH))
figures["list1"] = gc.mem_alloc() - idle
figures["list1_body"] = len(response.body)
response = None
gc.enable()
# ---- phase ----
emit("mpy_heap_peak_list_bytes", max(figures["list0"], figures["list1"]), "bytes")
emit("mpy_heap_peak_forward_list_bytes", figures["list0"], "bytes")
emit("mpy_heap_peak_redirect_list_bytes", figures["list1"], "bytes")
emit("mpy_forward_list_body_bytes", figures["list0_body"], "bytes")
emit("mpy_redirect_list_body_bytes", figures["list1_body"], "bytes")
# ---- phase ----
# The redirect list (default order, limit=50) run in stages, each stage its
# own interpreter call, with the same functions the handler calls
# (redirects.parse_list_query, redirect_index.is_current, the o: key scan of
# redirect_index.ordered_ids one key per stage, then redirectrules._list_body
# one chunk per stage, the chunks kept as a client receives them). Before
# each stage a collection, then GC off: the peak is at most
# max(live before a stage + what the stage allocates) - a bound that holds on
# a board with a working GC, much tighter than the one-call figure. What
# microdot and the test client add around the handler is measured apart:
# the same request with limit=0 through TestClient (GC off, one call).
from microdot.microdot import MultiDict
from panel.api import redirectrules
from panel.core import redirects

staged = {"base": 0, "peak": 0, "steps": 0}
received = []
gc.collect()
# ---- phase ----
staged["base"] = gc.mem_alloc()
gc.disable()
staged_args = MultiDict()
staged_args["limit"] = "50"
staged_query = redirects.parse_list_query(staged_args)
if not redirect_index.is_current(full[0]):
    raise RuntimeError("index not current")
staged_keys = full[0].keys("o:", "o;")
staged_ids = []
staged["peak"] = gc.mem_alloc() - staged["base"]
gc.enable()
staged_pending = True
# ---- phase ----
# repeat while staged_pending
gc.collect()
gc.disable()
try:
    staged_ids.append(next(staged_keys)[-36:])
    staged_pending = len(staged_ids) < staged_query.limit
except StopIteration:
    staged_pending = False
staged_after = gc.mem_alloc() - staged["base"]
gc.enable()
staged["steps"] += 1
if staged_after > staged["peak"]:
    staged["peak"] = staged_after
# ---- phase ----
staged_keys = None
staged_chunks = redirectrules._list_body(full[0], staged_ids, staged_query.leaves,
                                         staged_query.flat)
staged_pending = True
# ---- phase ----
# repeat while staged_pending
gc.collect()
gc.disable()
try:
    received.append(next(staged_chunks))
except StopIteration:
    staged_pending = False
staged_after = gc.mem_alloc() - staged["base"]
gc.enable()
staged["steps"] += 1
if staged_after > staged["peak"]:
    staged["peak"] = staged_after
# ---- phase ----
emit("mpy_heap_peak_redirect_list_staged_bytes", staged["peak"], "bytes")
emit("mpy_redirect_list_staged_body_bytes", sum([len(chunk) for chunk in received]), "bytes")
emit("mpy_redirect_list_staged_steps", staged["steps"], "steps")
staged_chunks = None
received = None
staged_ids = None
# ---- phase ----
# The forward list (GET /api/v1/forward/items?limit=50) staged the same way,
# with the handler's own functions: the key walk (forward_rules.numbers, as
# listing.answer_list consumes it through core.query.page_window) a slice of
# keys per stage, then the page's records read and the answer encoded.
from panel.api import forwards as forward_routes
from panel.core import query as list_query

forward_staged = {"base": 0, "peak": 0, "steps": 0}
gc.collect()
# ---- phase ----
forward_staged["base"] = gc.mem_alloc()
gc.disable()
forward_args = MultiDict()
forward_args["limit"] = "50"
forward_limit, forward_page_number = list_query.page_params(forward_args)
forward_numbers = full[1].forward_rules.numbers()
forward_skip = (forward_page_number - 1) * forward_limit
forward_page = []
forward_total = 0
forward_staged["peak"] = gc.mem_alloc() - forward_staged["base"]
gc.enable()
staged_pending = True
# ---- phase ----
# repeat while staged_pending
gc.collect()
gc.disable()
for _ in range(50):
    try:
        number = next(forward_numbers)
    except StopIteration:
        staged_pending = False
        break
    if forward_skip <= forward_total < forward_skip + forward_limit:
        forward_page.append(number)
    forward_total += 1
staged_after = gc.mem_alloc() - forward_staged["base"]
gc.enable()
forward_staged["steps"] += 1
if staged_after > forward_staged["peak"]:
    forward_staged["peak"] = staged_after
# ---- phase ----
gc.collect()
gc.disable()
forward_items = [{"forward_number": number,
                  "forward_entity_list": full[1].forward_rules.get(number)}
                 for number in forward_page]
forward_body = json.dumps({"list_items": forward_items, "list_option": list_query.list_option(
    forward_total, forward_limit, forward_page_number, forward_routes.LIST_FIELDS, False,
    "forward_number", True, ["forward_number"])})
staged_after = gc.mem_alloc() - forward_staged["base"]
gc.enable()
forward_staged["steps"] += 1
if staged_after > forward_staged["peak"]:
    forward_staged["peak"] = staged_after
emit("mpy_heap_peak_forward_list_staged_bytes", forward_staged["peak"], "bytes")
emit("mpy_forward_list_staged_total_items", forward_total, "items")
emit("mpy_forward_list_staged_body_bytes", len(forward_body), "bytes")
emit("mpy_forward_list_staged_steps", forward_staged["steps"], "steps")
forward_numbers = None
forward_items = None
forward_body = None
forward_page = None
# ---- phase ----
gc.collect()
# ---- phase ----
gc.disable()
idle = gc.mem_alloc()
response = await full[2].get("/rest/v1/uc/redirectrules?limit=0", headers=dict(AUTH))
emit("mpy_list_request_overhead_bytes", gc.mem_alloc() - idle, "bytes")
response = None
gc.enable()
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
