# Every difference between the runtimes' UDP sockets, in one place, so that the
# SIP user agent and RTP run the same on CPython, the MicroPython unix port and
# the boards (ESP32, RP2 with lwIP):
# - addresses: CPython and lwIP ports take and return (ip, port) tuples; the
#   unix port takes and returns raw sockaddr bytes. Everywhere the one portable
#   way to build an address is socket.getaddrinfo(host, port)[0][-1]. The
#   drivers only ever see (ip, port) tuples: UdpSocket converts at the edge.
# - no getsockname() on the unix port: the local address is what was bound,
#   and "any free port" is chosen here by trying ports of a range.
# - no recvfrom_into() on MicroPython, and its socket.readinto() is a stream
#   read that runs several waiting datagrams together (measured on the unix
#   port), so it is not used. An idle poll first asks select.poll (ipoll:
#   allocates nothing) whether anything waits; only then recvfrom (MicroPython)
#   allocates the datagram. receive_into() reads into the caller's buffer with
#   recvfrom_into where the runtime has it (CPython), else copies.
#
# Interface
# ---------
# udp_socket(host, port=0, first_port=..., port_count=...) -> UdpSocket
#     a bound, non-blocking UDP socket; port 0 picks a free even port of the
#     range (RTP wants even ports, RFC 3550 11).
# wrap(transport) -> UdpSocket around a socket someone else bound (its
#     local_address from getsockname() where the runtime has it, else None),
#     or the object itself when it already is one. Test fakes (objects with
#     sendto/recvfrom/setblocking and tuple addresses) are wrapped too and
#     keep their tuples.
# resolve(host, port) -> (ip, port): literal IPv4 as is, names via getaddrinfo.
# address_tuple(address) -> (ip, port) from a tuple or raw sockaddr bytes.
# UdpSocket:  .socket (the runtime's), .local_address (ip, port) or None,
#     sendto(data, (ip, port)), recvfrom(size) -> (data, (ip, port)),
#     receive_into(buffer) -> (count, (ip, port)), (0, None) when nothing
#     waits, readable() -> bool, setblocking(flag), getsockname()
#     (the bound address, for callers written against CPython), close().
from panel.compat import EADDRINUSE, EAGAIN, EHOSTUNREACH, const, error_number, urandom

# "Any port" for sockets bound with port 0 (RTP): an even port of
# [_FIRST_PORT, _FIRST_PORT + _PORT_COUNT), starting at a random one.
_FIRST_PORT = const(40000)
_PORT_COUNT = const(10000)
# Binds tried before giving up (each EADDRINUSE moves to the next even port).
_BIND_ATTEMPTS = const(32)
# Destinations whose runtime address is kept (a few SIP peers, one RTP peer);
# beyond that the cache starts over rather than growing.
_MAX_CACHED_ADDRESSES = const(8)
# sockaddr family of IPv4 (AF_INET, 2 on every system we run on).
_AF_INET = const(2)

_raw_addresses = None  # True on ports whose sockets take sockaddr bytes


def _socket_module():
    import socket  # the board's socket module, imported when first needed

    return socket


def _uses_raw_addresses():
    global _raw_addresses
    if _raw_addresses is None:
        probe = _socket_module().getaddrinfo("127.0.0.1", 1)[0][-1]
        _raw_addresses = not isinstance(probe, tuple)
    return _raw_addresses


def address_tuple(address):
    """(ip, port) from a runtime address: a tuple, or sockaddr_in bytes."""
    if isinstance(address, tuple) or isinstance(address, list):
        return (address[0], address[1])
    # struct sockaddr_in: family (2 bytes: host order on Linux, length and
    # family on BSD/macOS), port (network order), IPv4 address, zero padding.
    if len(address) < 8 or _AF_INET not in (address[0], address[1]):
        raise ValueError("not an IPv4 socket address")
    return (
        "%d.%d.%d.%d" % (address[4], address[5], address[6], address[7]),
        (address[2] << 8) | address[3],
    )


def is_ipv4_literal(host):
    """Dotted-quad IPv4 text, ASCII digits only (str.isdigit() takes other
    scripts' digits on CPython)."""
    if not isinstance(host, str):
        return False
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not 1 <= len(part) <= 3 or part.strip("0123456789") or int(part) > 255:
            return False
    return True


# The loopback sandbox of the simulator's tests (host/panel_process.py and
# main.py take --loopback-only): no datagram, connection or DNS lookup goes
# anywhere but 127.0.0.0/8, whatever address a test or a fuzzer stored in the
# SIP or event-server settings. Off on boards and in `make run`.
_SANDBOX = [False]


def restrict_to_loopback(on=True):
    _SANDBOX[0] = bool(on)


