"""SIP benchmarks: message parse+build round trips, MD5 for digest auth.

CPython figures measure our code and the baseline (hashlib.md5) in the same
run; MicroPython figures come from the WebAssembly interpreter (the build
whose hashlib has no md5, so the pure-Python MD5 is what a digest costs there).
Prints one `name: value unit` line per figure.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from panel.proto import digest, md5, sip_message  # noqa: E402

INVITE = (
    "INVITE sip:5588@10.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Panel" <sip:100001@10.0.0.1>;tag=1928301774\r\n'
    "To: <sip:5588@10.0.0.1>\r\n"
    "Call-ID: a84b4c76e66710@10.0.0.7\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:100001@10.0.0.7:5062>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n"
    "User-Agent: intercom-panel\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 0\r\n\r\n"
).encode()

# One digest input as a registrar challenge produces it (about 60 bytes).
DIGEST_INPUT = b"100001:asterisk:s3cret-password-of-31-characters"

# Heap taken by importing the SIP stack from source (phases: mpy_run.mjs
# can only free what earlier runPython() calls left behind).
MICROPYTHON_HEAP_SNIPPET = """import gc
gc.collect()
before = gc.mem_alloc()
# ---- phase ----
from panel.drivers import sip_ua, rtp_session
# ---- phase ----
gc.collect()
print("mpy_sip_stack_import_heap_bytes: %d bytes" % (gc.mem_alloc() - before))
"""

MICROPYTHON_SNIPPET = r"""
import time
from panel.proto import md5, sip_message
data = %r
count = 0
start = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), start) < 1000:
    sip_message.parse(data).to_bytes()
    count += 1
elapsed = time.ticks_diff(time.ticks_ms(), start)
print("mpy_sip_parse_build_per_s: %%.0f per_s" %% (count * 1000 / elapsed))
count = 0
start = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), start) < 1000:
    md5.pure_md5_hex(%r)
    count += 1
elapsed = time.ticks_diff(time.ticks_ms(), start)
print("mpy_md5_pure_us: %%.1f us" %% (elapsed * 1000 / count))
print("mpy_digest_response_pure_us: %%.1f us" %% (3 * elapsed * 1000 / count))
""" % (INVITE, DIGEST_INPUT)


def _rate(function, seconds=1.0):
    """Calls per second of function over about `seconds`."""
    count = 0
    start = time.perf_counter()
    while True:
        for _ in range(50):
            function()
        count += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def main():
    round_trips = _rate(lambda: sip_message.parse(INVITE).to_bytes())
    print("sip_parse_build_per_s: %.0f per_s" % round_trips)
    pure = _rate(lambda: md5.pure_md5_hex(DIGEST_INPUT))
    native = _rate(lambda: hashlib.md5(DIGEST_INPUT).hexdigest())
    print("md5_pure_us: %.2f us" % (1e6 / pure))
    print("md5_hashlib_us: %.3f us" % (1e6 / native))
    print("md5_pure_vs_hashlib_ratio: %.0f x" % (native / pure))
    challenge = digest.parse_challenge('Digest realm="asterisk", nonce="5f3e", qop="auth"')
    response = _rate(
        lambda: digest.authorization(
            challenge, "REGISTER", "sip:10.0.0.1", "100001", "s3cret", "0a4f113b"
        )
    )
    print("digest_authorization_header_us: %.1f us" % (1e6 / response))

    for snippet in (MICROPYTHON_SNIPPET, MICROPYTHON_HEAP_SNIPPET):
        _run_micropython(snippet)


def _run_micropython(snippet):
    runner = os.path.join(ROOT, "tools", "benchmarks", "mpy_run.mjs")
    if not os.path.exists(runner):
        print("# MicroPython figures unavailable: no %s" % runner)
        return
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(snippet)
        path = handle.name
    try:
        result = subprocess.run(
            ["node", runner, path], capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            print("# MicroPython figures unavailable: %s" % result.stderr.strip()[-200:])
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
