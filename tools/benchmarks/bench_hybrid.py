"""Hybrid-adapter link: command-to-acknowledgement latency and wire figures.

Prints `name: value unit` lines:
  hybrid_ack_latency_median_ms / _p99_ms   500 ring/stop_ring commands, one at a
      time, from `await driver.ring()` to its return: AdapterDriver + pyserial
      (host.serial_transport) -> real pseudo-terminal -> the emulator process
      (host.adapter_emulator) and back. A pty has no baud rate: this is the
      software path (two processes, two asyncio loops, the kernel's tty layer).
  pty_echo_roundtrip_median_ms    the baseline in the same run: the same
      transport on a bare pty whose master echoes an ACK-sized reply from this
      process's loop, no protocol, no second process.
  hybrid_frame_overhead_bytes     bytes a frame costs beyond its body.
  hybrid_ring_wire_time_115200_ms one RING frame at 115200 baud 8N1 (10 bits
      per byte); hybrid_ring_exchange_wire_time_115200_ms adds its ACK.
  hybrid_encode_ring_us / hybrid_feed_ack_us  CPython cost of the machine.
  mpy_*  (when node and the MicroPython WebAssembly package are installed)
      under MicroPython 1.27: heap taken by importing proto.hybrid from source
      (a board runs it frozen, smaller), heap of one panel link after a session
      and 200 commands, and the cost of one ring exchange (RING encoded, fed
      to the adapter machine, its ACK fed back) in microseconds.
"""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _path in (os.path.join(ROOT, "firmware"), ROOT, os.path.join(ROOT, "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from host.serial_transport import open_serial, serial_opener  # noqa: E402
from panel.drivers.adapter import AdapterDriver  # noqa: E402
from panel.proto import hybrid  # noqa: E402
from support.emulator_process import EmulatorProcess, wait_until  # noqa: E402

COMMANDS = 500
BAUD = 115200
BITS_PER_BYTE = 10


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def ack_latencies(directory):
    with EmulatorProcess(directory) as emulator:
        driver = AdapterDriver(serial_opener(emulator.link))
        driver.start()
        try:
            if not await wait_until(lambda: driver.present, 10):
                raise RuntimeError("no handshake with the emulator: %r" % driver.describe())
            latencies = []
            failures = 0
            for index in range(COMMANDS):
                line = ("laskomex", 1 + (index // 2) % 80)
                method = driver.ring if index % 2 == 0 else driver.stop_ring
                started = time.perf_counter()
                if not await method(line):
                    failures += 1
                latencies.append((time.perf_counter() - started) * 1000)
            return latencies, failures
        finally:
            driver.stop()
            await driver.wait_stopped()


async def pty_echo_baseline():
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    os.set_blocking(master, False)
    loop = asyncio.get_running_loop()
    reply = hybrid.encode_frame(0x06, 1, b"\x00")

    def echo():
        data = os.read(master, 4096)
        if data:
            os.write(master, reply)

    loop.add_reader(master, echo)
    transport = await open_serial(os.ttyname(slave))
    frame = hybrid.encode_frame(0x10, 1, b"\x01\x00\x0a")
    latencies = []
    try:
        for _ in range(COMMANDS):
            started = time.perf_counter()
            transport.write(frame)
            await transport.drain()
            received = b""
            while len(received) < len(reply):
                received += await transport.read(64)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        transport.close()
        loop.remove_reader(master)
        os.close(master)
        os.close(slave)
    return latencies


def machine_costs():
    body = b"\x01\x00\x0a"
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        hybrid.encode_frame(0x10, 1, body)
    encode_us = (time.perf_counter() - started) * 1e6 / rounds
    panel = hybrid.HybridLink(hybrid.PANEL)
    ack = hybrid.encode_frame(0x06, 1, b"\x00")
    started = time.perf_counter()
    for _ in range(rounds):
        panel.feed(ack)  # counted as a stale reply: the full receive path
    feed_us = (time.perf_counter() - started) * 1e6 / rounds
    return encode_us, feed_us


MPY_SNIPPET = """
import gc
gc.collect()
base = gc.mem_alloc()
# ---- phase ----
from panel.proto import hybrid
# ---- phase ----
gc.collect()
after_import = gc.mem_alloc()
print("mpy_hybrid_import_heap_bytes: %d bytes" % (after_import - base))
# ---- phase ----
import time
info = hybrid.AdapterInfo("1.0", [("laskomex", 1, 80), ("vizit", 1, 40)])
panel = hybrid.HybridLink(hybrid.PANEL)
adapter = hybrid.HybridLink(hybrid.ADAPTER, info)
adapter.feed(panel.hello(0, 77))
panel.feed(adapter.poll(0))
panel.next_event()
adapter.next_event()
rounds = 200
start = time.ticks_us()
for index in range(rounds):
    adapter.feed(panel.send(hybrid.Message("ring", "laskomex", 1 + index % 80), 0, index))
    panel.feed(adapter.poll(0))
    adapter.next_event()
    panel.next_event()
elapsed = time.ticks_diff(time.ticks_us(), start)
print("mpy_hybrid_ring_exchange_us: %.1f us" % (elapsed / rounds))
del adapter, info
# ---- phase ----
gc.collect()
print("mpy_hybrid_panel_link_heap_bytes: %d bytes" % (gc.mem_alloc() - after_import))
"""


def micropython_figures():
    script = os.path.join(ROOT, "tools", "benchmarks", "mpy_run.mjs")
    package = os.path.join(ROOT, "tools", "mpy", "node_modules", "@micropython")
    if not os.path.isdir(package):
        return ["# mpy figures skipped: run make test-mpy once to install the package"]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(MPY_SNIPPET)
    try:
        result = subprocess.run(
            ["node", script, handle.name], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return ["# mpy figures skipped: %s" % error]
    finally:
        os.unlink(handle.name)
    lines = [line for line in result.stdout.splitlines() if line.startswith("mpy_")]
    if result.returncode != 0:
        lines.append("# mpy snippet failed: %s" % result.stderr.strip()[-300:])
    return lines


async def main():
    ring = hybrid.encode_frame(0x10, 1, b"\x01\x00\x0a")
    ack = hybrid.encode_frame(0x06, 1, b"\x00")
    with tempfile.TemporaryDirectory(prefix="bench-hybrid-") as directory:
        latencies, failures = await ack_latencies(directory)
    baseline = await pty_echo_baseline()
    encode_us, feed_us = machine_costs()
    print("hybrid_ack_latency_median_ms: %.3f ms" % statistics.median(latencies))
    print("hybrid_ack_latency_p99_ms: %.3f ms" % percentile(latencies, 0.99))
    print("hybrid_ack_latency_max_ms: %.3f ms" % max(latencies))
    print("hybrid_commands_failed: %d of %d" % (failures, COMMANDS))
    print("pty_echo_roundtrip_median_ms: %.3f ms" % statistics.median(baseline))
    print("pty_echo_roundtrip_p99_ms: %.3f ms" % percentile(baseline, 0.99))
    print("hybrid_frame_overhead_bytes: %d bytes" % (len(ring) - 3))
    print("hybrid_ring_frame_bytes: %d bytes" % len(ring))
    print("hybrid_ring_wire_time_115200_ms: %.3f ms" % (len(ring) * BITS_PER_BYTE * 1000 / BAUD))
    print(
        "hybrid_ring_exchange_wire_time_115200_ms: %.3f ms"
        % ((len(ring) + len(ack)) * BITS_PER_BYTE * 1000 / BAUD)
    )
    print("hybrid_encode_ring_us: %.2f us" % encode_us)
    print("hybrid_feed_ack_us: %.2f us" % feed_us)
    for line in micropython_figures():
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
