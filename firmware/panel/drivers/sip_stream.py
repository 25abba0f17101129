# SIP over TCP and TLS (RFC 3261 18.3, RFC 5626 4.4.1): one connection to the
# proxy (or outbound proxy) that the user agent uses like its UDP socket:
# sendto() queues a message, recvfrom() hands out whole messages framed by
# Content-Length (proto.sip_message.split_stream). Every message goes over
# the one connection whatever its destination: the proxy is the panel's
# next hop for all of SIP while the account says tcp or tls.
#
#   stream = StreamTransport(host, port, tls=False, ca_file="", verify=True,
#                            keepalive_ms=KEEPALIVE_MS, on_drop=None)
#   stream.sendto(data, address)   connects first when needed (a task)
#   stream.readable(), stream.recvfrom(size), stream.setblocking(flag)
#   stream.close()                 the task ends, the connection closes
#   stream.set_keepalive_ms(ms)    the ping interval (the registrar's Flow-Timer)
#   stream.counters                connects, drops, pings, pongs,
#                                  pong_timeouts, framing_errors
#   on_drop()                      called when a connection that was up goes
#                                  down (not after close()): the user agent
#                                  registers again at once (RFC 5626 4.4.1)
#
# The connection is made on demand and again after a drop (the next message
# sent reconnects; the registration's refresh or retry always sends one).
# While it is up, a CRLF CRLF ping goes out after keepalive_ms without
# traffic and the peer answers with a CRLF pong (RFC 5626 4.4.1). Once the
# peer has shown it answers pings, a pong missing for PONG_WAIT_MS means the
# flow failed: the connection is closed (and on_drop() reports it).
#
# keepalive_head(buffer) is the framing of those keep-alives, shared with
# the listening side (drivers.sip_listener).
import asyncio

from panel.compat import EAGAIN, const, print_exception
from panel.drivers.sockets import check_destination
from panel.proto import sip_message
from panel.proto.sip_message import RemoteError

# Ping interval (ms): RFC 5626 4.4.1 suggests 95..120 s for TCP; NATs and
# firewalls of flats drop idle flows much sooner, so every 30 s [D].
KEEPALIVE_MS = const(30000)
# RFC 5626 4.4.1: a pong later than 10 s after its ping: the flow failed.
PONG_WAIT_MS = const(10000)
# Messages waiting to be sent while the connection is (re)made; beyond this
# sendto() fails (the transaction sees a transport error, a 503).
_OUTBOX_MAX = const(32)
# Messages received and not yet read by the user agent.
_INBOX_MAX = const(32)  # also the TCP listener's (all its connections)
_READ_SIZE = const(1024)
_CONNECT_TIMEOUT_S = const(5)


def keepalive_head(buffer):
    """Number of CRLFs at the head of buffer (RFC 5626 4.4.1 keep-alives: a
    client's ping is CRLF CRLF, the server's pong one CRLF)."""
    count = 0
    while buffer[2 * count : 2 * count + 2] == b"\r\n":
        count += 1
    return count


def queue_messages(buffer, inbox, counters, origin):
    """The complete SIP messages at the start of a stream's buffer appended to
    inbox as (message,) + origin (beyond _INBOX_MAX they are dropped); returns
    the rest of the buffer, or None when its framing is bad (counted in
    counters["framing_errors"]; the caller closes the connection)."""
    try:
        messages, rest = sip_message.split_stream(buffer)
    except RemoteError:
        counters["framing_errors"] += 1
        return None
    for message in messages:
        if len(inbox) < _INBOX_MAX:
            inbox.append((message,) + origin)
    return rest


def tls_context(ca_file, verify):
    """An ssl context for a client: the CA file's certificates when given."""
    import ssl

    if hasattr(ssl, "create_default_context"):  # CPython
        context = ssl.create_default_context(cafile=ca_file or None)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
    # MicroPython's ssl (mbedTLS): no default store on a board.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        with open(ca_file, "rb") as handle:
            context.load_verify_locations(cadata=handle.read())
    context.verify_mode = ssl.CERT_REQUIRED if verify and ca_file else ssl.CERT_NONE
    return context


