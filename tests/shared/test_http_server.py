# panel.http_server on both runtimes, over in-memory streams: the request
# limits (checked before the bytes are read: the fake reader counts what it
# handed out), keep-alive and pipelining, and the connection table's deadlines
# and eviction with a fake clock. The same server over real sockets, against
# the real panel process: tests/host/test_http_limits.py.
import json

from fake_streams import FakeReader, FakeWriter, split_answers
from microdot import Microdot

from checks import raises
from panel.compat import run_handlers_in_loop
from panel.http_server import (
    HANDLING,
    IDLE,
    READ_BYTES,
    RECEIVING,
    HttpConnection,
    HttpLimits,
    HttpServer,
    RequestError,
    parse_head,
)
from panel.wiring import error_answer

LIMITS = HttpLimits(
    request_line_bytes=64,
    header_count=4,
    header_bytes=128,
    body_bytes=32,
    request_ms=1000,
    idle_ms=500,
    connections=2,
)


def _app():
    import microdot.microdot as microdot_core

    run_handlers_in_loop(microdot_core)
    app = Microdot()

    async def hello(request):
        return {"path": request.path, "n": request.args.get("n")}

    async def echo(request):
        return {"body": request.body.decode()}

    app.route("/hello", methods=["GET"])(hello)
    app.route("/rest/hello", methods=["GET"])(hello)
    app.route("/echo", methods=["POST"])(echo)
    return app


def _server(ticks=None):
    return HttpServer(_app(), LIMITS, error_answer, ticks_ms=ticks)


async def _run(chunks, server=None):
    """(answers, reader, writer) of one connection fed chunks, then closed."""
    server = server or _server()
    reader = FakeReader(chunks)
    writer = FakeWriter()
    connection = HttpConnection(server, reader, writer)
    await connection.run()
    return split_answers(writer.data), reader, writer


# -- the head ----------------------------------------------------------------


def test_head_parses_and_decides_keep_alive():
    head = parse_head(b"GET /hello?n=1 HTTP/1.1\r\nHost: panel\r\nX-A:  b ", LIMITS)
    assert head.method == "GET" and head.target == "/hello?n=1" and head.version == "1.1"
    assert head.headers["host"] == "panel" and head.headers["X-A"] == "b"
    assert head.keep_alive is True and head.content_length == 0
    assert parse_head(b"GET / HTTP/1.1\r\nConnection: close", LIMITS).keep_alive is False
    assert parse_head(b"GET / HTTP/1.0", LIMITS).keep_alive is False
    assert parse_head(b"GET / HTTP/1.0\nConnection: Keep-Alive", LIMITS).keep_alive is True


def test_head_limits_at_and_past_each():
    line = b"GET /" + b"a" * (64 - len(b"GET / HTTP/1.1")) + b" HTTP/1.1"
    assert len(line) == 64
    assert parse_head(line, LIMITS).target.startswith("/a")
    assert raises(RequestError, parse_head, line.replace(b"/", b"/a", 1), LIMITS).status == 414
    four = b"GET / HTTP/1.1" + b"\r\nA: 1" * 4
    assert len(parse_head(four, LIMITS).headers) == 1
    five = b"GET /rest/x HTTP/1.1" + b"\r\nA: 1" * 5
    error = raises(RequestError, parse_head, five, LIMITS)
    assert error.status == 431 and error.path == "/rest/x"
    # Header bytes: from the first header line to its line end, 128 at most.
    fits = b"GET / HTTP/1.1\r\nA: " + b"x" * (128 - 5) + b"\r"
    assert parse_head(fits, LIMITS).headers["A"] == "x" * 123
    assert raises(RequestError, parse_head, fits[:-1] + b"x\r", LIMITS).status == 431


