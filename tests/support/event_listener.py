"""A management server's event endpoint for the tests and benchmarks: a real
HTTP listener (http.server on loopback, in a thread) that records every POST
body the panel sends (BAS-IP contract 10), optionally answering late.
"""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.panel_process import free_port

# 10.2: <PRI>TIMESTAMP HOSTNAME APP MESSAGE, UTC milliseconds with Z.
LINE = re.compile(r"^<(\d+)>(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ) (\S+) (\S+) (.+)$")


class Listener:
    """A management server's event endpoint: records every POST body."""

    def __init__(self, port=None, delay=0.0):
        self.port = port or free_port()
        self.delay = delay
        self.posts = []  # (path, content type, body text)
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    def start(self):
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with listener.lock:
                    listener.posts.append((self.path, self.headers.get("Content-Type"), body))
                if listener.delay:
                    time.sleep(listener.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def lines(self):
        with self.lock:
            return [post[2] for post in self.posts]

    def messages(self):
        return [LINE.match(line).group(5) for line in self.lines()]

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.messages()):
                return self.messages()
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; got %r" % (what, self.messages()))
