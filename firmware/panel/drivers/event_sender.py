# Sends the queued event lines to the management server (BAS-IP contract
# 10.1): one line per HTTP POST, oldest first, one at a time; a line leaves
# the queue (services.events) only when the server answered 2xx. Retries back
# off from 1 s, doubling, to at most 60 s; a POST with no answer in 5 s fails.
#
# Its own asyncio task: the call engine, the doors and the HTTP routes only
# append to the queue (a store write they do anyway for the call log), so a
# slow or absent server never delays them.
#
# Runtime-neutral: only asyncio.open_connection, StreamReader.read,
# StreamWriter.write/drain/close/wait_closed, wait_for, sleep and Event, which
# CPython and MicroPython share. Only IPv4 addresses (and localhost) are
# sent to: a host name would be a blocking getaddrinfo on MicroPython.
# Heap: one line and one small reply buffer at a time, whatever the queue holds.
#
# transport "udp" [CHOICE]: the same lines as RFC 5424 datagrams, sent once
# each (UDP has no acknowledgement), through drivers.sockets.
import asyncio

from panel.compat import const
from panel.core import event_lines
from panel.drivers.sockets import check_destination, is_ipv4_literal

_BACKOFF_FIRST_MS = const(1000)  # the first retry after a failure
_BACKOFF_MAX_MS = const(60000)  # retries never wait longer (10.1)
_ANSWER_TIMEOUT_MS = const(5000)  # connect + send + status line, per POST (10.1)
_IDLE_CHECK_MS = const(2000)  # how often a sender with nothing to do looks at the settings
_STATUS_LINE_MAX = const(256)  # bytes of the server's answer read before deciding
_READ_CHUNK = const(64)


class EventSender:
    def __init__(
        self,
        events,
        host_address,
        open_connection=None,
        udp_socket=None,
        backoff_first_ms=_BACKOFF_FIRST_MS,
        backoff_max_ms=_BACKOFF_MAX_MS,
        answer_timeout_ms=_ANSWER_TIMEOUT_MS,
        now_ms=None,
    ):
        # events: services.events.Events; host_address: callable() -> the
        # panel's IP address (HOSTNAME of 10.2); open_connection: asyncio's by
        # default; udp_socket: callable() -> a drivers.sockets.UdpSocket;
        # now_ms: callable() -> Unix ms (the events_dropped line's time).
        self.events = events
        self._host_address = host_address
        # Looked up when first needed: the WebAssembly port's asyncio has no
        # streams (and no sockets), yet builds the panel.
        self._open_connection = open_connection
        self._udp_factory = udp_socket
        self._udp = None
        self._now_ms = now_ms
        self.backoff_first_ms = backoff_first_ms
        self.backoff_max_ms = backoff_max_ms
        self.answer_timeout_ms = answer_timeout_ms
        self._task = None
        self._wake = None
        self.backoff_ms = 0  # the current wait after a failure (0: none)

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        self._wake = asyncio.Event()
        self.events.on_queued = self._wake.set
        self._task = asyncio.create_task(self._run())

    def stop(self):
        self.events.on_queued = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    # -- the loop --------------------------------------------------------------
    async def _sleep_or_wake(self, ms):
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), ms / 1000)
        except asyncio.TimeoutError:
            pass

    async def _run(self):
        while True:
            try:
                sent = await self.send_one()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a bug here must not stop the events
                self.events.failed("bug: %r" % (error,))
                sent = False
            if sent is None:
                await self._sleep_or_wake(_IDLE_CHECK_MS)
            elif sent:
                self.backoff_ms = 0
            else:
                self.backoff_ms = (
                    self.backoff_first_ms
                    if not self.backoff_ms
                    else min(self.backoff_ms * 2, self.backoff_max_ms)
                )
                await asyncio.sleep(self.backoff_ms / 1000)

    async def send_one(self):
        """Send the next line: True when the server took it, False when the
        send failed (the line stays queued), None when there is nothing to
        send (sending off, or the queue empty)."""
        events = self.events
        target = events.target()
        if target is None:
            return None
        transport, host, port, _, app = target
        address = server_address(host)
        if address is None:
            # A name would need a DNS lookup, which blocks the one loop on
            # MicroPython (calls, doors, the API) for as long as the resolver
            # waits: the lines stay queued until the setting is an address.
            self.events.failed("not an IPv4 address: %r" % (host[:40],))
            return False
        host = address
        unreported = events.unreported_drops()
        entry = None
        if unreported:
            # The server is told first what the full queue lost (10.1).
            level, text = event_lines.dropped_line(unreported)
            milliseconds = self._now_ms() if self._now_ms is not None else 0
        else:
            entry = events.oldest()
            if entry is None:
                return None
            _, level, milliseconds, text = entry
        if transport == "udp":
            ok = self._send_datagram(
                host,
                port,
                event_lines.syslog_datagram(level, milliseconds, self._host(), app, text),
            )
        else:
            ok = await self._post(
                host, port, event_lines.line(level, milliseconds, self._host(), app, text)
            )
        if not ok:
            return False
        if unreported:
            events.drops_reported(unreported)
        else:
            events.acknowledge(entry[0])
        return True

    def _host(self):
        try:
            return self._host_address()
        except (OSError, ValueError):
            return "-"

    # -- HTTP ------------------------------------------------------------------
    async def _post(self, host, port, line):
        try:
            return await asyncio.wait_for(
                self._exchange(host, port, line), self.answer_timeout_ms / 1000
            )
        except asyncio.TimeoutError:
            self.events.failed("timeout")
        except (OSError, ValueError, EOFError) as error:
            self.events.failed("error: %r" % (error,))
        return False

    async def _exchange(self, host, port, line):
        body = line.encode()
        head = (
            "POST / HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (host, port, len(body))
        )
        check_destination(host)
        opener = self._open_connection or getattr(asyncio, "open_connection", None)
        if opener is None:
            raise OSError("no asyncio streams on this port")
        reader, writer = await opener(host, port)
        try:
            writer.write(head.encode() + body)
            await writer.drain()
            answer = b""
            while b"\n" not in answer and len(answer) < _STATUS_LINE_MAX:
                chunk = await reader.read(_READ_CHUNK)
                if not chunk:
                    break
                answer += chunk
        finally:
            await _close(writer)
        status_line = answer.split(b"\n", 1)[0]
        # "HTTP/1.1 204 No Content": any 2xx acknowledges (10.1).
        if status_line.startswith(b"HTTP/1.") and len(status_line) >= 12:
            if status_line[9:10] == b"2":
                return True
        self.events.failed("answer: %r" % (status_line[:40],))
        return False

    # -- UDP -------------------------------------------------------------------
    def _send_datagram(self, host, port, text):
        try:
            if self._udp is None:
                if self._udp_factory is None:
                    from panel.drivers import sockets

                    self._udp = sockets.udp_socket("0.0.0.0")
                else:
                    self._udp = self._udp_factory()
            self._udp.sendto(text.encode(), (host, port))
            return True
        except OSError as error:
            self.events.failed("udp: %r" % (error,))
            return False


def server_address(host):
    """The event server's IPv4 address, or None. [D] Only addresses are sent
    to (and `localhost`, the simulator's usual sink): a host name would need a
    blocking getaddrinfo on MicroPython, and a server that does not resolve
    would stall the panel's loop for the resolver's whole timeout."""
    if host == "localhost":
        return "127.0.0.1"
    return host if is_ipv4_literal(host) else None


async def _close(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except (OSError, AttributeError):
        pass
