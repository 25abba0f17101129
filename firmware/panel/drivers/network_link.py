# Network bring-up and supervision on a board: Ethernet (network.LAN with the
# PHY settings of the board file) or Wi-Fi (network.WLAN, station), DHCP or a
# static address, retried with backoff, and logged when the link drops and
# when it returns.
#
# Board file:
#     "network": {"kind": "lan", "phy": "LAN8720", "phy_addr": 0, "mdc": 23,
#                 "mdio": 18, "power": 12, "ref_clk": 0, "ref_clk_mode": "out",
#                 "address": "dhcp"}
#     "network": {"kind": "wlan", "address": {"ip": "192.168.1.50",
#                 "netmask": "255.255.255.0", "gateway": "192.168.1.1",
#                 "dns": "192.168.1.1"}, "country": "DE"}
# Wi-Fi credentials are never in the board file nor in git: WIFI_FILE on the
# board's flash, {"ssid": "...", "password": "..."}, written once with mpremote
# (README "Flash a real panel").
#
# The HTTP server listens on 0.0.0.0 and the SIP socket is bound to the
# wildcard too, so both outlive a dropped link: lwIP keeps the sockets and they
# answer again once the interface has its address. on_up is called on every
# (re)connection so the wiring can make the SIP user agent register at once
# instead of at its next retry.
#
# The interface is built in start() (not at import nor in the constructor:
# DESIGN.md rule 3) from the `network` and `machine` modules handed in.
import asyncio
import json

from panel.compat import const, sleep_ms, ticks_diff, ticks_ms
from panel.drivers.task_driver import TaskDriver

WIFI_FILE = "wifi.json"
# How often a running link is checked.
CHECK_MS = const(2000)
# How long one connection attempt may take before it is retried.
CONNECT_TIMEOUT_MS = const(20000)
# Backoff between failed attempts: doubles from the first to the last.
RETRY_FIRST_MS = const(2000)
RETRY_LAST_MS = const(60000)


def read_wifi_credentials(path=WIFI_FILE):
    """(ssid, password) from the board's credentials file; OSError or
    ValueError when it is missing or malformed."""
    with open(path) as handle:
        document = json.load(handle)
    if not isinstance(document, dict) or not isinstance(document.get("ssid"), str):
        raise ValueError(path + ': needs {"ssid": ..., "password": ...}')
    return document["ssid"], document.get("password", "")


def build_interface(network_module, machine_module, config):
    """The board's network interface object (not yet active)."""
    kind = config.get("kind", "lan")
    if kind == "wlan":
        return network_module.WLAN(network_module.STA_IF)
    if kind != "lan":
        raise ValueError("network kind must be lan or wlan")
    pin = machine_module.Pin
    options = {
        "mdc": pin(config["mdc"]),
        "mdio": pin(config["mdio"]),
        "phy_type": getattr(network_module, "PHY_" + config.get("phy", "LAN8720")),
        "phy_addr": config.get("phy_addr", 0),
    }
    if "power" in config:
        options["power"] = pin(config["power"])
    if "ref_clk" in config:
        options["ref_clk"] = pin(config["ref_clk"])
        options["ref_clk_mode"] = pin.OUT if config.get("ref_clk_mode") == "out" else pin.IN
    return network_module.LAN(**options)


class NetworkLink(TaskDriver):
    def __init__(
        self,
        network_module,
        machine_module,
        config,
        credentials=read_wifi_credentials,
        on_up=None,
        on_down=None,
        log=print,
        ticks=ticks_ms,
    ):
        self._network = network_module
        self._machine = machine_module
        self.config = config
        self._credentials = credentials
        self.on_up = on_up
        self.on_down = on_down
        self._log = log
        self._ticks = ticks
        self.interface = None
        self.connected = False
        self.address = None
        self.attempts = 0
        self.drops = 0
        self._task = None
        self._up = None

    def start(self):
        self._up = asyncio.Event()
        self._start_task()

    async def wait_up(self):
        await self._up.wait()

    def _configure(self):
        interface = self.interface
        address = self.config.get("address", "dhcp")
        if isinstance(address, dict):
            interface.ifconfig(
                (
                    address["ip"],
                    address["netmask"],
                    address["gateway"],
                    address.get("dns", "8.8.8.8"),
                )
            )
        if self.config.get("kind") == "wlan":
            ssid, password = self._credentials()
            interface.connect(ssid, password)

    def _is_connected(self):
        try:
            return bool(self.interface.isconnected())
        except OSError:
            return False

    async def _connect(self):
        """One attempt; True once the interface has its address."""
        self.attempts += 1
        try:
            if self.interface is None:
                self.interface = build_interface(self._network, self._machine, self.config)
            if not self.interface.active():
                self.interface.active(True)
            self._configure()
        except (OSError, ValueError, KeyError) as error:
            self._log("network: bring-up failed: %r" % (error,))
            return False
        started = self._ticks()
        while ticks_diff(self._ticks(), started) < CONNECT_TIMEOUT_MS:
            if self._is_connected():
                return True
            await sleep_ms(250)
        self._log("network: no link after %d ms" % CONNECT_TIMEOUT_MS)
        return False

    async def _run(self):
        retry_ms = RETRY_FIRST_MS
        while True:
            if not await self._connect():
                await sleep_ms(retry_ms)
                retry_ms = min(retry_ms * 2, RETRY_LAST_MS)
                continue
            retry_ms = RETRY_FIRST_MS
            self.connected = True
            self.address = self.interface.ifconfig()[0]
            self._log("network: up, address %s" % self.address)
            self._up.set()
            if self.on_up is not None:
                self.on_up(self.address)
            while self._is_connected():
                await sleep_ms(CHECK_MS)
            self.connected = False
            self.drops += 1
            self._up = asyncio.Event()
            self._log("network: link down; retrying")
            if self.on_down is not None:
                self.on_down()
