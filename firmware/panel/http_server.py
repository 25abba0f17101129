# The panel's HTTP/1.1 server: the microdot app of both contracts, served
# within named limits, with keep-alive.
#
# microdot 2.7's own loop (Microdot.start_server, handle_request,
# Request.create) reads a request with readline(), which on MicroPython
# allocates a whole line before its length is checked, takes any number of
# header lines, never times a connection out and closes after every answer.
# This module replaces that loop and the reading of a request, and nothing
# else: a request it has read goes to app.dispatch_request (routes,
# before-request and error handlers), so the app answers as under microdot's
# own loop. microdot itself is not changed.
#
# Limits (HttpLimits; their names in the board file's "limits", their default
# values in panel.wiring.DEFAULT_LIMITS):
#   http_request_line_bytes  the request line (method, target, version), line
#                            end excluded; longer: 414
#   http_header_count        header lines of one request; more: 431
#   http_header_bytes        the header lines' bytes, line ends included;
#                            more: 431
#   body_bytes               Content-Length; more: the app's 413 (microdot's
#                            max_content_length, set by the wiring), the
#                            body never read
#   http_request_ms          from a request's first byte to its last one; and
#                            again for sending its answer: past it the
#                            connection is closed, without an answer
#   http_idle_ms             a connection with no request under way (a new
#                            one, or one kept alive after an answer): past it,
#                            closed
#   http_connections         connections at once: one more closes the oldest
#                            idle one first; when none is idle, the new one is
#                            closed at once (a board has a handful of sockets:
#                            a management server must still get in)
# Every byte limit is checked before the bytes are read: a connection's buffer
# never holds more than its request line and headers plus one read
# (READ_BYTES). Errors of the head (400, 414, 431) are answered in the shape
# of the contract the path belongs to (error_answer, from the wiring).
#
# Keep-alive (RFC 9112 9.3): kept for HTTP/1.1 without `Connection: close` and
# for HTTP/1.0 with `Connection: keep-alive`; pipelined requests are read and
# answered one at a time, in order. A request whose body is not read (413,
# Transfer-Encoding) or whose head is wrong ends its connection.
#
# Time: one sweeper task checks every connection's deadline a few times per
# limit and cancels the connection's task when it has passed (a cancelled
# read or write is the one way to stop both runtimes' streams); a request
# being handled by the app is never cancelled, so a store write is never cut.
import asyncio
import gc

from microdot.microdot import NoCaseDict, Request, Response

from panel import compat
from panel.compat import const
from panel.drivers.sockets import address_tuple

# One read from a client's socket: what a connection's buffer may hold beyond
# its limits, and the unit in which a body is read.
READ_BYTES = const(1024)
# Answers up to this size leave in one write (one send on CPython; the copy
# of head and body is bounded by this); bigger ones in two.
_JOIN_BYTES = const(4096)
# After an error answer to a request not read to its end, the client's
# remaining bytes are read and dropped for at most this long and this many,
# so that closing with unread input (a TCP reset) does not destroy the answer
# before the client has read it.
_LINGER_MS = const(1000)
LINGER_BYTES = const(65536)
# The sweeper wakes this many times per shortest time limit, at least every
# _SWEEP_MIN_MS and at most every _SWEEP_MAX_MS.
_SWEEPS_PER_LIMIT = const(4)
_SWEEP_MIN_MS = const(20)
_SWEEP_MAX_MS = const(1000)

# A connection's states (public: tests read them). Only HANDLING has no
# deadline.
IDLE = const(0)  # no byte of a request yet: http_idle_ms
RECEIVING = const(1)  # a request under way: http_request_ms from its first byte
HANDLING = const(2)  # the app answers: never cancelled
SENDING = const(3)  # the answer goes out: http_request_ms
LINGERING = const(4)  # after an error: _LINGER_MS

_REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    507: "Insufficient Storage",
}

LIMIT_NAMES = (
    "http_request_line_bytes",
    "http_header_count",
    "http_header_bytes",
    "body_bytes",
    "http_request_ms",
    "http_idle_ms",
    "http_connections",
)


