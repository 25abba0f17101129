# In-memory asyncio streams with the methods panel.http_server uses of both
# runtimes' streams: a reader that hands out scripted chunks (and counts what
# it handed out: a limit checked "before reading" reads little), and a writer
# that keeps what was written. No sockets: they run under the WebAssembly
# runner too.
import asyncio


class FakeReader:
    """read(n) gives the next scripted chunk, at most n bytes of it; b"" once
    the script is done (the client closed), or waits forever when hold is
    true (the client is still there, silent)."""

    def __init__(self, chunks, hold=False):
        self.chunks = [bytes(chunk) for chunk in chunks if chunk]
        self.hold = hold
        self.handed_out = 0
        self.reads = 0

    async def read(self, count=-1):
        self.reads += 1
        if not self.chunks:
            if self.hold:
                while True:
                    await asyncio.sleep(3600)
            return b""
        chunk = self.chunks[0]
        if 0 <= count < len(chunk):
            self.chunks[0] = chunk[count:]
            chunk = chunk[:count]
        else:
            self.chunks.pop(0)
        self.handed_out += len(chunk)
        return chunk


class _Transport:
    def __init__(self, writer):
        self.writer = writer

    def abort(self):
        self.writer.closed = True
        self.writer.aborted = True


class FakeWriter:
    def __init__(self):
        self.data = b""
        self.closed = False
        self.aborted = False
        self.transport = _Transport(self)

    def write(self, data):
        self.data += bytes(data)

    async def drain(self):
        pass

    def get_extra_info(self, name):
        return ("127.0.0.1", 40000)

    def close(self):
        self.closed = True

    async def wait_closed(self):
        self.closed = True


def split_answers(data):
    """[(status, headers dict with lower-case names, body bytes)] of the HTTP
    answers in data, one after another (Content-Length bodies)."""
    answers = []
    while data:
        end = data.find(b"\r\n\r\n")
        assert end >= 0, data
        lines = data[:end].decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = data[end + 4 : end + 4 + length]
        answers.append((status, headers, body))
        data = data[end + 4 + length :]
    return answers
