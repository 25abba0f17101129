# The call machine (panel.calls.machine) with a fake environment and the actions
# collected as they come: the core flows of spec 3.3, 3.4, 6.1 and redirect 5.
from call_environment import Environment
from panel.calls.machine import (
    ENDING_GUARD_MS,
    EVENTS,
    STATES,
    TRANSITIONS,
    UNREACHABLE,
    CallMachine,
)
from panel.core import redirects

_serial = [0]


def rule(rule_type, filter_number, tran_number, priority=100):
    _serial[0] += 1
    body = {
        "type": rule_type,
        "filter_number": filter_number,
        "tran_number": tran_number,
        "priority": priority,
    }
    return redirects.create_rule(body, bytes([_serial[0]] * 16), 1741072325 + _serial[0])


class Run:
    """A machine and every action it returned, in order."""

    def __init__(self, environment):
        self.machine = CallMachine(environment)
        self.actions = []
        self.now = 1000

    def event(self, name, leg=None, value=None):
        found = self.machine.handle(name, self.now, leg, value)
        self.actions.extend(found)
        return found

    def advance(self, ms):
        self.now += ms
        found = self.machine.tick(self.now)
        self.actions.extend(found)
        return found

    def kinds(self, actions=None):
        return [action[0] for action in (self.actions if actions is None else actions)]

    def legs_of(self, kind):
        return [action[1] for action in self.actions if action[0] == kind]

    def logs(self, event=None):
        return [
            action[2]
            for action in self.actions
            if action[0] == "log" and (event is None or action[1] == event)
        ]


def test_every_event_is_handled_in_every_state():
    assert sorted(TRANSITIONS) == sorted(STATES)
    for state in STATES:
        row = TRANSITIONS[state]
        assert sorted(row) == sorted(EVENTS), state
        for event in EVENTS:
            assert hasattr(CallMachine, "_on_" + row[event]), (state, event)


def test_idle_ignores_stray_events():
    run = Run(Environment({}))
    for event in EVENTS:
        if event not in ("dial", "incoming"):
            assert run.event(event, 7, 486) == []
            assert run.machine.state == "idle"


def test_all_at_once_analog_answers_and_sip_is_cancelled():
    run = Run(Environment({"223": ["sip:101@10.0.0.5", "vizit:7", "", "vizit:7"]}))
    run.event("dial", value="223")
    assert run.kinds() == ["log", "invite", "ring"]
    assert run.logs("incoming_call") == [{"forward_number": 223}]
    sip_leg, line_leg = run.legs_of("invite")[0], run.legs_of("ring")[0]
    assert run.actions[1][2] == "sip:101@10.0.0.5"
    assert run.actions[2][2] == ("vizit", 7)
    assert run.machine.state == "dialling"
    run.event("leg_ringing", line_leg)
    assert run.machine.state == "ringing"
    answer = run.event("leg_answered", line_leg)
    assert ("cancel", sip_leg) in answer
    assert ("connect_audio", line_leg, ("vizit", 7)) in answer
    assert run.machine.state == "talking"
    assert run.logs("outgoing_call") == [
        {"forward_number": 223, "destination": "vizit:7", "result": "answered"},
        {"forward_number": 223, "destination": "sip:101@10.0.0.5", "result": "cancelled"},
    ]
    # The CANCEL's final answer arrives while talking: settled, nothing done.
    assert run.event("leg_failed", sip_leg, 487) == []
    # The handset's door key opens lock 1; its hang-up ends the call.
    opened = run.event("door_button", line_leg)
    assert opened[0][0:2] == ("open_lock", 1)
    assert run.machine.state == "door_open"
    run.advance(5000)
    assert run.machine.state == "talking"
    ended = run.event("leg_ended", line_leg)
    assert ("disconnect_audio", line_leg, ("vizit", 7)) in ended
    assert run.machine.state == "idle"
    assert run.machine.last_call["ended_by"] == "callee"
    assert run.machine.last_call["answered_by"] == "vizit:7"


