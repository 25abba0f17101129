"""Scale benchmark: a large building's rules on a small heap (issue 4).

Builds, on CPython, a store with 10,000 forward rules (2-3 realistic targets
each) and 1,024 redirect rules (976 personal rules for single apartments and
48 masks such as 1XX, 2*, 3[0-4]X, 9., with schedules), written through the
real code (ForwardRules.upsert_many, the redirect API through microdot's
TestClient, so the routing index is written as in service), then measures:

  mpy_heap_rules_bytes            MicroPython heap (gc.mem_alloc() after
                                  gc.collect()) of the app (panel.wiring.build_panel)
                                  on that store, after plan lookups, both list
                                  requests and a count of every key (all the
                                  store's partitions loaded), minus the same
                                  app on an empty store. Target 49152.
  mpy_heap_rules_boot_bytes       the same right after boot.
  mpy_heap_peak_list_bytes        the higher of the two 50-item list requests
                                  (forward items, redirect rules), each a raw
                                  HTTP request through app.handle_request as
                                  the server does it: the highest heap in use
                                  at any of the answer's socket writes, above
                                  the idle app. The writer suspends at each
                                  write, so this port's GC (which only runs
                                  between interpreter calls) frees the
                                  garbage there; a sample is the live heap
                                  at the previous write plus all allocated
                                  since, an upper bound. Target 65536.
  mpy_plan_lookup_ms              median time to build one dialled apartment's
                                  plan: its forward queue, its redirect
                                  candidates (panel.services.redirect_rules.candidates)
                                  and the absolute and busy steps of
                                  core.routing over them. Target 10.
  cpython_plan_lookup_us, cpython_boot_ms (Store.open + build_panel).
  cpython_index_rebuild_ms        the one-time index rebuild of a boot on a
                                  store without the index (1,024 rules).
  baseline_*                      the same data as plain dicts/lists in RAM
                                  (forward number -> list of strings, rules as
                                  dicts), the plan computed by scanning all
                                  rules; boot = reading those from JSON lines.

The MicroPython figures run under the WebAssembly build (mpy_run.mjs with
scale_mpy_measure.py), with the CPython-built store files copied in.
flash_bytes_per_change is bench_store.py's.

Usage: python tools/benchmarks/bench_scale.py [--no-mpy] [--keep DIR]
"""

import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from microdot.test_client import TestClient  # noqa: E402

from panel.api import redirectrules  # noqa: E402
from panel.clock import Clock  # noqa: E402
from panel.core import numbers, routing  # noqa: E402
from panel.services import redirect_index  # noqa: E402
from panel.services.redirect_rules import RedirectRules  # noqa: E402
from panel.store import Store  # noqa: E402
from support.scale_fixtures import open_panel  # noqa: E402

FORWARDS = 10000
PERSONAL_RULES = 976
PROBES = 200
BOOT_RUNS = 5
AUTH = {"Authorization": "Basic YWRtaW46MTIzNDU2"}
TARGETS = (
    ("mpy_heap_rules_bytes", 49152, "bytes"),
    ("mpy_heap_peak_list_bytes", 65536, "bytes"),
    ("mpy_plan_lookup_ms", 10, "ms"),
)
TYPES = (
    "absolute",
    "busy",
    "busy",
    "noanswer",
    "noanswer",
    "unavailable",
    "unregistered",
    "reject",
)


def emit(name, value, unit):
    print("%s: %s %s" % (name, value, unit), flush=True)


def forward_queue(rng, apartment):
    """2-3 targets: SIP URIs on the building LAN, SIP numbers, analog lines."""
    queue = []
    for _ in range(rng.choice((2, 2, 3))):
        kind = rng.random()
        if kind < 0.45:
            target = "sip:%d@10.0.%d.%d" % (apartment, rng.randrange(256), rng.randrange(1, 255))
        elif kind < 0.75:
            target = "%d" % (50000 + apartment * 3 + rng.randrange(3))
        elif kind < 0.9:
            target = "laskomex:%d" % rng.randrange(1, 256)
        else:
            target = "vizit:%d" % rng.randrange(1, 100)
        queue.append(numbers.validate_destination(target))
    return queue


def schedule_fields(rng, rule):
    draw = rng.random()
    if draw < 0.5:
        return
    if draw < 0.7:
        rule["schedule"] = "work"
    elif draw < 0.85:
        rule["schedule"] = "non-work"
    else:
        rule["schedule"] = "custom"
        periods = []
        for day in rng.sample(range(1, 8), rng.randrange(1, 6)):
            periods.append({"daystart": day, "timestart": 480, "daystop": day, "timestop": 1200})
        rule["periods"] = periods


