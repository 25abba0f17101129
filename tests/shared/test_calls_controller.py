# The call controller's async layer (panel.calls.controller) on both runtimes:
# small fake drivers record what it asks for and raise the events a user
# agent and an adapter raise; the machine's timers run on the real clock.
import asyncio

import call_environment
from panel.calls.controller import CallController
from panel.proto.sip_message import LocalError


class FakeSocket:
    """What RtpSession needs from a UDP socket; nothing ever arrives."""

    def __init__(self):
        self.sent = 0
        self.closed = False

    def setblocking(self, flag):
        pass

    def getsockname(self):
        return ("127.0.0.1", 40000)

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


class FakePanel:
    def __init__(self):
        self.listeners = []
        self.sip = FakeUserAgent()
        self.adapter = FakeAdapter()
        self.opened = []
        self.logged = []
        self.sockets = []
        self.media_options = {"socket": self.new_socket, "tone_hz": 425}
        self.call_log = self
        self.identifiers = self

    def new_socket(self):
        sock = FakeSocket()
        self.sockets.append(sock)
        return sock

    def add_call_listener(self, listener):
        self.listeners.append(listener)

    def emit(self, source, kind, subject, detail=None):
        for listener in self.listeners:
            listener(source, kind, subject, detail)

    def add(self, event, info):
        self.logged.append((event, info))

    def events(self, name):
        return [info for event, info in self.logged if event == name]

    def open_lock(self, lock, seconds, event, info=None):
        self.opened.append((lock, event))
        return True

    def find_personal_code(self, code):
        if code == "4321":
            return {"identifier_uid": 3, "lock": "all", "identifier_owner": {"name": "23"}}
        return None


class AdapterEvent:
    def __init__(self, detail=None):
        self.detail = detail


async def until(condition, timeout_ms=5000):
    waited = 0
    while not condition():
        assert waited < timeout_ms, "condition not met"
        await asyncio.sleep(0.01)
        waited += 10


def started(queues):
    panel = FakePanel()
    # Every target reachable, no redirect rules, no clock, short timers.
    environment = call_environment.Environment(queues, times=(1, 1, 1), minute=None, lock_seconds=1)
    controller = CallController(panel, environment)
    controller.start()
    return panel, controller


async def test_analog_answer_cancels_sip_and_door_button_opens():
    panel, controller = started({"223": ["sip:1@10.0.0.1", "vizit:7"]})
    try:
        assert controller.dial("223") is True
        await until(lambda: ("ring", ("vizit", 7)) in panel.adapter.done)
        assert panel.sip.done == [("invite", "sip:1@10.0.0.1", True)]
        await until(lambda: controller.machine.state == "ringing")
        panel.emit("adapter", "answered", ("vizit", 7), AdapterEvent())
        assert controller.machine.state == "talking"
        assert ("cancel", "sip:1@10.0.0.1") in panel.sip.done
        await until(lambda: ("connect_audio", ("vizit", 7)) in panel.adapter.done)
        assert controller.dial("224") is False
        panel.emit("sip", "failed", panel.sip.calls["sip:1@10.0.0.1"], 487)
        panel.emit("adapter", "door_button", ("vizit", 7), AdapterEvent())
        assert panel.opened == [(1, "access_granted_by_call_host")]
        assert controller.hangup() is True
        await until(lambda: ("disconnect_audio", ("vizit", 7)) in panel.adapter.done)
        assert controller.machine.state == "idle"
        assert controller.hangup() is False
        await until(lambda: len(panel.events("outgoing_call")) == 2)
        results = [info["result"] for info in panel.events("outgoing_call")]
        assert results == ["answered", "cancelled"]
    finally:
        controller.stop()


async def test_sip_answer_media_dtmf_and_talk_timeout():
    panel, controller = started({"8": ["sip:8@10.0.0.8"]})
    try:
        controller.dial("8")
        call = panel.sip.calls["sip:8@10.0.0.8"]
        panel.emit("sip", "ringing", call, 180)

        class Plan:
            address = "127.0.0.1"
            port = 40002
            audio_type = 0
            event_type = 101

        panel.emit("sip", "answered", call, Plan())
        assert controller.machine.state == "talking"
        rtp_socket = panel.sockets[0]
        await until(lambda: rtp_socket.sent > 2)
        panel.emit("sip", "dtmf", call, "2")
        assert panel.opened == [(2, "access_granted_by_call_host")]
        assert controller.machine.state == "door_open"
        # talk_timeout (1 s here) ends the call with a BYE.
        await until(lambda: ("hangup", "sip:8@10.0.0.8") in panel.sip.done, 3000)
        assert controller.machine.state == "ending"
        panel.emit("sip", "ended", call, "local")
        assert controller.machine.state == "idle"
        assert rtp_socket.closed
        assert controller.machine.last_call["ended_by"] == "talk_timeout"
    finally:
        controller.stop()


async def test_refused_ring_and_invite_error_end_missed():
    panel, controller = started({"40": ["vizit:40", "9999"]})
    try:
        controller.dial("40")
        await until(lambda: panel.events("outgoing_call_missed"))
        # Neither target could be reached: "unregistered" (redirect spec 5.0).
        assert panel.events("outgoing_call_missed") == [
            {"forward_number": 40, "reason": "unregistered"}
        ]
        assert [info["result"] for info in panel.events("outgoing_call")] == [
            "unreachable",
            "unreachable",
        ]
        assert controller.counters["adapter_refusals"] == 1
        assert controller.counters["invite_errors"] == 1
    finally:
        controller.stop()


async def test_keypad_dials_and_checks_personal_codes():
    panel, controller = started({})
    try:
        results = controller.press("77#")
        assert results == [{"key": "#", "action": "dial", "number": 77, "accepted": True}]
        # Call-log entries are written a loop turn after the call's actions.
        assert panel.events("incoming_call") == []
        await until(lambda: panel.events("outgoing_call_missed"))
        assert panel.events("incoming_call") == [{"forward_number": 77}]
        assert panel.events("outgoing_call_missed")[0]["reason"] == "number_not_found"
        assert controller.press("*4321#")[-1]["granted"] is True
        assert panel.opened == [
            (1, "access_granted_by_personal_code"),
            (2, "access_granted_by_personal_code"),
        ]
        assert controller.press("*1#")[-1]["granted"] is False
        assert panel.events("access_denied") == [{"identifier_type": "personal_code"}]
    finally:
        controller.stop()
