# The clock on a board without a battery-backed RTC: it boots at 2000-01-01,
# so panel.clock.Clock answers None (unset) until NTP succeeds; then every
# RESYNC_MS the time is fetched again, with RETRY_MS between failed attempts.
#
# The server comes from the NTP setting (services/settings.py ECHO_SETTINGS
# "ntp": custom_server, use_default, enabled), read at each attempt so a change
# over the API applies at the next one. "enabled": False stops the periodic
# resync but not the boot sync: a panel whose clock is unset cannot apply a
# schedule (redirect-rules spec 2.6) and has no other source of time.
#
# `ntptime` (micropython-lib, frozen into the ESP32 and rp2 firmware) is handed
# in: settime() fetches the time and sets the RTC to UTC.

from panel.compat import const, sleep_ms
from panel.drivers.task_driver import TaskDriver

DEFAULT_SERVER = "pool.ntp.org"
RESYNC_MS = const(4 * 3600 * 1000)  # every four hours
RETRY_MS = const(60 * 1000)
FIRST_RETRY_MS = const(5 * 1000)


def ntp_server(setting):
    """The server an NTP setting document names."""
    if setting and not setting.get("use_default", True):
        server = setting.get("custom_server") or ""
        if server:
            return server
    return DEFAULT_SERVER


class NtpClock(TaskDriver):
    def __init__(self, clock, ntptime_module, read_setting, log=print):
        # read_setting: callable() -> the "ntp" setting's document.
        self._clock = clock
        self._ntptime = ntptime_module
        self._read_setting = read_setting
        self._log = log
        self._task = None
        self.synced = 0
        self.failures = 0
        self.server = None

    def start(self):
        self._start_task()

    def sync_once(self):
        """One attempt; True when the clock was set."""
        setting = self._read_setting() or {}
        self.server = ntp_server(setting)
        self._ntptime.host = self.server
        try:
            self._ntptime.settime()
        except (OSError, OverflowError, IndexError) as error:
            self.failures += 1
            self._log("ntp: %s failed: %r" % (self.server, error))
            return False
        self.synced += 1
        self._clock.mark_set()
        self._log("ntp: clock set from %s" % self.server)
        return True

    async def _run(self):
        retry_ms = FIRST_RETRY_MS
        while not self.sync_once():
            await sleep_ms(retry_ms)
            retry_ms = min(retry_ms * 2, RETRY_MS)
        while True:
            await sleep_ms(RESYNC_MS)
            if not (self._read_setting() or {}).get("enabled", False):
                continue
            while not self.sync_once():
                await sleep_ms(RETRY_MS)
