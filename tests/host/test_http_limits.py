"""The HTTP server's limits and keep-alive, over real sockets, against the
panel process `make run` starts (tests/support/panel_process.py), on a board
file with short limits so each test takes a few seconds.

What a hostile or broken client sees: 431 past the header count or bytes (in
each contract's error shape), 414 past the request line, the process not
growing under a header flood, a slowloris client and an idle keep-alive
connection closed after their limits, and a new client served while the
connection table is full of idle ones. What a good client sees: several
requests on one connection, pipelined ones answered in order, HTTP/1.0 and
`Connection: close` as they ask.
"""

import http.client
import json
import os
import socket
import threading
import time

import pytest

from support.panel_process import BASIC, ROOT, PanelProcess
from support.raw_http import closed_by_server, connect, flood, read_answer

LIMITS = {
    "http_request_line_bytes": 1024,
    "http_header_count": 16,
    "http_header_bytes": 2048,
    "http_request_ms": 2000,
    "http_idle_ms": 1500,
    "http_connections": 4,
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    directory = tmp_path_factory.mktemp("http-limits")
    with open(os.path.join(ROOT, "boards", "host", "board.json")) as handle:
        board = json.load(handle)
    board["limits"].update(LIMITS)
    path = directory / "board.json"
    path.write_text(json.dumps(board))
    process = PanelProcess(
        directory / "data", extra_args=["--sip-port", "0", "--no-adapter", "--board", str(path)]
    ).start()
    yield process
    process.stop()


def _panel_pid(panel):
    """The panel process itself: host.run's child (host.panel_process)."""
    launcher = panel.process.pid
    with open("/proc/%d/task/%d/children" % (launcher, launcher)) as handle:
        children = [int(pid) for pid in handle.read().split()]
    for pid in children:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            if b"host.panel_process" in handle.read():
                return pid
    raise AssertionError("no panel process under %d" % launcher)


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# -- header limits -------------------------------------------------------------


def test_too_many_headers_get_431_in_the_basip_shape(limited):
    request = b"GET /api/info HTTP/1.1\r\nHost: panel\r\n" + b"X-A: 1\r\n" * 16 + b"\r\n"
    with connect(limited.port) as sock:
        sock.sendall(request)
        status, headers, body, _ = read_answer(sock)
    assert status == 431
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"error": "Request header fields too large"}
    # One header fewer is a normal request.
    assert limited.request("GET", "/api/info", headers={"X-A": "1"}).status == 200


def test_too_many_header_bytes_get_431_in_the_redirect_rules_shape(limited):
    request = b"GET /rest/v1/redirectrules HTTP/1.1\r\nX-Big: " + b"b" * 2100 + b"\r\n\r\n"
    with connect(limited.port) as sock:
        sock.sendall(request)
        status, _, body, _ = read_answer(sock)
    assert status == 431
    assert json.loads(body) == {
        "error_code": 1431,
        "error_message": "Request header fields too large",
    }


def test_a_request_line_past_its_limit_gets_414(limited):
    with connect(limited.port) as sock:
        sock.sendall(b"GET /api/info?" + b"a=1&" * 400 + b" HTTP/1.1\r\n\r\n")
        status, _, body, _ = read_answer(sock)
    assert status == 414 and json.loads(body) == {"error": "Request line too long"}


def test_a_header_flood_is_answered_431_and_the_process_does_not_grow(limited):
    pid = _panel_pid(limited)
    before = _rss_kib(pid)
    results = []

    def one():
        results.append(flood(limited.port, "/api/info", b"X-Flood: 0123456789abcdef\r\n", 28 << 20))

    # Four at once, as the probe did (it grew the process by 278 MB).
    floods = [threading.Thread(target=one) for _ in range(4)]
    for thread in floods:
        thread.start()
    for thread in floods:
        thread.join(60)
    grown = _rss_kib(pid) - before
    print("flood: sent %r bytes, RSS grew %d KiB" % ([sent for _, sent in results], grown))
    assert [answer[0] for answer, _ in results] == [431] * 4
    # The server stopped reading long before the 28 MB were sent.
    assert all(sent < (8 << 20) for _, sent in results), [sent for _, sent in results]
    assert grown < 8 * 1024, "RSS grew by %d KiB" % grown
    assert limited.request("GET", "/api/info").status == 200


# -- time limits -----------------------------------------------------------------


def test_a_slowloris_client_is_closed_after_the_request_limit(limited):
    sock = connect(limited.port)
    start = time.monotonic()
    closed_after = None
    try:
        for byte in b"GET /api/info HTTP/1.1\r\nX-Slow: " + b"s" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(1.0)
            try:
                if not sock.recv(1024):
                    break
            except socket.timeout:
                continue  # one byte per second, as a slowloris client sends
            except ConnectionResetError:
                break
            if time.monotonic() - start > 10:
                break
        closed_after = time.monotonic() - start
    finally:
        sock.close()
    # Closed once http_request_ms (2 s) had passed since its first byte: not
    # before, and long before its 130 bytes at one a second were all sent.
    assert 1.9 <= closed_after <= 5, closed_after


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_limit(limited):
    with connect(limited.port) as sock:
        sock.sendall(b"GET /api/info HTTP/1.1\r\nHost: panel\r\n\r\n")
        status, headers, _, _ = read_answer(sock)
        assert status == 200 and "connection" not in headers
        start = time.monotonic()
        closed_after = closed_by_server(sock, 6)
    assert closed_after is not None, "still open after 6 s"
    assert 1.2 <= time.monotonic() - start <= 4, closed_after


