"""End-to-end calls: the panel as a real process (`make run`'s launcher, with the
hybrid-adapter emulator on its pseudo-terminal), real sipp peers on loopback,
and the visitor dialling on the host keypad (/sim/keypad).

Timing is never asserted: every wait polls with a deadline. Timeouts are the
contract minimums (dial and forwarding 5 s, talk 10 s) to keep the file short.
"""

import json
import os
import time
import urllib.request

import pytest

from support.panel_process import PanelProcess
from support.sipp import Sipp, panel_sip_account, sipp_path

pytestmark = pytest.mark.skipif(
    sipp_path() is None, reason="sipp missing: `make sipp` installs sip-tester"
)

# A SIP proxy address nobody answers on: SIP is enabled, registration fails,
# so `sip:user@ip:port` targets are dialled and digits-only ones are not.
DEAD_PROXY = "sip:127.0.0.1:9"


class Panel:
    """One panel process, its emulator, and the calls a test makes through them."""

    def __init__(self, directory, runtime="cpython"):
        self.directory = str(directory)
        self.process = PanelProcess(
            directory, extra_args=["--sip-port", "0", "--adapter-http-port", "0"], runtime=runtime
        ).start()
        self.control = None
        with open(os.path.join(self.directory, "adapter-emulator.log")) as handle:
            for line in handle:
                if line.startswith("{"):
                    self.control = json.loads(line)["http_port"]
        assert self.control, "no emulator announcement"
        self.wait_for(
            lambda: self.api("GET", "/api/info")["hybrid_enable"], 15, "adapter handshake"
        )
        self.api(
            "POST", "/api/v1/device/call/dial/timeout", {"dial_timeout": 5, "forwarding_timeout": 5}
        )
        self.api("POST", "/api/v1/device/call/talk/timeout", {"talk_timeout": 10})

    def stop(self):
        self.process.stop()

    # -- talking to the panel and the emulator --------------------------------
    def api(self, method, path, body=None, expect=200):
        reply = self.process.request(method, path, body)
        assert reply.status == expect, (method, path, reply)
        return reply.json if reply.raw else None

    def emulator(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.control, path),
            data=data,
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    "timed out waiting for %s; call: %s" % (what, json.dumps(self.call()))
                )
            time.sleep(0.05)

    # -- configuration -----------------------------------------------------------
    def forward(self, number, queue):
        self.api("POST", "/api/v1/forward/item/%d" % number, {"forward_entity_list": queue})

    def enable_sip(self, proxy=DEAD_PROXY):
        self.api(
            "POST",
            "/api/v1/device/sip/settings",
            panel_sip_account(proxy),
        )
        self.api("POST", "/api/v1/device/sip/enable", {"sip_enable": True})

    def redirect(self, rule_type, filter_number, tran_number):
        return self.api(
            "POST",
            "/rest/v1/uc/redirectrules",
            {"type": rule_type, "filter_number": filter_number, "tran_number": tran_number},
        )

    # -- the visitor and what the panel shows ---------------------------------------
    def keys(self, keys):
        return self.api("POST", "/sim/keypad", {"keys": keys})

    def call(self):
        return self.process.request("GET", "/sim/call", auth=None).json

    def state(self):
        return self.call()["state"]

    def line(self, line):
        return self.emulator("/lines/" + line)

    def log(self, event=None):
        items = self.api("GET", "/api/v1/log/items?limit=100")["list_items"]
        items.reverse()  # oldest first
        return [item for item in items if event is None or item["name"]["key"] == event]

    def outgoing(self):
        return [
            (item["info"]["destination"], item["info"]["result"])
            for item in self.log("outgoing_call")
        ]


@pytest.fixture
def panel(tmp_path, runtime):
    process = Panel(tmp_path / "panel", runtime)
    yield process
    process.stop()


def uas(tmp_path, scenario, name, extra=()):
    directory = tmp_path / name
    directory.mkdir()
    return Sipp(scenario, directory, extra=list(extra)).start()


def sipp_target(sipp):
    return "sip:5588@127.0.0.1:%d" % sipp.port


