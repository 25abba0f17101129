# What the call engine asks of the rest of the panel: configuration and
# reachability (read by the machine and the controller) and the three effects
# the controller carries out (a lock, a call-log entry, a personal code).
#
# The machine (calls.machine) and the controller (calls.controller) take any
# object with these methods (duck-typed); tests/shared/call_environment.py is
# the fake, CallEnvironment below the real one.
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
#   incoming_calls() -> {"enabled", "allow", "answer_after_s"}: who may call
#       the panel (docs/incoming-calls.md; the controller asks core.incoming)
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
# CallEnvironment(services) answers from the panel's domain services (the
# wiring's Services): settings through their declarations, forward and
# redirect rules, the SIP account, the adapter, the doors and the call log.
# calls/ imports no route module (DESIGN.md: calls -> services, core, proto).
from panel.core.body import parse_positive_int


class CallEnvironment:
    def __init__(self, services):
        self._services = services

    # -- configuration ------------------------------------------------------

    def queue(self, number):
        # Forward numbers are 1..int64 (spec 3.1): the one parser of them.
        value = parse_positive_int(number)
        if value is None:
            return None
        return self._services.forward_rules.get(value)

    def mode(self):
        return self._services.settings.forward_mode()

    def timeouts(self):
        settings = self._services.settings
        dial_s, forwarding_s = settings.dial_timeouts()
        return dial_s, forwarding_s, settings.talk_timeout()

    def ring_timeout(self):
        return self._services.redirect_settings.ring_timeout_s()

    def rules(self, called):
        # The rule index answers with the few rules that may match `called`
        # (routing still checks each one); no scan of every rule.
        return self._services.redirect_rules.candidates(called)

    def minute_of_week(self):
        return self._services.redirect_settings.minute_of_week()

    def work_hours(self):
        return self._services.redirect_settings.work_hours()

    def response_map(self):
        return self._services.redirect_settings.response_map()

    def caller(self):
        return self._services.settings.sip_account().get("user") or "panel"

    def reachable(self, kind, target):
        """Spec 3.3: SIP entries need SIP enabled (digits also registration OK);
        analog lines need the adapter present and covering the line."""
        services = self._services
        if kind == "sip":
            sip = services.sip
            if sip.user_agent is None or not sip.enabled():
                return False
            if target.startswith("sip:"):
                return True
            return sip.registered()
        adapter = services.adapter
        return adapter is not None and adapter.present and adapter.covers(target)

    def lock_codes(self):
        return self._services.settings.lock_codes()

    def lock_seconds(self, lock):
        return self._services.settings.lock(lock)["lock_timeout"]

    def incoming_calls(self):
        return self._services.settings.incoming_calls()

    # -- effects --------------------------------------------------------------

    def open_lock(self, lock, seconds, event, info):
        return self._services.doors.open(lock, seconds, event, info)

    def log(self, event, info):
        self._services.call_log.add(event, info)

    def find_personal_code(self, code):
        return self._services.identifiers.find_personal_code(code)
