"""The whole panel on the MicroPython unix port: heap, build size, speed.

The panel is the real `micropython` running build/unix (the .mpy tree of
boards/unix, tools/compile_firmware.py) through `make run`'s launcher
(tests/support/panel_process.py, runtime="micropython"), over a store with a
large building's rules: 10,000 forward and 1,024 redirect rules, built on
CPython by bench_scale.build. Heap is read inside the panel by the simulator
front's /sim/heap (gc.mem_alloc() after gc.collect()).

A smoke run: boot on a copy of that store, GET /api/info, a forward-rule POST
(apartment 55 -> a sipp phone), 20-item pages of forward items and of redirect
rules, then a keypad call "55#" to sipp (uas_answer_dtmf.xml) that answers and
sends "1#" as RFC 4733 events: lock 1 must open. The visitor then hangs up.

  mpyunix_min_heap_kib        smallest -X heapsize (16 KiB steps, bisected
                              between 256 KiB and the board's heap_kib) at which
                              the smoke run passes. Target 320.
  mpyunix_data_heap_bytes     heap in use after boot with those rules (collected
                              once the panel listens, before any request:
                              /sim/heap/boot), minus the heap right after
                              importing the modules the panel had imported by
                              then (same build, same heap). Target 49152.
  mpyunix_code_heap_bytes     that import-only heap (the .mpy code loaded to RAM).
  mpyunix_code_heap_romfs_bytes  the same imports from a ROMFS image of the
                              build (bytecode in place, as on a board with a
                              ROMFS partition); the image itself not counted.
  mpy32_code_heap_bytes       the same imports (the same .mpy files) on the
                              32-bit WebAssembly port (tools/benchmarks/
                              mpy_run.mjs), whose objects and GC blocks are
                              half the size: what a 32-bit board without
                              frozen code would need for the code alone.
  mpyunix_call_peak_bytes     highest live heap sampled (every 20 ms) during
                              the call, minus the idle level before it. Target 65536.
  mpyunix_audio_call_peak_bytes  the same for a call with audio both ways, after
                              that one: a keypad call to a sipp callee
                              (uas_echo_codec.xml, PCMU, -rtp_echo) held for
                              AUDIO_CALL_S (the panel's 425 Hz tone out, sipp's
                              echo into the jitter buffer, RTCP reports), with
                              RTP counted both ways in /sim/call before the
                              hang-up. Target 65536 (the call-peak target).
                              It runs after the first call, so the call path's
                              modules are loaded already (in the first call's
                              figure): this is what a call itself holds (RTP
                              and RTCP sessions, jitter buffer, transactions).
                              Measured run only; the heap search runs without it.
  firmware_mpy_bytes          total size of the .mpy files of build/unix.
  mpyunix_info_req_per_s, cpython_info_req_per_s, mpyunix_info_ratio
                              GET /api/info, one connection per request, the
                              same client against both panels in this run.

Usage: python tools/benchmarks/bench_mpyunix.py [--no-search] [--heap-kib N]
"""

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [
    os.path.join(ROOT, "tools"),
    os.path.join(ROOT, "tools", "benchmarks"),
    os.path.join(ROOT, "tests"),
]

import bench_scale  # noqa: E402
import compile_firmware  # noqa: E402

from support.panel_process import PanelProcess  # noqa: E402
from support.polling import poll_until  # noqa: E402
from support.sipp import Sipp, panel_sip_account, sipp_path  # noqa: E402

SEARCH_LOW_KIB = 256
STEP_KIB = 16
INFO_REQUESTS = 300
APARTMENT = 55
# How long the audio call is held: past the first RTCP report (5 s).
AUDIO_CALL_S = 7
SIP = panel_sip_account("sip:127.0.0.1:9")

# The code heap: a fresh interpreter on the same build and heap imports the
# modules the booted panel had imported (GET /sim/heap/boot; the panel runs
# main.py as __main__, imported here as main) and nothing else.
IMPORT_ALL = """\
import gc
import sys
sys.path.insert(0, "")
for name in %r:
    __import__(name)
gc.collect()
print("CODE_HEAP", gc.mem_alloc())
"""