def finish(sipp, timeout=30):
    status = sipp.wait_blocking(timeout)
    assert status == 0, sipp.log()


def test_all_at_once_analog_answers_and_sip_gets_cancel(panel, tmp_path):
    ringing = uas(tmp_path, "uas_ring_no_answer.xml", "ring")
    panel.enable_sip()
    panel.forward(223, [sipp_target(ringing), "laskomex:10"])
    answer = panel.keys("223#")["results"]
    assert answer == [{"key": "#", "action": "dial", "number": 223, "accepted": True}]
    panel.wait_for(lambda: panel.line("laskomex:10")["state"] == "ringing", 10, "RING")
    panel.wait_for(lambda: panel.state() == "ringing", 10, "ringing")
    panel.emulator("/lines/laskomex:10", {"action": "answer"})
    panel.wait_for(lambda: panel.state() == "talking", 10, "talking")
    # sipp's scenario ends only after it received the CANCEL (and sent 487).
    finish(ringing)
    call = panel.call()
    assert call["answered_by"] == "laskomex:10"
    assert call["apartment"] == 223
    assert panel.wait_for(lambda: panel.line("laskomex:10")["audio"], 5, "audio connected")
    # One call at a time: a second visitor's dial is refused while talking.
    refused = panel.keys("224#")["results"][0]
    assert (refused["accepted"], refused["reason"]) == (False, "busy")
    hangup = panel.process.request("POST", "/sim/call/hangup", auth=None)
    assert hangup.status == 200
    panel.wait_for(lambda: panel.state() == "idle", 10, "idle")
    assert panel.wait_for(lambda: not panel.line("laskomex:10")["audio"], 5, "audio off")
    assert panel.log("incoming_call")[-1]["info"] == {"forward_number": 223}
    assert panel.outgoing() == [("laskomex:10", "answered"), (sipp_target(ringing), "cancelled")]
    assert panel.call()["last_call"]["ended_by"] == "hangup"
    assert panel.process.request("POST", "/sim/call/hangup", auth=None).status == 409


def test_one_by_one_first_never_answers_second_answers_door_button(panel, tmp_path):
    ringing = uas(tmp_path, "uas_ring_no_answer.xml", "ring")
    panel.enable_sip()
    panel.api("POST", "/api/v1/forward/mode", {"forward_mode": "one_by_one"})
    panel.forward(31, [sipp_target(ringing), "vizit:7"])
    panel.emulator("/lines/vizit:7", {"action": "behaviour", "answer_after_s": 0.3})
    panel.keys("31#")
    panel.wait_for(lambda: panel.state() == "ringing", 10, "first target ringing")
    # vizit:7 waits its turn while the first target has its forwarding_timeout
    # (one snapshot of the panel's view: no timing assumption).
    targets = panel.call()["targets"]
    assert [target["destination"] for target in targets] == [sipp_target(ringing), "vizit:7"]
    if targets[0]["state"] == "ringing":
        assert targets[1]["state"] == "queued"
    panel.wait_for(lambda: panel.state() == "talking", 20, "second target answered")
    finish(ringing)  # the first target got its CANCEL after 5 s
    assert panel.call()["answered_by"] == "vizit:7"
    assert panel.outgoing() == [(sipp_target(ringing), "no_answer"), ("vizit:7", "answered")]
    # The handset's door button opens lock 1.
    panel.emulator("/lines/vizit:7", {"action": "door_button"})
    panel.wait_for(lambda: panel.log("access_granted_by_call_host"), 10, "door opened")
    granted = panel.log("access_granted_by_call_host")[-1]["info"]
    assert (granted["lock"], granted["via"], granted["destination"]) == (
        1,
        "door_button",
        "vizit:7",
    )
    locks = panel.process.request("GET", "/sim/locks", auth=None).json["locks"]
    assert locks[0]["openings"] >= 1
    panel.emulator("/lines/vizit:7", {"action": "hang_up"})
    panel.wait_for(lambda: panel.state() == "idle", 10, "idle after hang-up")
    assert panel.call()["last_call"]["ended_by"] == "callee"


