"""Run sipp (Debian package sip-tester) as a real SIP peer for the UA tests.

Sipp(scenario, work_dir, remote=None).start() launches `sipp -sf tests/sipp/<scenario>`
on 127.0.0.1 with free SIP and media ports, one call (-m 1), no stdin, a
global timeout that counts as an error, and message/error logs in work_dir.
`await sipp.wait()` (or `sipp.wait_blocking()`) returns its exit status:
0 when the scenario ran to its end, 1 when the call failed, other codes for
fatal errors. `sipp.log()` gives both logs for assertion messages.
"""

import asyncio
import os
import shutil
import socket
import subprocess
import time

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sipp")
PCAP_DIR = "/usr/share/sip-tester"


def sipp_path():
    return shutil.which("sipp")


def free_udp_port():
    """A UDP port nobody holds right now on 127.0.0.1 (small race accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_udp_port_pair():
    """An even port whose odd neighbour is free too (sipp takes port+1 for RTCP... and +2)."""
    for _ in range(50):
        port = free_udp_port() & ~1
        if port < 1024 or port > 65000:
            continue
        sockets = []
        try:
            for offset in range(4):
                holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(holder)
                holder.bind(("127.0.0.1", port + offset))
            return port
        except OSError:
            continue
        finally:
            for holder in sockets:
                holder.close()
    raise RuntimeError("no free UDP port range")


def _port_taken(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_tcp_port():
    """A TCP port nobody listens on right now on 127.0.0.1 (small race accepted)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tcp_listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Sipp:
    def __init__(self, scenario, work_dir, remote=None, timeout_s=30, extra=(), tcp=False):
        # tcp: sipp's SIP over one TCP connection (-t t1), on a free TCP port.
        self.scenario = os.path.join(SCENARIO_DIR, scenario)
        self.work_dir = str(work_dir)
        self.remote = remote
        self.timeout_s = timeout_s
        self.tcp = tcp
        self.extra = (["-t", "t1"] if tcp else []) + list(extra)
        self.port = free_tcp_port() if tcp else free_udp_port()
        self.media_port = free_udp_port_pair()
        self.process = None
        self.message_file = os.path.join(self.work_dir, "sipp_messages.log")
        self.error_file = os.path.join(self.work_dir, "sipp_errors.log")

    @property
    def address(self):
        return ("127.0.0.1", self.port)

    def command(self):
        command = [
            sipp_path(),
            "-sf",
            self.scenario,
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mp",
            str(self.media_port),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "%ds" % self.timeout_s,
            "-timeout_error",
            "-trace_msg",
            "-message_file",
            self.message_file,
            "-trace_err",
            "-error_file",
            self.error_file,
        ] + self.extra
        if self.remote:
            command.append("%s:%d" % self.remote)
        return command

    def start(self):
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.work_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # A UAS must be listening before the UA sends; wait for its port.
        listening = _tcp_listening if self.tcp else _port_taken
        deadline = time.monotonic() + 5
        while not listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sipp did not start: %s" % self.log())
            time.sleep(0.02)
        return self

    async def wait(self, timeout_s=None):
        deadline = time.monotonic() + (timeout_s or self.timeout_s + 5)
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.stop()
                break
            await asyncio.sleep(0.05)
        return self.process.wait()

    def wait_blocking(self, timeout_s=None):
        try:
            return self.process.wait(timeout=timeout_s or self.timeout_s + 5)
        except subprocess.TimeoutExpired:
            self.stop()
            return self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self):
        text = ""
        for path in (self.error_file, self.message_file):
            if os.path.exists(path):
                with open(path, errors="replace") as handle:
                    text += "==== %s\n%s\n" % (os.path.basename(path), handle.read()[-6000:])
        if self.process is not None and self.process.stderr and self.process.poll() is not None:
            text += "==== stderr\n" + self.process.stderr.read().decode(errors="replace")[-2000:]
        return text


def panel_sip_account(proxy):
    """The SIP settings the call tests post to a panel: account 100001 (password
    s3cret) at `proxy`, UDP, 30 s registrations."""
    return {
        "proxy": proxy,
        "realm": "127.0.0.1",
        "user": "100001",
        "password": "s3cret",
        "user_id": "100001",
        "registration_interval": 30,
        "transport": "udp",
        "outbound": "",
        "stun": {"ip": "", "port": 3478},
    }
