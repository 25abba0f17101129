# Applying redirect rules to a call (spec section 5), on both runtimes.
from panel.core import redirects, routing
from panel.core.routing import CallRouting, outcome_from_replies

PANEL = "100001"  # the panel's own SIP number: the caller of visitor calls
DAY = 1440
SATURDAY_11 = 5 * DAY + 11 * 60
TUESDAY_10 = 1 * DAY + 10 * 60
TUESDAY_20 = 1 * DAY + 20 * 60
_serial = [0]


def rule(rule_type, filter_number, tran_number, priority=100, **extra):
    """A stored rule made through the real entity checks."""
    _serial[0] += 1
    body = {
        "type": rule_type,
        "filter_number": filter_number,
        "tran_number": tran_number,
        "priority": priority,
    }
    for key in extra:
        body[key] = extra[key]
    random16 = bytes([_serial[0]] * 16)
    return redirects.create_rule(body, random16, 1741072325 + _serial[0])


def example_rules():
    r1 = rule(
        "absolute",
        "112",
        "sip:112@192.168.1.50",
        10,
        schedule="custom",
        periods=[{"daystart": 6, "timestart": 0, "daystop": 7, "timestop": 1440}],
    )
    r2 = rule("busy", "1XX", "9XX", 50)
    r3 = rule("noanswer", "1XX", "900", 120, schedule="work")
    return r1, r2, r3


def test_worked_example_saturday_absolute():
    r1, r2, r3 = example_rules()
    call = CallRouting("112", PANEL, SATURDAY_11)
    step = call.next_step([r3, r2, r1], "absolute")
    assert step.rule is r1
    assert (step.destination, step.kind) == ("sip:112@192.168.1.50", "sip")
    # A sip: destination is called directly: no further rules for that hop.
    assert call.next_step([r3, r2, r1], "busy") is None


def test_worked_example_tuesday_busy_then_912_fails():
    r1, r2, r3 = example_rules()
    rules = [r1, r2, r3]
    call = CallRouting("112", PANEL, TUESDAY_10)
    assert call.next_step(rules, "absolute") is None  # R1 is weekend only
    outcome = outcome_from_replies([486], False, routing.DEFAULT_RESPONSE_MAP)
    assert outcome == "busy"
    step = call.next_step(rules, outcome)
    assert step.rule is r2
    assert (step.destination, step.kind) == ("912", "number")
    assert call.called == "912"
    # 912 is handled again from 5.1: no absolute rule, and when it fails no
    # candidate matches 912, so the call fails.
    assert call.next_step(rules, "absolute") is None
    for failure in ("busy", "noanswer", "reject", "unavailable", "unregistered"):
        assert call.next_step(rules, failure) is None


def test_worked_example_tuesday_no_answer_in_and_out_of_work_hours():
    r1, r2, r3 = example_rules()
    outcome = outcome_from_replies([], True, routing.DEFAULT_RESPONSE_MAP)
    assert outcome == "noanswer"
    step = CallRouting("112", PANEL, TUESDAY_10).next_step([r1, r2, r3], outcome)
    assert step.rule is r3 and step.destination == "900"
    assert CallRouting("112", PANEL, TUESDAY_20).next_step([r1, r2, r3], outcome) is None


def test_reply_ranking_and_response_map():
    default = routing.DEFAULT_RESPONSE_MAP
    assert outcome_from_replies([486, 603], False, default) == "reject"
    assert outcome_from_replies([600, 486], False, default) == "busy"
    assert outcome_from_replies([404, 600], False, default) == "busy"
    assert outcome_from_replies([404, 503], False, default) == "unavailable"
    assert outcome_from_replies([480], False, default) == "noanswer"
    assert outcome_from_replies([408, 503], False, default) == "unavailable"  # 5xx > 4xx
    # Within a class the lowest code wins (the spec leaves it open).
    assert outcome_from_replies([480, 404], False, default) == "unavailable"
    assert outcome_from_replies([480, 486], False, default) == "busy"
    assert outcome_from_replies([], False, default) == "unavailable"
    assert outcome_from_replies([302, 200], False, default) == "unavailable"
    assert outcome_from_replies([603], True, default) == "noanswer"
    custom = {"5xx": "busy", "503": "noanswer"}
    assert outcome_from_replies([500], False, custom) == "busy"
    assert outcome_from_replies([503], False, custom) == "noanswer"
    assert outcome_from_replies([404], False, custom) == "unavailable"
    assert outcome_from_replies([606], False) == "unavailable"


