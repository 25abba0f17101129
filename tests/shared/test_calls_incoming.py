# Incoming SIP calls (docs/incoming-calls.md) on both runtimes: the machine's
# own call kind ("incoming" state), then the controller with the real user
# agent over the loopback network: the allow-list, the ring, the answer after
# answer_after_s on a fake clock, DTMF (SIP INFO and RFC 4733) opening a lock,
# 403 for strangers and 486 while a call runs.
import asyncio

from fake_clock import FakeClock
from loopback_network import LoopbackNetwork
from test_sip_ua_loopback import PANEL, PEER, incoming_invite

import call_environment
from panel.calls.controller import CallController
from panel.calls.machine import CallMachine
from panel.core import incoming
from panel.drivers.sip_ua import SipUserAgent
from panel.proto import rtp, sdp, sip_message

PLAN = sdp.MediaPlan("10.0.0.9", 30000, 0, 101, 20, "sendrecv")


def offer(token="t1", after=2):
    return {"token": token, "caller": "sip:101@10.0.0.9", "plan": PLAN, "answer_after_s": after}


def test_machine_rings_answers_after_the_ring_time_and_opens_by_dtmf():
    environment = call_environment.Environment({})
    machine = CallMachine(environment)
    actions = machine.handle("incoming", 0, None, offer())
    assert machine.state == "incoming"
    assert actions[0] == ("log", "incoming_call_from_monitor", {"caller": "sip:101@10.0.0.9"})
    leg = actions[1][1]
    assert actions[1] == ("ring_incoming", leg, "t1")
    assert machine.tick(1999) == []
    assert machine.tick(2000) == [("answer_incoming", leg, PLAN)]
    assert machine.state == "talking"
    assert machine.handle("incoming", 2100, None, offer("t2")) == [("refuse_incoming", "t2", 486)]
    assert machine.handle("dial", 2200, None, "12") == [("refused", "12", "busy")]
    opened = machine.handle("digit", 2300, leg, "1")
    assert opened[0][0:2] == ("open_lock", 1) and machine.state == "door_open"
    assert opened[0][2]["destination"] == "sip:101@10.0.0.9"
    ended = machine.handle("leg_ended", 3000, leg, "remote")
    assert ("stop_media", leg) in ended and machine.state == "idle"
    assert machine.last_call["mode"] == "incoming"
    assert machine.last_call["ended_by"] == "callee"


def test_machine_incoming_caller_gives_up_or_panel_hangs_up():
    machine = CallMachine(call_environment.Environment({}))
    leg = machine.handle("incoming", 0, None, offer())[1][1]
    assert machine.handle("digit", 10, leg, "1") == []  # not answered: no door
    machine.handle("leg_failed", 100, leg, 487)
    assert machine.state == "idle" and machine.last_call["outcome"] == "caller_hung_up"
    assert machine.tick(5000) == []  # the answer timer went with the call
    leg = machine.handle("incoming", 6000, None, offer("t3"))[1][1]
    assert machine.handle("hangup", 6100) == [("cancel", leg)]
    assert machine.state == "idle"


def test_allow_list_entries_and_matching():
    assert incoming.entry_kind("10.0.0.9") == incoming.KIND_IPV4
    assert incoming.entry_kind("sip:101@pbx.example.org") == incoming.KIND_URI
    assert incoming.entry_kind("101") == incoming.KIND_USER
    for bad in ("", "sip:", "sip:@host", "256.1.1.1", "01.2.3.4", "a b", "sip:1@h:5060", 7):
        assert incoming.entry_kind(bad) is None, bad
    allow = ["10.0.0.9", "sip:7@PBX.example.org", "monitor"]
    assert incoming.allowed(allow, "sip:anyone@1.2.3.4", "10.0.0.9")
    assert incoming.allowed(allow, "sip:7@pbx.example.org:5060;transport=tcp", "1.1.1.1")
    assert incoming.allowed(allow, "sip:monitor@10.9.9.9", "1.1.1.1")
    assert not incoming.allowed(allow, "sip:8@pbx.example.org", "1.1.1.1")
    assert not incoming.allowed(allow, "sip:10.0.0.9", "10.0.0.8")
    assert not incoming.allowed([], "sip:monitor@10.9.9.9", "10.0.0.9")


