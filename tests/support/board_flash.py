"""A real board's build run under the MicroPython unix port as if a staging
folder were the board's flash, with the fake machine/network/ntptime modules
on its path, its UART on the adapter emulator's pty.

    flash = BoardFlash(tmp_path, "esp32-poe-iso").start()
    flash.press("12#")            # on the fake keypad, through the key matrix
    flash.set_level(34, 0)        # an input driven from outside
    flash.request("GET", "/api/info")
    flash.stop()

The build is tools/compile_firmware.py's (build/<board>/, copied); the board
file in the copy gets a free HTTP port on 127.0.0.1 and SIP on a free port.
The heap is the board file's heap_kib doubled: the unix port is 64-bit, where
every object pointer is twice a board's. A Pico 2 W's 192 KiB cannot hold the
.mpy tree loaded into RAM (measured: the panel's import set needs 640 KiB on
the unix port, 512 fails); that board runs the frozen image of its manifest.py,
whose bytecode stays in flash, so its tree is tried here with UNIX_TREE_HEAP_KIB.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPPORT = os.path.join(ROOT, "tests", "support")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
BASIC = "Basic " + base64.b64encode(b"admin:123456").decode()
# What the board does at power-up: boot.py, then main.py as __main__.
UNIX_TREE_HEAP_KIB = {"pico2w": 768}
BOOT = "exec(open('boot.py').read())\nexec(open('main.py').read())\n"

sys.path.insert(0, os.path.join(ROOT, "tools"))
import compile_firmware  # noqa: E402


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Emulator:
    """host.adapter_emulator on a pty, started as host/run.py starts it."""

    def __init__(self, directory):
        self.directory = str(directory)
        self.link = os.path.join(self.directory, "adapter-pty")
        self.process = None
        self.http_port = None

    def start(self, timeout=15.0):
        log_path = os.path.join(self.directory, "adapter-emulator.log")
        log = open(log_path, "w")
        command = [sys.executable, "-m", "host.adapter_emulator", "--pty-link", self.link]
        command += ["--http-port", "0", "--laskomex", "1-80", "--vizit", "1-40"]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(log_path) as handle:
                for line in handle:
                    if line.startswith("{"):
                        self.http_port = json.loads(line)["http_port"]
                        return self
            time.sleep(0.05)
        raise RuntimeError("adapter emulator did not start")

    def control(self, path, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
        data = None if body is None else json.dumps(body)
        connection.request("GET" if body is None else "POST", path, body=data)
        reply = json.loads(connection.getresponse().read())
        connection.close()
        return reply

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class BoardFlash:
    def __init__(
        self, directory, board, emulator=None, environment=None, board_overrides=None, boot=BOOT
    ):
        self.directory = str(directory)
        self.board_name = board
        self.flash = os.path.join(self.directory, "flash")
        self.fakes = os.path.join(self.directory, "fakes")
        self.log_path = os.path.join(self.directory, "hardware.log")
        self.output_path = os.path.join(self.directory, "console.log")
        self.link_path = os.path.join(self.directory, "link")
        self.emulator = emulator
        self.extra_environment = dict(environment or {})
        self.board_overrides = dict(board_overrides or {})
        self.boot_script = boot
        self.control_port = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port()
        self.process = None
        self._control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.prepare()

    def prepare(self):
        tree = compile_firmware.build_board(self.board_name)
        shutil.copytree(tree, self.flash)
        os.makedirs(self.fakes)
        for fake, name in (
            ("fake_machine.py", "machine.py"),
            ("fake_network.py", "network.py"),
            ("fake_ntptime.py", "ntptime.py"),
        ):
            shutil.copyfile(os.path.join(SUPPORT, fake), os.path.join(self.fakes, name))
        board = self.board_file()
        board["http_host"] = "127.0.0.1"
        board["http_port"] = self.http_port
        board["sip"] = {"local_host": "127.0.0.1", "local_port": free_port(socket.SOCK_DGRAM)}
        board.update(self.board_overrides)
        with open(os.path.join(self.flash, "board.json"), "w") as handle:
            json.dump(board, handle)
        if (board.get("network") or {}).get("kind") == "wlan":
            # The credentials file a deploy writes (never in git).
            with open(os.path.join(self.flash, "wifi.json"), "w") as handle:
                json.dump({"ssid": "panel-test", "password": "not-a-secret"}, handle)

    def board_file(self):
        with open(os.path.join(self.flash, "board.json")) as handle:
            return json.load(handle)

    def environment(self):
        board = self.board_file()
        relays = ",".join(str(spec["pin"]) for spec in board.get("relays", []))
        environment = dict(
            os.environ,
            MICROPYPATH=self.fakes + ":.frozen",
            FAKE_HW_CONTROL_PORT=str(self.control_port),
            FAKE_HW_LOG=self.log_path,
            FAKE_HW_LOG_PINS=relays,
            FAKE_NETWORK_LINK=self.link_path,
        )
        if self.emulator is not None:
            environment["FAKE_UART_%s" % board["adapter"]["uart"]] = self.emulator.link
        environment.update(self.extra_environment)
        return environment

    def boot(self):
        """Power up: boot.py then main.py; returns without waiting."""
        heap_kib = UNIX_TREE_HEAP_KIB.get(self.board_name, 2 * self.board_file()["heap_kib"])
        output = open(self.output_path, "a")
        self.process = subprocess.Popen(
            [MICROPYTHON, "-X", "heapsize=%dk" % heap_kib, "-c", self.boot_script],
            cwd=self.flash,
            env=self.environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()
        return self

    def start(self, timeout=30.0):
        self.boot()
        self.wait_http(timeout)
        return self

    def wait_http(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "board exited %s:\n%s" % (self.process.returncode, self.console())
                )
            try:
                return self.request("GET", "/api/info", auth=None)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("board did not answer:\n" + self.console())

    def log_events(self):
        """The call log's event names, oldest first (BAS-IP 7.2)."""
        status, document = self.request("GET", "/api/v1/log/items?limit=100")
        if status != 200:
            raise AssertionError((status, document))
        return [item["name"]["key"] for item in document["list_items"]]

    def wait_exit(self, timeout=30.0):
        return self.process.wait(timeout=timeout)

    def console(self):
        with open(self.output_path) as handle:
            return handle.read()

    def hardware_log(self):
        try:
            with open(self.log_path) as handle:
                return handle.read().splitlines()
        except OSError:
            return []

    def send(self, command):
        self._control.sendto(command.encode(), ("127.0.0.1", self.control_port))

    def set_level(self, pin, level):
        self.send("level %d %s" % (pin, level))

    def key_pins(self, key):
        keypad = self.board_file()["keypad"]
        for row_index, line in enumerate(keypad["keys"]):
            if key in line:
                return keypad["rows"][row_index], keypad["columns"][line.index(key)]
        raise ValueError(key)

    def press(self, keys, hold_s=0.12, gap_s=0.08):
        """Press and release each key on the matrix, as a finger would."""
        for key in keys:
            row, column = self.key_pins(key)
            self.send("close %d %d" % (row, column))
            time.sleep(hold_s)
            self.send("open %d %d" % (row, column))
            time.sleep(gap_s)

    def set_link(self, up):
        with open(self.link_path, "w") as handle:
            handle.write("up" if up else "down")

    def request(self, method, path, body=None, auth=BASIC):
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
        headers = {"Authorization": auth} if auth else {}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        return response.status, json.loads(raw) if raw else None

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._control.close()