def test_busy_then_redirect_rule_then_second_target_answers(panel, tmp_path):
    busy = uas(tmp_path, "uas_busy.xml", "busy")
    panel.enable_sip()
    panel.forward(101, [sipp_target(busy)])
    panel.forward(901, ["vizit:9"])
    rule = panel.redirect("busy", "101", "901")
    panel.emulator("/lines/vizit:9", {"action": "behaviour", "answer_after_s": 0.2})
    panel.keys("101#")
    panel.wait_for(lambda: panel.state() == "talking", 15, "redirected target answered")
    finish(busy)
    call = panel.call()
    assert call["called"] == 901 and call["answered_by"] == "vizit:9"
    assert call["redirects"] == [
        {"outcome": "busy", "rule": rule["id"], "destination": "901", "kind": "number"}
    ]
    assert panel.outgoing() == [(sipp_target(busy), "busy"), ("vizit:9", "answered")]
    panel.process.request("POST", "/sim/call/hangup", auth=None)
    panel.wait_for(lambda: panel.state() == "idle", 10, "idle")


def test_no_answer_then_redirect(panel):
    panel.forward(102, ["laskomex:20"])
    panel.forward(902, ["vizit:12"])
    panel.redirect("noanswer", "102", "902")
    panel.emulator("/lines/vizit:12", {"action": "behaviour", "answer_after_s": 0.2})
    panel.keys("102#")
    panel.wait_for(lambda: panel.line("laskomex:20")["state"] == "ringing", 10, "RING")
    # dial_timeout (5 s) runs out: stop_ring, then the noanswer rule's target.
    panel.wait_for(lambda: panel.state() == "talking", 20, "redirected target answered")
    assert panel.line("laskomex:20")["state"] == "idle"
    assert panel.line("laskomex:20")["stop_count"] >= 1
    assert panel.outgoing() == [("laskomex:20", "no_answer"), ("vizit:12", "answered")]
    assert panel.call()["redirects"][0]["outcome"] == "noanswer"


def test_unregistered_then_redirect_and_missed_without_rule(panel):
    panel.enable_sip()  # registration never succeeds (nobody at the proxy)
    panel.forward(103, ["5588"])
    panel.forward(903, ["vizit:3"])
    panel.forward(104, ["5589"])
    panel.redirect("unregistered", "103", "903")
    panel.emulator("/lines/vizit:3", {"action": "behaviour", "answer_after_s": 0.2})
    panel.keys("103#")
    panel.wait_for(lambda: panel.state() == "talking", 15, "redirected target answered")
    assert panel.call()["redirects"][0]["outcome"] == "unregistered"
    assert panel.outgoing() == [("vizit:3", "answered")]  # 5588 was never dialled
    panel.process.request("POST", "/sim/call/hangup", auth=None)
    panel.wait_for(lambda: panel.state() == "idle", 10, "idle")
    # Without a rule, and for a number without a forward rule: missed.
    panel.keys("104#")
    panel.keys("777#")
    panel.wait_for(lambda: len(panel.log("outgoing_call_missed")) == 2, 5, "missed calls logged")
    missed = [item["info"] for item in panel.log("outgoing_call_missed")]
    assert missed == [
        {"forward_number": 104, "reason": "unregistered"},
        {"forward_number": 777, "reason": "number_not_found"},
    ]


def test_line_in_fault_is_unreachable_then_redirect(panel):
    panel.emulator("/lines/laskomex:21", {"action": "fault", "kind": "short"})
    panel.forward(105, ["laskomex:21", "vizit:99"])  # vizit:99: outside 1-40
    panel.forward(905, ["vizit:5"])
    panel.redirect("unregistered", "105", "905")
    panel.emulator("/lines/vizit:5", {"action": "behaviour", "answer_after_s": 0.2})
    panel.keys("105#")
    panel.wait_for(lambda: panel.state() == "talking", 15, "redirected target answered")
    assert panel.call()["redirects"][0]["outcome"] == "unregistered"
    assert panel.outgoing() == [("laskomex:21", "unreachable"), ("vizit:5", "answered")]
    # vizit:99 is not a line of this adapter: never rung, never logged.
    assert [target["destination"] for target in panel.call()["targets"]] == [
        "laskomex:21",
        "vizit:5",
    ]


