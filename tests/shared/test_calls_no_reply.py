# A SIP target that never replies is `unavailable`, one that rings and times
# out is `noanswer` (redirect spec 5.2, step 2), in both queue modes, at the
# ring timer and at the INVITE transaction's own timeout (NO_REPLY).
from test_calls import Run, rule

from call_environment import Environment
from panel.calls.machine import NO_REPLY


def _rules():
    return [
        rule("noanswer", "101", "sip:900@10.0.0.9"),
        rule("unavailable", "101", "sip:901@10.0.0.9"),
    ]


def _redirected_to(run):
    """The INVITEs of the redirect steps (to the 90x numbers of the rules)."""
    return [
        action[2] for action in run.actions if action[0] == "invite" and "@10.0.0.9" in action[2]
    ]


def test_a_silent_target_at_the_ring_timer_is_unavailable():
    run = Run(Environment({"101": ["sip:101@10.0.0.5"]}, rules=_rules(), ring=10))
    run.event("dial", value="101")
    found = run.advance(10000)
    assert ("cancel", run.legs_of("invite")[0]) in found
    assert run.logs("outgoing_call")[0]["result"] == "unavailable"
    assert _redirected_to(run) == ["sip:901@10.0.0.9"]


def test_a_ringing_target_at_the_ring_timer_stays_noanswer():
    run = Run(Environment({"101": ["sip:101@10.0.0.5"]}, rules=_rules(), ring=10))
    run.event("dial", value="101")
    run.event("leg_ringing", run.legs_of("invite")[0], 180)
    run.advance(10000)
    assert run.logs("outgoing_call")[0]["result"] == "no_answer"
    assert _redirected_to(run) == ["sip:900@10.0.0.9"]


def test_one_ringing_and_one_silent_all_at_once_is_noanswer():
    queues = {"101": ["sip:101@10.0.0.5", "sip:102@10.0.0.6"]}
    run = Run(Environment(queues, rules=_rules(), ring=10))
    run.event("dial", value="101")
    first, second = run.legs_of("invite")
    run.event("leg_ringing", second, 180)
    run.advance(10000)
    results = {log["destination"]: log["result"] for log in run.logs("outgoing_call")}
    assert results == {"sip:101@10.0.0.5": "unavailable", "sip:102@10.0.0.6": "no_answer"}
    assert _redirected_to(run) == ["sip:900@10.0.0.9"]


def test_the_transaction_timeout_without_any_response_is_unavailable():
    # Ring timer longer than Timer B (32 s): the user agent's 408 with no
    # response at all arrives first, as NO_REPLY.
    run = Run(
        Environment({"101": ["sip:101@10.0.0.5"]}, rules=_rules(), ring=60, times=(60, 60, 90))
    )
    run.event("dial", value="101")
    run.event("leg_failed", run.legs_of("invite")[0], NO_REPLY)
    assert run.logs("outgoing_call")[0]["result"] == "unavailable"
    assert _redirected_to(run) == ["sip:901@10.0.0.9"]
    # A 408 the peer sent (a real reply) maps as before: noanswer (spec 2.3).
    again = Run(
        Environment({"101": ["sip:101@10.0.0.5"]}, rules=_rules(), ring=60, times=(60, 60, 90))
    )
    again.event("dial", value="101")
    again.event("leg_failed", again.legs_of("invite")[0], 408)
    assert _redirected_to(again) == ["sip:900@10.0.0.9"]


def test_one_by_one_last_target_silent_is_unavailable_ringing_is_noanswer():
    queues = {"101": ["sip:101@10.0.0.5", "sip:102@10.0.0.6"]}
    for last_rings, expected in ((False, "sip:901@10.0.0.9"), (True, "sip:900@10.0.0.9")):
        environment = Environment(queues, "one_by_one", rules=_rules(), times=(45, 10, 90), ring=30)
        run = Run(environment)
        run.event("dial", value="101")
        run.event("leg_ringing", run.legs_of("invite")[0], 180)
        run.advance(10000)  # the first rang and timed out; the second's turn
        if last_rings:
            run.event("leg_ringing", run.legs_of("invite")[1], 180)
        run.advance(10000)
        assert _redirected_to(run) == [expected], last_rings


def test_no_leg_is_left_cancelling_once_the_call_ended():
    # The visitor hangs up while the target rings; the answer to our CANCEL
    # never comes (or comes after the ending guard): the record shows it done.
    from panel.calls.machine import ENDING_GUARD_MS

    run = Run(Environment({"101": ["sip:101@10.0.0.5"]}))
    run.event("dial", value="101")
    leg = run.legs_of("invite")[0]
    run.event("leg_ringing", leg, 180)
    run.event("hangup")
    assert run.machine.state == "ending"
    assert [target["state"] for target in run.machine.describe()["targets"]] == ["cancelling"]
    run.advance(ENDING_GUARD_MS)
    assert run.machine.state == "idle"
    assert [target["state"] for target in run.machine.last_call["targets"]] == ["done"]
    # The late 487 finds the machine idle: nothing happens.
    assert run.event("leg_failed", leg, 487) == []
