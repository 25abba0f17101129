# A hybrid adapter without hardware, for the tests of both runtimes: an
# in-memory serial line (two pipes) and, at its far end, a real adapter-side
# proto.hybrid machine run by a small task. It answers every ring of line 7.
import asyncio

from panel.compat import ticks_ms
from panel.proto import hybrid


class Pipe:
    # One direction of an in-memory serial line.
    def __init__(self):
        self.data = bytearray()
        self.ready = asyncio.Event()
        self.closed = False

    def put(self, data):
        self.data.extend(data)
        self.ready.set()

    async def take(self, size):
        while not self.data and not self.closed:
            self.ready.clear()
            await self.ready.wait()
        chunk = bytes(self.data[:size])
        self.data = self.data[size:]
        return chunk


class Stream:
    # The driver's transport interface over two pipes.
    def __init__(self, incoming, outgoing):
        self.incoming = incoming
        self.outgoing = outgoing

    async def read(self, size):
        return await self.incoming.take(size)

    def write(self, data):
        if self.outgoing.closed:
            raise OSError("closed")
        self.outgoing.put(data)

    async def drain(self):
        await asyncio.sleep(0)

    def close(self):
        self.incoming.closed = True
        self.outgoing.closed = True
        self.incoming.ready.set()
        self.outgoing.ready.set()


class FakeAdapter:
    # The far end: an adapter machine, answering every ring of vizit:7.
    def __init__(self):
        self.opens = 0
        self.mute = False
        self.rings = []
        self.to_panel = None
        self.to_adapter = None
        self.task = None
        self.machine = None
        self.boot(7)

    def boot(self, boot_id):
        info = hybrid.AdapterInfo("3.1", [("laskomex", 1, 80), ("vizit", 1, 40)], boot_id=boot_id)
        self.machine = hybrid.HybridLink(hybrid.ADAPTER, info, boot_reason="requested")

    async def open_transport(self):
        self.opens += 1
        self.to_panel = Pipe()
        self.to_adapter = Pipe()
        self.task = asyncio.create_task(self._serve(self.to_adapter, self.to_panel))
        return Stream(self.to_panel, self.to_adapter)

    async def _serve(self, incoming, outgoing):
        while not incoming.closed:
            data = await incoming.take(64)
            if self.mute:
                continue
            self.machine.feed(data)
            self._flush(outgoing)

    def _flush(self, outgoing):
        machine = self.machine
        outgoing.put(machine.poll(ticks_ms()))
        event = machine.next_event()
        while event is not None:
            if event.kind == "ring":
                self.rings.append((event.system, event.line))
                if event.line == 7:
                    outgoing.put(
                        machine.send(hybrid.Message("answered", event.system, 7), ticks_ms())
                    )
            event = machine.next_event()

    def unplug(self):
        self.to_panel.closed = True
        self.to_panel.ready.set()
