# The hybrid adapter's stream over a serial device file (a pseudo-terminal of the
# adapter emulator, a USB serial adapter) on a POSIX port: the MicroPython unix
# port and CPython alike. The adapter driver's stream interface
# (drivers/adapter.py):
#
#     transport = open_pty("/dev/pts/3")      # OSError when it is not there
#     data = await transport.read(64)         # b"" once the device went away
#     transport.write(b"...")                 # buffered
#     await transport.drain()                 # until the kernel took every byte
#     transport.close()
#
# Why not asyncio.StreamReader(open(path)): MicroPython's file read(n) and
# readinto() loop until n bytes came, so a reader waiting for 64 bytes of a
# 9-byte frame would block the whole loop. Instead the terminal is put in raw
# mode with VMIN=0, VTIME=0: a read takes what is there (possibly nothing) and
# never blocks, on both runtimes. Readiness and hang-up come from select.poll;
# the task polls every POLL_MS, like the UDP drivers (drivers/polled_socket.py),
# since MicroPython's asyncio cannot await an arbitrary descriptor on CPython's
# terms and CPython's cannot await MicroPython's streams.
import select

from panel.compat import IS_MICROPYTHON, const, sleep_ms

# How often a waiting read or drain looks again: a 115200-baud UART fills its
# 64-byte FIFO in 5.5 ms; the adapter's protocol timers are 100 ms and more.
POLL_MS = const(5)
# Linux's indices of c_cc (MicroPython's termios exports no names for them).
_VTIME = const(5)
_VMIN = const(6)
_READ_SIZE_MAX = const(256)


def _set_raw_nonblocking(fd):
    """Raw mode (no echo, no line editing), reads that never wait."""
    try:
        import termios
    except ImportError:
        return  # a port without termios: the emulator set raw mode already
    if hasattr(termios, "setraw"):
        termios.setraw(fd)  # MicroPython's termios has it; CPython's tty does
    attributes = termios.tcgetattr(fd)
    cc = list(attributes[6])
    cc[_VMIN] = 0 if isinstance(cc[_VMIN], int) else b"\x00"
    cc[_VTIME] = 0 if isinstance(cc[_VTIME], int) else b"\x00"
    attributes[6] = cc
    if not hasattr(termios, "setraw"):
        # CPython: what tty.setraw clears (tty itself is CPython-only).
        attributes[0] &= ~(
            termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON
        )
        attributes[1] &= ~termios.OPOST
        attributes[2] = (attributes[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
        attributes[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    termios.tcsetattr(fd, termios.TCSANOW, attributes)


class PtyStream:
    """A serial device file opened read-write, polled from the asyncio loop."""

    def __init__(self, handle):
        self._handle = handle
        self._fd = handle.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._buffer = bytearray(64)
        self._pending = bytearray()
        self._closed = False
        self.bytes_read = 0
        self.bytes_written = 0

    def _gone(self, events):
        return events & (select.POLLHUP | select.POLLERR) and not events & select.POLLIN

    def _ready(self, mask):
        """True when the descriptor is ready for mask, None when it hung up."""
        self._poll.modify(self._fd, mask)
        for _, events in self._poll.poll(0):
            if self._gone(events):
                return None
            if events & mask:
                return True
        return False

    async def read(self, size):
        """Up to size bytes, waiting for at least one; b"" when the device is gone."""
        size = min(size, _READ_SIZE_MAX)
        if size > len(self._buffer):
            self._buffer = bytearray(size)
        window = memoryview(self._buffer)[:size]
        while not self._closed:
            ready = self._ready(select.POLLIN)
            if ready is None:
                return b""
            if ready:
                try:
                    count = self._handle.readinto(window)
                except OSError:
                    return b""  # EIO: the other end went away
                if count:
                    self.bytes_read += count
                    return bytes(window[:count])
                # Readable yet nothing read: a hang-up that poll called POLLIN.
                return b""
            await sleep_ms(POLL_MS)
        return b""

    def write(self, data):
        if self._closed:
            raise OSError("pty stream closed")
        self._pending.extend(data)

    async def drain(self):
        while self._pending:
            if self._closed:
                raise OSError("pty stream closed")
            ready = self._ready(select.POLLOUT)
            if ready is None:
                raise OSError("pty hung up")
            if not ready:
                await sleep_ms(POLL_MS)
                continue
            written = self._handle.write(bytes(self._pending))
            if written:
                self.bytes_written += written
                # No slice deletion on MicroPython's bytearray.
                self._pending = self._pending[written:]
            else:
                await sleep_ms(POLL_MS)

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self._poll.unregister(self._fd)
        except (OSError, KeyError, ValueError):
            pass
        try:
            self._handle.close()
        except OSError:
            pass


def open_pty(path):
    """Open path (a tty device) as a PtyStream; OSError when it is not there."""
    # CPython's open() needs buffering=0 for a raw FileIO (a BufferedRandom
    # would read ahead); MicroPython's files are raw and take no such argument.
    handle = open(path, "r+b") if IS_MICROPYTHON else open(path, "r+b", buffering=0)
    try:
        _set_raw_nonblocking(handle.fileno())
    except Exception:
        handle.close()
        raise
    return PtyStream(handle)


def pty_opener(path):
    """The `async open_transport()` the adapter driver calls to (re)connect."""

    async def open_transport():
        return open_pty(path)

    return open_transport
