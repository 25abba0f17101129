"""`make events-sink`: a tiny management-server stand-in that prints every
event line the panel sends (spec section 10), one per line, as it arrives.

    make events-sink                     # listens on 127.0.0.1:5140 (HTTP)
    make events-sink EVENTS_PORT=6000

Point the panel at it (with `make run` in another terminal):

    curl -u admin:123456 -X POST http://127.0.0.1:8080/api/v1/syslog/settings \
      -H 'Content-Type: application/json' \
      -d '{"enabled": true, "server": {"server": "127.0.0.1", "port": 5140, "severity": 6}}'

`--udp` listens for the RFC 5424 datagrams of `"transport": "udp"` instead.
`--delay S` answers each POST only after S seconds (a slow server).
"""

import argparse
import asyncio
import sys

_BODY_MAX = 65536  # bytes of one POST body read; more is refused (413)


async def read_post(reader):
    """(status, body) of one HTTP request on the stream: 200 with the body
    of a POST, else an error status and b""."""
    request_line = await reader.readline()
    if not request_line:
        return None, b""
    length = 0
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return 400, b""
    if not request_line.startswith(b"POST "):
        return 405, b""
    if length > _BODY_MAX:
        return 413, b""
    body = await reader.readexactly(length) if length else b""
    return 200, body


class HttpSink:
    """An HTTP listener that hands every POST body to `on_line` and answers
    200 (after `delay` seconds); also what the tests use as the server."""

    def __init__(self, on_line, host="127.0.0.1", port=0, delay=0.0):
        self.on_line = on_line
        self.host = host
        self.port = port
        self.delay = delay
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader, writer):
        try:
            status, body = await read_post(reader)
            if status is None:
                return
            if status == 200:
                self.on_line(body.decode("utf-8", "replace"))
                if self.delay:
                    await asyncio.sleep(self.delay)
            reason = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}.get(status, "Error")
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                % (status, reason.encode())
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def stop(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


class _UdpPrinter(asyncio.DatagramProtocol):
    def datagram_received(self, data, address):
        print(data.decode("utf-8", "replace"), flush=True)


async def serve(host, port, udp, delay):
    if udp:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(_UdpPrinter, local_addr=(host, port))
        print("events-sink: syslog/udp on %s:%d" % (host, port), file=sys.stderr, flush=True)
    else:
        sink = await HttpSink(lambda line: print(line, flush=True), host, port, delay).start()
        print("events-sink: http://%s:%d/" % (host, sink.port), file=sys.stderr, flush=True)
    await asyncio.Event().wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5140)
    parser.add_argument("--udp", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.udp, args.delay))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
