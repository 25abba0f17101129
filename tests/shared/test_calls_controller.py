# The call controller's async layer (panel.calls.controller) on both runtimes:
# small fake drivers record what it asks for and raise the events a user
# agent and an adapter raise; the machine's timers run on a fake clock that
# the tests move on (nothing here sleeps on a real timer).
import asyncio

from fake_clock import FakeClock

import call_environment
from panel.calls.controller import CallController
from panel.compat import ticks_add
from panel.drivers.adapter import AdapterEvent
from panel.proto.sip_message import LocalError


class FakeSocket:
    """What RtpSession needs from a UDP socket; nothing ever arrives."""

    def __init__(self):
        self.sent = 0
        self.closed = False

    def setblocking(self, flag):
        pass

    def sendto(self, data, address):
        self.sent += 1

    def recvfrom(self, size):
        raise OSError(11)

    def close(self):
        self.closed = True


class FakeCall:
    def __init__(self, agent, target):
        agent.serial += 1
        self.call_id = "call-%d" % agent.serial
        self.target = target
        self.state = "calling"
        self.agent = agent

    def cancel(self):
        self.agent.done.append(("cancel", self.target))

    def hangup(self):
        self.agent.done.append(("hangup", self.target))


class FakeUserAgent:
    local_address = ("127.0.0.1", 5060)

    def __init__(self):
        self.serial = 0
        self.calls = {}
        self.done = []

    def invite(self, target, offer):
        if target == "9999":
            raise LocalError("digits need a SIP account")
        call = FakeCall(self, target)
        self.calls[target] = call
        self.done.append(("invite", target, b"m=audio 40000" in offer))
        return call


class FakeAdapter:
    def __init__(self):
        self.done = []

    async def _command(self, kind, line):
        await asyncio.sleep(0)
        self.done.append((kind, line))
        return line != ("vizit", 40)  # outside the adapter's range: refused

    async def ring(self, line):
        return await self._command("ring", line)

    async def stop_ring(self, line):
        return await self._command("stop_ring", line)

    async def connect_audio(self, line):
        return await self._command("connect_audio", line)

    async def disconnect_audio(self, line):
        return await self._command("disconnect_audio", line)


class Rig:
    """A controller on fake drivers, a fake environment and a fake clock."""

    def __init__(self, queues, **options):
        # Every target reachable, no redirect rules, no wall clock; the ticks
        # start just before they wrap, so every timer spans the wrap.
        options.setdefault("minute", None)
        options.setdefault(
            "personal_codes",
            {"4321": {"identifier_uid": 3, "lock": "all", "identifier_owner": {"name": "23"}}},
        )
        self.environment = call_environment.Environment(queues, **options)
        self.clock = FakeClock(start=ticks_add(0, -1500))
        self.sip = FakeUserAgent()
        self.adapter = FakeAdapter()
        self.sockets = []
        media = {"socket": self.new_socket, "tone_hz": 425}
        self.controller = CallController(
            self.environment, self.clock, self.sip, self.adapter, media
        )

    def new_socket(self):
        sock = FakeSocket()
        self.sockets.append(sock)
        return sock, ("127.0.0.1", 40000)

    def sip_event(self, kind, target, detail=None):
        self.controller.on_sip_event(kind, self.sip.calls[target], detail)

    def line_event(self, kind, line, detail=None):
        self.controller.on_adapter_event(AdapterEvent(kind, line, detail))

    def state(self):
        return self.controller.machine.state

    def results(self):
        return [info["result"] for info in self.environment.events("outgoing_call")]


async def turns(count=10):
    """Let the loop run: adapter commands, log writes, the timer task."""
    for _ in range(count):
        await asyncio.sleep(0)


async def until(condition, most=200):
    """Loop turns (never a real timer) until condition() holds."""
    for _ in range(most):
        if condition():
            return
        await asyncio.sleep(0)
    assert condition(), "condition not met"


def started(queues, **options):
    rig = Rig(queues, **options)
    rig.controller.start()
    return rig


async def test_analog_answer_cancels_sip_and_door_button_opens():
    rig = started({"223": ["sip:1@10.0.0.1", "vizit:7"]})
    controller = rig.controller
    try:
        assert controller.dial("223") is True
        await until(lambda: ("ring", ("vizit", 7)) in rig.adapter.done)
        assert rig.sip.done == [("invite", "sip:1@10.0.0.1", True)]
        await until(lambda: rig.state() == "ringing")
        rig.line_event("answered", ("vizit", 7))
        assert rig.state() == "talking"
        assert ("cancel", "sip:1@10.0.0.1") in rig.sip.done
        await until(lambda: ("connect_audio", ("vizit", 7)) in rig.adapter.done)
        assert controller.dial("224") is False
        rig.sip_event("failed", "sip:1@10.0.0.1", 487)
        rig.line_event("door_button", ("vizit", 7))
        assert rig.environment.opened == [(1, "access_granted_by_call_host")]
        assert controller.hangup() is True
        await until(lambda: ("disconnect_audio", ("vizit", 7)) in rig.adapter.done)
        assert rig.state() == "idle"
        assert controller.hangup() is False
        await until(lambda: len(rig.results()) == 2)
        assert rig.results() == ["answered", "cancelled"]
    finally:
        controller.stop()


class Plan:
    address = "127.0.0.1"
    port = 40002
    audio_type = 0
    event_type = 101


