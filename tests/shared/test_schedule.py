# Schedules and periods (redirectrules-api.md 2.6), on both runtimes.
from panel.core import schedule

MONDAY = 0
DAY = 1440


def period(daystart, timestart, daystop, timestop):
    return {"daystart": daystart, "timestart": timestart, "daystop": daystop, "timestop": timestop}


def minute(day, hours, minutes=0):
    """Minute of the week: day 1 = Monday ... 7 = Sunday."""
    return (day - 1) * DAY + hours * 60 + minutes


def test_period_start_in_stop_out():
    workday = period(2, 540, 2, 1080)  # Tuesday 09:00-18:00
    assert schedule.period_active(workday, minute(2, 9))
    assert schedule.period_active(workday, minute(2, 17, 59))
    assert not schedule.period_active(workday, minute(2, 18))
    assert not schedule.period_active(workday, minute(2, 8, 59))
    assert not schedule.period_active(workday, minute(3, 9))


def test_period_is_continuous_not_daily():
    # Monday 09:00 to Wednesday 18:00 includes Tuesday 03:00.
    stretch = period(1, 540, 3, 1080)
    assert schedule.period_active(stretch, minute(2, 3))
    assert not schedule.period_active(stretch, minute(3, 18, 30))


def test_wrap_around_friday_evening_to_monday_morning():
    weekend = period(5, 1080, 1, 480)
    assert schedule.period_active(weekend, minute(5, 18))
    assert schedule.period_active(weekend, minute(7, 23, 59))
    assert schedule.period_active(weekend, minute(1, 0))
    assert schedule.period_active(weekend, minute(1, 7, 59))
    assert not schedule.period_active(weekend, minute(1, 8))
    assert not schedule.period_active(weekend, minute(5, 17, 59))
    assert not schedule.period_active(weekend, minute(3, 12))


def test_whole_week_forms():
    for whole in (period(1, 0, 7, 1440), period(7, 1440, 1, 0)):
        for probe in (0, 1, 5000, 10079):
            assert schedule.period_active(whole, probe), (whole, probe)


def test_start_equal_stop_is_a_value_problem():
    assert schedule.period_value_problem(period(2, 60, 2, 60)) == ("", {"reason": "invalid_value"})
    assert schedule.period_value_problem(period(1, 0, 7, 1440)) is None
    assert schedule.period_value_problem(period(0, 0, 1, 10)) == (
        "daystart",
        {"reason": "out_of_range", "min": 1, "max": 7},
    )
    assert schedule.period_value_problem(period(1, 0, 1, 1441)) == (
        "timestop",
        {"reason": "out_of_range", "min": 0, "max": 1440},
    )


def test_weekend_period_of_the_spec():
    weekend = period(6, 0, 7, 1440)
    assert schedule.period_active(weekend, minute(6, 11))
    assert schedule.period_active(weekend, minute(7, 23, 59))
    assert not schedule.period_active(weekend, minute(1, 0))
    assert not schedule.period_active(weekend, minute(5, 23, 59))


def test_default_work_hours_and_schedules():
    hours = schedule.default_work_hours()
    assert len(hours) == 5
    assert hours[0] == period(1, 540, 1, 1080)
    assert hours[4] == period(5, 540, 5, 1080)
    tuesday_ten = minute(2, 10)
    tuesday_eight_pm = minute(2, 20)
    saturday = minute(6, 11)
    assert schedule.schedule_active("work", [], tuesday_ten, hours)
    assert not schedule.schedule_active("work", [], tuesday_eight_pm, hours)
    assert not schedule.schedule_active("work", [], saturday, hours)
    assert schedule.schedule_active("non-work", [], saturday, hours)
    assert not schedule.schedule_active("non-work", [], tuesday_ten, hours)
    assert schedule.schedule_active("all", [], saturday, hours)
    assert schedule.schedule_active("custom", [period(6, 0, 7, 1440)], saturday, hours)
    assert not schedule.schedule_active("custom", [period(6, 0, 7, 1440)], tuesday_ten, hours)
    assert not schedule.schedule_active("custom", [], saturday, hours)


def test_clock_unset_only_all_is_active():
    hours = schedule.default_work_hours()
    assert schedule.schedule_active("all", [], None, hours)
    for name in ("work", "non-work", "custom"):
        assert not schedule.schedule_active(name, [period(1, 0, 7, 1440)], None, hours)


def test_parse_utc_offset():
    assert schedule.parse_utc_offset("UTC+03:00") == 180
    assert schedule.parse_utc_offset("UTC-05:30") == -330
    assert schedule.parse_utc_offset("UTC\u00b100:00") == 0
    assert schedule.parse_utc_offset("UTC+00:00") == 0
    assert schedule.parse_utc_offset("UTC-00:00") == 0
    assert schedule.parse_utc_offset("UTC+14:00") == 840
    for bad in (
        "UTC+3:00",
        "UTC+03:60",
        "UTC+15:00",
        "UTC\u00b101:00",
        "GMT+03:00",
        "UTC 03:00",
        "UTC+0a:00",
        "",
        None,
        180,
        "UTC+03:00 ",
    ):
        assert schedule.parse_utc_offset(bad) is None, bad


def test_local_minute_of_week():
    # 1970-01-01 00:00 UTC was a Thursday.
    assert schedule.local_minute_of_week(0, 0) == 3 * DAY
    assert schedule.local_minute_of_week(59.9, 0) == 3 * DAY
    assert schedule.local_minute_of_week(60, 0) == 3 * DAY + 1
    # 2025-03-04 07:12:05 UTC was a Tuesday.
    assert schedule.local_minute_of_week(1741072325, 0) == minute(2, 7, 12)
    assert schedule.local_minute_of_week(1741072325, 180) == minute(2, 10, 12)
    # Sunday 23:30 UTC is Monday 02:30 at UTC+03:00: wraps to the week's start.
    sunday_late = 1741558200  # 2025-03-09 22:10 UTC, a Sunday
    assert schedule.local_minute_of_week(sunday_late, 0) == minute(7, 22, 10)
    assert schedule.local_minute_of_week(sunday_late, 180) == minute(1, 1, 10)
    assert schedule.local_minute_of_week(sunday_late + 0.5, -330) == minute(7, 16, 40)
    assert schedule.local_minute_of_week(None, 0) is None
