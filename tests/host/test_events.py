"""Events to the management server (BAS-IP contract 10) from the panel as a
real process (`make run`'s launcher) to a real HTTP listener in the test (an
http.server on loopback, not a mock): the line format of 10.2, the messages
of 10.3, nothing lost while the server is away (across a restart), the full
queue's events_dropped, calls with real sipp peers, and a slow server that
delays nothing. Every wait polls with a deadline; timing bounds are generous.
"""

import json
import re
import time

import pytest

from support.event_listener import LINE, Listener
from support.panel_process import PanelProcess
from support.sipp import Sipp, panel_sip_account, sipp_path


def api(panel, method, path, body=None, expect=200, auth=True):
    if auth:
        reply = panel.request(method, path, body)
    else:
        reply = panel.request(method, path, body, auth=None)
    assert reply.status == expect, (method, path, reply)
    return reply.json


def configure(panel, port, severity=6, tag=""):
    # What SmartYard's BAS-IP driver posts (configureEventServer).
    api(
        panel,
        "POST",
        "/api/v1/syslog/settings",
        {
            "enabled": True,
            "server": {"port": port, "server": "127.0.0.1", "severity": severity},
            "tag": tag,
        },
    )


def sim(panel, path, body):
    return api(panel, "POST", path, body, auth=False)


def server_parts(message):
    return [part.strip() for part in re.split("[:,]", message)]


@pytest.fixture
def listener():
    server = Listener().start()
    yield server
    server.stop()


def test_line_format_and_access_messages(fresh_panel, listener):
    configure(fresh_panel, listener.port)
    api(fresh_panel, "GET", "/api/v1/access/general/lock/open/remote/accepted/0")
    sim(fresh_panel, "/sim/exit-button", {"lock": 1})
    sim(fresh_panel, "/sim/door-sensor", {"lock": 1, "state": "open"})
    sim(fresh_panel, "/sim/door-sensor", {"lock": 1, "state": "closed"})
    for body in (
        {"identifier_number": "4321", "identifier_type": "personal_code", "lock": "first"},
        {"identifier_number": "00-00-00-1A-2B-3C-4D", "identifier_type": "card", "lock": "second"},
    ):
        body["identifier_owner"] = {"name": "23", "type": "owner"}
        api(fresh_panel, "POST", "/api/v1/access/identifier", body)
    assert sim(fresh_panel, "/sim/card", {"card": "0000001A2B3C4D"}) == {
        "granted": True,
        "locks": [2],
    }
    assert sim(fresh_panel, "/sim/card", {"card": "FFFF", "reader": 2})["granted"] is False
    sim(fresh_panel, "/sim/keypad", {"keys": "*4321#"})
    sim(fresh_panel, "/sim/keypad", {"keys": "*999#"})
    expected = [
        "Access: Lock 1: API: Door opened by API call",
        "Access: Lock 2: API: Door opened by API call",
        "Access: Lock 1: Door opened by exit button",
        "Access: Lock 1: Door was opened with door sensor",
        "Access: Lock 1: Door was closed with door sensor",
        "Access: Card: Reader 1: Lock 2: 0000001A2B3C4D: Identifier: "
        "Door opened by card. Info: 0000001A2B3C4D",
        "Access: Card: Reader 2: Lock 2: FFFF: Identifier: Access denied",
        "Access: Code: 4321: Lock 1: Input: Identifier: Door opened by access code. Info: 4321",
    ]
    messages = listener.wait_for(lambda found: len(found) >= 9, 15, "nine lines")
    assert messages[:8] == expected
    # The wrong code's line; the code itself needs calls/controller.py to pass
    # it in the access_denied info (see services/events.py).
    assert messages[8].startswith("Access: Code: ")
    assert messages[8].endswith(": Lock 1: Input: Identifier: Access denied")
    for path, content_type, body in listener.posts:
        assert path == "/"
        assert content_type == "text/plain; charset=utf-8"
        assert "\n" not in body  # one line per POST
        match = LINE.match(body)
        assert match, body
        assert match.group(1) == "134"  # local0 * 8 + info
        assert match.group(3) == "127.0.0.1" and match.group(4) == "intercom-panel"
    parts = server_parts(messages[5])
    assert parts[6] == "Door opened by card. Info" and parts[4] == "0000001A2B3C4D"
    # The call log has the same events, in the same order.
    log = api(fresh_panel, "GET", "/api/v1/log/items?limit=50")["list_items"]
    keys = [item["name"]["key"] for item in reversed(log)]
    assert keys[-9:] == [
        "access_granted_by_api_call",
        "access_granted_by_api_call",
        "access_granted_by_exit_button",
        "door_sensor_opened",
        "door_sensor_closed",
        "access_granted_by_card",
        "access_denied",
        "access_granted_by_personal_code",
        "access_denied",
    ]
    # A boot goes out too, and the tag becomes APP.
    configure(fresh_panel, listener.port, tag="entrance-3")
    fresh_panel.stop()
    fresh_panel.start()
    listener.wait_for(lambda found: "System: Device booted" in found, 15, "the boot line")
    assert LINE.match(listener.lines()[-1]).group(4) == "entrance-3"
    status = api(fresh_panel, "GET", "/api/v1/syslog/status")
    assert status["queued"] == 0 and status["events_dropped"] == 0


