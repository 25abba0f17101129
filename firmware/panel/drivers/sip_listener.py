# The panel's TCP listening socket for SIP (RFC 3261 18.1.1, 18.2.1: a UA
# that sends requests over TCP must be ready to receive them on it). Over
# TCP the panel's Via and Contact name its SIP port with transport=tcp; a
# proxy that routes plainly by the Contact (no connection reuse) opens a
# connection to it and sends the resident's BYE, a re-INVITE, an OPTIONS or
# an incoming INVITE there. Each accepted connection is a transport of its
# own for the user agent: what answers a request goes back on the
# connection it came on (RFC 3261 18.2.2).
#
#   listener = StreamListener(host, port, max_connections=..., idle_ms=...)
#   listener.start()             binds and accepts (a task; needs a loop)
#   listener.receive()           (data, (ip, port), connection) or None
#   listener.readable()          True when a message waits
#   listener.listening()         True once bound
#   listener.close()             stops accepting, closes every connection
#   listener.counters            accepted, refused, idle_closed,
#                                framing_errors, pings, listen_errors
#   connection.sendto(data, address)   queue data on that connection
#                                      (OSError when it is gone)
#
# Limits, as everywhere SIP comes from outside: a message beyond
# sip_message.MAX_DATAGRAM or a stream that cannot be framed closes its
# connection (the user agent answers what it can parse, 400/513 and the
# rest); at most max_connections at once (more are closed at once); a
# connection idle for idle_ms is closed; a peer outside the loopback sandbox
# (drivers.sockets) is closed unread. Client CRLF CRLF pings get a CRLF pong
# (RFC 5626 4.4.1), so a proxy keeping the connection alive sees it live.
import asyncio

from panel.compat import EAGAIN, const, print_exception, sleep_ms
from panel.drivers import sockets
from panel.drivers.sip_stream import keepalive_head, queue_messages

# A proxy or two and a monitor calling in; each connection costs its buffers.
MAX_CONNECTIONS = const(4)
# A connection with no traffic for this long is closed [D]; kamailio's own
# tcp_connection_lifetime is 120 s, and a peer reconnects when it needs to.
IDLE_MS = const(120000)
# Messages queued on one connection before sendto() refuses (ENOBUFS).
_OUTBOX_MAX = const(16)
# How often a listener that could not bind its port tries again.
LISTEN_RETRY_MS = const(2000)
_READ_SIZE = const(1024)
_ENOTCONN = const(107)
_ENOBUFS = const(105)


class AcceptedConnection:
    """One connection a peer opened to the panel: a transport for the UA."""

    def __init__(self, writer, peer):
        self.peer = peer
        self._writer = writer
        self._outbox = []
        self._flushing = False
        self.closed = False

    def setblocking(self, flag):
        pass

    def sendto(self, data, address):
        # Everything goes back on this connection, whatever address the
        # Via names (RFC 3261 18.2.2); once it is gone, the sender sees an
        # error (a transport error for its transaction).
        if self.closed:
            raise OSError(_ENOTCONN)
        if len(self._outbox) >= _OUTBOX_MAX:
            raise OSError(_ENOBUFS)
        self._outbox.append(bytes(data))
        if not self._flushing:
            self._flushing = True
            asyncio.create_task(self._flush())

    async def _flush(self):
        try:
            while self._outbox and not self.closed:
                self._writer.write(self._outbox.pop(0))
                await self._writer.drain()
        except Exception:  # noqa: BLE001 - reset, broken pipe: from outside
            self.close()
        finally:
            self._flushing = False

    def close(self):
        if self.closed:
            return
        self.closed = True
        self._outbox = []
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


class StreamListener:
    def __init__(self, host, port, max_connections=MAX_CONNECTIONS, idle_ms=IDLE_MS):
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.idle_ms = idle_ms
        self.counters = {
            "accepted": 0,
            "refused": 0,
            "idle_closed": 0,
            "framing_errors": 0,
            "pings": 0,
            "listen_errors": 0,
        }
        self.connections = []
        self._inbox = []
        self._server = None
        self._task = None
        self._closed = False

    def listening(self):
        return self._server is not None

    def start(self):
        if self._task is None and self._server is None:
            self._task = asyncio.create_task(self._listen())

    async def _listen(self):
        # The port taken for now (another socket, one in TIME_WAIT) or no
        # network yet: logged once, tried again every LISTEN_RETRY_MS until
        # bound or closed; the UA goes on over its registered connection.
        try:
            while not self._closed:
                try:
                    self._server = await asyncio.start_server(self._accept, self.host, self.port)
                    break
                except Exception as error:  # noqa: BLE001 - from outside: the port, the network
                    self.counters["listen_errors"] += 1
                    if self.counters["listen_errors"] == 1:
                        print_exception(error)
                await sleep_ms(LISTEN_RETRY_MS)
        finally:
            self._task = None
        if self._closed and self._server is not None:
            self._server.close()

    def close(self):
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in self.connections:
            connection.close()
        self.connections = []
        self._inbox = []

    # -- the side the user agent polls -------------------------------------------
    def readable(self):
        return bool(self._inbox)

    def receive(self):
        if not self._inbox:
            return None
        return self._inbox.pop(0)

    def recvfrom(self, size):
        if not self._inbox:
            raise OSError(EAGAIN)
        data, address, _ = self._inbox.pop(0)
        return data, address

    # -- the connections -----------------------------------------------------------
    async def _accept(self, reader, writer):
        try:
            peer = sockets.address_tuple(writer.get_extra_info("peername"))
            sockets.check_destination(peer[0])
        except (OSError, ValueError, TypeError, IndexError):
            peer = None
        if peer is None or self._closed or len(self.connections) >= self.max_connections:
            self.counters["refused"] += 1
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
            return
        self.counters["accepted"] += 1
        connection = AcceptedConnection(writer, peer)
        self.connections.append(connection)
        try:
            await self._read(reader, connection)
        except Exception:  # noqa: BLE001 - reset, heap: from outside; the connection ends
            pass
        finally:
            connection.close()
            if connection in self.connections:
                self.connections.remove(connection)

    async def _read(self, reader, connection):
        buffer = b""
        while not connection.closed:
            try:
                data = await asyncio.wait_for(reader.read(_READ_SIZE), self.idle_ms / 1000)
            except asyncio.TimeoutError:
                self.counters["idle_closed"] += 1
                return
            if not data:
                return  # the peer closed
            buffer += data
            crlfs = keepalive_head(buffer)
            if crlfs >= 2 or (crlfs and len(buffer) > 2):
                # CRLF CRLF pings, each answered by a CRLF pong; a lone CRLF
                # before a message is dropped (a lone one at the end may be
                # half a ping: kept for the next read).
                pings = crlfs // 2
                if pings:
                    self.counters["pings"] += pings
                    connection.sendto(b"\r\n" * pings, connection.peer)
                buffer = buffer[2 * crlfs :]
            origin = (connection.peer, connection)
            buffer = queue_messages(buffer, self._inbox, self.counters, origin)
            if buffer is None:
                return