def test_one_by_one_timeout_moves_on_and_the_second_answers():
    environment = Environment({"12": ["sip:1@10.0.0.1", "sip:2@10.0.0.2"]}, "one_by_one")
    run = Run(environment)
    run.event("dial", value="12")
    first = run.legs_of("invite")
    assert len(first) == 1
    run.event("leg_ringing", first[0])
    run.advance(19999)
    assert run.kinds()[-1] == "invite"  # nothing new yet
    found = run.advance(1)
    assert run.kinds(found) == ["cancel", "log", "invite"]
    second = found[2][1]
    assert found[2][2] == "sip:2@10.0.0.2"
    assert run.logs("outgoing_call")[0]["result"] == "no_answer"
    run.event("leg_failed", first[0], 487)  # the CANCEL's 487: settled
    answer = run.event("leg_answered", second, "plan")
    assert ("start_media", second, "plan") in answer
    assert run.machine.state == "talking"


def test_one_by_one_busy_moves_on_and_decline_stops_everything():
    environment = Environment(
        {"12": ["sip:1@10.0.0.1", "sip:2@10.0.0.2", "sip:3@10.0.0.3"]}, "one_by_one"
    )
    run = Run(environment)
    run.event("dial", value="12")
    first = run.legs_of("invite")[0]
    moved = run.event("leg_failed", first, 486)
    assert run.kinds(moved) == ["log", "invite"]
    second = moved[1][1]
    stopped = run.event("leg_failed", second, 603)
    assert "invite" not in run.kinds(stopped)
    assert run.logs("outgoing_call_missed") == [{"forward_number": 12, "reason": "reject"}]
    assert [log["result"] for log in run.logs("outgoing_call")] == ["busy", "rejected"]
    assert run.machine.state == "idle"


def test_busy_follows_a_redirect_rule_to_the_next_number():
    environment = Environment(
        {"101": ["sip:101@10.0.0.5"], "901": ["vizit:9"]}, rules=[rule("busy", "1XX", "9XX")]
    )
    run = Run(environment)
    run.event("dial", value="101")
    run.event("leg_failed", run.legs_of("invite")[0], 486)
    ring = run.legs_of("ring")
    assert len(ring) == 1
    run.event("leg_answered", ring[0])
    assert run.machine.state == "talking"
    described = run.machine.describe()
    assert described["called"] == 901
    assert described["redirects"][0]["outcome"] == "busy"
    assert run.logs("outgoing_call")[-1] == {
        "forward_number": 901,
        "destination": "vizit:9",
        "result": "answered",
    }


def test_no_answer_and_unregistered_redirects():
    environment = Environment(
        {"101": ["sip:101@10.0.0.5"], "102": ["5588"]},
        rules=[
            rule("noanswer", "101", "sip:900@10.0.0.9"),
            rule("unavailable", "102", "sip:901@10.0.0.9"),
        ],
        registered=False,
    )
    run = Run(environment)
    run.event("dial", value="101")
    run.event("leg_ringing", run.legs_of("invite")[0], 180)
    run.advance(45000)
    invites = [action for action in run.actions if action[0] == "invite"]
    assert [action[2] for action in invites] == ["sip:101@10.0.0.5", "sip:900@10.0.0.9"]
    run.event("leg_failed", invites[1][1], 480)
    # A sip: destination asks no further rules: the call ends missed.
    assert run.logs("outgoing_call_missed")[-1]["reason"] == "noanswer"
    assert run.machine.state == "ending"  # the first leg's CANCEL is pending
    run.event("leg_failed", invites[0][1], 487)
    assert run.machine.state == "idle"
    # 102's only target needs registration: unregistered -> unavailable rule.
    run.event("dial", value="102")
    assert run.actions[-1][0:1] == ("invite",) and run.actions[-1][2] == "sip:901@10.0.0.9"


def test_number_without_rule_or_target_is_missed():
    run = Run(Environment({"5": [""], "6": []}))
    for number in ("4", "5", "6"):
        run.event("dial", value=number)
        assert run.machine.state == "idle"
    assert [log["reason"] for log in run.logs("outgoing_call_missed")] == ["number_not_found"] * 3
    # Reachable targets missing (SIP disabled): "unregistered".
    run = Run(Environment({"7": ["sip:7@10.0.0.7"]}, sip=False))
    run.event("dial", value="7")
    assert run.logs("outgoing_call_missed") == [{"forward_number": 7, "reason": "unregistered"}]


