"""`make run`: the host simulator of the entrance panel on 127.0.0.1.

Starts the hybrid-adapter emulator (a separate process on a pseudo-terminal,
with a default building of Laskomex and Vizit handsets), then the panel process
(host.panel_process) connected to it, and restarts the panel whenever the API's
reboot route asks for it. Ctrl-C or SIGTERM stops everything cleanly.

--runtime micropython (`make run RUNTIME=micropython`) runs the panel on the
MicroPython unix port instead: tools/compile_firmware.py builds the board's
.mpy tree (build/unix/, from boards/unix/board.json) and the real `micropython`
runs its main.py with the board file's heap cap (-X heapsize=<heap_kib>k),
with the same ports, data directory, emulator and default state.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from host.panel_process import REBOOT_EXIT_CODE, ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import compile_firmware  # noqa: E402

DEFAULT_LOGIN = ("admin", "123456")
# The default building the emulator wires up.
DEFAULT_LASKOMEX_LINES = "1-80"
DEFAULT_VIZIT_LINES = "1-40"


class Launcher:
    def __init__(self, args):
        self.args = args
        self.data_dir = os.path.abspath(args.data)
        self.children = {}
        self.stopping = False
        self.adapter_link = None
        self.adapter_http = None
        self.build_dir = None

    def start_emulator(self, timeout=15.0):
        """Start the adapter emulator; returns once it announced its pty."""
        self.adapter_link = os.path.join(self.data_dir, "adapter-pty")
        announcements = os.path.join(self.data_dir, "adapter-emulator.log")
        with open(announcements, "w"):
            pass
        command = [
            sys.executable,
            "-m",
            "host.adapter_emulator",
            "--pty-link",
            self.adapter_link,
            "--http-port",
            str(self.args.adapter_http_port),
            "--laskomex",
            DEFAULT_LASKOMEX_LINES,
            "--vizit",
            DEFAULT_VIZIT_LINES,
        ]
        log = open(announcements, "a")
        self.children["emulator"] = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(announcements) as handle:
                for line in handle:
                    if line.startswith("{"):
                        announcement = json.loads(line)
                        self.adapter_http = announcement["http_port"]
                        return
            if self.children["emulator"].poll() is not None:
                raise RuntimeError("adapter emulator exited; see " + announcements)
            time.sleep(0.05)
        raise RuntimeError("adapter emulator did not start; see " + announcements)

    def micropython_command(self):
        """The unix port running the board's .mpy tree (built once per launch)."""
        if self.build_dir is None:
            self.build_dir = compile_firmware.build_board(self.args.board or "unix")
        with open(os.path.join(self.build_dir, "board.json")) as handle:
            board = json.load(handle)
        heap_kib = self.args.heap_kib or board.get("heap_kib", 512)
        micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
        return [micropython, "-X", "heapsize=%dk" % heap_kib, "main.py"]

    def panel_command(self):
        if self.args.runtime == "micropython":
            command = self.micropython_command() + ["--port", str(self.args.port)]
            command += ["--data", self.data_dir]
            if self.adapter_link:
                command += ["--adapter", self.adapter_link]
            if self.args.sip_port is not None:
                command += ["--sip-port", str(self.args.sip_port)]
            return command
        command = [
            sys.executable,
            "-m",
            "host.panel_process",
            "--port",
            str(self.args.port),
            "--data",
            self.data_dir,
            "--board",
            self.args.board or os.path.join(ROOT, "boards", "host", "board.json"),
        ]
        if self.adapter_link:
            command += ["--adapter", self.adapter_link]
        if self.args.sip_port is not None:
            command += ["--sip-port", str(self.args.sip_port)]
        return command

    def start_panel(self):
        if self.args.runtime == "micropython":
            command = self.panel_command()
            # Only the port's frozen modules (asyncio) besides the build tree.
            environment = dict(os.environ, MICROPYPATH=".frozen")
            self.children["panel"] = subprocess.Popen(command, cwd=self.build_dir, env=environment)
            return
        self.children["panel"] = subprocess.Popen(self.panel_command(), cwd=ROOT)

    def stop(self, *_):
        self.stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()

    def run(self):
        os.makedirs(self.data_dir, exist_ok=True)
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        if not self.args.no_adapter:
            self.start_emulator()
        self.start_panel()
        print("intercom-panel host simulator", flush=True)
        print(
            "  panel:    http://127.0.0.1:%d/  (login %s / %s)"
            % (self.args.port, DEFAULT_LOGIN[0], DEFAULT_LOGIN[1]),
            flush=True,
        )
        if self.adapter_http:
            print(
                "  adapter:  emulator control on http://127.0.0.1:%d/state "
                "(laskomex:%s, vizit:%s)"
                % (self.adapter_http, DEFAULT_LASKOMEX_LINES, DEFAULT_VIZIT_LINES),
                flush=True,
            )
        print("  keypad:   http://127.0.0.1:%d/sim/" % self.args.port, flush=True)
        print("  data:     %s" % self.data_dir, flush=True)
        print("  Ctrl-C stops it.", flush=True)
        while not self.stopping:
            status = self.children["panel"].wait()
            if self.stopping:
                break
            if status == REBOOT_EXIT_CODE:
                print("panel: rebooting", flush=True)
                self.start_panel()
                continue
            print("panel: exited with status %d" % status, flush=True)
            self.stop()
        for child in self.children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data", default=os.path.join(ROOT, "var", "host"))
    parser.add_argument(
        "--runtime",
        choices=("cpython", "micropython"),
        default="cpython",
        help="the panel's interpreter (micropython: the unix port over the .mpy build)",
    )
    parser.add_argument(
        "--board",
        default=None,
        help="board file (cpython; default boards/host) or board name (micropython; unix)",
    )
    parser.add_argument(
        "--heap-kib", type=int, default=None, help="micropython: heap cap (default: board file)"
    )
    parser.add_argument(
        "--adapter-http-port",
        type=int,
        default=None,
        help="emulator control port (default: panel port + 1; 0: any)",
    )
    parser.add_argument(
        "--sip-port",
        type=int,
        default=None,
        help="panel's SIP UDP port (default: the board's 5060; 0: any)",
    )
    parser.add_argument(
        "--no-adapter", action="store_true", help="run without the hybrid-adapter emulator"
    )
    args = parser.parse_args(argv)
    if args.adapter_http_port is None:
        args.adapter_http_port = args.port + 1
    return Launcher(args).run()


if __name__ == "__main__":
    sys.exit(main())