class HttpLimits:
    """The server's limits (see the module comment for each)."""

    def __init__(
        self,
        request_line_bytes,
        header_count,
        header_bytes,
        body_bytes,
        request_ms,
        idle_ms,
        connections,
    ):
        self.request_line_bytes = request_line_bytes
        self.header_count = header_count
        self.header_bytes = header_bytes
        self.body_bytes = body_bytes
        self.request_ms = request_ms
        self.idle_ms = idle_ms
        self.connections = connections

    @staticmethod
    def from_limits(limits):
        """From a board's limits dict (every name of LIMIT_NAMES present)."""
        for name in LIMIT_NAMES:
            value = limits[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError("limit %s must be a positive integer" % name)
        return HttpLimits(
            limits["http_request_line_bytes"],
            limits["http_header_count"],
            limits["http_header_bytes"],
            limits["body_bytes"],
            limits["http_request_ms"],
            limits["http_idle_ms"],
            limits["http_connections"],
        )


class RequestError(Exception):
    """A request the server does not take (the peer's garbage): its status
    and the path it named, if any; the connection ends after the answer."""

    def __init__(self, status, path=""):
        super().__init__(status)
        self.status = status
        self.path = path


class RequestHead:
    """A parsed request head: what microdot's Request is built from."""

    def __init__(self, method, target, version, headers, content_length, keep_alive):
        self.method = method
        self.target = target
        self.version = version  # "1.0" or "1.1"
        self.headers = headers  # microdot's NoCaseDict
        self.content_length = content_length
        self.keep_alive = keep_alive


def _path_of(target):
    cut = target.find("?")
    return target if cut < 0 else target[:cut]


def _partial_path(buffer, start):
    """The path of a request line not read whole (for the error's shape)."""
    first = buffer.find(b" ", start)
    if first < 0:
        return ""
    second = buffer.find(b" ", first + 1)
    end = second if second >= 0 else len(buffer)
    try:
        return _path_of(buffer[first + 1 : end].decode())
    except UnicodeError:
        return ""


def _has_token(value, token):
    for part in value.split(","):
        if part.strip().lower() == token:
            return True
    return False


def parse_head(head, limits):
    """RequestHead of head (bytes from the request line to the last header
    line, the blank line excluded; CRLF or LF line ends), or RequestError."""
    lines = head.split(b"\n")
    line = lines[0]
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > limits.request_line_bytes:
        raise RequestError(414, _partial_path(line, 0))
    try:
        text = line.decode()
    except UnicodeError:
        raise RequestError(400)
    parts = text.split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise RequestError(400)
    method, target, protocol = parts
    path = _path_of(target)
    if protocol == "HTTP/1.1":
        version = "1.1"
    elif protocol == "HTTP/1.0":
        version = "1.0"
    else:
        raise RequestError(400, path)
    if len(lines) - 1 > limits.header_count:
        raise RequestError(431, path)
    # From the first header line to the last one's line end.
    if len(head) - len(lines[0]) > limits.header_bytes:
        raise RequestError(431, path)
    headers = NoCaseDict()
    content_length = None
    for index in range(1, len(lines)):
        line = lines[index]
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            text = line.decode()
        except UnicodeError:
            raise RequestError(400, path)
        name, colon, value = text.partition(":")
        # No name, whitespace before the colon, or an obsolete folded line
        # (RFC 9112 5.1, 5.2): rejected, never guessed at.
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            raise RequestError(400, path)
        value = value.strip()
        lowered = name.lower()
        if lowered == "content-length":
            # Digits only; two different lengths are a smuggling attempt.
            if not value.isdigit() or len(value) > 12:
                raise RequestError(400, path)
            length = int(value)
            if content_length is not None and length != content_length:
                raise RequestError(400, path)
            content_length = length
        elif lowered == "transfer-encoding":
            # No chunked bodies here (microdot has none either): the body's
            # end would be unknown and the next request with it.
            raise RequestError(400, path)
        headers[name] = value
    connection = headers.get("Connection") or ""
    if version == "1.1":
        keep_alive = not _has_token(connection, "close")
    else:
        keep_alive = _has_token(connection, "keep-alive")
    return RequestHead(method, target, version, headers, content_length or 0, keep_alive)


def _head_end(buffer, start):
    """(end of the head, start of what follows) of the first blank line at or
    after start, or None: a line end followed by CRLF or LF."""
    crlf = buffer.find(b"\n\r\n", start)
    lf = buffer.find(b"\n\n", start)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 3
    return None


def encode_head(response, keep_alive, request_version):
    """The status line and headers of a completed microdot Response."""
    status = response.status_code
    reason = response.reason
    if reason is None:
        reason = _REASONS.get(status, "N/A")
    lines = ["HTTP/1.1 %d %s\r\n" % (status, reason)]
    headers = response.headers
    if not keep_alive:
        headers["Connection"] = "close"
    elif request_version == "1.0":
        headers["Connection"] = "keep-alive"
    for name in headers:
        value = headers[name]
        if isinstance(value, list):
            for each in value:
                lines.append("%s: %s\r\n" % (name, each))
        else:
            lines.append("%s: %s\r\n" % (name, value))
    lines.append("\r\n")
    return "".join(lines).encode()


class _Closed(Exception):
    """The client closed its side before a request was whole."""


class HttpConnection:
    """One client: its streams, the bytes read past the current request, its
    state and deadline (read by the server's sweeper)."""

    def __init__(self, server, reader, writer):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.task = None
        self.buffer = b""
        self.start = 0  # buffer[start:] is not consumed yet
        self.state = IDLE
        self.since = server.ticks_ms()
        self.deadline = compat.ticks_add(self.since, server.limits.idle_ms)
        self.abort = False
        self.path = ""  # the current request's path, once its head is read
        self.answering = False  # bytes of the current answer were written

    def enter(self, state, milliseconds):
        now = self.server.ticks_ms()
        self.state = state
        self.since = now
        self.deadline = compat.ticks_add(now, milliseconds)

    def pending(self):
        return len(self.buffer) - self.start

    async def _fill(self):
        """Read once more; False at the end of the client's stream."""
        data = await self.reader.read(READ_BYTES)
        if not data:
            return False
        if self.state == IDLE:
            # The first byte of a request starts its clock.
            self.enter(RECEIVING, self.server.limits.request_ms)
        if self.start >= len(self.buffer):
            self.buffer = data
        else:
            self.buffer = self.buffer[self.start :] + data
        self.start = 0
        return True

    async def read_head(self):
        """The next request's head (bytes), or None when the client closed
        before sending a byte of one. RequestError past a limit."""
        limits = self.server.limits
        most = limits.request_line_bytes + limits.header_bytes + 4
        scanned = self.start
        while True:
            buffer = self.buffer
            # Blank lines before a request line are skipped (RFC 9112 2.2).
            while self.start < len(buffer) and buffer[self.start] in (10, 13):
                self.start += 1
            scanned = max(scanned, self.start)
            found = _head_end(buffer, scanned)
            if found is not None:
                end, after = found
                head = buffer[self.start : end]
                self.start = after
                return head
            pending = len(buffer) - self.start
            first_line_end = buffer.find(b"\n", self.start)
            if first_line_end < 0 and pending > limits.request_line_bytes + 1:
                raise RequestError(414, _partial_path(buffer, self.start))
            if pending > most:
                raise RequestError(431, _partial_path(buffer, self.start))
            had = pending
            if not await self._fill():
                if had == 0:
                    return None
                raise _Closed()
            # _fill compacted the buffer (offsets start at 0 now); the blank
            # line may straddle the old bytes and the new.
            scanned = max(0, had - 2)

    async def read_body(self, length, path=""):
        """length bytes (at most body_bytes, checked by the caller); path: the
        request's, for the shape of a 413 when the heap cannot take them."""
        if length == 0:
            return b""
        pending = self.pending()
        if pending >= length:
            body = self.buffer[self.start : self.start + length]
            self.start += length
            return body
        parts = [self.buffer[self.start :]]
        self.buffer = b""
        self.start = 0
        missing = length - pending
        while missing > 0:
            data = await self.reader.read(min(missing, READ_BYTES))
            if not data:
                raise _Closed()
            parts.append(data)
            missing -= len(data)
        try:
            return b"".join(parts)
        except MemoryError:
            # A board's heap may hold the pieces but no one block of their
            # size: collect and try once more, else the client hears 413 (the
            # body is too large for now) instead of a dropped connection.
            gc.collect()
            try:
                return b"".join(parts)
            except MemoryError:
                raise RequestError(413, path)

    async def write(self, data):
        self.answering = True
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, response, keep_alive, request_version):
        """Write a microdot Response; whether the connection may go on."""
        if response is Response.already_handled:
            return False
        response.complete()
        body = response.body
        streamed = not isinstance(body, bytes)
        if streamed and "Content-Length" not in response.headers:
            keep_alive = False
        head = encode_head(response, keep_alive, request_version)
        if response.is_head:
            await self.write(head)
        elif not streamed:
            if len(body) <= _JOIN_BYTES:
                await self.write(head + body)
            else:
                self.answering = True
                self.writer.write(head)
                await self.write(body)
        else:
            await self.write(head)
            chunks = response.body_iter()
            async for chunk in chunks:
                if isinstance(chunk, str):
                    chunk = chunk.encode()
                await self.write(chunk)
            if hasattr(chunks, "aclose"):
                await chunks.aclose()
        return keep_alive

    async def linger(self):
        """Read and drop what the client still sends, for a bounded time."""
        self.enter(LINGERING, _LINGER_MS)
        dropped = 0
        while dropped < LINGER_BYTES:
            data = await self.reader.read(READ_BYTES)
            if not data:
                return
            dropped += len(data)

    async def answer_out_of_memory(self):
        """503 in the path's contract shape (as a route's, api.router) when
        the heap ran out outside a route: reading the request, making or
        sending its answer. Nothing to do once part of an answer is out:
        the connection closes."""
        gc.collect()
        if self.answering:
            return
        body, status, headers = self.server.error_answer(self.path, 503)
        self.enter(SENDING, self.server.limits.request_ms)
        await self.send(Response(body, status, headers), False, "1.1")

    async def answer_error(self, error):
        body, status, headers = self.server.error_answer(error.path, error.status)
        self.enter(SENDING, self.server.limits.request_ms)
        await self.send(Response(body, status, headers), False, "1.1")
        await self.linger()

    def peer(self):
        """The client's (ip, port): the unix port gives raw sockaddr bytes,
        which every per-client limit (services.accounts) would see as one."""
        address = self.writer.get_extra_info("peername")
        try:
            return address_tuple(address)
        except (ValueError, TypeError, IndexError):
            return address

    def request(self, head, body):
        return Request(
            self.server.app,
            self.peer(),
            head.method,
            head.target,
            head.version,
            head.headers,
            body=body,
            sock=(self.reader, self.writer),
        )

    async def run(self):
        """Requests one after another until the connection ends."""
        server = self.server
        limits = server.limits
        while True:
            if self.pending():
                # A pipelined request: its bytes are here already.
                self.enter(RECEIVING, limits.request_ms)
            elif self.state != IDLE:
                self.enter(IDLE, limits.idle_ms)
            self.path = ""
            self.answering = False
            try:
                if not await self.serve_one():
                    return
            except MemoryError:
                # A route's own MemoryError is its 503 already (api.router).
                await self.answer_out_of_memory()
                return

    async def serve_one(self):
        """Read, answer and send one request; whether the connection goes on."""
        server = self.server
        limits = server.limits
        try:
            head = await self.read_head()
            if head is None:
                return False
            head = parse_head(head, limits)
            self.path = head.target.split("?", 1)[0]
            oversized = head.content_length > limits.body_bytes
            if oversized:
                # The app answers 413 from Content-Length; the body is
                # never read, so the connection cannot go on.
                body = b""
            else:
                if head.content_length and _has_token(
                    head.headers.get("Expect") or "", "100-continue"
                ):
                    await self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.answering = False  # interim: the answer is still to come
                body = await self.read_body(head.content_length, self.path)
        except RequestError as error:
            await self.answer_error(error)
            return False
        except _Closed:
            return False
        self.state = HANDLING
        response = await server.app.dispatch_request(self.request(head, body))
        keep_alive = head.keep_alive and not oversized and not server.closing
        self.enter(SENDING, limits.request_ms)
        keep_alive = await self.send(response, keep_alive, head.version)
        if oversized:
            await self.linger()
        return keep_alive