def test_unregistered_falls_back_to_unavailable():
    fallback = rule("unavailable", "2XX", "500")
    own = rule("unregistered", "201", "501")
    assert (
        CallRouting("201", PANEL, None).next_step([fallback], "unregistered").destination == "500"
    )
    assert (
        CallRouting("201", PANEL, None).next_step([fallback, own], "unregistered").destination
        == "501"
    )
    assert CallRouting("201", PANEL, None).next_step([own], "unavailable") is None


def test_priority_then_creation_time_then_id():
    late = rule("busy", "3XX", "701", 5)
    early = rule("busy", "3XX", "702", 5)
    early["ext"]["ct"] = "2020-01-01T00:00:00.00Z"
    assert CallRouting("301", PANEL, None).next_step([late, early], "busy").destination == "702"
    best = rule("busy", "3*", "703", 4)
    assert (
        CallRouting("301", PANEL, None).next_step([late, early, best], "busy").destination == "703"
    )


def test_disabled_callers_and_clock_unset():
    off = rule("absolute", "4XX", "801", 1, enabled=0)
    only_from_lobby = rule("absolute", "4XX", "802", 2, filter_fromnumber="55X")
    any_caller = rule("absolute", "4XX", "803", 3, filter_fromnumber="*", schedule="non-work")
    rules = [off, only_from_lobby, any_caller]
    assert CallRouting("401", "551", None).next_step(rules, "absolute").destination == "802"
    # From the panel, outside work hours: the non-work rule.
    assert CallRouting("401", PANEL, TUESDAY_20).next_step(rules, "absolute").destination == "803"
    # Clock unset: only schedule "all" rules are active.
    assert CallRouting("401", PANEL, None).next_step(rules, "absolute") is None


def test_template_too_short_and_visited_skip_to_next_candidate():
    long_template = rule("busy", "*", "9XXXX", 1)
    loop_back = rule("busy", "6*", "61", 2)
    plain = rule("busy", "6*", "699", 3)
    call = CallRouting("61", PANEL, None)
    step = call.next_step([long_template, loop_back, plain], "busy")
    # 9XXXX needs 4 characters of 61; 61 itself was visited: 699.
    assert step.rule is plain and step.destination == "699"


def test_loops_and_the_cascade_limit():
    ring = [rule("busy", "71", "72"), rule("busy", "72", "71")]
    call = CallRouting("71", PANEL, None)
    assert call.next_step(ring, "busy").destination == "72"
    assert call.next_step(ring, "busy") is None  # back to 71: visited
    chain = [rule("noanswer", "8%d" % index, "8%d" % (index + 1)) for index in range(8)]
    call = CallRouting("80", PANEL, None)
    reached = []
    while True:
        step = call.next_step(chain, "noanswer")
        if step is None:
            break
        reached.append(step.destination)
    assert reached == ["81", "82", "83", "84"]
    assert call.steps == routing.MAX_FORWARD_STEPS


def test_line_destinations_and_bad_outcome():
    line = rule("reject", "5XX", "laskomex:12")
    call = CallRouting("512", PANEL, None)
    step = call.next_step(iter([line]), "reject")
    assert (step.destination, step.kind) == ("laskomex:12", "line")
    try:
        CallRouting("512", PANEL, None).next_step([line], "declined")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown outcome accepted")


def test_schedule_is_evaluated_when_the_rules_are_consulted():
    r1, r2, r3 = example_rules()
    # Rung at Tuesday 17:59:40, no answer after 30 s: it is 18:00, outside work hours.
    call = CallRouting("112", PANEL, TUESDAY_10 + 7 * 60 + 59)
    assert call.next_step([r3], "absolute") is None
    assert call.next_step([r3], "noanswer", TUESDAY_10 + 8 * 60) is None
    assert call.next_step([r3], "noanswer", TUESDAY_10 + 7 * 60 + 59).destination == "900"
