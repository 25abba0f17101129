"""A fake `network` module: LAN and WLAN whose link a test drops and brings
back through a file (FAKE_NETWORK_LINK: "up" or "down"; missing: up).

STA_IF, PHY_LAN8720 and the LAN keyword arguments are those of MicroPython's
ESP32 and rp2 ports; the constructor records them in FAKE_HW_LOG as
"lan {...}" / "wlan" so a test sees the PHY settings the board file gave.
"""

import os

STA_IF = 0
AP_IF = 1
PHY_LAN8720 = 0
PHY_IP101 = 1
PHY_RTL8201 = 2


def _log(line):
    path = os.getenv("FAKE_HW_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(line + "\n")


def _link_up():
    path = os.getenv("FAKE_NETWORK_LINK")
    if not path:
        return True
    try:
        with open(path) as handle:
            return handle.read().strip() != "down"
    except OSError:
        return True


class _Interface:
    def __init__(self):
        self._active = False
        self._config = ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def active(self, state=None):
        if state is None:
            return self._active
        self._active = bool(state)
        return None

    def isconnected(self):
        return self._active and _link_up()

    def ifconfig(self, config=None):
        if config is None:
            return self._config
        self._config = tuple(config)
        _log("ifconfig %s" % (",".join(self._config),))
        return None


class LAN(_Interface):
    def __init__(self, **options):
        super().__init__()
        names = sorted(options)
        _log(
            "lan "
            + " ".join(
                "%s=%r" % (name, getattr(options[name], "number", options[name])) for name in names
            )
        )


class WLAN(_Interface):
    def __init__(self, interface=STA_IF):
        super().__init__()
        self.ssid = None
        _log("wlan %d" % interface)

    def connect(self, ssid, password=""):
        self.ssid = ssid
        _log("wlan connect %s" % ssid)