# The same imports from a ROMFS image of the build (vfs.VfsRom), as a board
# with a ROMFS partition runs them: bytecode executes in place, the rest
# (qstrs, function and class objects) is in the heap. This port cannot map
# the image outside its heap (no vfs.rom_ioctl, no ffi), so the image is
# read first and the heap counted from after it.
IMPORT_ALL_ROMFS = """\
import gc
import sys
import vfs
with open(%r, "rb") as handle:
    image = handle.read()
gc.collect()
before = gc.mem_alloc()
vfs.mount(vfs.VfsRom(image), "/rom")
sys.path.insert(0, "/rom")
for name in %r:
    __import__(name)
gc.collect()
print("CODE_HEAP", gc.mem_alloc() - before)
"""


def emit(name, value, unit):
    print("%s: %s %s" % (name, value, unit), flush=True)


def import_names(modules):
    """The booted panel's modules as import names (it ran main.py as __main__)."""
    return ["main" if name == "__main__" else name for name in modules]


def run_for_code_heap(command, script, cwd, timeout, env=None):
    """The CODE_HEAP figure that `command + [script file]` prints."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            command + [handle.name],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    finally:
        os.unlink(handle.name)
    for line in result.stdout.splitlines():
        if line.startswith("CODE_HEAP "):
            return int(line.split()[1])
    raise RuntimeError("import-all failed: %s %s" % (result.stdout, result.stderr))


def code_heap(build, heap_kib, modules, romfs_image=None):
    micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
    names = import_names(modules)
    if romfs_image is None:
        script = IMPORT_ALL % (names,)
    else:
        script = IMPORT_ALL_ROMFS % (romfs_image, names)
    command = [micropython, "-X", "heapsize=%dk" % heap_kib]
    return run_for_code_heap(command, script, build, 60, dict(os.environ, MICROPYPATH=".frozen"))


# The same imports on the 32-bit WebAssembly port, from the same .mpy files
# (copied to /mpybuild, ahead of the sources at /lib); asyncio is built into
# that port. Run by mpy_run.mjs: the heap is read in a later phase than the
# imports (that port's gc.collect() cannot free what the running call holds).
IMPORT_ALL_32 = """\
import gc
import sys
sys.path.insert(0, "/mpybuild")
gc.collect()
before = gc.mem_alloc()
for name in %r:
    __import__(name)
