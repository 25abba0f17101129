# The hybrid adapter's transport on a board: machine.UART as the stream the
# adapter driver wants (drivers/adapter.py):
#
#     transport = await open_transport()      # UartStream over machine.UART
#     data = await transport.read(64)         # waits for at least one byte
#     transport.write(b"...")                 # buffered
#     await transport.drain()                 # until the UART took every byte
#     transport.close()
#
# Only what every port's machine.UART has is used (STYLE.md rule 4): any(),
# readinto() into a buffer allocated once, write() that may take fewer bytes
# than given (a full TX FIFO with timeout=0), and txdone() where the port has
# it (rp2; ESP32's write() blocks until the bytes are in its ring buffer).
# Readiness is polled every POLL_MS like the pty driver (drivers/pty_stream.py):
# asyncio.StreamReader(uart) would need the port's ioctl polling, which a UART
# built with timeout=0 does not promise on every port.
#
# Board file: "adapter": {"transport": "uart", "uart": 1, "baud": 115200,
#                         "tx": 4, "rx": 36, "rxbuf": 512}
from panel.compat import const, sleep_ms

# 64 bytes (the UART FIFO) arrive in 5.5 ms at 115200 baud; the adapter's
# protocol timers are 100 ms and more.
POLL_MS = const(5)
# The read buffer, allocated once; a hybrid frame is far shorter.
READ_BUFFER_BYTES = const(256)
# The largest chunk handed to write() at once.
_WRITE_CHUNK = const(64)


class UartStream:
    def __init__(self, uart, buffer_bytes=READ_BUFFER_BYTES):
        self._uart = uart
        self._buffer = bytearray(buffer_bytes)
        self._view = memoryview(self._buffer)
        self._pending = bytearray()
        self._closed = False
        self.bytes_read = 0
        self.bytes_written = 0

    async def read(self, size):
        """Up to size bytes, waiting for at least one; b"" once closed."""
        size = min(size, len(self._buffer))
        while not self._closed:
            if self._uart.any():
                count = self._uart.readinto(self._view[:size])
                if count:
                    self.bytes_read += count
                    return bytes(self._view[:count])
            await sleep_ms(POLL_MS)
        return b""

    def write(self, data):
        if self._closed:
            raise OSError("uart stream closed")
        self._pending.extend(data)

    async def drain(self):
        while self._pending:
            if self._closed:
                raise OSError("uart stream closed")
            chunk = bytes(self._pending[:_WRITE_CHUNK])
            written = self._uart.write(chunk)
            if written:
                self.bytes_written += written
                # No slice deletion on MicroPython's bytearray.
                self._pending = self._pending[written:]
            else:
                await sleep_ms(POLL_MS)
        txdone = getattr(self._uart, "txdone", None)
        if txdone is not None:
            while not txdone():
                await sleep_ms(1)

    def close(self):
        if self._closed:
            return
        self._closed = True
        deinit = getattr(self._uart, "deinit", None)
        if deinit is not None:
            deinit()


def uart_opener(uart_class, adapter):
    """The `async open_transport()` the adapter driver calls to (re)connect:
    a new UART from the board file's "adapter" entry each time."""

    async def open_transport():
        options = {"timeout": 0}
        for name in ("tx", "rx", "rxbuf"):
            if name in adapter:
                options[name] = adapter[name]
        uart = uart_class(adapter.get("uart", 1), adapter.get("baud", 115200), **options)
        return UartStream(uart)

    return open_transport
