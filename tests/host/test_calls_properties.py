"""Property tests of the call machine (panel.calls.machine): any sequence of events, in
any state, with any leg ids, values and clock jumps, never raises, keeps the
machine's invariants, and always comes back to idle once time runs on."""

from hypothesis import given, settings
from hypothesis import strategies as st

from call_environment import Environment
from panel.calls.machine import EVENTS, STATES, CallMachine
from panel.core import redirects

QUEUES = {
    "101": ["sip:1@10.0.0.1", "vizit:7", "5588"],
    "901": ["laskomex:9", "sip:9@10.0.0.9"],
    "902": ["vizit:2"],
}


def _rules():
    rules = []
    for index, (kind, pattern, target) in enumerate(
        [
            ("busy", "101", "901"),
            ("noanswer", "1XX", "902"),
            ("unavailable", "9XX", "101"),
            ("reject", "101", "sip:5@10.0.0.5"),
            ("unregistered", "102", "vizit:3"),
        ]
    ):
        body = {"type": kind, "filter_number": pattern, "tran_number": target}
        rules.append(redirects.create_rule(body, bytes([index + 1] * 16), 1741072325 + index))
    return rules


RULES = _rules()


# A step: event, which leg (an index among the call's legs, newest first, so
# events mostly reach live legs; past the end: a stranger's id), value, and
# how far the clock jumps first (mostly not at all).
LEG_EVENTS = ("leg_ringing", "leg_answered", "leg_failed", "leg_ended", "digit", "door_button")
step = st.tuples(
    st.sampled_from(EVENTS + LEG_EVENTS * 3),
    st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
    st.sampled_from(
        [
            None,
            486,
            603,
            404,
            487,
            408,
            503,
            200,
            "1",
            "2",
            "#",
            "plan",
            "101",
            "102",
            "777",
            "0901",
        ]
    ),
    st.sampled_from([0, 0, 0, 0, 1, 50, 2000, 3000, 5000, 10000, 700000]),
)


def pick_leg(machine, index):
    if index is None:
        return None
    ids = sorted(machine._legs, reverse=True)
    return ids[index] if index < len(ids) else 1000 + index


def check(machine, actions, rung):
    assert machine.state in STATES
    answered = [leg for leg in machine._legs.values() if leg.state == "answered"]
    assert len(answered) <= 1
    if machine.state == "idle":
        assert machine.next_deadline() is None
        assert machine.describe()["targets"] == []
    elif machine.state in ("talking", "door_open"):
        assert machine.answered_leg() is not None
        assert "talk_timeout" in machine._timers
    elif machine.state in ("dialling", "ringing"):
        assert "ring_timeout" in machine._timers
    elif machine.state == "incoming":
        # An incoming call rings until its answer is due (docs/incoming-calls.md).
        assert "answer_due" in machine._timers
    else:
        assert "ending_timeout" in machine._timers
    for action in actions:
        if action[0] in ("invite", "ring", "ring_incoming"):
            assert action[1] not in rung  # each leg is rung once (or rings us once)
            rung.add(action[1])
        elif action[0] in (
            "cancel",
            "bye",
            "stop_ring",
            "connect_audio",
            "disconnect_audio",
            "start_media",
            "stop_media",
        ):
            assert action[1] in rung  # only legs that were rung
    logged = [action for action in actions if action[0] == "log" and action[1] == "outgoing_call"]
    assert len(logged) <= len(rung)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["all_at_once", "one_by_one"]), st.booleans(), st.lists(step, max_size=60))
def test_any_event_sequence_keeps_invariants_and_ends_idle(mode, registered, steps):
    machine = CallMachine(
        Environment(
            QUEUES,
            mode,
            RULES,
            registered,
            times=(5, 5, 10),
            minute=600,
            lock_seconds=3,
            lock_codes={1: "1", 2: "2#"},
        )
    )
    now = 0
    rung = set()
    incoming_calls = [0]
    check(machine, machine.handle("dial", now, None, "101"), rung)
    for event, leg_id, value, advance in steps:
        now += advance
        check(machine, machine.tick(now), rung)
        if event == "dial":
            value = value if isinstance(value, str) and value.isdigit() else "101"
        elif event == "incoming":
            # The controller hands an incoming call in as its caller and the
            # user agent's token (calls/controller.py _on_incoming).
            incoming_calls[0] += 1
            value = {
                "caller": "monitor@10.0.0.9",
                "token": incoming_calls[0],
                "plan": None,
                "answer_after_s": 3,
            }
        check(machine, machine.handle(event, now, pick_leg(machine, leg_id), value), rung)
    # Time running on ends every call: ring timeouts, redirects, the talk
    # timeout, the ending guard. Each hop takes one timer, at most 5 hops.
    for _ in range(20):
        now += 700000
        check(machine, machine.tick(now), rung)
        if machine.state == "idle":
            break
    assert machine.state == "idle"
    assert machine.last_call is None or machine.last_call["state"] == "ended"