def test_dtmf_opens_locks_and_talk_timeout_ends_with_bye():
    run = Run(Environment({"8": ["sip:8@10.0.0.8"]}))
    run.event("dial", value="8")
    leg = run.legs_of("invite")[0]
    run.event("leg_answered", leg, "plan")
    assert run.event("digit", leg, "1")[0] == (
        "open_lock",
        1,
        {"forward_number": 8, "destination": "sip:8@10.0.0.8", "via": "dtmf"},
    )
    assert run.event("digit", 999, "2") == []  # not the answered leg
    assert run.event("digit", leg, "2")[0][0:2] == ("open_lock", 2)
    assert run.machine.state == "door_open"
    assert len(run.machine.describe()["door_openings"]) == 2
    # A second visitor cannot dial while the panel talks.
    assert run.event("dial", value="9") == [("refused", "9", "busy")]
    run.advance(90000 - 1)
    assert run.machine.state == "talking"  # the door closed after 5 s
    ending = run.advance(1)
    assert run.kinds(ending) == ["stop_media", "bye"]
    assert run.machine.state == "ending"
    run.event("leg_ended", leg, "local")
    assert run.machine.state == "idle"
    assert run.machine.last_call["ended_by"] == "talk_timeout"


def test_ending_is_bounded_and_caller_hangup_cancels():
    run = Run(Environment({"3": ["sip:3@10.0.0.3", "laskomex:3"]}))
    run.event("dial", value="3")
    sip_leg = run.legs_of("invite")[0]
    line_leg = run.legs_of("ring")[0]
    found = run.event("hangup")
    assert ("cancel", sip_leg) in found and ("stop_ring", line_leg, ("laskomex", 3)) in found
    assert run.logs("outgoing_call_missed")[-1]["reason"] == "caller_hung_up"
    assert run.machine.state == "ending"
    assert run.event("dial", value="3")[0][0] == "refused"
    run.advance(ENDING_GUARD_MS)
    assert run.machine.state == "idle"


def test_adapter_lost_fails_lines_and_all_failures_give_the_best_reply():
    run = Run(Environment({"4": ["vizit:4", "sip:4@10.0.0.4"]}))
    run.event("dial", value="4")
    run.event("adapter_lost")
    assert run.machine.state == "dialling"
    run.event("leg_failed", run.legs_of("invite")[0], 486)
    assert run.logs("outgoing_call_missed") == [{"forward_number": 4, "reason": "busy"}]
    assert [log["result"] for log in run.logs("outgoing_call")] == ["unreachable", "busy"]
    assert run.machine.state == "idle"


def test_every_target_unreachable_is_unregistered():
    environment = Environment(
        {"5": ["laskomex:5", "vizit:5"], "905": ["sip:9@10.0.0.9"]},
        rules=[rule("unregistered", "5", "905")],
    )
    run = Run(environment)
    run.event("dial", value="5")
    for leg in run.legs_of("ring"):
        run.event("leg_failed", leg, UNREACHABLE)  # lines in fault
    assert run.machine.describe()["redirects"][0]["outcome"] == "unregistered"
    assert run.actions[-1][0] == "invite"


def test_one_by_one_hangup_cancels_only_the_target_ringing():
    run = Run(Environment({"12": ["sip:1@10.0.0.1", "vizit:2", "sip:3@10.0.0.3"]}, "one_by_one"))
    run.event("dial", value="12")
    first = run.legs_of("invite")[0]
    found = run.event("hangup")
    assert found[0] == ("cancel", first)
    assert run.kinds(found) == ["cancel", "log", "log"]
    assert len(run.logs("outgoing_call")) == 1
    states = [target["state"] for target in run.machine.describe()["targets"]]
    assert states == ["cancelling", "skipped", "skipped"]


