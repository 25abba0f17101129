# Runs under the MicroPython unix port (bench_events.py starts it): queues 500
# event lines in a real store, then measures the heap the event queue service
# and its sender hold (gc.mem_alloc() after gc.collect()) while they send one
# line to a real asyncio listener on loopback, and what one send allocates.
# Prints `name: value unit` lines. Arguments: store directory.
import asyncio
import gc
import sys

from panel.drivers.event_sender import EventSender
from panel.services.events import Events
from panel.services.settings import SYSLOG, Settings
from panel.store import Store

LINES = 500


async def main(directory):
    store = Store(directory)
    store.open()
    settings = Settings(store)
    received = []

    async def client(reader, writer):
        data = await reader.read(1024)
        received.append(len(data))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(client, "127.0.0.1", 45471)
    settings.write(
        SYSLOG,
        {"enabled": True, "server": {"server": "127.0.0.1", "port": 45471, "severity": 6}},
    )
    filler = Events(store, settings, None, LINES + 10)
    for index in range(LINES):
        changes, state = filler._changes(
            6, 1795961109120 + index, "Access: Lock 1: API: Door opened by API call"
        )
        store.write_batch(changes)
        filler.commit(state)
    filler = None
    gc.collect()
    before = gc.mem_alloc()
    events = Events(store, settings, None, LINES + 10)
    sender = EventSender(events, lambda: "127.0.0.1")
    queued = events.queued()
    gc.collect()
    held = gc.mem_alloc() - before
    ok = await sender.send_one()
    gc.collect()
    after_send = gc.mem_alloc() - before
    print("mpy_event_queue_lines: %d lines" % queued)
    print("mpy_event_queue_heap_bytes: %d bytes" % after_send)
    print("mpy_event_queue_heap_idle_bytes: %d bytes" % held)
    print("mpy_event_send_ok: %d" % (1 if ok and received else 0))
    server.close()
    store.close()


asyncio.run(main(sys.argv[1]))
