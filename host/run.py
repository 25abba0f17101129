"""`make run`: the host simulator of the entrance panel on 127.0.0.1.

Starts the panel process (host.panel_process) with the host board and restarts
it whenever the API's reboot route asks for it. Ctrl-C or SIGTERM stops
everything cleanly.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

from host.panel_process import REBOOT_EXIT_CODE, ROOT

DEFAULT_LOGIN = ("admin", "123456")


class Launcher:
    def __init__(self, args):
        self.args = args
        self.data_dir = os.path.abspath(args.data)
        self.children = {}
        self.stopping = False

    def panel_command(self):
        command = [sys.executable, "-m", "host.panel_process", "--port", str(self.args.port),
                   "--data", self.data_dir, "--board", self.args.board]
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
        self.start_panel()
        print("intercom-panel host simulator", flush=True)
        print("  panel:  http://127.0.0.1:%d/  (login %s / %s)" % (
            self.args.port, DEFAULT_LOGIN[0], DEFAULT_LOGIN[1]), flush=True)
        print("  data:   %s" % self.data_dir, flush=True)
        print("  Ctrl-C stops it.", flush=True)
        while True:
            status = self.children["panel"].wait()
            if self.stopping:
                break
            if status == REBOOT_EXIT_CODE:
                print("panel: rebooting", flush=True)
                self.start_panel()
                continue
            print("panel: exited with status %d" % status, flush=True)
            self.stop()
            break
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
    args = parser.parse_args(argv)
    return Launcher(args).run()


if __name__ == "__main__":
    sys.exit(main())