def test_head_garbage_is_a_400():
    for head in (
        b"GET / HTTP/2.0",
        b"GET /",
        b"GET  / HTTP/1.1",
        b"GET / HTTP/1.1\r\nno colon here",
        b"GET / HTTP/1.1\r\nName : value",
        b"GET / HTTP/1.1\r\nA: 1\r\n folded",
        b"GET / HTTP/1.1\r\nContent-Length: -1",
        b"GET / HTTP/1.1\r\nContent-Length: 1e3",
        b"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"GET /\xff HTTP/1.1",
        b"GET / HTTP/1.1\r\nA: \xff",
    ):
        assert raises(RequestError, parse_head, head, LIMITS).status == 400, head


# -- reading a connection ------------------------------------------------------


async def test_one_byte_at_a_time_reads_the_same_request():
    raw = b"GET /hello?n=7 HTTP/1.1\r\nHost: x\r\n\r\n"
    whole, _, _ = await _run([raw])
    single, _, _ = await _run([raw[index : index + 1] for index in range(len(raw))])
    assert whole == single
    assert whole[0][0] == 200 and json.loads(whole[0][2]) == {"path": "/hello", "n": "7"}


async def test_endless_headers_get_431_having_read_little():
    reader = FakeReader([b"GET /hello HTTP/1.1\r\n"] + [b"X-Filler: 0123456789\r\n"] * 100000)
    writer = FakeWriter()
    await HttpConnection(_server(), reader, writer).run()
    answers = split_answers(writer.data)
    assert [answer[0] for answer in answers] == [431]
    assert json.loads(answers[0][2]) == {"error": "Request header fields too large"}
    assert answers[0][1]["connection"] == "close"
    # Line and headers, one read beyond, then the bounded linger.
    assert reader.handed_out < 64 + 128 + 4 + READ_BYTES + 65536 + READ_BYTES


async def test_endless_request_line_gets_414_in_the_redirect_rules_shape():
    reader = FakeReader([b"GET /rest/" + b"a" * 5000])
    writer = FakeWriter()
    await HttpConnection(_server(), reader, writer).run()
    answers = split_answers(writer.data)
    assert answers[0][0] == 414
    assert json.loads(answers[0][2]) == {
        "error_code": 1414,
        "error_message": "Request line too long",
    }


async def test_too_many_small_headers_get_431():
    answers, _, _ = await _run([b"GET /rest/hello HTTP/1.1\r\n" + b"A: 1\r\n" * 5 + b"\r\n"])
    assert answers[0][0] == 431
    assert json.loads(answers[0][2])["error_code"] == 1431


async def test_pipelined_requests_are_answered_in_order():
    raw = (
        b"GET /hello?n=1 HTTP/1.1\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /hello?n=3 HTTP/1.1\r\n\r\n"
    )
    answers, _, writer = await _run([raw])
    assert [answer[0] for answer in answers] == [200, 200, 200]
    assert json.loads(answers[0][2])["n"] == "1"
    assert json.loads(answers[1][2]) == {"body": "hello"}
    assert json.loads(answers[2][2])["n"] == "3"
    assert "connection" not in answers[0][1]
    # The client closed: the connection ends without an answer more.
    assert writer.data.count(b"HTTP/1.1 ") == 3