def check_destination(host):
    """OSError(EHOSTUNREACH) for a destination outside the sandbox (if on)."""
    if _SANDBOX[0] and not (is_ipv4_literal(host) and host.startswith("127.")):
        raise OSError(EHOSTUNREACH, "outside the loopback sandbox")


def resolve(host, port):
    """(ip, port) for host: a literal IPv4 as is, a name through getaddrinfo
    (never in the sandbox: a lookup would leave the machine)."""
    if is_ipv4_literal(host):
        return host, port
    check_destination(host)
    return address_tuple(_socket_module().getaddrinfo(host, port)[0][-1])


class UdpSocket:
    """A UDP socket that speaks (ip, port) tuples on every runtime."""

    def __init__(self, transport, local_address=None):
        self.socket = transport
        self.local_address = local_address
        socket = None
        try:
            socket = _socket_module()
        except ImportError:
            pass  # WebAssembly: no sockets at all, only test fakes
        real = socket is not None and isinstance(transport, socket.socket)
        # Only a real socket of a raw-address port needs its addresses built.
        self._raw = real and _uses_raw_addresses()
        self._addresses = {}
        self._last_raw = None
        self._last_tuple = None
        self._poller = None
        self._ipoll = False
        if real and hasattr(transport, "fileno"):
            import select

            if hasattr(select, "poll"):
                self._poller = select.poll()
                self._poller.register(transport, select.POLLIN)
                self._ipoll = hasattr(self._poller, "ipoll")
        self._recvfrom_into = getattr(transport, "recvfrom_into", None)

    def setblocking(self, flag):
        self.socket.setblocking(flag)

    def getsockname(self):
        return self.local_address

    def close(self):
        if self._poller is not None:
            self._poller.unregister(self.socket)
            self._poller = None
        self.socket.close()

    def _runtime_address(self, address):
        if not self._raw:
            return address
        runtime_address = self._addresses.get(address)
        if runtime_address is None:
            if len(self._addresses) >= _MAX_CACHED_ADDRESSES:
                self._addresses = {}
            runtime_address = _socket_module().getaddrinfo(address[0], address[1])[0][-1]
            self._addresses[address] = runtime_address
        return runtime_address

    def _tuple(self, address):
        if isinstance(address, tuple):
            return address
        if address == self._last_raw:
            return self._last_tuple  # the same peer again: no new tuple
        result = address_tuple(address)
        self._last_raw = address
        self._last_tuple = result
        return result

    def sendto(self, data, address):
        check_destination(address[0])
        return self.socket.sendto(data, self._runtime_address(address))

    def readable(self):
        """True when a datagram (or an error) waits; allocates nothing on
        MicroPython. Fakes and pollerless ports always answer True."""
        poller = self._poller
        if poller is None:
            return True
        if self._ipoll:
            for _ in poller.ipoll(0):
                return True
            return False
        return bool(poller.poll(0))

    def recvfrom(self, size):
        data, address = self.socket.recvfrom(size)
        return data, self._tuple(address)

    def receive_into(self, buffer):
        """Read one datagram into buffer: (count, (ip, port)); (0, None) when
        nothing waits. A datagram longer than buffer is cut to its length."""
        try:
            if self._recvfrom_into is not None:
                count, address = self._recvfrom_into(buffer)
                return count, self._tuple(address)
            data, address = self.recvfrom(len(buffer))
        except OSError as error:
            if error_number(error) == EAGAIN:
                return 0, None
            raise
        count = len(data)
        buffer[:count] = data
        return count, address


def wrap(transport):
    """A UdpSocket around transport (idempotent)."""
    if isinstance(transport, UdpSocket):
        return transport
    local_address = None
    if hasattr(transport, "getsockname"):
        try:
            local_address = address_tuple(transport.getsockname())
        except (OSError, ValueError):
            local_address = None
    return UdpSocket(transport, local_address)


def udp_socket(host, port=0, first_port=_FIRST_PORT, port_count=_PORT_COUNT):
    """A bound, non-blocking UdpSocket on host:port (port 0: a free even port
    of the range, since not every runtime can say which port it was given)."""
    socket = _socket_module()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if port:
            sock.bind(socket.getaddrinfo(host, port)[0][-1])
            bound = port
        else:
            bound = _bind_in_range(socket, sock, host, first_port, port_count)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return UdpSocket(sock, (host, bound))


def _bind_in_range(socket, sock, host, first_port, port_count):
    pairs = max(port_count // 2, 1)
    start = int.from_bytes(urandom(2), "big") % pairs
    for attempt in range(min(_BIND_ATTEMPTS, pairs)):
        candidate = first_port + 2 * ((start + attempt) % pairs)
        try:
            sock.bind(socket.getaddrinfo(host, candidate)[0][-1])
            return candidate
        except OSError as error:
            if error_number(error) != EADDRINUSE:
                raise
    raise OSError(EADDRINUSE, "no free port in range")
