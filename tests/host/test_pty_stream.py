"""panel.drivers.pty_stream on CPython over a real pseudo-terminal (the
MicroPython unix port runs it in test_blackbox_adapter.py[micropython]): a read
returns what is there without waiting for the full size, writes reach the other
end after drain, and a hung-up master reads as b""."""

import asyncio
import os
import tty

import pytest

from panel.drivers.pty_stream import open_pty, pty_opener


def _pair():
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def test_partial_read_write_and_hang_up():
    master, slave, path = _pair()

    async def scenario():
        stream = await pty_opener(path)()
        os.write(master, b"\x7e\x01\x02")
        # 64 asked, 3 there: the read must not wait for the rest.
        first = await asyncio.wait_for(stream.read(64), 2)
        stream.write(b"ping")
        await asyncio.wait_for(stream.drain(), 2)
        echoed = os.read(master, 64)
        # Nothing waiting: the read waits (and yields to the loop) until data.
        waiting = asyncio.create_task(stream.read(2))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        os.write(master, b"abc")
        second = await asyncio.wait_for(waiting, 2)
        rest = await asyncio.wait_for(stream.read(64), 2)
        os.close(master)
        gone = await asyncio.wait_for(stream.read(64), 2)
        stream.close()
        stream.close()  # idempotent
        return first, echoed, second, rest, gone, stream.bytes_read

    try:
        first, echoed, second, rest, gone, count = asyncio.run(scenario())
    finally:
        os.close(slave)
    assert first == b"\x7e\x01\x02"
    assert echoed == b"ping"
    assert (second, rest) == (b"ab", b"c")
    assert gone == b""
    assert count == 6


def test_missing_device_is_an_oserror():
    with pytest.raises(OSError):
        open_pty("/dev/pts/no-such-pty")
