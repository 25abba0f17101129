"""The hybrid-adapter emulator as a real subprocess, for host tests and benchmarks.

with EmulatorProcess(tmp_dir, laskomex="1-80", vizit="1-40") as emulator:
    emulator.link          # the pty symlink the driver opens
    emulator.get("/state")
    emulator.post("/lines/vizit:7", {"action": "answer"})
"""

import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request

from support.processes import stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class EmulatorProcess:
    def __init__(self, directory, laskomex="1-80", vizit="1-40", firmware="1.0", seed=1, link=None):
        self.link = link or os.path.join(directory, "hybrid-pty")
        self.arguments = [
            sys.executable,
            "-m",
            "host.adapter_emulator",
            "--pty-link",
            self.link,
            "--http-port",
            "0",
            "--laskomex",
            laskomex,
            "--vizit",
            vizit,
            "--firmware-version",
            firmware,
            "--seed",
            str(seed),
        ]
        self.process = None
        self.port = None
        self.pty = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=10.0):
        self.process = subprocess.Popen(
            self.arguments, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        announcement = self.read_announcement(timeout)
        self.port = announcement["http_port"]
        self.pty = announcement["pty"]
        return announcement

    def read_announcement(self, timeout=10.0):
        """The next JSON line the emulator prints (after start and replug)."""
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("emulator said nothing within %.1f s" % timeout)
            ready, _, _ = select.select([stdout], [], [], left)
            if ready:
                line = stdout.readline()
                if not line:
                    raise RuntimeError("emulator exited: %s" % self.process.stderr.read().decode())
                return json.loads(line)

    def stop(self):
        if self.process is None:
            return
        stop_process(self.process)
        self.process.stdout.close()
        self.process.stderr.close()
        self.process = None

    def request(self, method, path, body=None):
        """(status, decoded JSON) of one control request."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path),
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get(self, path):
        status, answer = self.request("GET", path)
        if status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, status, answer))
        return answer

    def post(self, path, body=None):
        status, answer = self.request("POST", path, {} if body is None else body)
        if status != 200:
            raise RuntimeError("POST %s: %d %s" % (path, status, answer))
        return answer

    def line(self, text):
        return self.get("/lines/" + text)


async def wait_until(predicate, timeout=10.0, step=0.01):
    """Wait (yielding to the loop) until predicate() is true; its last value."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(step)


class EventLog:
    """An on_event callback that keeps every AdapterEvent."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def kinds(self):
        return [event.kind for event in self.events]

    def find(self, kind, line=None, detail=None):
        for event in self.events:
            if (
                event.kind == kind
                and (line is None or event.line == line)
                and (detail is None or event.detail == detail)
            ):
                return event
        return None

    async def wait_for(self, kind, line=None, detail=None, timeout=10.0):
        found = await wait_until(lambda: self.find(kind, line, detail), timeout)
        if found is None:
            raise AssertionError(
                "no %s %s %s event within %.1f s; got %r"
                % (kind, line, detail, timeout, self.events)
            )
        return found