def test_cascade_stops_after_four_redirects():
    queues = {}
    for number in range(1, 7):
        queues[str(number)] = ["sip:%d@10.0.0.%d" % (number, number)]
    # One rule per hop, 1 -> 2 -> ... -> 6, and every target busy.
    environment = Environment(
        queues, rules=[rule("busy", str(number), str(number + 1)) for number in range(1, 6)]
    )
    run = Run(environment)
    run.event("dial", value="1")
    for _ in range(6):
        invites = run.legs_of("invite")
        run.event("leg_failed", invites[-1], 486)
    assert [action[2] for action in run.actions if action[0] == "invite"] == [
        "sip:%d@10.0.0.%d" % (number, number) for number in range(1, 6)
    ]
    assert len(run.machine.last_call["redirects"]) == 4
    assert run.logs("outgoing_call_missed") == [{"forward_number": 1, "reason": "busy"}]


def test_ring_timeout_cuts_the_dial_timeout_short():
    # Redirect spec 5.2 [D]: the ring timer is min(ring_timeout_s, dial_timeout).
    environment = Environment(
        {"101": ["sip:101@10.0.0.5", "vizit:1"]},
        rules=[rule("noanswer", "101", "sip:900@10.0.0.9")],
        ring=10,
    )
    run = Run(environment)
    run.event("dial", value="101")
    sip_leg, line_leg = run.legs_of("invite")[0], run.legs_of("ring")[0]
    run.event("leg_ringing", sip_leg)
    assert run.advance(9999) == []
    found = run.advance(1)
    assert ("cancel", sip_leg) in found and ("stop_ring", line_leg, ("vizit", 1)) in found
    assert [log["result"] for log in run.logs("outgoing_call")] == ["no_answer", "no_answer"]
    assert run.machine.describe()["redirects"][0]["outcome"] == "noanswer"
    # The redirect target's own attempt has the same 10 s ring timer.
    redirected = run.legs_of("invite")[-1]
    assert run.actions[-1] == ("invite", redirected, "sip:900@10.0.0.9")
    run.event("leg_ringing", redirected, 180)
    assert run.advance(9999) == []
    assert ("cancel", redirected) in run.advance(1)
    assert run.logs("outgoing_call_missed") == [{"forward_number": 101, "reason": "noanswer"}]


def test_dial_timeout_bounds_a_longer_ring_timeout():
    run = Run(Environment({"7": ["sip:7@10.0.0.7"]}, times=(15, 20, 90), ring=60))
    run.event("dial", value="7")
    leg = run.legs_of("invite")[0]
    run.event("leg_ringing", leg, 180)
    assert run.advance(14999) == []
    assert run.kinds(run.advance(1)) == ["cancel", "log", "log"]
    assert run.logs("outgoing_call_missed") == [{"forward_number": 7, "reason": "noanswer"}]
    run.event("leg_failed", leg, 487)
    assert run.machine.state == "idle"


def test_one_by_one_ring_timer_per_target_is_the_smaller():
    # One by one (redirect spec 5.0): per target min(forwarding_timeout, ring_timeout_s).
    queues = {"12": ["sip:1@10.0.0.1", "sip:2@10.0.0.2", "vizit:3"]}
    for forwarding_s, ring_s, expected_s in ((20, 10, 10), (20, 30, 20), (25, 25, 25)):
        environment = Environment(queues, "one_by_one", times=(45, forwarding_s, 90), ring=ring_s)
        run = Run(environment)
        run.event("dial", value="12")
        for turn in range(3):
            if turn < 2:  # the SIP targets ring (180); the line's RING was taken
                run.event("leg_ringing", run.legs_of("invite")[turn], 180)
            assert run.advance(expected_s * 1000 - 1) == [], (forwarding_s, ring_s, turn)
            found = run.advance(1)
            assert run.kinds(found)[0] in ("cancel", "stop_ring")
        # The last target timed out: the queue's outcome is noanswer (spec 5.0).
        assert [log["result"] for log in run.logs("outgoing_call")] == ["no_answer"] * 3
        assert run.logs("outgoing_call_missed") == [{"forward_number": 12, "reason": "noanswer"}]
