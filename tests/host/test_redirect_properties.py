"""Properties of schedules and rule application (redirectrules-api.md 2.6, 5).

CPython only (hypothesis). The reference implementations here are written
independently of panel.core.routing/schedule: brute force over the minutes of
the week and over every candidate.
"""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from panel.core import numbers, redirects, routing, schedule

WEEK = 10080
SETTINGS = settings(max_examples=400, deadline=None, database=None)

days = st.integers(min_value=1, max_value=7)
times = st.integers(min_value=0, max_value=1440)


@st.composite
def periods(draw):
    period = {
        "daystart": draw(days),
        "timestart": draw(times),
        "daystop": draw(days),
        "timestop": draw(times),
    }
    if schedule.period_value_problem(period) is not None:
        # start == stop (the only possible problem here): move stop by a minute.
        period["timestop"] += 1 if period["timestop"] < 1440 else -1
    return period


def active_minutes(period):
    """Brute force: walk minute by minute from start until reaching stop."""
    start = (period["daystart"] - 1) * 1440 + period["timestart"]
    stop = (period["daystop"] - 1) * 1440 + period["timestop"]
    if (stop - start) % WEEK == 0:
        return set(range(WEEK))  # whole week (start != stop)
    inside = set()
    minute = start % WEEK
    while minute != stop % WEEK:
        inside.add(minute)
        minute = (minute + 1) % WEEK
    return inside


@SETTINGS
@given(periods())
def test_period_active_at_start_not_at_stop(period):
    start, stop = schedule.period_bounds(period)
    assert schedule.period_active(period, start % WEEK)
    whole_week = (stop - start) % WEEK == 0
    assert schedule.period_active(period, stop % WEEK) == whole_week
    if not whole_week:
        # The last minute inside is the one just before stop.
        assert schedule.period_active(period, (stop - 1) % WEEK)


@settings(max_examples=60, deadline=None, database=None)
@given(periods())
def test_period_matches_brute_force_including_wrap_around(period):
    inside = active_minutes(period)
    for minute in range(WEEK):
        assert schedule.period_active(period, minute) == (minute in inside), minute


def test_whole_week_period():
    whole = {"daystart": 1, "timestart": 0, "daystop": 7, "timestop": 1440}
    assert all(schedule.period_active(whole, minute) for minute in range(WEEK))


@SETTINGS
@given(
    st.integers(min_value=-(2**31), max_value=2**34),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_minute_of_week_agrees_with_the_calendar(seconds, offset):
    import datetime

    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds + offset * 60)
    expected = moment.weekday() * 1440 + moment.hour * 60 + moment.minute
    assert schedule.local_minute_of_week(seconds, offset) == expected


@SETTINGS
@given(
    st.integers(min_value=-62135596800, max_value=253402300799),
    st.integers(min_value=0, max_value=99),
)
def test_timestamps_agree_with_the_calendar(seconds, centis):
    import datetime

    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)
    expected = "%04d-%02d-%02dT%02d:%02d:%02d.%02dZ" % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        centis,
    )
    assert redirects.format_timestamp(seconds + centis / 100.0) == expected


# --- rule application ---------------------------------------------------------

PATTERNS = ["1XX", "112", "1*", "*", "1.", "1[0-4]X", "[]1XX", "?12", "11?", "9*", "2XX", "9XX"]
CALLERS = ["", "*", "100001", "55X", "1*"]
DESTINATIONS = [
    "900",
    "9XX",
    "9XXXX",
    "sip:1@10.0.0.1",
    "laskomex:3",
    "112",
    "150",
    "912",
    "XX",
    "+15551234567",
]
# Mostly numbers many patterns match, so that choices are often non-trivial.
NUMBERS = ["112", "112", "100", "150", "149", "912", "9", "1", "200", "11"]


@st.composite
def rules(draw, types=None):
    types = types if types is not None else st.sampled_from(redirects.TYPES)
    body = {
        "type": draw(types),
        "filter_number": draw(st.sampled_from(PATTERNS)),
        "filter_fromnumber": draw(st.sampled_from(CALLERS)),
        "tran_number": draw(st.sampled_from(DESTINATIONS)),
        "priority": draw(st.integers(min_value=0, max_value=4)),
        "enabled": draw(st.sampled_from([0, 1, 1, True, False])),
        "schedule": draw(st.sampled_from(("all",) + schedule.SCHEDULES)),
    }
    if body["schedule"] == "custom" or draw(st.booleans()):
        body["periods"] = draw(st.lists(periods(), min_size=1, max_size=3))
    random16 = draw(st.binary(min_size=16, max_size=16))
    created = draw(st.integers(min_value=1700000000, max_value=1700000003))
    return redirects.create_rule(body, random16, created)


