"""What the tests' helper processes (the panel, the adapter emulator, sipp's
peers baresip and kamailio) share: ending one and waiting on one."""

import os
import signal
import subprocess
import time


def stop_process(process, timeout=5, group=False):
    """SIGTERM (to its process group when group), wait up to timeout seconds,
    then SIGKILL. A process that has exited already is left alone."""
    if process is None or process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=10)


def read_log(path):
    """The text of a process's log file ("" before it exists)."""
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        return handle.read()


def wait_while_running(process, name, log, predicate, timeout, what):
    """Poll predicate until true; RuntimeError if the process exits first,
    AssertionError (with the end of log()) past timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            raise RuntimeError("%s exited (%s): %s" % (name, process.returncode, log()))
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s: %s" % (what, log()[-4000:]))
        time.sleep(0.05)