class Rig:
    """The real user agent and controller; the peer is the test."""

    def __init__(self, allow=("10.0.0.9",), enabled=True, after=2):
        self.network = LoopbackNetwork()
        self.peer = self.network.endpoint(PEER)
        self.rtp_peer = self.network.endpoint(("10.0.0.9", 30000))
        self.clock = FakeClock(start=0)
        self.environment = call_environment.Environment(
            {},
            incoming={"enabled": enabled, "allow": list(allow), "answer_after_s": after},
        )
        self.rings = []
        self.ua = SipUserAgent(
            self.network.endpoint(PANEL),
            PANEL,
            None,
            unix_time=lambda: 1700000000,
            clock=self.clock.ticks_ms,
        )
        self.controller = CallController(
            self.environment,
            self.clock,
            self.ua,
            None,
            {"socket": self.rtp_socket, "tone_hz": 0, "ring": self.rings.append},
        )
        self.ua.on_event = self.controller.on_sip_event

    def rtp_socket(self):
        return self.network.endpoint(("10.0.0.7", 40000)), ("10.0.0.7", 40000)

    def send(self, message):
        self.peer.sendto(message.to_bytes(), PANEL)
        self.ua.poll(self.clock.ticks_ms())

    def received(self):
        messages = []
        while self.network.queues[PEER]:
            messages.append(sip_message.parse(self.network.queues[PEER].pop(0)[0]))
        return messages


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_allowed_caller_is_answered_and_dtmf_opens_the_door():
    rig = Rig()
    rig.controller.start()
    try:
        invite = incoming_invite("c1")
        rig.send(invite)
        assert [message.status for message in rig.received()] == [100, 180]
        assert rig.controller.machine.state == "incoming" and rig.rings == [True]
        rig.clock.advance(1900)
        rig.controller.run_timers()
        assert rig.received() == []  # still ringing
        rig.clock.advance(100)
        rig.controller.run_timers()
        answer = rig.received()[0]
        assert answer.status == 200 and rig.rings == [True, False]
        plan = sdp.negotiate(sdp.parse(answer.body))
        assert (plan.address, plan.port, plan.event_type) == ("10.0.0.7", 40000, 101)
        to_tag = sip_message.parse_name_address(answer.get("to")).tag
        dialog = sip_message.Dialog(
            "c1",
            "caller",
            to_tag,
            "sip:101@10.0.0.9",
            "sip:100001@10.0.0.7",
            "sip:panel@10.0.0.7:5060",
            1,
        )
        via = sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKack"})
        rig.send(dialog.request("ACK", via, sequence=1))
        assert rig.controller.machine.state == "talking"
        # RFC 4733: lock 1's code "1" as telephone-event packets into the session.
        session = rig.controller._media
        for end in (False, False, True):
            payload = rtp.build_telephone_event(1, end, 10, 800)
            session.receive_packet(rtp.build_packet(101, 7, 1600, 0x1234, payload))
        assert rig.environment.opened == [(1, "access_granted_by_call_host")]
        # SIP INFO: lock 2's code.
        info = dialog.request(
            "INFO", sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKi"})
        )
        info.add("content-type", "application/dtmf-relay")
        info.body = b"Signal=2\r\nDuration=160\r\n"
        rig.send(info)
        assert rig.received()[0].status == 200
        assert rig.environment.opened[-1] == (2, "access_granted_by_call_host")
        # A second caller while this one talks: busy.
        rig.send(incoming_invite("c2"))
        assert [message.status for message in rig.received()] == [100, 486]
        bye = dialog.request(
            "BYE", sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKb"})
        )
        rig.send(bye)
        assert rig.received()[0].status == 200
        assert rig.controller.machine.state == "idle"
        await settle()
        assert [event for event, info in rig.environment.logged][0] == "incoming_call_from_monitor"
        assert rig.ua.counters["internal_errors"] == 0
    finally:
        rig.controller.stop()


async def test_stranger_gets_403_and_nothing_is_logged():
    rig = Rig(allow=("10.0.0.8", "sip:5@10.0.0.9"))
    rig.controller.start()
    try:
        rig.send(incoming_invite("s1"))
        assert [message.status for message in rig.received()] == [100, 403]
        assert (
            rig.controller.machine.state == "idle"
            and rig.controller.counters["incoming_refused"] == 1
        )
        # On the list by URI: rung.
        rig.send(incoming_invite("s2", caller="sip:5@10.0.0.9"))
        assert [message.status for message in rig.received()] == [100, 180]
        await settle()
        assert [event for event, info in rig.environment.logged] == ["incoming_call_from_monitor"]
    finally:
        rig.controller.stop()
    rig = Rig(enabled=False)
    rig.controller.start()
    try:
        rig.send(incoming_invite("s3"))  # off: nobody is let through
        assert [message.status for message in rig.received()] == [100, 403]
    finally:
        rig.controller.stop()


def test_incoming_call_has_an_event_line_and_a_log_name():
    from panel.core import event_lines
    from panel.services.call_log import EVENTS

    assert EVENTS["incoming_call_from_monitor"] == ("info", "Incoming call from monitor")
    level, text = event_lines.message(
        "incoming_call_from_monitor", {"caller": "sip:101@10.0.0.9:5062"}, {}
    )
    assert (level, text) == (event_lines.LEVEL_INFO, "System: Call: Incoming from 101@10.0.0.9")
