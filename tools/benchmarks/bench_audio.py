"""Audio benchmarks: G.711 frames and the jitter buffer on the unix MicroPython.

Runs a snippet under `.venv/bin/micropython` (the unix port: the native
emitters a board has, so the viper twins are what is measured) with
firmware/ on its path, and the plain-Python versions in the same run, so the
figures compare as ratios. CPython's figures of the same code are printed
for reference. Prints one `name: value unit` line per figure. Targets:
mpy_g711_encode_frame_us and mpy_g711_decode_frame_us at most 50 us.

The jitter buffer on a bad network (CPython, real time): two RTP sessions
stream numbered frames both ways for NETEM_SECONDS through the network
emulator (tests/support/netem.py: 5 % loss, 0-40 ms uniform delay, seed 1;
tests/support/rtp_stream.py):
  jitter_netem_settled_delay_ms   median send-to-playout delay over the last
                                  half of the call, the mean of both directions
  jitter_netem_settled_depth      the buffer's depth at the end (frames, mean)
  jitter_netem_concealed_frames   frames concealed, both directions together
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
sys.path.insert(0, FIRMWARE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
NETEM_SECONDS = 10

from panel.proto import g711, jitter  # noqa: E402

MICROPYTHON_SNIPPET = (
    r"""
import sys, gc, time
sys.path.insert(0, %r)
from array import array
from panel.proto import g711, jitter

samples = bytes(array("h", [((index * 409) %% 60000) - 30000 for index in range(160)]))
payload = bytearray(160)
pcm = bytearray(320)
print("mpy_g711_native: %%d bool" %% g711.NATIVE)

def measure(function, first, second, rounds=2000):
    start = time.ticks_us()
    for _ in range(rounds):
        function(first, second)
    return time.ticks_diff(time.ticks_us(), start) / rounds

encode = measure(g711.ulaw_encode, samples, payload)
decode = measure(g711.ulaw_decode, payload, pcm)
print("mpy_g711_encode_frame_us: %%.2f us" %% encode)
print("mpy_g711_decode_frame_us: %%.2f us" %% decode)
print("mpy_g711_alaw_encode_frame_us: %%.2f us" %% measure(g711.alaw_encode, samples, payload))
python_encode = measure(g711.ulaw_encode_python, samples, payload, 200)
python_decode = measure(g711.ulaw_decode_python, payload, pcm, 200)
print("mpy_g711_encode_frame_python_us: %%.1f us" %% python_encode)
print("mpy_g711_decode_frame_python_us: %%.1f us" %% python_decode)
print("mpy_g711_encode_native_speedup: %%.0f x" %% (python_encode / encode))

buffer = jitter.JitterBuffer(g711.ulaw_decode)
frame = bytes(160)
rounds = 2000
gc.collect()
start = time.ticks_us()
for sequence in range(rounds):
    # Pairs swapped: every frame goes through the reordering slots.
    buffer.put(sequence ^ 1, frame)
    buffer.pull(pcm)
elapsed = time.ticks_diff(time.ticks_us(), start)
print("mpy_jitter_buffer_frame_us: %%.1f us" %% (elapsed / rounds))
buffer = None
gc.collect()
before = gc.mem_alloc()
buffer = jitter.JitterBuffer(g711.ulaw_decode)
gc.collect()
print("mpy_jitter_buffer_heap_bytes: %%d bytes" %% (gc.mem_alloc() - before))
"""
    % FIRMWARE
)


def _cpython_figures():
    from array import array

    samples = bytes(array("h", [((index * 409) % 60000) - 30000 for index in range(160)]))
    payload = bytearray(160)
    pcm = bytearray(320)
    rounds = 500
    start = time.perf_counter()
    for _ in range(rounds):
        g711.ulaw_encode(samples, payload)
    print("g711_encode_frame_us: %.1f us" % ((time.perf_counter() - start) * 1e6 / rounds))
    start = time.perf_counter()
    for _ in range(rounds):
        g711.ulaw_decode(payload, pcm)
    print("g711_decode_frame_us: %.1f us" % ((time.perf_counter() - start) * 1e6 / rounds))
    buffer = jitter.JitterBuffer(g711.ulaw_decode)
    start = time.perf_counter()
    for sequence in range(rounds):
        buffer.put(sequence ^ 1, payload)
        buffer.pull(pcm)
    print("jitter_buffer_frame_us: %.1f us" % ((time.perf_counter() - start) * 1e6 / rounds))


def _netem_figures():
    from support.rtp_stream import run_call

    result = run_call(seconds=NETEM_SECONDS, loss=0.05, jitter_ms=(0, 40), seed=1)
    sides = [result.sides[name] for name in ("a", "b")]
    buffers = [result.sessions[name].jitter for name in ("a", "b")]
    delay = sum(side.settled(3) for side in sides) / 2
    lost = sum(result.emulator.counts(name)[1] for name in ("a->b", "b->a"))
    pulls = sum(len(side.pulls) for side in sides)
    print("jitter_netem_settled_delay_ms: %.1f ms (5 %% loss, 0-40 ms jitter)" % delay)
    print("jitter_netem_settled_depth: %.1f frames" % (sum(b.depth for b in buffers) / 2))
    print(
        "jitter_netem_concealed_frames: %d frames (of %d pulls; %d datagrams lost)"
        % (sum(b.counters["concealed"] for b in buffers), pulls, lost)
    )


def main():
    _cpython_figures()
    _netem_figures()
    micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(micropython):
        print("# unix MicroPython figures unavailable: no %s" % micropython)
        return
    result = subprocess.run(
        [micropython, "-c", MICROPYTHON_SNIPPET],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        print("# unix MicroPython figures failed: %s" % result.stderr.strip()[-300:])


if __name__ == "__main__":
    main()