def reference_choice(rule_list, called, caller, minute, work_hours, rule_types, visited):
    """Sort every candidate, take the first usable one of the first type."""

    def active(rule):
        if rule["schedule"] == "all":
            return True
        if minute is None:
            return False
        if rule["schedule"] == "custom":
            return any(minute in active_minutes(period) for period in rule["periods"])
        at_work = any(minute in active_minutes(period) for period in work_hours)
        return at_work if rule["schedule"] == "work" else not at_work

    def caller_ok(pattern):
        return pattern in ("", "*") or numbers.dial_pattern_matches(pattern, caller)

    for rule_type in rule_types:
        candidates = [
            rule
            for rule in rule_list
            if rule["type"] == rule_type
            and rule["enabled"] == 1
            and active(rule)
            and numbers.dial_pattern_matches(rule["filter_number"], called)
            and caller_ok(rule["filter_fromnumber"])
        ]
        candidates.sort(key=lambda rule: (rule["priority"], rule["ext"]["ct"], rule["id"]))
        for rule in candidates:
            form = numbers.destination_form(rule["tran_number"])
            target = rule["tran_number"]
            if form == "template":
                target = numbers.apply_template(target, called)
                if target is None:
                    continue
            if target in visited:
                continue
            return rule, target
    return None


minutes = st.one_of(st.none(), st.integers(min_value=0, max_value=WEEK - 1))
outcomes = st.sampled_from(
    ["absolute", "unregistered", "busy", "reject", "noanswer", "unavailable"]
)


def related_types(outcome):
    """Rule types that make the outcome's question interesting, plus noise."""
    if outcome == "unregistered":
        return st.sampled_from(["unregistered", "unavailable", "busy"])
    return st.sampled_from([outcome, outcome, "unavailable", "absolute"])


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.data(),
    st.sampled_from(NUMBERS),
    st.sampled_from(["100001", "551", ""]),
    st.one_of(
        st.none(),
        st.integers(min_value=0, max_value=WEEK - 1),
        st.integers(min_value=0, max_value=WEEK - 1),
    ),
    outcomes,
    st.randoms(),
)
def test_choice_is_the_reference_and_independent_of_order(
    data, called, caller, minute, outcome, rng
):
    rule_list = data.draw(st.lists(rules(related_types(outcome)), max_size=12))
    work_hours = schedule.default_work_hours()
    call = routing.CallRouting(called, caller, minute, work_hours)
    step = call.next_step(rule_list, outcome)
    types = ("unregistered", "unavailable") if outcome == "unregistered" else (outcome,)
    expected = reference_choice(rule_list, called, caller, minute, work_hours, types, [called])
    if expected is None:
        assert step is None
        return
    assert step is not None
    assert (step.rule["id"], step.destination) == (expected[0]["id"], expected[1])
    # A disabled rule never applies; no better candidate of that type exists.
    assert step.rule["enabled"] == 1
    shuffled = list(rule_list)
    rng.shuffle(shuffled)
    again = routing.CallRouting(called, caller, minute, work_hours).next_step(shuffled, outcome)
    assert again.rule["id"] == step.rule["id"] and again.destination == step.destination


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(rules(), max_size=12), st.sampled_from(NUMBERS), minutes)
def test_disabled_rules_never_apply_through_a_whole_cascade(rule_list, called, minute):
    call = routing.CallRouting(called, "100001", minute)
    rng = random.Random(len(rule_list))
    for _ in range(10):
        step = call.next_step(
            rule_list, rng.choice(["absolute", "busy", "noanswer", "unregistered"])
        )
        if step is not None:
            assert step.rule["enabled"] == 1
            assert call.visited.count(step.destination) == 1
    assert call.steps <= routing.MAX_FORWARD_STEPS


@SETTINGS
@given(st.lists(st.integers(min_value=100, max_value=799), max_size=6), st.booleans())
def test_outcome_from_replies_total(codes, timed_out):
    outcome = routing.outcome_from_replies(codes, timed_out, routing.DEFAULT_RESPONSE_MAP)
    assert outcome in routing.OUTCOMES
    failures = [code for code in codes if 400 <= code <= 699]
    if timed_out:
        assert outcome == "noanswer"
    elif 603 in failures:
        assert outcome == "reject"
    elif 486 in failures:
        assert outcome == "busy"
    elif not failures:
        assert outcome == "unavailable"
