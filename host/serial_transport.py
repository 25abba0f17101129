"""pyserial transport for panel.drivers.adapter on the host (CPython only).

The driver's stream interface, on a real serial device (a USB adapter or the
adapter emulator's pseudo-terminal):

    transport = await open_serial("/tmp/hybrid-pty", baudrate=115200)
    data = await transport.read(64)   # b"" once the device went away
    transport.write(b"...")           # buffered, never blocks the loop
    await transport.drain()           # until the kernel took every byte
    transport.close()

`serial_opener(path)` gives the `async open_transport()` callable that
AdapterDriver calls to (re)connect. Reads wait on the file descriptor with
loop.add_reader (no polling, no thread); writes go through pyserial with a
zero write timeout and wait with loop.add_writer when the kernel buffer is
full. A vanished device (pty master closed, USB unplugged) reads as b"".
"""

import asyncio
import select

import serial


class SerialTransport:
    """A serial.Serial in non-blocking mode, driven by the asyncio loop."""

    def __init__(self, port):
        self.port = port
        self._loop = asyncio.get_running_loop()
        self._fd = port.fileno()
        self._pending = bytearray()
        self._closed = False
        self.bytes_read = 0
        self.bytes_written = 0

    async def read(self, size):
        """Up to size bytes, waiting for at least one; b"" when the device is gone."""
        while not self._closed:
            try:
                data = self.port.read(size)
            except (serial.SerialException, OSError):
                # pyserial: "device reports readiness to read but returned no
                # data" or EIO, both meaning the other end went away.
                return b""
            if data:
                self.bytes_read += len(data)
                return data
            await self._wait(self._loop.add_reader, self._loop.remove_reader)
        return b""

    def write(self, data):
        if self._closed:
            raise OSError("serial transport closed")
        self._pending.extend(data)

    async def drain(self):
        while self._pending:
            if self._closed:
                raise OSError("serial transport closed")
            # pyserial spins on EAGAIN with a zero write timeout: write only
            # what the kernel says it can take now.
            _, writable, _ = select.select([], [self._fd], [], 0)
            if not writable:
                await self._wait(self._loop.add_writer, self._loop.remove_writer)
                continue
            try:
                written = self.port.write(bytes(self._pending))
            except serial.SerialException as error:
                raise OSError(str(error))
            if written:
                self.bytes_written += written
                del self._pending[:written]
            else:
                await self._wait(self._loop.add_writer, self._loop.remove_writer)

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        except (ValueError, OSError):
            pass
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass

    async def _wait(self, add, remove):
        # One readiness wait on the descriptor; closing the transport ends it
        # through the cancellation of the caller's task.
        future = self._loop.create_future()

        def ready():
            if not future.done():
                future.set_result(None)

        add(self._fd, ready)
        try:
            await future
        finally:
            if not self._closed:
                remove(self._fd)


async def open_serial(path, baudrate=115200):
    """Open path as a serial port; OSError when it is not there."""
    try:
        port = serial.Serial(path, baudrate=baudrate, timeout=0, write_timeout=0, exclusive=True)
    except serial.SerialException as error:
        raise OSError(str(error))
    except ValueError as error:
        raise OSError(str(error))
    return SerialTransport(port)


def serial_opener(path, baudrate=115200):
    """The `async open_transport()` the driver calls to (re)connect to path."""

    async def open_transport():
        return await open_serial(path, baudrate)

    return open_transport