# ---- phase ----
gc.collect()
print("CODE_HEAP", gc.mem_alloc() - before)
"""


def code_heap_32(build, modules):
    """The code heap of the same imports on the 32-bit WebAssembly port, or
    None when node or its interpreter package is missing."""
    package = os.path.join(ROOT, "tools", "mpy", "node_modules", "@micropython")
    if not os.path.isdir(package) or shutil.which("node") is None:
        return None
    # asyncio is built into that port.
    names = [name for name in import_names(modules) if name.split(".")[0] != "asyncio"]
    runner = os.path.join(ROOT, "tools", "benchmarks", "mpy_run.mjs")
    command = ["node", runner, "--copy", build + ":/mpybuild"]
    return run_for_code_heap(command, IMPORT_ALL_32 % (names,), ROOT, 120)


def romfs_image(build, work):
    """A ROMFS image of the build's code (mpremote romfs build), or None."""
    tree = os.path.join(work, "romfs-tree")
    shutil.copytree(build, tree, ignore=shutil.ignore_patterns("*.json"))
    image = os.path.join(work, "code.romfs")
    mpremote = os.path.join(os.path.dirname(sys.executable), "mpremote")
    result = subprocess.run(
        [mpremote, "romfs", "--no-mpy", "-o", image, "build", tree],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return image if result.returncode == 0 and os.path.exists(image) else None


def expect(reply, what):
    if reply.status != 200:
        raise RuntimeError("%s: %r" % (what, reply))
    return reply.json if reply.raw else None


def audio_call(panel, sipp_dir):
    """A call with RTP both ways, held AUDIO_CALL_S; returns the heap peak
    over the idle level before it."""
    os.makedirs(sipp_dir, exist_ok=True)
    echo = Sipp(
        "uas_echo_codec.xml",
        sipp_dir,
        extra=["-rtp_echo", "-key", "pt", "0", "-key", "codec", "PCMU"],
    ).start()
    try:
        target = "sip:5588@127.0.0.1:%d" % echo.port
        expect(
            panel.request(
                "POST", "/api/v1/forward/item/%d" % APARTMENT, {"forward_entity_list": [target]}
            ),
            "forward POST",
        )
        idle = expect(panel.request("POST", "/sim/heap/reset", auth=None), "heap reset")["alloc"]
        expect(panel.request("POST", "/sim/keypad", {"keys": "%d#" % APARTMENT}, auth=None), "keys")

        def media():
            call = panel.request("GET", "/sim/call", auth=None).json
            return call.get("media") or {}

        if not poll_until(lambda: media().get("received", 0) > 0, 20):
            raise RuntimeError("no RTP back from the echo: %r" % media())
        time.sleep(AUDIO_CALL_S)
        counters = media()
        if not (counters.get("sent", 0) > 0 and counters.get("received", 0) > 0):
            raise RuntimeError("audio not both ways: %r" % counters)
        print(
            "# audio call: %d RTP sent, %d received, %d RTCP sent, %d RTCP received"
            % (
                counters.get("sent", 0),
                counters.get("received", 0),
                counters.get("rtcp_sent", 0),
                counters.get("rtcp_received", 0),
            ),
            flush=True,
        )
        panel.request("POST", "/sim/call/hangup", auth=None)
        poll_until(lambda: panel.request("GET", "/sim/call", auth=None).json["state"] == "idle", 10)
        peak = expect(panel.request("GET", "/sim/heap", auth=None), "heap")["peak"]
        return peak - idle
    finally:
        echo.stop()


def smoke(store_dir, heap_kib, work, with_audio=False):
    """One smoke run at heap_kib; returns its figures, raises when it fails."""
    data = os.path.join(work, "data-%d" % heap_kib)
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(store_dir, data)
    panel = PanelProcess(
        data,
        runtime="micropython",
        extra_args=["--sip-port", "0", "--no-adapter", "--heap-kib", str(heap_kib)],
    )
    talker = None
    figures = {}
    try:
        panel.start(timeout=60)
        boot = expect(panel.request("GET", "/sim/heap/boot", auth=None), "boot heap")
        figures["boot_alloc"] = boot["alloc"]
        figures["boot_modules"] = boot["modules"]
        expect(panel.request("GET", "/api/info", auth=None), "info")
        sipp_dir = os.path.join(work, "sipp-%d" % heap_kib)
        os.makedirs(sipp_dir, exist_ok=True)
        talker = Sipp("uas_answer_dtmf.xml", sipp_dir, extra=["-rtp_echo"]).start()
        target = "sip:5588@127.0.0.1:%d" % talker.port
        expect(
            panel.request(
                "POST",
                "/api/v1/forward/item/%d" % APARTMENT,
                {"forward_entity_list": [target]},
            ),
            "forward POST",
        )
        items = expect(panel.request("GET", "/api/v1/forward/items?limit=20"), "forward page")
        if len(items["list_items"]) != 20:
            raise RuntimeError("forward page: %d items" % len(items["list_items"]))
        rules = expect(panel.request("GET", "/rest/v1/uc/redirectrules?limit=20"), "rule page")
        if not rules:
            raise RuntimeError("no redirect rules listed")
        expect(
            panel.request(
                "POST",
                "/api/v1/device/call/dial/timeout",
                {"dial_timeout": 5, "forwarding_timeout": 5},
            ),
            "timeouts",
        )
        expect(panel.request("POST", "/api/v1/device/sip/settings", SIP), "sip settings")
        expect(panel.request("POST", "/api/v1/device/sip/enable", {"sip_enable": True}), "sip")
        expect(
            panel.request("POST", "/api/v1/access/general/lock/dtmf/1", {"dtmf_code": "1#"}),
            "dtmf code",
        )
        idle = expect(panel.request("POST", "/sim/heap/reset", auth=None), "heap reset")
        figures["idle_alloc"] = idle["alloc"]
        expect(panel.request("POST", "/sim/keypad", {"keys": "%d#" % APARTMENT}, auth=None), "keys")

        def lock_opened():
            locks = panel.request("GET", "/sim/locks", auth=None).json["locks"]
            return locks[0]["openings"] > 0

        if not poll_until(lock_opened, 20):
            call = panel.request("GET", "/sim/call", auth=None)
            raise RuntimeError("lock 1 never opened; call: %r" % call)
        panel.request("POST", "/sim/call/hangup", auth=None)
        poll_until(lambda: panel.request("GET", "/sim/call", auth=None).json["state"] == "idle", 10)
        figures["call_peak"] = expect(panel.request("GET", "/sim/heap", auth=None), "heap")["peak"]
        if with_audio:
            figures["audio_call_peak"] = audio_call(panel, os.path.join(work, "echo-%d" % heap_kib))
        return figures
    finally:
        panel.stop()
        if talker is not None:
            talker.stop()
        shutil.rmtree(data, ignore_errors=True)


def passes(store_dir, heap_kib, work):
    try:
        smoke(store_dir, heap_kib, work)
    except (RuntimeError, OSError, ValueError, KeyError) as error:
        print("# %d KiB: fails (%s)" % (heap_kib, str(error).splitlines()[0][:160]), flush=True)
        return False
    print("# %d KiB: passes" % heap_kib, flush=True)
    return True


def minimum_heap(store_dir, high_kib, work):
    """Bisect in STEP_KIB steps: the smallest heap that passes (None: not even high)."""
    low = SEARCH_LOW_KIB // STEP_KIB  # in steps; assumed to fail
    high = high_kib // STEP_KIB
    if not passes(store_dir, high * STEP_KIB, work):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if passes(store_dir, middle * STEP_KIB, work):
            high = middle
        else:
            low = middle
    return high * STEP_KIB


def info_rate(panel):
    connection_count = INFO_REQUESTS
    start = time.perf_counter()
    for _ in range(connection_count):
        connection = http.client.HTTPConnection("127.0.0.1", panel.port, timeout=10)
        connection.request("GET", "/api/info")
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError("info: %d" % response.status)
    return connection_count / (time.perf_counter() - start)


def request_rates(work, heap_kib):
    rates = {}
    for runtime in ("cpython", "micropython"):
        data = os.path.join(work, "rate-" + runtime)
        extra = ["--sip-port", "0", "--no-adapter"]
        if runtime == "micropython":
            extra += ["--heap-kib", str(heap_kib)]
        panel = PanelProcess(data, runtime=runtime, extra_args=extra).start(timeout=60)
        try:
            info_rate(panel)  # warm-up: connections, first-request allocations
            rates[runtime] = info_rate(panel)
        finally:
            panel.stop()
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-search", action="store_true", help="skip the heap search")
    parser.add_argument("--heap-kib", type=int, help="heap of the measured runs (board's)")
    args = parser.parse_args()
    if sipp_path() is None:
        print("# sipp missing: `make sipp` installs sip-tester", flush=True)
        return 1
    build = compile_firmware.build_board("unix")
    with open(os.path.join(build, "board.json")) as handle:
        board_heap = json.load(handle).get("heap_kib", 1024)
    heap_kib = args.heap_kib or board_heap
    emit("firmware_mpy_bytes", compile_firmware.tree_bytes(build), "bytes")
    work = tempfile.mkdtemp(prefix="bench-mpyunix-")
    try:
        data = os.path.join(work, "scale")
        bench_scale.build(data, random.Random(4))
        store_dir = os.path.join(data, "full")
        figures = smoke(store_dir, heap_kib, work, with_audio=True)
        code = code_heap(build, heap_kib, figures["boot_modules"])
        emit("mpyunix_code_heap_bytes", code, "bytes")
        image = romfs_image(build, work)
        if image is not None:
            in_place = code_heap(build, heap_kib, figures["boot_modules"], image)
            emit("mpyunix_code_heap_romfs_bytes", in_place, "bytes (code run from a ROMFS image)")
        code_32 = code_heap_32(build, figures["boot_modules"])
        if code_32 is not None:
            emit("mpy32_code_heap_bytes", code_32, "bytes (the same imports on a 32-bit port)")
        emit("mpyunix_data_heap_bytes", figures["boot_alloc"] - code, "bytes (target 49152)")
        emit(
            "mpyunix_call_peak_bytes",
            figures["call_peak"] - figures["idle_alloc"],
            "bytes (target 65536)",
        )
        emit(
            "mpyunix_audio_call_peak_bytes",
            figures["audio_call_peak"],
            "bytes (target 65536, the call-peak target; RTP both ways)",
        )
        rates = request_rates(work, heap_kib)
        emit("mpyunix_info_req_per_s", "%.0f" % rates["micropython"], "req/s")
        emit("cpython_info_req_per_s", "%.0f" % rates["cpython"], "req/s")
        emit("mpyunix_info_ratio", "%.2f" % (rates["micropython"] / rates["cpython"]), "x")
        if not args.no_search:
            found = minimum_heap(store_dir, heap_kib, work)
            emit(
                "mpyunix_min_heap_kib",
                found if found is not None else ">%d" % heap_kib,
                "KiB (target 320)",
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