def test_fifty_events_wait_through_a_restart_and_arrive_once_in_order(fresh_panel):
    listener = Listener()  # not started: the server is away
    configure(fresh_panel, listener.port)
    expected = []
    for index in range(50):
        if index % 2:
            api(
                fresh_panel,
                "GET",
                "/api/v1/access/general/lock/open/remote/accepted/%d" % (index % 4 // 2 + 1),
            )
            expected.append("Access: Lock %d: API: Door opened by API call" % (index % 4 // 2 + 1))
        else:
            card = "C%03d" % index
            sim(fresh_panel, "/sim/card", {"card": card})
            expected.append("Access: Card: Reader 1: Lock 1: %s: Identifier: Access denied" % card)
    assert api(fresh_panel, "GET", "/api/v1/syslog/status")["queued"] == 50
    fresh_panel.stop()  # the panel restarts while the server is still away
    fresh_panel.start()
    assert api(fresh_panel, "GET", "/api/v1/syslog/status")["queued"] == 51  # + the boot
    listener.start()
    try:
        messages = listener.wait_for(lambda found: len(found) >= 51, 90, "all lines")
        time.sleep(1.0)  # nothing more comes
        messages = listener.messages()
        assert messages == expected + ["System: Device booted"]
        stamps = [LINE.match(line).group(2) for line in listener.lines()]
        assert stamps == sorted(stamps)
        assert api(fresh_panel, "GET", "/api/v1/syslog/status")["queued"] == 0
    finally:
        listener.stop()


def test_full_queue_drops_oldest_and_says_how_many(tmp_path):
    with open("boards/host/board.json") as handle:
        board = json.load(handle)
    board["limits"]["event_queue_lines"] = 10
    board_path = tmp_path / "board.json"
    board_path.write_text(json.dumps(board))
    panel = PanelProcess(
        tmp_path / "data",
        extra_args=["--sip-port", "0", "--no-adapter", "--board", str(board_path)],
    ).start()
    listener = Listener()
    try:
        configure(panel, listener.port)
        for index in range(15):
            sim(panel, "/sim/card", {"card": "K%02d" % index})
        status = api(panel, "GET", "/api/v1/syslog/status")
        assert (status["queued"], status["events_dropped"]) == (10, 5)
        listener.start()
        messages = listener.wait_for(lambda found: len(found) >= 11, 60, "the lines")
        assert messages[0] == "System: Events: events_dropped 5"
        assert LINE.match(listener.lines()[0]).group(1) == "132"  # a warning
        assert [server_parts(text)[4] for text in messages[1:]] == [
            "K%02d" % index for index in range(5, 15)
        ]
        status = api(panel, "GET", "/api/v1/syslog/status")
        assert status["events_dropped"] == 5 and status["events_dropped_unreported"] == 0
    finally:
        listener.stop()
        panel.stop()


def test_slow_server_delays_no_call_door_or_answer(fresh_panel):
    slow = Listener(delay=10.0).start()
    try:
        configure(fresh_panel, slow.port)
        api(
            fresh_panel,
            "POST",
            "/api/v1/forward/item/55",
            {"forward_entity_list": ["sip:1@127.0.0.1:9"]},
        )
        sim(fresh_panel, "/sim/exit-button", {"lock": 1})
        slow.wait_for(lambda found: len(found) >= 1, 10, "the first POST")  # now stuck
        durations = []
        for _ in range(5):
            started = time.monotonic()
            sim(fresh_panel, "/sim/keypad", {"keys": "55#"})
            api(fresh_panel, "GET", "/api/v1/access/general/lock/open/remote/accepted/1")
            api(fresh_panel, "GET", "/api/info")
            durations.append(time.monotonic() - started)
        # The server holds each POST for 10 s; none of this waited for it.
        assert max(durations) < 3.0, durations
    finally:
        slow.stop()


needs_sipp = pytest.mark.skipif(sipp_path() is None, reason="sipp missing: `make sipp`")


def enable_sip(panel):
    api(
        panel,
        "POST",
        "/api/v1/device/sip/settings",
        panel_sip_account("sip:127.0.0.1:9"),
    )
    api(panel, "POST", "/api/v1/device/sip/enable", {"sip_enable": True})
    api(
        panel,
        "POST",
        "/api/v1/device/call/dial/timeout",
        {"dial_timeout": 5, "forwarding_timeout": 5},
    )
    api(panel, "POST", "/api/v1/device/call/talk/timeout", {"talk_timeout": 10})


def uas(tmp_path, scenario, name, extra=()):
    directory = tmp_path / name
    directory.mkdir()
    return Sipp(scenario, directory, extra=list(extra)).start()


@needs_sipp
def test_answered_call_with_dtmf_gives_accepted_and_door_lines(fresh_panel, listener, tmp_path):
    talker = uas(tmp_path, "uas_answer_dtmf.xml", "dtmf", extra=["-rtp_echo"])
    configure(fresh_panel, listener.port)
    enable_sip(fresh_panel)
    api(fresh_panel, "POST", "/api/v1/access/general/lock/dtmf/1", {"dtmf_code": "1#"})
    api(
        fresh_panel,
        "POST",
        "/api/v1/forward/item/55",
        {"forward_entity_list": ["sip:5588@127.0.0.1:%d" % talker.port]},
    )
    sim(fresh_panel, "/sim/keypad", {"keys": "55#"})
    messages = listener.wait_for(
        lambda found: any("opened by call host" in text for text in found), 20, "door line"
    )
    calls = [text for text in messages if text.startswith("Call: ")]
    assert calls == [
        "Call: Apartment: 55: 5588@127.0.0.1: Line: Outgoing call. call number: 55: "
        "Result: call was accepted"
    ]
    parts = server_parts(calls[0])
    assert parts[8] == "call was accepted" and parts[3].split("@")[0] == "5588"
    doors = [text for text in messages if "call host" in text]
    assert doors[0] == "Access: Call: Lock 1: DTMF: 5588@127.0.0.1: Door 1 opened by call host"
    assert server_parts(doors[0])[5] == "Door 1 opened by call host"
    assert server_parts(doors[0])[4].split("@")[0] == "5588"
    talker.wait_blocking(30)
    time.sleep(0.5)
    assert not any("no accepted" in text for text in listener.messages())


@needs_sipp
def test_unanswered_call_gives_one_not_accepted_line(fresh_panel, listener, tmp_path):
    ringing = uas(tmp_path, "uas_ring_no_answer.xml", "ring")
    configure(fresh_panel, listener.port)
    enable_sip(fresh_panel)
    api(
        fresh_panel,
        "POST",
        "/api/v1/forward/item/31",
        {"forward_entity_list": ["sip:5588@127.0.0.1:%d" % ringing.port]},
    )
    sim(fresh_panel, "/sim/keypad", {"keys": "31#"})
    listener.wait_for(
        lambda found: any("call was no accepted" in text for text in found), 30, "missed line"
    )
    ringing.wait_blocking(30)
    time.sleep(1.0)
    calls = [text for text in listener.messages() if text.startswith("Call: ")]
    assert calls == [
        "Call: Apartment: 31: 5588@127.0.0.1: Line: Outgoing call. call number: 31: "
        "Result: call was no accepted"
    ]
