"""Start the host panel as a real process and talk to it over a real socket.

Used by the black-box tests: they see only what a management server sees.
runtime="cpython" runs host.panel_process under CPython, runtime="micropython"
the .mpy build of boards/unix under the real MicroPython unix port; both
through `make run`'s launcher (host.run --runtime ...).
"""

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

from support.processes import stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASIC = "Basic " + base64.b64encode(b"admin:123456").decode()
RUNTIMES = ("cpython", "micropython")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Reply:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw)

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.raw[:200])


class PanelProcess:
    """The simulator as `make run` starts it (host.run), on a free port."""

    def __init__(self, data_dir, port=None, module="host.run", extra_args=None, runtime="cpython"):
        if runtime not in RUNTIMES:
            raise ValueError("runtime: one of %s" % (RUNTIMES,))
        self.runtime = runtime
        self.data_dir = str(data_dir)
        self.port = port or free_port()
        self.module = module
        # Tests run several panels at once: any free SIP and emulator ports.
        self.extra_args = (
            list(extra_args) if extra_args is not None else ["--sip-port", "0", "--no-adapter"]
        )
        self.process = None

    def start(self, timeout=20):
        command = [
            sys.executable,
            "-m",
            self.module,
            "--port",
            str(self.port),
            "--data",
            self.data_dir,
        ] + self.extra_args
        if self.module == "host.run":
            # The tests' sandbox: whatever a test or a fuzzer stores as SIP
            # proxy or event server, nothing is sent beyond the loopback.
            command += ["--runtime", self.runtime, "--loopback-only"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("panel exited: %s" % self.output())
            try:
                if self.request("GET", "/api/info", auth=None).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("panel did not answer in %s s" % timeout)

    def restarted(self, timeout=20):
        """A new process on the same data directory, port and runtime."""
        return PanelProcess(
            self.data_dir, self.port, self.module, self.extra_args, self.runtime
        ).start(timeout)

    def output(self):
        if self.process is None or self.process.stdout is None:
            return ""
        if self.process.poll() is None:
            return ""
        return self.process.stdout.read().decode(errors="replace")

    def request(
        self,
        method,
        path,
        body=None,
        auth=BASIC,
        headers=None,
        raw_body=None,
        timeout=10,
        source=None,
    ):
        # source: the client's own address (another 127.x.y.z is another
        # client for the panel's per-source limits).
        source_address = (source, 0) if source else None
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=source_address
        )
        all_headers = {}
        if auth:
            all_headers["Authorization"] = auth
        payload = raw_body
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if headers:
            all_headers.update(headers)
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def kill_hard(self):
        """kill -9 the whole process group: a power cut for the host panel."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process is None:
            return
        stop_process(self.process, timeout=15, group=True)