def destination(rng, apartment):
    draw = rng.random()
    if draw < 0.35:
        return "%d" % rng.randrange(1, FORWARDS + 1)
    if draw < 0.6:
        return "sip:%d@10.0.%d.%d" % (apartment, rng.randrange(256), rng.randrange(1, 255))
    if draw < 0.75:
        return "9XX"
    if draw < 0.9:
        return "laskomex:%d" % rng.randrange(1, 256)
    return "vizit:%d" % rng.randrange(1, 100)


def masks():
    """48 masks an installer might use: per leading digit, then catch-alls."""
    patterns = []
    for digit in range(1, 10):
        patterns += [
            "%dXX" % digit,
            "%dXXX" % digit,
            "%d*" % digit,
            "%d[0-4]X" % digit,
            "%d." % digit,
        ]
    return patterns + ["*", "N", "?XX"]


def redirect_bodies(rng, personal_apartments):
    bodies = []
    for apartment in personal_apartments:
        body = {
            "type": rng.choice(TYPES),
            "filter_number": str(apartment),
            "tran_number": destination(rng, apartment),
            "priority": rng.randrange(0, 200),
            "opts": {"title": "Apt %d redirect" % apartment},
        }
        if rng.random() < 0.1:
            body["opts"]["comment"] = "Requested by the tenant by phone; check again next year."
        schedule_fields(rng, body)
        bodies.append(body)
    for pattern in masks():
        body = {
            "type": rng.choice(TYPES[1:]),
            "filter_number": pattern,
            "tran_number": rng.choice(("900", "901", "sip:concierge@10.0.0.2")),
            "priority": rng.randrange(100, 1000),
            "opts": {"title": "Mask %s" % pattern},
        }
        schedule_fields(rng, body)
        bodies.append(body)
    return bodies


def open_app(directory):
    return open_panel(directory)


async def post_rules(app, bodies):
    client = TestClient(app)
    for body in bodies:
        response = await client.request(
            "POST", redirectrules.COLLECTION_PATH, headers=dict(AUTH), body=body
        )
        if response.status_code != 200:
            raise RuntimeError("rule refused: %s" % response.text)


