"""A fake `machine` module for running a board's build without the board (in
the spirit of micropython-lib's dummy pins): Pin with a small electrical model,
UART on a real pseudo-terminal, WDT that really fires, reset().

Runs under CPython and the MicroPython unix port. The board tests copy it as
machine.py next to a board's staging folder; a test talks to it over UDP and
reads what it recorded from a log file, both named by environment variables:

  FAKE_HW_CONTROL_PORT  UDP port on 127.0.0.1 it listens on for commands:
                          "close A B" / "open A B"  a switch between pins A and B
                                                    (a keypad key joins a row to a column)
                          "level N 0|1|none"        drive input N from outside
  FAKE_HW_LOG           file it appends lines to: "pin N V" (a write to a pin listed
                        in FAKE_HW_LOG_PINS), "wdt start T", "wdt fired", "reset"
  FAKE_HW_LOG_PINS      comma-separated pin numbers whose writes are logged
  FAKE_UART_<id>        the pty device UART(<id>) opens
  FAKE_HW_CRASH_PIN     building Pin(N) with this number raises (a boot that crashes)

Electrical model: an input reads the level of an output it is joined to
through closed switches (the lowest, if several: open-drain wiring), else its
outside level, else its pull (PULL_DOWN 0; PULL_UP or none 1: an input-only
pin has its external pull-up).
"""

import os
import sys

try:
    import select
    import socket
except ImportError:  # pragma: no cover - every port the tests use has both
    raise

_MICROPYTHON = sys.implementation.name == "micropython"
_pins = {}  # number -> the last Pin built with it
_switches = set()  # frozenset({a, b}) of closed switches
_levels = {}  # number -> level driven from outside
_control = None
_watchdogs = []


def _getenv(name, default=None):
    value = os.getenv(name)
    return default if value is None else value


def _log(line):
    path = _getenv("FAKE_HW_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(line + "\n")


def _logged_pins():
    text = _getenv("FAKE_HW_LOG_PINS", "")
    return [int(part) for part in text.split(",") if part.strip()]


def _ticks_ms():
    import time

    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def _poll_control():
    """Apply every command waiting on the control socket, and check the
    watchdogs (every fake call passes here: the board's loop calls often)."""
    global _control
    port = _getenv("FAKE_HW_CONTROL_PORT")
    if port and _control is None:
        _control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _control.bind(socket.getaddrinfo("127.0.0.1", int(port))[0][-1])
        _control.setblocking(False)
    while _control is not None:
        try:
            data = _control.recv(256)
        except OSError:
            break
        apply_command(data.decode())
    for watchdog in _watchdogs:
        watchdog._check()


def apply_command(text):
    words = text.split()
    if len(words) == 3 and words[0] in ("close", "open"):
        pair = frozenset((int(words[1]), int(words[2])))
        if words[0] == "close":
            _switches.add(pair)
        else:
            _switches.discard(pair)
    elif len(words) == 3 and words[0] == "level":
        number = int(words[1])
        if words[2] == "none":
            _levels.pop(number, None)
        else:
            _levels[number] = int(words[2])


def _joined(number):
    seen = {number}
    frontier = [number]
    while frontier:
        current = frontier.pop()
        for pair in _switches:
            if current in pair:
                for other in pair:
                    if other not in seen:
                        seen.add(other)
                        frontier.append(other)
    return seen


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, number, mode=IN, pull=None, value=None):
        if str(number) == _getenv("FAKE_HW_CRASH_PIN", ""):
            raise OSError("fake machine: pin %s crashes (FAKE_HW_CRASH_PIN)" % number)
        self.number = number
        self.mode = mode
        self.pull = pull
        self._out = 0 if value is None else value
        self.writes = 0
        _pins[number] = self
        if mode == Pin.OUT and value is not None:
            self._record()

    def _record(self):
        if self.number in _logged_pins():
            _log("pin %d %d" % (self.number, self._out))

    def value(self, level=None):
        _poll_control()
        if level is not None:
            self._out = 1 if level else 0
            self.writes += 1
            if self.mode == Pin.OUT:
                self._record()
            return None
        if self.mode == Pin.OUT:
            return self._out
        drivers = [
            _pins[other]._out
            for other in _joined(self.number)
            if other != self.number and other in _pins and _pins[other].mode == Pin.OUT
        ]
        if drivers:
            return min(drivers)
        if self.number in _levels:
            return _levels[self.number]
        return 0 if self.pull == Pin.PULL_DOWN else 1

    def __call__(self, level=None):
        return self.value(level)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class UART:
    """machine.UART on the pty named by FAKE_UART_<id>: any(), readinto(),
    write(), deinit(), as a board's UART with timeout=0."""

    def __init__(self, uart_id, baudrate=115200, **options):
        path = _getenv("FAKE_UART_%s" % uart_id)
        if not path:
            raise OSError("fake machine: no FAKE_UART_%s" % uart_id)
        from panel.drivers.pty_stream import _set_raw_nonblocking

        self.id = uart_id
        self.baudrate = baudrate
        self.options = options
        self._handle = open(path, "r+b") if _MICROPYTHON else open(path, "r+b", buffering=0)
        _set_raw_nonblocking(self._handle.fileno())
        self._poll = select.poll()
        self._poll.register(self._handle.fileno(), select.POLLIN)

    def any(self):
        _poll_control()
        for _, events in self._poll.poll(0):
            if events & select.POLLIN:
                return 1
        return 0

    def readinto(self, buffer):
        try:
            count = self._handle.readinto(buffer)
        except OSError:
            return None
        return count or None

    def write(self, data):
        try:
            return self._handle.write(data)
        except OSError:
            return 0

    def deinit(self):
        try:
            self._handle.close()
        except OSError:
            pass


class WDT:
    """Fires (logs "wdt fired" and kills the process, as a reset would) when
    not fed for `timeout` ms; checked at every fake call."""

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self._fed = _ticks_ms()
        self.feeds = 0
        _watchdogs.append(self)
        _log("wdt start %d" % timeout)

    def feed(self):
        self._fed = _ticks_ms()
        self.feeds += 1

    def _check(self):
        if _ticks_ms() - self._fed > self.timeout:
            _log("wdt fired")
            _watchdogs.remove(self)
            if _MICROPYTHON:
                # No os._exit on the unix port: the shell's parent is this process.
                os.system("kill -9 $PPID")
            else:
                os._exit(137)


def reset():
    _log("reset")
    raise SystemExit(75)


def unique_id():
    return b"\xfa\x4e\x00\x00\x00\x01"


def freq():
    return 240000000


def idle():
    return None