async def _close(writer, abort):
    """Close a client's stream: the two runtimes' streams differ here. CPython
    closes on close() (abort: at once, dropping unsent bytes: a client that
    reads nothing cannot hold the socket); MicroPython's close() does nothing
    and its wait_closed() closes the socket."""
    try:
        if compat.IS_MICROPYTHON:
            await writer.wait_closed()
        elif abort:
            writer.transport.abort()
        else:
            writer.close()
    except OSError:
        pass  # the peer is gone already


class HttpServer:
    """Serves app (a microdot app) within limits (HttpLimits).

    error_answer(path, status) -> (body, status, headers): the answer to a
    request the server refuses before the app sees it (400, 414, 431), in the
    shape of the contract of path ("" when unknown).
    """

    def __init__(self, app, limits, error_answer=None, ticks_ms=None):
        self.app = app
        self.limits = limits
        self.error_answer = error_answer or _plain_error
        self.ticks_ms = ticks_ms or compat.ticks_ms
        self.connections = []  # oldest first
        self.closing = False
        self.refused = 0  # connections closed at once (limit, none idle)
        self.timed_out = 0  # connections closed past a deadline
        self.evicted = 0  # idle connections closed for a new one
        self._server = None
        self._sweeper = None
        # callable() each, run once listening and before any client is
        # accepted (the simulator's boot heap figure is taken there).
        self.on_listening = []
        shortest = min(limits.idle_ms, limits.request_ms, _LINGER_MS)
        self.sweep_ms = max(_SWEEP_MIN_MS, min(_SWEEP_MAX_MS, shortest // _SWEEPS_PER_LIMIT))

    async def serve(self, host, port):
        """Listen on (host, port) until shutdown()."""
        self.closing = False
        self._server = await asyncio.start_server(self._client, host, port)
        for callback in self.on_listening:
            callback()
        self._sweeper = asyncio.create_task(self._sweep_forever())
        try:
            await self._server.wait_closed()
        finally:
            self._sweeper.cancel()

    def listening(self):
        """True while the server accepts connections (the watchdog asks)."""
        return self._server is not None and not self.closing

    def shutdown(self):
        """Stop listening, close every connection not being answered (those
        being answered close after their answer)."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            if connection.state != HANDLING:
                self._drop(connection)

    # -- connections ---------------------------------------------------------
    def admit(self, connection):
        """Room for connection: True, having closed the oldest idle one when
        at the limit; False when at the limit and none is idle."""
        if len(self.connections) < self.limits.connections:
            return True
        oldest = None
        for other in self.connections:
            if other.state == IDLE and (
                oldest is None or compat.ticks_diff(other.since, oldest.since) < 0
            ):
                oldest = other
        if oldest is None:
            return False
        self.evicted += 1
        self._drop(oldest)
        return True

    def sweep(self, now):
        """Close every connection past its deadline (not one being answered)."""
        for connection in list(self.connections):
            if connection.state == HANDLING:
                continue
            if compat.ticks_diff(now, connection.deadline) >= 0:
                self.timed_out += 1
                self._drop(connection)

    def _drop(self, connection):
        if connection in self.connections:
            self.connections.remove(connection)
        connection.abort = True
        if connection.task is not None:
            connection.task.cancel()

    async def _sweep_forever(self):
        while True:
            await compat.sleep_ms(self.sweep_ms)
            self.sweep(self.ticks_ms())

    async def _client(self, reader, writer):
        connection = HttpConnection(self, reader, writer)
        if self.closing or not self.admit(connection):
            self.refused += 1
            await _close(writer, True)
            return
        connection.task = asyncio.current_task()
        self.connections.append(connection)
        try:
            await connection.run()
        except asyncio.CancelledError:
            pass  # a deadline passed, or room was made for a new client
        except OSError:
            connection.abort = True  # the peer reset or vanished
        except Exception as error:
            # A bug of ours: logged, the connection closed, the server goes on.
            compat.print_exception(error)
            connection.abort = True
        finally:
            if connection in self.connections:
                self.connections.remove(connection)
            await _close(writer, connection.abort)


def _plain_error(path, status):
    return {"error": _REASONS.get(status, "Error")}, status, {}