async def test_sip_answer_media_dtmf_and_talk_timeout():
    rig = started({"8": ["sip:8@10.0.0.8"]})
    controller = rig.controller
    try:
        controller.dial("8")
        rig.sip_event("ringing", "sip:8@10.0.0.8", 180)
        rig.sip_event("answered", "sip:8@10.0.0.8", Plan())
        assert rig.state() == "talking"
        rtp_socket = rig.sockets[0]
        await until(lambda: rtp_socket.sent > 0)  # the session's first frame
        rig.sip_event("dtmf", "sip:8@10.0.0.8", "2")
        assert rig.environment.opened == [(2, "access_granted_by_call_host")]
        assert rig.state() == "door_open"
        # The door closes after lock_seconds (5 s); talk_timeout (90 s) ends
        # the call with a BYE. The timer task wakes on the fake clock.
        rig.clock.advance(5000)
        await turns()
        assert rig.state() == "talking"
        rig.clock.advance(90000 - 5000 - 1)
        await turns()
        assert rig.state() == "talking"
        rig.clock.advance(1)
        await turns()
        assert ("hangup", "sip:8@10.0.0.8") in rig.sip.done
        assert rig.state() == "ending"
        rig.sip_event("ended", "sip:8@10.0.0.8", "local")
        assert rig.state() == "idle"
        assert rtp_socket.closed
        assert controller.machine.last_call["ended_by"] == "talk_timeout"
    finally:
        controller.stop()


async def test_refused_ring_and_invite_error_end_missed():
    rig = started({"40": ["vizit:40", "9999"]})
    controller = rig.controller
    try:
        controller.dial("40")
        await until(lambda: rig.environment.events("outgoing_call_missed"))
        # Neither target could be reached: "unregistered" (redirect spec 5.0).
        assert rig.environment.events("outgoing_call_missed") == [
            {"forward_number": 40, "reason": "unregistered"}
        ]
        assert rig.results() == ["unreachable", "unreachable"]
        assert controller.counters["adapter_refusals"] == 1
        assert controller.counters["invite_errors"] == 1
    finally:
        controller.stop()


async def test_keypad_dials_and_checks_personal_codes():
    rig = started({})
    controller = rig.controller
    environment = rig.environment
    try:
        results = controller.press("77#")
        assert results == [{"key": "#", "action": "dial", "number": 77, "accepted": True}]
        # Call-log entries are written a loop turn after the call's actions.
        assert environment.events("incoming_call") == []
        await until(lambda: environment.events("outgoing_call_missed"))
        assert environment.events("incoming_call") == [{"forward_number": 77}]
        assert environment.events("outgoing_call_missed")[0]["reason"] == "number_not_found"
        assert controller.press("*4321#")[-1]["granted"] is True
        assert environment.opened == [
            (1, "access_granted_by_personal_code"),
            (2, "access_granted_by_personal_code"),
        ]
        assert controller.press("*1#")[-1]["granted"] is False
        # Written a loop turn after the answer, like the call's entries.
        await until(lambda: environment.events("access_denied"))
        # The code typed goes with it: the event line of spec 10.3 names it.
        assert environment.events("access_denied") == [
            {"identifier_type": "personal_code", "code": "1"}
        ]
        # The keypad forgets a half-typed number on the controller's clock.
        controller.press("12")
        rig.clock.advance(60000)
        assert controller.press("#")[-1]["action"] == "ignored"
    finally:
        controller.stop()


async def test_ring_timer_is_the_smaller_of_ring_timeout_and_dial_timeout():
    # ring_timeout_s 10 with dial_timeout 45: the SIP target's CANCEL after 10 s.
    rig = started({"5": ["sip:5@10.0.0.5"]}, ring=10)
    controller = rig.controller
    try:
        controller.dial("5")
        rig.sip_event("ringing", "sip:5@10.0.0.5", 180)
        await turns()
        assert rig.clock.waiting() == 1  # the timer task, on the fake clock
        rig.clock.advance(9999)
        await turns()
        assert ("cancel", "sip:5@10.0.0.5") not in rig.sip.done
        rig.clock.advance(1)
        await turns()
        assert ("cancel", "sip:5@10.0.0.5") in rig.sip.done
        assert rig.results() == ["no_answer"]
        rig.sip_event("failed", "sip:5@10.0.0.5", 487)
        assert rig.state() == "idle"
        await until(lambda: rig.environment.events("outgoing_call_missed"))
        assert rig.environment.events("outgoing_call_missed")[0]["reason"] == "noanswer"
    finally:
        controller.stop()


async def test_run_timers_is_the_step_and_events_need_start():
    # Not started: no timer task; driver events are dropped, timers run when
    # the test steps them, log entries are written at once.
    rig = Rig({"6": ["sip:6@10.0.0.6"]}, times=(5, 5, 5))
    controller = rig.controller
    controller.dial("6")
    rig.sip_event("answered", "sip:6@10.0.0.6", Plan())
    assert rig.state() == "dialling"
    rig.clock.advance(5000)
    assert rig.state() == "dialling"  # nothing runs the timers by itself
    controller.run_timers()
    assert ("cancel", "sip:6@10.0.0.6") in rig.sip.done
    # Its ringing was dropped too: a target that never replied (spec 5.2).
    assert rig.results() == ["unavailable"]
    assert rig.clock.waiting() == 0
    controller.stop()
