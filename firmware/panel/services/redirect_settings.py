# The panel settings the redirect rules depend on (redirectrules-api.md 2.6 and
# 5.2): work_hours (the "work" and "non-work" schedules), response_map (SIP
# final code -> outcome) and ring_timeout_s. Declared once here: their
# defaults, their checks and the one settings document ("redirect") they are
# stored in. GET|POST /api/v1/redirect/settings (panel.api.redirectrules,
# BAS-IP-style errors `{"error": "<text>"}`) and the call engine read them
# through RedirectSettings.
#
# Interface:
#   default_settings() -> {"work_hours", "response_map", "ring_timeout_s"}
#   RedirectSettings(settings, clock, utc_offset_minutes)
#       settings: panel.settings.Settings; clock: .now() -> unix seconds or
#       None; utc_offset_minutes: callable() -> minutes east of UTC (the
#       timezone setting belongs to its own route module, not here).
#   .load() -> dict, every field present
#   .work_hours() -> list of periods; .response_map() -> dict;
#   .ring_timeout_s() -> int
#   .update(document) -> dict stored; raises SettingsError (text: the
#       contract's message) and stores nothing when any field is wrong.
#   .minute_of_week() -> local minute of the week, or None (clock unset)
from panel.core import routing, schedule

SETTINGS_NAME = "redirect"
DEFAULT_RING_TIMEOUT_S = 30
# Limits of a stored document (each checked before it is copied).
_WORK_PERIODS_MAX = 16
_RESPONSE_MAP_MAX = 64
_RING_TIMEOUT_MIN = 5
_RING_TIMEOUT_MAX = 120

_MSG_WRONG_BODY = "Wrong JSON body"


class SettingsError(Exception):
    """A document from outside that cannot be stored; text is the answer."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text


def default_settings():
    """Factory settings of the redirect rules (fresh objects on every call).

    response_map: keys are SIP final codes as three-digit strings ("486") or
    classes "4xx", "5xx", "6xx"; an exact code wins over its class; codes in
    neither give "unavailable". Values: busy, reject, noanswer, unavailable.
    """
    response_map = {}
    for code in routing.DEFAULT_RESPONSE_MAP:
        response_map[code] = routing.DEFAULT_RESPONSE_MAP[code]
    return {
        "work_hours": schedule.default_work_hours(),
        "response_map": response_map,
        "ring_timeout_s": DEFAULT_RING_TIMEOUT_S,
    }


def _wrong_type(name):
    return SettingsError("Wrong JSON body: value `%s` was of the wrong type" % name)


def _wrong_value(name, reason):
    return SettingsError("Wrong JSON body: value %s was wrong. (%s)" % (name, reason))


def _check_work_hours(value):
    if type(value) is not list:
        raise _wrong_type("work_hours")
    if len(value) > _WORK_PERIODS_MAX:
        raise _wrong_value("work_hours", "At most %d periods" % _WORK_PERIODS_MAX)
    periods = []
    for index in range(len(value)):
        period = value[index]
        name = "work_hours[%d]" % index
        if type(period) is not dict:
            raise _wrong_type(name)
        for key in schedule.PERIOD_KEYS:
            if key not in period:
                raise SettingsError("Wrong JSON body: no value for `%s.%s`" % (name, key))
            if type(period[key]) is not int:
                raise _wrong_type(name + "." + key)
        problem = schedule.period_value_problem(period)
        if problem is not None:
            key, details = problem
            if key:
                raise _wrong_value(name + "." + key, "%d..%d" % (details["min"], details["max"]))
            raise _wrong_value(name, "Empty period")
        periods.append(
            {
                "daystart": period["daystart"],
                "timestart": period["timestart"],
                "daystop": period["daystop"],
                "timestop": period["timestop"],
            }
        )
    return periods


def _is_response_key(text):
    if len(text) != 3 or text[0] not in "456":
        return False
    if text[1:] == "xx":
        return True
    return "0" <= text[1] <= "9" and "0" <= text[2] <= "9"


def _check_response_map(value):
    if type(value) is not dict:
        raise _wrong_type("response_map")
    if len(value) > _RESPONSE_MAP_MAX:
        raise _wrong_value("response_map", "At most %d entries" % _RESPONSE_MAP_MAX)
    checked = {}
    for key in sorted(value):
        if not _is_response_key(key):
            raise _wrong_value("response_map", "Unknown SIP code %s" % key)
        outcome = value[key]
        if type(outcome) is not str:
            raise _wrong_type("response_map." + key)
        if outcome not in routing.OUTCOMES:
            raise _wrong_value("response_map." + key, "busy, reject, noanswer or unavailable")
        checked[key] = outcome
    return checked


def _check_ring_timeout(value):
    if type(value) is not int:
        raise _wrong_type("ring_timeout_s")
    if value < _RING_TIMEOUT_MIN or value > _RING_TIMEOUT_MAX:
        raise _wrong_value("ring_timeout_s", "%d..%d" % (_RING_TIMEOUT_MIN, _RING_TIMEOUT_MAX))
    return value


# Every field: (name, check). The check returns the value to store.
_FIELDS = (
    ("work_hours", _check_work_hours),
    ("response_map", _check_response_map),
    ("ring_timeout_s", _check_ring_timeout),
)


class RedirectSettings:
    """The redirect settings over the panel's settings store."""

    def __init__(self, settings, clock, utc_offset_minutes):
        self._settings = settings
        self._clock = clock
        self._utc_offset_minutes = utc_offset_minutes

    def load(self):
        """The current settings, every field present (defaults filled in)."""
        current = default_settings()
        stored = self._settings.get(SETTINGS_NAME, {})
        for key in current:
            if key in stored:
                current[key] = stored[key]
        return current

    def work_hours(self):
        return self.load()["work_hours"]

    def response_map(self):
        return self.load()["response_map"]

    def ring_timeout_s(self):
        return self.load()["ring_timeout_s"]

    def update(self, document):
        """Store the fields a POST body names (others ignored, basip 1:
        "liberal in what you accept"); all are checked before anything is
        stored. Returns the stored settings; raises SettingsError."""
        if type(document) is not dict:
            raise SettingsError(_MSG_WRONG_BODY)
        current = self.load()
        known = 0
        for name, check in _FIELDS:
            if name in document:
                current[name] = check(document[name])
                known += 1
        if not known:
            raise SettingsError(_MSG_WRONG_BODY)
        self._settings.put(SETTINGS_NAME, current)
        return current

    def minute_of_week(self):
        """Local minute of the week (the schedules' time), or None while the
        panel clock is unset."""
        now = self._clock.now()
        if now is None:
            return None
        return schedule.local_minute_of_week(now, self._utc_offset_minutes())