def test_dtmf_rfc4733_and_info_open_locks_then_talk_timeout(panel, tmp_path):
    talker = uas(tmp_path, "uas_answer_dtmf.xml", "dtmf", extra=["-rtp_echo"])
    panel.enable_sip()
    # sipp presses 1 # 2 as RFC 4733 events, then 5 and * by SIP INFO.
    panel.api("POST", "/api/v1/access/general/lock/dtmf/1", {"dtmf_code": "1#"})
    panel.api("POST", "/api/v1/access/general/lock/dtmf/2", {"dtmf_code": "5*"})
    panel.forward(55, [sipp_target(talker)])
    panel.keys("55#")
    panel.wait_for(lambda: panel.state() in ("talking", "door_open"), 10, "answered")
    panel.wait_for(
        lambda: len(panel.log("access_granted_by_call_host")) >= 2, 15, "both doors opened"
    )
    opened = [item["info"]["lock"] for item in panel.log("access_granted_by_call_host")]
    assert opened == [1, 2]  # "1#" only by RTP events, "5*" only by INFO
    assert panel.call()["media"]["sent"] > 0
    # talk_timeout (10 s) ends the call with our BYE; sipp's scenario then ends.
    panel.wait_for(lambda: panel.state() == "idle", 20, "talk timeout")
    finish(talker)
    assert panel.call()["last_call"]["ended_by"] == "talk_timeout"
    assert [opening["lock"] for opening in panel.call()["last_call"]["door_openings"]] == [1, 2]


def test_personal_code_keypad(panel):
    panel.api(
        "POST",
        "/api/v1/access/identifier",
        {
            "identifier_number": "4321",
            "identifier_type": "personal_code",
            "identifier_owner": {"name": "Flat 23", "type": "resident"},
            "lock": "second",
        },
    )
    granted = panel.keys("*4321#")["results"]
    assert granted[-1] == {"key": "#", "action": "personal_code", "granted": True}
    assert panel.log("access_granted_by_personal_code")[-1]["info"]["lock"] == 2
    assert panel.keys("*999#")["results"][-1]["granted"] is False
    # The code typed is in the entry: the event line of spec 10.3 names it.
    assert panel.log("access_denied")[-1]["info"] == {
        "identifier_type": "personal_code",
        "code": "999",
    }
    # One key at a time, "*" clearing a half-typed number, bad keys refused.
    for key in "12*":
        panel.api("POST", "/sim/keypad", {"key": key})
    assert panel.call()["keypad"] == {"buffer": "", "mode": "number"}
    reply = panel.process.request("POST", "/sim/keypad", {"keys": "12A#"}, auth=None)
    assert (reply.status, reply.json) == (400, {"error": "Wrong key"})
    assert panel.process.request("POST", "/sim/keypad", raw_body=b"{", auth=None).status == 400


def test_registration_lost_and_regained(panel, tmp_path):
    first = uas(tmp_path, "registrar_once.xml", "registrar1")
    panel.enable_sip("sip:127.0.0.1:%d" % first.port)

    def status():
        return panel.process.request("GET", "/api/v1/sip/status", auth=None).json

    panel.wait_for(lambda: status()["sip_status"] == "OK", 10, "registered")
    # The registrar granted 2 s and is gone: the refresh is never answered, its
    # transaction times out (64*T1 = 32 s): status ERROR, the loss is logged.
    finish(first, 10)
    panel.wait_for(lambda: status()["sip_status"] == "ERROR", 45, "registration lost")
    panel.wait_for(lambda: panel.log("sip_registration_lost"), 5, "loss logged")
    assert panel.log("sip_registration_lost")[-1]["info"] == {"status": "ERROR"}
    # The registrar comes back on the same address; the user agent's retry
    # (at most 30 s later) registers again.
    directory = tmp_path / "registrar2"
    directory.mkdir()
    second = Sipp("registrar_once.xml", directory, timeout_s=60)
    second.port = first.port
    second.start()
    panel.wait_for(lambda: status()["sip_status"] == "OK", 45, "registered again")
    finish(second, 10)