def build(data, rng):
    """The full store, the empty one, the baseline's files and the probes."""
    for name in ("full", "empty"):
        os.makedirs(os.path.join(data, name), exist_ok=True)
    store, panel, app = open_app(os.path.join(data, "full", "store"))
    batch = []
    for apartment in range(1, FORWARDS + 1):
        batch.append((apartment, forward_queue(rng, apartment)))
        if len(batch) == 100:
            panel.services.forward_rules.upsert_many(batch)
            batch = []
    personal = rng.sample(range(1, FORWARDS + 1), PERSONAL_RULES)
    asyncio.run(post_rules(app, redirect_bodies(rng, personal)))
    with open(os.path.join(data, "forwards.jsonl"), "w") as handle:
        for number, queue in panel.services.forward_rules.scan():
            handle.write(json.dumps([number, queue]) + "\n")
    with open(os.path.join(data, "rules.jsonl"), "w") as handle:
        for rule in panel.services.redirect_rules.iter_rules():
            handle.write(json.dumps(rule) + "\n")
    panel.stop()
    store.close()
    store, panel, app = open_app(os.path.join(data, "empty", "store"))
    panel.stop()
    store.close()
    probes = rng.sample(personal, PROBES // 2) + rng.sample(range(1, FORWARDS + 1), PROBES // 2)
    with open(os.path.join(data, "probes.json"), "w") as handle:
        json.dump(probes, handle)
    return probes


def directory_bytes(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    return total


def plan(panel, number):
    called = str(number)
    queue = panel.services.forward_rules.get(number)
    rules = list(panel.services.redirect_rules.candidates(called))
    first = routing.CallRouting(called, "panel", 600).next_step(rules, "absolute")
    busy = routing.CallRouting(called, "panel", 600).next_step(rules, "busy")
    return queue, len(rules), step_of(first), step_of(busy)


def baseline_plan(forwards, all_rules, number):
    called = str(number)
    queue = forwards.get(number)
    rules = [
        rule for rule in all_rules if numbers.dial_pattern_matches(rule["filter_number"], called)
    ]
    first = routing.CallRouting(called, "panel", 600).next_step(rules, "absolute")
    busy = routing.CallRouting(called, "panel", 600).next_step(rules, "busy")
    return queue, len(rules), step_of(first), step_of(busy)


def step_of(step):
    return None if step is None else (step.rule["id"], step.destination)


def load_baseline(data):
    forwards = {}
    with open(os.path.join(data, "forwards.jsonl")) as handle:
        for line in handle:
            item = json.loads(line)
            forwards[item[0]] = item[1]
    with open(os.path.join(data, "rules.jsonl")) as handle:
        all_rules = [json.loads(line) for line in handle]
    return forwards, all_rules


def measure_cpython(data, probes):
    full = os.path.join(data, "full", "store")
    boots = []
    for _ in range(BOOT_RUNS):
        started = time.perf_counter()
        store, panel, app = open_app(full)
        boots.append((time.perf_counter() - started) * 1000)
        panel.stop()
        store.close()
    emit("cpython_boot_ms", "%.2f" % statistics.median(boots), "ms")
    baseline_boots = []
    for _ in range(BOOT_RUNS):
        started = time.perf_counter()
        forwards, all_rules = load_baseline(data)
        baseline_boots.append((time.perf_counter() - started) * 1000)
    emit("baseline_cpython_boot_ms", "%.2f" % statistics.median(baseline_boots), "ms")
    store, panel, app = open_app(full)
    durations = []
    answers = []
    for number in probes:
        started = time.perf_counter()
        answers.append(plan(panel, number))
        durations.append((time.perf_counter() - started) * 1e6)
    emit("cpython_plan_lookup_us", "%.1f" % statistics.median(durations), "us")
    baseline_durations = []
    mismatches = 0
    for index, number in enumerate(probes):
        started = time.perf_counter()
        answer = baseline_plan(forwards, all_rules, number)
        baseline_durations.append((time.perf_counter() - started) * 1e6)
        mismatches += answer != answers[index]
    emit("baseline_cpython_plan_lookup_us", "%.1f" % statistics.median(baseline_durations), "us")
    emit("cpython_plan_mismatches", mismatches, "plans")
    panel.stop()
    store.close()
    # A boot that finds no index (a store of firmware without it): the
    # one-time rebuild from the 1,024 rules, on a copy of the store.
    copy = os.path.join(data, "rebuild")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(full, copy)
    store = Store(copy)
    store.open()
    store.delete(redirect_index.VERSION_KEY)
    started = time.perf_counter()
    RedirectRules(store, Clock(assume_set=True)).ensure_index()
    emit("cpython_index_rebuild_ms", "%.1f" % ((time.perf_counter() - started) * 1000), "ms")
    store.close()
    shutil.rmtree(copy, ignore_errors=True)


def microdot_directory():
    import microdot

    return os.path.dirname(microdot.__file__)


def measure_micropython(data):
    runner = os.path.join(ROOT, "tools", "benchmarks", "mpy_run.mjs")
    script = os.path.join(ROOT, "tools", "benchmarks", "scale_mpy_measure.py")
    command = [
        "node",
        runner,
        "--microdot",
        microdot_directory(),
        "--copy",
        data + ":/data",
        "--copy",
        os.path.join(ROOT, "tests", "support") + ":/lib/support",
        script,
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    figures = {}
    for line in result.stdout.splitlines():
        if ": " in line and (line.startswith("mpy_") or line.startswith("baseline_mpy_")):
            print(line, flush=True)
            name, rest = line.split(": ", 1)
            figures[name] = float(rest.split()[0])
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-4000:])
        raise RuntimeError("MicroPython measurement failed (status %d)" % result.returncode)
    return figures


def main():
    keep = None
    if "--keep" in sys.argv:
        keep = sys.argv[sys.argv.index("--keep") + 1]
    data = keep or tempfile.mkdtemp(prefix="panel-bench-scale-")
    try:
        if keep and os.path.exists(os.path.join(data, "probes.json")):
            with open(os.path.join(data, "probes.json")) as handle:
                probes = json.load(handle)
        else:
            started = time.perf_counter()
            probes = build(data, random.Random(20261123))
            emit("scale_build_s", "%.1f" % (time.perf_counter() - started), "s")
        emit("scale_store_bytes", directory_bytes(os.path.join(data, "full", "store")), "bytes")
        emit(
            "scale_baseline_files_bytes",
            os.path.getsize(os.path.join(data, "forwards.jsonl"))
            + os.path.getsize(os.path.join(data, "rules.jsonl")),
            "bytes",
        )
        measure_cpython(data, probes)
        if "--no-mpy" in sys.argv:
            return 0
        figures = measure_micropython(data)
        for name, target, unit in TARGETS:
            emit(name + "_target", target, unit)
            met = name in figures and figures[name] <= target
            emit(name + "_target_met", 1 if met else 0, "bool")
        return 0
    finally:
        if not keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
