# A real board's hardware drivers, built from its board file and attached to
# the wired panel (firmware/main.py calls this; the simulator boards have none
# of it). The `machine`, `network` and `ntptime` modules are handed in: on a
# board they are the port's own, in the tests the fakes of tests/support.
#
#     hardware = BoardHardware(board, machine, network, ntptime)
#     parts = BoardParts(relay_pins=hardware.relay_pins(),
#                        open_adapter=hardware.adapter_opener(), ...)
#     panel = build_panel(board, parts); panel.start()
#     hardware.attach(panel, server_task)    # keypad, inputs, network, NTP, watchdog
#     hardware.start()
#
# Board-file keys read here (boards/<name>/board.json): "relays", "adapter",
# "keypad", "inputs", "network", "watchdog_ms". Every pin is built here, in a
# function called by main.py, never at import time (DESIGN.md rule 3).
from panel.drivers.inputs import DebouncedInput, InputPoller
from panel.drivers.keypad import valid_keys
from panel.drivers.keypad_matrix import KeypadMatrix, KeypadScanner
from panel.drivers.network_link import NetworkLink
from panel.drivers.ntp_clock import NtpClock
from panel.drivers.relays import RelayOutput, inactive_level
from panel.drivers.uart_stream import uart_opener
from panel.drivers.watchdog import TIMEOUT_MS, Watchdog, task_alive
from panel.services.settings import ECHO_SETTINGS, echo_setting

_PULLS = {"up": "PULL_UP", "down": "PULL_DOWN"}


class BoardHardware:
    def __init__(self, board, machine, network=None, ntptime=None, log=print):
        self.board = board
        self._machine = machine
        self._network = network
        self._ntptime = ntptime
        self._log = log
        self.relays = []
        self.keypad = None
        self.inputs = None
        self.network = None
        self.ntp = None
        self.watchdog = None
        self._started = []

    def _input_pin(self, number, pull):
        pin_class = self._machine.Pin
        name = _PULLS.get(pull)
        if name is None:
            return pin_class(number, pin_class.IN)  # external resistor (ESP32 34-39)
        return pin_class(number, pin_class.IN, getattr(pin_class, name))

    # -- parts the wiring takes ----------------------------------------------
    def relay_pins(self):
        """RelayOutput of each lock, lock 1 first, already at the inactive level."""
        pin_class = self._machine.Pin
        self.relays = []
        for spec in self.board.get("relays", []):
            pin = pin_class(spec["pin"], pin_class.OUT, value=inactive_level(spec))
            relay = RelayOutput(pin, spec.get("active", 1))
            relay.start()
            self.relays.append(relay)
        return self.relays

    def adapter_opener(self):
        adapter = self.board.get("adapter") or {}
        if adapter.get("transport") != "uart":
            return None
        return uart_opener(self._machine.UART, adapter)

    # -- drivers attached to the wired panel ---------------------------------
    def _press(self, panel, key):
        # 4x4 keypads have A-D: no meaning to the call engine (yet), ignored.
        if panel.calls is not None and valid_keys(key):
            panel.calls.press(key)

    def attach(self, panel, server_task=None):
        board = self.board
        keypad = board.get("keypad")
        if keypad:
            pin_class = self._machine.Pin
            active = keypad.get("active", 0)
            rows = [pin_class(n, pin_class.OUT, value=1 - active) for n in keypad["rows"]]
            columns = [
                self._input_pin(n, keypad.get("pull", "up" if active == 0 else "down"))
                for n in keypad["columns"]
            ]
            matrix = KeypadMatrix(rows, columns, keypad["keys"], active)
            self.keypad = KeypadScanner(matrix, lambda key: self._press(panel, key), log=self._log)
        doors = panel.services.doors
        inputs = []
        for spec in board.get("inputs", []):
            pin = self._input_pin(spec["pin"], spec.get("pull", "up"))
            lock = spec.get("lock", 1)
            if spec["kind"] == "exit_button":
                handler = _exit_button_handler(doors, lock)
            elif spec["kind"] == "door_sensor":
                handler = _sensor_handler(doors, lock)
            else:
                raise ValueError("input kind must be exit_button or door_sensor")
            inputs.append(
                DebouncedInput(
                    pin,
                    spec.get("active", 0),
                    on_change=handler,
                    name=spec["kind"],
                    report_initial=spec["kind"] == "door_sensor",
                )
            )
        if inputs:
            self.inputs = InputPoller(inputs, log=self._log)
        if board.get("network") and self._network is not None:
            self.network = NetworkLink(
                self._network,
                self._machine,
                board["network"],
                on_up=lambda address: _network_up(panel, address),
                log=self._log,
            )
        if self._ntptime is not None:
            settings = panel.services.settings
            self.ntp = NtpClock(
                panel.services.clock, self._ntptime, lambda: _ntp_setting(settings), log=self._log
            )
        checks = [("http", lambda: task_alive(server_task) and panel.http_server.listening())]
        if panel.sip_user_agent is not None:
            # PolledSocket keeps its task in _task (None once stopped).
            checks.append(("sip", lambda: task_alive(panel.sip_user_agent._task)))
        if panel.adapter is not None:
            checks.append(("adapter", lambda: task_alive(panel.adapter._task)))
        if hasattr(self._machine, "WDT"):
            self.watchdog = Watchdog(
                self._machine.WDT, checks, board.get("watchdog_ms", TIMEOUT_MS), log=self._log
            )

    def start(self):
        # The network first: NTP and the watchdog's checks depend on it.
        for driver in (self.network, self.ntp, self.keypad, self.inputs, self.watchdog):
            if driver is not None:
                driver.start()
                self._started.append(driver)

    def stop(self):
        while self._started:
            self._started.pop().stop()


def _exit_button_handler(doors, lock):
    def changed(pressed):
        if pressed:
            doors.exit_button(lock)

    return changed


def _sensor_handler(doors, lock):
    def changed(is_open):
        doors.sensor(lock, is_open)

    return changed


def _ntp_setting(settings):
    """The "ntp" setting's document, read through its one declaration."""
    for _, name, _, fields in ECHO_SETTINGS:
        if name == "ntp":
            return settings.read(echo_setting(name, fields))
    return {}


def _network_up(panel, address):
    # The link (re)came: the SIP user agent registers now, not at its retry.
    user_agent = panel.sip_user_agent
    if user_agent is None:
        return
    refresh = getattr(user_agent, "refresh_registration", None)
    if refresh is not None:
        refresh()