def test_a_silent_new_connection_is_closed_after_the_idle_limit(limited):
    with connect(limited.port) as sock:
        closed_after = closed_by_server(sock, 6)
    assert closed_after is not None and 1.2 <= closed_after <= 4, closed_after


# -- the connection limit ----------------------------------------------------------


def test_a_full_table_of_idle_connections_makes_room_for_a_new_client(limited):
    idle = []
    try:
        for _ in range(LIMITS["http_connections"]):
            sock = connect(limited.port)
            sock.sendall(b"GET /api/info HTTP/1.1\r\n\r\n")
            assert read_answer(sock)[0] == 200
            idle.append(sock)
            time.sleep(0.05)
        # The table is full of idle keep-alive connections: a new client is
        # still served, and the oldest idle connection is the one closed.
        reply = limited.request("GET", "/api/info")
        assert reply.status == 200
        assert closed_by_server(idle[0], 0.5) is not None
        for sock in idle[1:]:
            assert closed_by_server(sock, 0.05) is None
    finally:
        for sock in idle:
            sock.close()


def test_a_full_table_of_busy_connections_closes_the_new_one(limited):
    busy = []
    try:
        for _ in range(LIMITS["http_connections"]):
            sock = connect(limited.port)
            sock.sendall(b"GET /api/info HTTP/1.1\r\nX-Half: ")  # a request under way
            busy.append(sock)
        time.sleep(0.2)
        newcomer = connect(limited.port)
        newcomer.sendall(b"GET /api/info HTTP/1.1\r\n\r\n")
        closed_after = closed_by_server(newcomer, 1.0)
        newcomer.close()
        assert closed_after is not None, "the new connection was served past the limit"
        for sock in busy:
            assert closed_by_server(sock, 0.05) is None
    finally:
        for sock in busy:
            sock.close()
    # Once they are gone, clients are served again.
    time.sleep(0.3)
    assert limited.request("GET", "/api/info").status == 200


# -- keep-alive ----------------------------------------------------------------------


def test_several_requests_on_one_kept_alive_connection(limited):
    connection = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=10)
    try:
        connection.request("GET", "/api/info")
        first = connection.getresponse()
        assert first.status == 200 and json.loads(first.read())["device_model"]
        sock = connection.sock
        for path in ("/api/v1/forward/items?limit=5", "/api/v1/device/call/dial/timeout"):
            connection.request("GET", path, headers={"Authorization": BASIC})
            reply = connection.getresponse()
            assert reply.status == 200 and isinstance(json.loads(reply.read()), dict)
        connection.request("GET", "/api/v1/nothing-here", headers={"Authorization": BASIC})
        missing = connection.getresponse()
        assert missing.status == 404 and json.loads(missing.read()) == {"error": "Not found"}
        # One socket throughout: http.client reconnects only after a close.
        assert connection.sock is sock
    finally:
        connection.close()


def test_pipelined_requests_are_answered_in_order(limited):
    body = json.dumps({"forward_entity_list": ["sip:5@10.0.0.5"]}).encode()
    auth = b"Authorization: " + BASIC.encode() + b"\r\n"
    requests = (
        b"POST /api/v1/forward/item/5 HTTP/1.1\r\n" + auth
        + b"Content-Length: %d\r\n\r\n" % len(body) + body
        + b"GET /api/v1/forward/item/5 HTTP/1.1\r\n" + auth + b"\r\n"
        + b"GET /api/info HTTP/1.1\r\n\r\n"
        + b"GET /api/v1/forward/item/6 HTTP/1.1\r\n" + auth + b"Connection: close\r\n\r\n"
    )  # fmt: skip
    with connect(limited.port) as sock:
        sock.sendall(requests)
        answers = []
        rest = b""
        for _ in range(4):
            status, headers, payload, rest = read_answer(sock, rest)
            answers.append((status, headers, payload))
        assert sock.recv(1024) == b""  # closed as the last request asked
    assert [answer[0] for answer in answers] == [200, 200, 200, 404]
    assert json.loads(answers[1][2])["forward_entity_list"] == ["sip:5@10.0.0.5"]
    assert "device_model" in json.loads(answers[2][2])
    assert answers[3][1]["connection"] == "close"


def test_http_1_0_is_closed_unless_it_asks_to_keep_alive(limited):
    with connect(limited.port) as sock:
        sock.sendall(b"GET /api/info HTTP/1.0\r\n\r\n")
        status, headers, _, _ = read_answer(sock)
        assert status == 200 and headers["connection"] == "close"
        assert closed_by_server(sock, 2) is not None
    with connect(limited.port) as sock:
        for _ in range(2):
            sock.sendall(b"GET /api/info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, headers, _, _ = read_answer(sock)
            assert status == 200 and headers["connection"] == "keep-alive"
