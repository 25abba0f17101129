"""`make run`: the host simulator of the entrance panel on 127.0.0.1.

Starts the hybrid-adapter emulator (a separate process on a pseudo-terminal,
with a default building of Laskomex and Vizit handsets), then the panel process
(host.panel_process) connected to it, and restarts the panel whenever the API's
reboot route asks for it. Ctrl-C or SIGTERM stops everything cleanly.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from host.panel_process import REBOOT_EXIT_CODE, ROOT

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

    def panel_command(self):
        command = [
            sys.executable,
            "-m",
            "host.panel_process",
            "--port",
            str(self.args.port),
            "--data",
            self.data_dir,
            "--board",
            self.args.board,
        ]
        if self.adapter_link:
            command += ["--adapter", self.adapter_link]
        if self.args.sip_port is not None:
            command += ["--sip-port", str(self.args.sip_port)]
        if self.args.voice is not None:
            command += ["--voice", self.args.voice]
        return command

    def start_panel(self):
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
    parser.add_argument("--board", default=os.path.join(ROOT, "boards", "host", "board.json"))
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
    parser.add_argument(
        "--voice", default=None, help="WAV file the visitor says (host.panel_process --voice)"
    )
    args = parser.parse_args(argv)
    if args.adapter_http_port is None:
        args.adapter_http_port = args.port + 1
    return Launcher(args).run()


if __name__ == "__main__":
    sys.exit(main())
