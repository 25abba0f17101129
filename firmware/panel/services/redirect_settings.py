# The panel settings the redirect rules depend on (redirectrules-api.md 2.6 and
# 5.2), declared in services.settings as REDIRECT (defaults and checks there):
# GET|POST /api/v1/redirect/settings (panel.api.redirectrules, BAS-IP-style
# errors) and the call engine read them through RedirectSettings.
#
# Interface:
#   RedirectSettings(settings, clock)
#       settings: services.settings.Settings; clock: .now() -> unix seconds
#       or None (panel.clock.Clock)
#   .load() -> dict, every field present
#   .work_hours() -> list of periods; .response_map() -> dict;
#   .ring_timeout_s() -> int
#   .update(document) -> dict stored; raises core.body.BodyError (the
#       contract's message) and stores nothing when any field is wrong.
#   .minute_of_week() -> local minute of the week, or None (clock unset)
from panel.core import body as body_rules
from panel.core import schedule
from panel.services.settings import REDIRECT, REDIRECT_FIELDS


class RedirectSettings:
    """The redirect settings over the panel's settings store."""

    def __init__(self, settings, clock):
        self._settings = settings
        self._clock = clock

    def load(self):
        """The current settings, every field present (defaults filled in)."""
        return self._settings.read(REDIRECT)

    def work_hours(self):
        return self.load()["work_hours"]

    def response_map(self):
        return self.load()["response_map"]

    def ring_timeout_s(self):
        return self.load()["ring_timeout_s"]

    def update(self, document):
        """Store the fields a POST body names (others ignored, basip 1:
        "liberal in what you accept"); all are checked before anything is
        stored. Returns the stored settings; raises BodyError."""
        if type(document) is not dict:
            raise body_rules.BodyError(body_rules.WRONG_BODY)
        current = self.load()
        known = 0
        for name, check in REDIRECT_FIELDS:
            if name in document:
                current[name] = check(document[name])
                known += 1
        if not known:
            raise body_rules.BodyError(body_rules.WRONG_BODY)
        self._settings.write(REDIRECT, current)
        return current

    def minute_of_week(self):
        """Local minute of the week (the schedules' time), or None while the
        panel clock is unset."""
        now = self._clock.now()
        if now is None:
            return None
        return schedule.local_minute_of_week(now, self._settings.utc_offset_minutes())
