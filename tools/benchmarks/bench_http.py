"""HTTP throughput of the panel against bare microdot 2.7, as ratios.

Starts the simulated panel as `make run` does (tests/support/panel_process.py:
host.run, here without the adapter emulator) with 100 forward rules, and a
bare microdot 2.7 app (bare_microdot_server.py, same kind of CPython process)
whose routes answer the very documents the panel answers. The same client
(wrk, Debian package `wrk`; `make bench` installs it) loads both in turns, in
the same run, and each figure is our requests/s over bare microdot's:

  api_info_vs_bare_microdot       GET /api/info (public), 16 connections
  api_list_vs_bare_microdot       GET /api/v1/forward/items?limit=20 with Basic
                                  credentials (a 20-item page of 100 rules),
                                  16 connections
  *_c64                           the same with 64 connections
  *_close                         the same with `Connection: close` sent by the
                                  client: one connection per request on both
                                  sides (bare microdot never keeps a
                                  connection alive, so its figures are alike)
  *_rps                           the requests/s behind the ratios (median of
                                  the rounds)

wrk speaks HTTP/1.1 and keeps connections alive wherever the server does.
Target: api_info_vs_bare_microdot and api_list_vs_bare_microdot at least 0.8.

Usage: python tools/benchmarks/bench_http.py [--seconds S] [--rounds N]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from support.panel_process import BASIC, PanelProcess, free_port  # noqa: E402

RULES = 100
LIST_PATH = "/api/v1/forward/items?limit=20"
INFO_PATH = "/api/info"
BARE_LIST_PATH = "/api/v1/forward/items"
TARGET = 0.8
# (suffix of the figure's name, wrk connections, extra request header)
SCENARIOS = (
    ("", 16, None),
    ("_c64", 64, None),
    ("_close", 16, "Connection: close"),
)


def emit(name, value, unit=""):
    print(("%s: %s %s" % (name, value, unit)).rstrip(), flush=True)


def wrk(url, connections, seconds, headers):
    command = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    if found is None:
        raise RuntimeError("wrk printed no rate:\n" + output)
    problems = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: [^\n]+)", output)
    return float(found.group(1)), problems


def seed(panel):
    for number in range(1, RULES + 1):
        queue = ["sip:%d@10.0.0.%d" % (number, number % 250 + 1), str(50000 + number)]
        reply = panel.request(
            "POST", "/api/v1/forward/item/%d" % number, body={"forward_entity_list": queue}
        )
        if reply.status != 200:
            raise RuntimeError("seeding failed: %r" % reply)


def start_bare(directory, routes):
    path = os.path.join(directory, "routes.json")
    with open(path, "w") as handle:
        json.dump(routes, handle)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tools", "benchmarks", "bare_microdot_server.py")]
        + [str(port), path],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, INFO_PATH), timeout=2).read()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("bare microdot did not start")


def bench_board(directory, connections):
    with open(os.path.join(ROOT, "boards", "host", "board.json")) as handle:
        board = json.load(handle)
    # Room for every connection wrk opens: the figure is throughput, not
    # the connection limit (tests/host/test_http_limits.py covers that).
    board.setdefault("limits", {})["http_connections"] = connections
    path = os.path.join(directory, "board.json")
    with open(path, "w") as handle:
        json.dump(board, handle)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench_http: wrk is missing (apt-get install wrk; `make bench` does)")
        return 1
    directory = tempfile.mkdtemp(prefix="bench-http-")
    most = max(connections for _, connections, _ in SCENARIOS)
    board = bench_board(directory, most + 8)
    panel = PanelProcess(
        os.path.join(directory, "panel"),
        extra_args=["--sip-port", "0", "--no-adapter", "--board", board],
    )
    bare = None
    try:
        panel.start()
        seed(panel)
        info = panel.request("GET", INFO_PATH, auth=None)
        listed = panel.request("GET", LIST_PATH)
        if info.status != 200 or listed.status != 200 or len(listed.json["list_items"]) != 20:
            raise RuntimeError("panel answers unexpected: %r %r" % (info, listed))
        emit("api_info_body_bytes", len(info.raw), "bytes")
        emit("api_list_body_bytes", len(listed.raw), "bytes")
        bare, bare_port = start_bare(directory, {INFO_PATH: info.json, BARE_LIST_PATH: listed.json})
        ours_base = "http://127.0.0.1:%d" % panel.port
        bare_base = "http://127.0.0.1:%d" % bare_port
        # The baseline answers the very bytes: the same 20-item page, same size.
        for _ours_path, bare_path, ours in (
            (INFO_PATH, INFO_PATH, info),
            (LIST_PATH, BARE_LIST_PATH, listed),
        ):
            with urllib.request.urlopen(bare_base + bare_path, timeout=5) as reply:
                body = reply.read()
            if body != ours.raw:
                raise RuntimeError("bare microdot answers other bytes for %s" % bare_path)
        emit("bare_list_items", len(json.loads(body)["list_items"]), "items")
        emit("bare_list_body_bytes", len(body), "bytes")
        routes = (("api_info", INFO_PATH, INFO_PATH), ("api_list", LIST_PATH, BARE_LIST_PATH))
        for suffix, connections, extra in SCENARIOS:
            headers = ["Authorization: " + BASIC]
            if extra:
                headers.append(extra)
            for name, ours_path, bare_path in routes:
                ours_rates, bare_rates = [], []
                for _ in range(args.rounds):
                    # Alternate, so drift on a shared machine hits both alike.
                    rate, problems = wrk(ours_base + ours_path, connections, args.seconds, headers)
                    ours_rates.append(rate)
                    for problem in problems:
                        print("# %s%s ours: %s" % (name, suffix, problem), flush=True)
                    rate, problems = wrk(bare_base + bare_path, connections, args.seconds, headers)
                    bare_rates.append(rate)
                    for problem in problems:
                        print("# %s%s bare: %s" % (name, suffix, problem), flush=True)
                ours = statistics.median(ours_rates)
                base = statistics.median(bare_rates)
                emit("%s%s_rps" % (name, suffix), round(ours), "requests/s")
                emit("%s%s_bare_microdot_rps" % (name, suffix), round(base), "requests/s")
                emit("%s_vs_bare_microdot%s" % (name, suffix), round(ours / base, 2))
        emit("target_vs_bare_microdot", TARGET)
    finally:
        panel.stop()
        if bare is not None:
            bare.terminate()
            bare.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
