"""A fake `ntptime` (micropython-lib's): settime() succeeds unless
FAKE_NTP_FAIL is set, and logs the host it was asked to use."""

import os

host = "pool.ntp.org"


def settime():
    path = os.getenv("FAKE_HW_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write("ntp %s\n" % host)
    if os.getenv("FAKE_NTP_FAIL"):
        raise OSError(110)
