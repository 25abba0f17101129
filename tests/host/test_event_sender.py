"""drivers.event_sender against real asyncio listeners on loopback (CPython;
the same class runs under the MicroPython unix port in bench_events.py): a
server that never answers times the POST out and the line stays queued; 2xx
acknowledges; failures back off doubling up to the cap; UDP datagrams are
RFC 5424. Small timeouts are handed in, so nothing here waits 5 s.
"""

import asyncio
import socket

from api_harness import Harness
from panel.drivers.event_sender import EventSender


async def enable(harness, port, transport="http"):
    body = {
        "enabled": True,
        "server": {"server": "127.0.0.1", "port": port, "severity": 6},
        "transport": transport,
    }
    assert (await harness.call("POST", "/api/v1/syslog/settings", body=body)).status_code == 200


async def test_silent_server_times_out_then_2xx_acknowledges():
    harness = Harness("sender-timeout")
    answer = {"status": None}
    bodies = []

    async def client(reader, writer):
        data = await reader.read(4096)
        bodies.append(data)
        if answer["status"] is None:
            await asyncio.sleep(5)  # never answers in time
        else:
            writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % answer["status"])
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await enable(harness, port)
        harness.services.doors.exit_button(1)
        sender = EventSender(harness.services.events, lambda: "10.0.0.7", answer_timeout_ms=300)
        assert await sender.send_one() is False
        assert harness.services.events.last_error == "timeout"
        assert harness.services.events.queued() == 1
        answer["status"] = 500
        assert await sender.send_one() is False
        assert harness.services.events.queued() == 1
        answer["status"] = 204
        assert await sender.send_one() is True
        assert harness.services.events.queued() == 0
        assert await sender.send_one() is None  # nothing left
        head, _, body = bodies[-1].partition(b"\r\n\r\n")
        assert head.startswith(b"POST / HTTP/1.1\r\n")
        assert b"Content-Type: text/plain; charset=utf-8" in head
        assert body.endswith(b" 10.0.0.7 intercom-panel Access: Lock 1: Door opened by exit button")
    finally:
        server.close()
        harness.close()


async def test_backoff_doubles_to_the_cap_while_the_server_refuses():
    harness = Harness("sender-backoff")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: connections are refused
    try:
        await enable(harness, port)
        harness.services.doors.exit_button(1)
        sender = EventSender(
            harness.services.events,
            lambda: "127.0.0.1",
            backoff_first_ms=10,
            backoff_max_ms=80,
        )
        seen = []
        sender.start()
        try:
            for _ in range(200):
                await asyncio.sleep(0.005)
                if sender.backoff_ms and (not seen or seen[-1] != sender.backoff_ms):
                    seen.append(sender.backoff_ms)
                if len(seen) >= 5:
                    break
        finally:
            sender.stop()
        assert seen[:4] == [10, 20, 40, 80], seen
        assert harness.services.events.counters["failed"] >= 4
        assert harness.services.events.queued() == 1
    finally:
        harness.close()


async def test_udp_transport_sends_rfc5424_datagrams():
    harness = Harness("sender-udp")
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    try:
        await enable(harness, receiver.getsockname()[1], transport="udp")
        harness.services.doors.sensor(1, True)
        sender = EventSender(harness.services.events, lambda: "10.0.0.7")
        assert await sender.send_one() is True
        datagram = receiver.recv(2048).decode()
        prefix, _, message = datagram.partition(" - - - ")
        assert prefix.startswith("<134>1 ") and prefix.endswith(" 10.0.0.7 intercom-panel")
        assert message == "Access: Lock 1: Door was opened with door sensor"
        assert harness.services.events.queued() == 0
        sender.stop()
    finally:
        receiver.close()
        harness.close()