class StreamTransport:
    def __init__(
        self,
        host,
        port,
        tls=False,
        ca_file="",
        verify=True,
        keepalive_ms=KEEPALIVE_MS,
        on_drop=None,
    ):
        self.host = host
        self.port = port
        self.tls = tls
        self.ca_file = ca_file
        self.verify = verify
        self.keepalive_ms = keepalive_ms
        self.on_drop = on_drop
        self.peer = (host, port)
        self.counters = {
            "connects": 0,
            "drops": 0,
            "pings": 0,
            "pongs": 0,
            "pong_timeouts": 0,
            "framing_errors": 0,
        }
        self._pongs_here = 0  # pongs on the connection now up
        self._awaiting_pong = False
        self._inbox = []
        self._outbox = []
        self._task = None
        self._wake = None
        self._closed = False

    def set_keepalive_ms(self, interval_ms):
        """A new ping interval (a registrar's Flow-Timer), from the next ping."""
        if interval_ms != self.keepalive_ms:
            self.keepalive_ms = interval_ms
            if self._wake is not None:
                self._wake.set()

    # -- the socket-like side the user agent polls ---------------------------
    def setblocking(self, flag):
        pass

    def readable(self):
        return bool(self._inbox)

    def recvfrom(self, size):
        if not self._inbox:
            raise OSError(EAGAIN)
        return self._inbox.pop(0)

    def sendto(self, data, address):
        if self._closed or len(self._outbox) >= _OUTBOX_MAX:
            raise OSError(105)  # ENOBUFS
        self._outbox.append(bytes(data))
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run())
        self._wake.set()

    def close(self):
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # -- the connection ----------------------------------------------------------
    async def _connect(self):
        check_destination(self.host)  # the simulator's tests: loopback only
        if self.tls:
            context = tls_context(self.ca_file, self.verify)
            return await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=context),
                _CONNECT_TIMEOUT_S,
            )
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), _CONNECT_TIMEOUT_S
        )

    async def _run(self):
        try:
            reader, writer = await self._connect()
        except Exception:  # noqa: BLE001 - refused, unreachable, TLS failure: from outside
            self.counters["drops"] += 1
            self._outbox = []  # their transactions time out (408 / ERROR)
            self._task = None
            return
        self.counters["connects"] += 1
        self._pongs_here = 0
        self._awaiting_pong = False
        reading = asyncio.create_task(self._read(reader))
        try:
            while not self._closed and self._task is not None and not reading.done():
                while self._outbox:
                    writer.write(self._outbox.pop(0))
                    await writer.drain()
                self._wake.clear()
                waiting = self._awaiting_pong
                try:
                    await asyncio.wait_for(
                        self._wake.wait(), (PONG_WAIT_MS if waiting else self.keepalive_ms) / 1000
                    )
                except asyncio.TimeoutError:
                    if waiting:  # (a pong would have woken the loop)
                        self.counters["pong_timeouts"] += 1
                        break  # the flow failed: drop it, the UA registers anew
                    self.counters["pings"] += 1
                    # Only a peer that has answered pings is expected to.
                    self._awaiting_pong = self._pongs_here > 0
                    writer.write(b"\r\n\r\n")
                    await writer.drain()
        except Exception:  # noqa: BLE001 - reset, broken pipe: from outside
            pass
        finally:
            reading.cancel()
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
            if not self._closed:
                self.counters["drops"] += 1
            self._task = None
            if self._outbox and not self._closed:
                # Queued while the connection went down: a new one takes them.
                self._task = asyncio.create_task(self._run())
            if not self._closed and self.on_drop is not None:
                try:
                    self.on_drop()
                except Exception as error:  # noqa: BLE001 - the UA's bug must not end the task
                    print_exception(error)

    async def _read(self, reader):
        try:
            await self._read_messages(reader)
        finally:
            if self._wake is not None:
                self._wake.set()  # the writer loop sees the drop at once

    async def _read_messages(self, reader):
        buffer = b""
        while True:
            data = await reader.read(_READ_SIZE)
            if not data:
                return  # the peer closed: dropped, reconnect on the next send
            buffer += data
            pongs = keepalive_head(buffer)
            if pongs:
                # The server's CRLF pongs (RFC 5626 4.4.1): the flow is alive.
                self.counters["pongs"] += pongs
                self._pongs_here += pongs
                self._awaiting_pong = False
                self._wake.set()  # the next ping is keepalive_ms from now
                buffer = buffer[2 * pongs :]
            buffer = queue_messages(buffer, self._inbox, self.counters, (self.peer,))
            if buffer is None:
                return
