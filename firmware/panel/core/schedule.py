"""Weekly schedules of redirect rules (redirectrules-api.md, section 2.6).

Pure: the time comes in as a minute of the week (Monday 00:00 = 0) computed by
`local_minute_of_week` from unix seconds and a UTC offset, both passed in.

A period is a dict `{"daystart", "timestart", "daystop", "timestop"}`: days
1 (Monday) .. 7 (Sunday), times 0 .. 1440 minutes of the day. It is ONE
continuous stretch of the week from its start up to, not including, its stop,
wrapping past Sunday 24:00. With start/stop as minutes of the week,
L = (stop - start) mod 10080 and the period is active at minute m iff
(m - start) mod 10080 < L; L = 0 means the whole week (e.g. {1,0,7,1440}).
"""

from panel.compat import const

MINUTES_PER_DAY = const(1440)
MINUTES_PER_WEEK = const(10080)
# 1970-01-01 was a Thursday: 3 days after a Monday, the origin of the week.
_EPOCH_WEEKDAY = const(3)
# Largest UTC offset in use anywhere (UTC+14:00, Kiribati); beyond is a typo.
_MAX_OFFSET_HOURS = const(14)

# Schedule names of a rule (2.6). "custom" reads the rule's own periods.
SCHEDULES = ("all", "work", "non-work", "custom")

# Period keys in the order they are reported when missing or wrong.
PERIOD_KEYS = ("daystart", "timestart", "daystop", "timestop")

# Allowed ranges of the period keys: (minimum, maximum), both inclusive.
PERIOD_RANGES = {
    "daystart": (1, 7),
    "timestart": (0, MINUTES_PER_DAY),
    "daystop": (1, 7),
    "timestop": (0, MINUTES_PER_DAY),
}


def default_work_hours():
    """Mon-Fri 09:00-18:00 as five periods (a fresh list on every call)."""
    return [
        {"daystart": day, "timestart": 540, "daystop": day, "timestop": 1080} for day in range(1, 6)
    ]


def period_bounds(period):
    """(start, stop) as minutes of the week, stop possibly 10080."""
    start = (period["daystart"] - 1) * MINUTES_PER_DAY + period["timestart"]
    stop = (period["daystop"] - 1) * MINUTES_PER_DAY + period["timestop"]
    return start, stop


def period_active(period, minute_of_week):
    """True when minute_of_week lies inside the period (start in, stop out)."""
    start, stop = period_bounds(period)
    length = (stop - start) % MINUTES_PER_WEEK
    if length == 0:
        # start == stop is rejected at validation; any other L = 0 (for
        # example {1,0,7,1440}: 0 and 10080) is the whole week.
        return start != stop
    return (minute_of_week - start) % MINUTES_PER_WEEK < length


def periods_active(periods, minute_of_week):
    """True when at least one period is active."""
    for period in periods:
        if period_active(period, minute_of_week):
            return True
    return False


def schedule_active(schedule, periods, minute_of_week, work_hours):
    """Is a rule with this schedule active now?

    minute_of_week is None while the panel clock is unset: then only "all" is
    active (2.6). work_hours is the list of periods of the panel setting.
    """
    if schedule == "all":
        return True
    if minute_of_week is None:
        return False
    if schedule == "work":
        return periods_active(work_hours, minute_of_week)
    if schedule == "non-work":
        return not periods_active(work_hours, minute_of_week)
    if schedule == "custom":
        return periods_active(periods, minute_of_week)
    return False


def period_value_problem(period):
    """First value error of a period whose four keys are present integers.

    Returns None, or (key, details): key is one of PERIOD_KEYS for a range
    error (details has min/max) or "" for the period itself (start == stop).
    """
    for key in PERIOD_KEYS:
        low, high = PERIOD_RANGES[key]
        value = period[key]
        if value < low or value > high:
            return key, {"reason": "out_of_range", "min": low, "max": high}
    start, stop = period_bounds(period)
    if start == stop:
        # An empty period: almost certainly a mistake, and L = 0 would
        # otherwise read as "the whole week".
        return "", {"reason": "invalid_value"}
    return None


def parse_utc_offset(text):
    """Minutes east of UTC from "UTC+03:00", "UTC-05:30", "UTC\u00b100:00".

    "UTC+00:00" and "UTC-00:00" are accepted too. Anything else gives None
    (callers turn that into their own error text).
    """
    if type(text) is not str or len(text) != 9 or text[:3] != "UTC" or text[6] != ":":
        return None
    sign = text[3]
    digits = text[4:6] + text[7:9]
    for char in digits:
        if char < "0" or char > "9":
            return None
    hours = int(digits[:2])
    minutes = int(digits[2:])
    if minutes > 59 or hours > _MAX_OFFSET_HOURS or (hours == _MAX_OFFSET_HOURS and minutes):
        return None
    total = hours * 60 + minutes
    if sign == "+":
        return total
    if sign == "-":
        return -total
    if sign == "\u00b1" and total == 0:
        return 0
    return None


def local_minute_of_week(unix_seconds, offset_minutes):
    """Minute of the local week (Monday 00:00 = 0) at unix_seconds (UTC).

    unix_seconds may be an int or a float; None (clock unset) gives None.
    """
    if unix_seconds is None:
        return None
    # Floor division keeps times before 1970 correct too; the minute count
    # (about 2.9e7 today) stays a small int.
    minutes = int(unix_seconds // 60) + offset_minutes
    return (minutes + _EPOCH_WEEKDAY * MINUTES_PER_DAY) % MINUTES_PER_WEEK


def civil_from_days(days):
    """(year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).

    Howard Hinnant's days_from_civil inverse, integers only.
    """
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    year = year_of_era + era * 400
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    if month <= 2:
        year += 1
    return year, month, day