async def test_connection_close_and_http_1_0_end_after_one_answer():
    for raw in (
        b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n\r\n",
        b"GET /hello HTTP/1.0\r\n\r\nGET /hello HTTP/1.0\r\n\r\n",
    ):
        answers, _, _ = await _run([raw])
        assert len(answers) == 1 and answers[0][1]["connection"] == "close"
    answers, _, _ = await _run(
        [b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n"]
    )
    assert [answer[1]["connection"] for answer in answers] == ["keep-alive", "close"]


async def test_oversized_body_gets_413_unread_and_the_connection_ends():
    reader = FakeReader(
        [b"POST /echo HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n", b"x" * 1000000],
    )
    writer = FakeWriter()
    await HttpConnection(_server(), reader, writer).run()
    answers = split_answers(writer.data)
    assert [answer[0] for answer in answers] == [413]
    assert answers[0][1]["connection"] == "close"
    assert reader.handed_out <= 100 + 65536 + READ_BYTES


async def test_expect_continue_gets_100_before_the_body():
    raw = b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    reader = FakeReader([raw, b"hi"])
    writer = FakeWriter()
    await HttpConnection(_server(), reader, writer).run()
    assert writer.data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
    assert writer.data.endswith(b'{"body": "hi"}')


async def test_head_answers_without_a_body():
    answers, _, writer = await _run([b"HEAD /hello HTTP/1.1\r\n\r\n"])
    assert writer.data.endswith(b"\r\n\r\n") and b"Content-Length: " in writer.data


# -- deadlines and the connection table ------------------------------------------


class _Clock:
    def __init__(self):
        self.now = 1000

    def __call__(self):
        return self.now


class _Task:
    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


def _connection(server):
    connection = HttpConnection(server, FakeReader([]), FakeWriter())
    connection.task = _Task()
    server.connections.append(connection)
    return connection


def test_sweep_closes_past_deadlines_but_never_a_request_being_answered():
    clock = _Clock()
    server = _server(clock)
    idle = _connection(server)
    receiving = _connection(server)
    receiving.enter(RECEIVING, LIMITS.request_ms)
    server.sweep(clock.now + 499)
    assert not idle.task.cancelled and len(server.connections) == 2
    server.sweep(clock.now + 500)
    assert idle.task.cancelled and not receiving.task.cancelled
    handling = _connection(server)
    handling.state = HANDLING
    server.sweep(clock.now + 1000)
    assert receiving.task.cancelled and not handling.task.cancelled
    assert server.connections == [handling] and server.timed_out == 2


def test_admit_closes_the_oldest_idle_connection_or_refuses():
    clock = _Clock()
    server = _server(clock)
    older = _connection(server)
    clock.now += 10
    newer = _connection(server)
    newcomer = HttpConnection(server, FakeReader([]), FakeWriter())
    assert server.admit(newcomer) is True
    assert older.task.cancelled and not newer.task.cancelled and server.evicted == 1
    busy = _connection(server)
    busy.enter(RECEIVING, LIMITS.request_ms)
    newer.state = HANDLING
    assert server.admit(HttpConnection(server, FakeReader([]), FakeWriter())) is False
    assert newer.state != IDLE and not busy.task.cancelled


def test_limits_come_from_a_board_limits_dict():
    names = {
        "http_request_line_bytes": 100,
        "http_header_count": 5,
        "http_header_bytes": 300,
        "body_bytes": 10,
        "http_request_ms": 2000,
        "http_idle_ms": 1000,
        "http_connections": 3,
    }
    limits = HttpLimits.from_limits(names)
    assert (limits.header_count, limits.idle_ms, limits.connections) == (5, 1000, 3)
    names["http_connections"] = 0
    raises(ValueError, HttpLimits.from_limits, names)


async def test_a_memory_error_outside_a_route_is_a_503_in_the_path_shape():
    # The heap runs out where no route's guard is (microdot making the
    # Request, the answer being made): 503 in the path's contract shape with
    # Retry-After, and the connection ends; never a dropped connection.
    class ShortHeap(Microdot):
        async def dispatch_request(self, request):
            raise MemoryError("memory allocation failed")

    server = HttpServer(ShortHeap(), LIMITS, error_answer)
    for path, shape in (
        (b"/hello", {"error": "Out of memory"}),
        (b"/rest/hello", {"error_code": 1503, "error_message": "Out of memory"}),
    ):
        raw = b"GET " + path + b" HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"
        answers, _, _ = await _run([raw], server)
        assert len(answers) == 1
        status, headers, body = answers[0]
        assert status == 503 and headers["retry-after"] == "1"
        assert headers["connection"] == "close"
        assert json.loads(body) == shape
