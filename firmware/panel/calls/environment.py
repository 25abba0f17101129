# What the call engine asks of the rest of the panel: configuration and
# reachability (read by the machine and the controller) and the three effects
# the controller carries out (a lock, a call-log entry, a personal code).
#
# The machine (calls.machine) and the controller (calls.controller) take any
# object with these methods (duck-typed); tests/shared/call_environment.py is
# the fake, PanelEnvironment below the real one.
#
# Configuration (asked at the start of a call, and again at every redirect hop):
#   queue(number_text) -> list of destinations (the forward queue of that
#       apartment, BAS-IP spec 3.2), or None when it has no forward rule
#   mode() -> "all_at_once" | "one_by_one"                          (spec 3.4)
#   timeouts() -> (dial_timeout_s, forwarding_timeout_s, talk_timeout_s)
#   ring_timeout() -> ring_timeout_s of the redirect settings: the ring timer
#       of one attempt (redirect spec 5.0, 5.2); the machine uses the smaller
#       of it and the BAS-IP timeout bounding the attempt [D]
#   rules(called) -> iterable of the redirect rules that may apply to the
#       called number (all of them will do; consumed once per question)
#   minute_of_week() -> int, or None while the clock is unset (spec 2.6)
#   work_hours() -> the work-hours schedule; response_map() -> the SIP reply
#       -> outcome map (redirect spec 2.3; None: routing's default)
#   caller() -> the panel's own number (redirect filter_fromnumber)
#   reachable(kind, target) -> bool  (kind "sip" or "line"; spec 3.3)
#   lock_codes() -> {1: "1", 2: "2"}: the DTMF code of each lock
#   lock_seconds(lock) -> int: how long a door opening lasts
#
# Effects (the controller only; each returns at once, none raises for a
# refusal):
#   open_lock(lock, seconds, event, info) -> bool: release lock `lock` for
#       `seconds` (0: the lock's own timeout) and log `event` with `info`;
#       False when there is no such lock
#   log(event, info): write one call-log entry (spec 10)
#   find_personal_code(code) -> the access identifier (spec 8.1) whose
#       personal code is `code`, or None
#
# PanelEnvironment(panel, device, forwards, redirectrules, access) answers from
# today's panel.app.Panel. The settings are read through their declarations,
# which still live in the API modules; calls/ may not import panel.api
# (DESIGN.md: calls -> services, core, proto), so the wiring hands those
# modules in. Once the settings are declared in services/, this class reads
# them from there and the four arguments go.
from panel.calls.machine import MAX_NUMBER_DIGITS


class PanelEnvironment:
    def __init__(self, panel, device, forwards, redirectrules, access):
        self.panel = panel
        self._device = device
        self._forwards = forwards
        self._redirectrules = redirectrules
        self._access = access

    # -- configuration ------------------------------------------------------

    def queue(self, number):
        # Forward numbers are 1..int64 (spec 3.1): 1..19 ASCII digits.
        if (
            not isinstance(number, str)
            or not 1 <= len(number) <= MAX_NUMBER_DIGITS
            or number.strip("0123456789")
        ):
            return None
        value = int(number)
        if value < 1:
            return None
        return self.panel.forward_rules.get(value)

    def mode(self):
        forwards = self._forwards
        default = forwards.MODE_ALL_AT_ONCE
        stored = self.panel.settings.get(forwards.FORWARD_MODE_SETTINGS, {})
        return stored.get("forward_mode", default)

    def timeouts(self):
        device = self._device
        settings = self.panel.settings
        dial_defaults = device.DIAL_TIMEOUT_DEFAULTS
        talk_defaults = device.TALK_TIMEOUT_DEFAULTS
        dial = settings.get(device.DIAL_TIMEOUT_SETTINGS, dial_defaults)
        talk = settings.get(device.TALK_TIMEOUT_SETTINGS, talk_defaults)
        return (
            dial.get("dial_timeout", dial_defaults["dial_timeout"]),
            dial.get("forwarding_timeout", dial_defaults["forwarding_timeout"]),
            talk.get("talk_timeout", talk_defaults["talk_timeout"]),
        )

    def _redirect_settings(self):
        return self._redirectrules.load_settings(self.panel)

    def ring_timeout(self):
        return self._redirect_settings()["ring_timeout_s"]

    def rules(self, called):
        # The rule index answers with the few rules that may match `called`
        # (routing still checks each one); no scan of every rule.
        return self._redirectrules.candidate_rules(self.panel.store, called)

    def minute_of_week(self):
        return self._redirectrules.minute_of_week(self.panel)

    def work_hours(self):
        return self._redirect_settings()["work_hours"]

    def response_map(self):
        return self._redirect_settings()["response_map"]

    def caller(self):
        return self.panel.sip_settings().get("user") or "panel"

    def reachable(self, kind, target):
        """Spec 3.3: SIP entries need SIP enabled (digits also registration OK);
        analog lines need the adapter present and covering the line."""
        panel = self.panel
        if kind == "sip":
            if panel.sip is None or not panel.sip_enabled():
                return False
            if target.startswith("sip:"):
                return True
            return panel.sip_status()["sip_status"] == "OK"
        adapter = panel.adapter
        return adapter is not None and adapter.present and adapter.covers(target)

    def lock_codes(self):
        codes = {}
        for lock in (1, 2):
            codes[lock] = self._access.lock_settings(self.panel.settings, lock)["dtmf_code"]
        return codes

    def lock_seconds(self, lock):
        return self._access.lock_settings(self.panel.settings, lock)["lock_timeout"]

    # -- effects --------------------------------------------------------------

    def open_lock(self, lock, seconds, event, info):
        return self.panel.open_lock(lock, seconds, event, info)

    def log(self, event, info):
        self.panel.call_log.add(event, info)

    def find_personal_code(self, code):
        return self.panel.identifiers.find_personal_code(code)
