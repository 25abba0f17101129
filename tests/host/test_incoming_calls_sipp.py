"""Incoming SIP calls (docs/incoming-calls.md) end to end: the panel as a
real process (`make run`'s launcher), sipp as the caller over real UDP and
RTP. A caller on the allow-list is rung, answered after answer_after_s, its
RFC 4733 "1" opens lock 1 (GET /sim/locks) and the call log has
incoming_call_from_monitor; a caller not on it gets 403. The same call
over UDP works while the SIP account is registered over TCP (sipp as
registrar with -t t1), and a call the registrar forwards over the account's
own TCP connection is answered on it.

Timing is never asserted: every wait polls with a deadline."""

import time

import pytest

from support.panel_process import PanelProcess
from support.sipp import Sipp, free_udp_port, panel_sip_account, sipp_path

pytestmark = pytest.mark.skipif(
    sipp_path() is None, reason="sipp missing: `make sipp` installs sip-tester"
)

INCOMING = "/api/v1/device/call/incoming"


@pytest.fixture
def panel(tmp_path, runtime):
    port = free_udp_port()
    process = PanelProcess(
        tmp_path / "panel", extra_args=["--sip-port", str(port), "--no-adapter"], runtime=runtime
    ).start(timeout=60)
    process.sip_port = port
    yield process
    process.stop()


def api(panel, method, path, body=None):
    reply = panel.request(method, path, body)
    assert reply.status == 200, (method, path, reply)
    return reply.json if reply.raw else None


def caller(tmp_path, panel, scenario, name):
    directory = tmp_path / name
    directory.mkdir()
    return Sipp(scenario, directory, remote=("127.0.0.1", panel.sip_port)).start()


def log_events(panel, event):
    items = api(panel, "GET", "/api/v1/log/items?limit=100")["list_items"]
    return [item for item in items if item["name"]["key"] == event]


def talked_with_media(panel, sipp):
    """Once sipp's scenario ended: it passed, and RTP flowed both ways while
    the panel talked."""
    media = None
    deadline = time.monotonic() + 20
    while sipp.process.poll() is None and time.monotonic() < deadline:
        call = panel.request("GET", "/sim/call", auth=None).json
        if call["state"] in ("talking", "door_open") and call["media"]:
            media = call["media"]
        time.sleep(0.05)
    assert sipp.wait_blocking(10) == 0, sipp.log()
    assert media is not None and media["sent"] > 0 and media["received"] > 0, media


def answered_call_opens_lock_1(panel, sipp):
    """sipp (uac_call_panel.xml) once its call ended: it passed, RTP flowed both
    ways while the panel talked, and its DTMF opened lock 1."""
    talked_with_media(panel, sipp)
    locks = panel.request("GET", "/sim/locks", auth=None).json["locks"]
    assert locks[0]["openings"] >= 1, locks
    return sipp


def test_allowed_caller_is_answered_and_its_dtmf_opens_lock_1(panel, tmp_path):
    api(panel, "POST", INCOMING, {"enabled": True, "allow": ["127.0.0.1"], "answer_after_s": 1})
    answered_call_opens_lock_1(panel, caller(tmp_path, panel, "uac_call_panel.xml", "caller"))
    deadline = time.monotonic() + 5
    while not log_events(panel, "incoming_call_from_monitor") and time.monotonic() < deadline:
        time.sleep(0.05)
    entries = log_events(panel, "incoming_call_from_monitor")
    assert [entry["info"]["caller"] for entry in entries] == ["sip:monitor@127.0.0.1"]
    granted = log_events(panel, "access_granted_by_call_host")
    assert granted and granted[0]["info"]["destination"] == "sip:monitor@127.0.0.1"
    last = panel.request("GET", "/sim/call", auth=None).json["last_call"]
    assert last["mode"] == "incoming" and last["door_openings"][0]["lock"] == 1


def test_caller_not_on_the_list_gets_403(panel, tmp_path):
    api(panel, "POST", INCOMING, {"enabled": True, "allow": ["10.0.0.9"]})
    sipp = caller(tmp_path, panel, "uac_call_refused.xml", "stranger")
    assert sipp.wait_blocking(15) == 0, sipp.log()
    assert panel.request("GET", "/sim/call", auth=None).json["state"] == "idle"
    assert log_events(panel, "incoming_call_from_monitor") == []


def _tcp_registrar(directory, scenario="registrar_hold.xml", extra=()):
    """sipp as a registrar over TCP (-t t1) on a free port, listening."""
    directory.mkdir()
    return Sipp(scenario, directory, extra=extra, tcp=True).start()


def test_udp_caller_is_answered_while_the_account_is_on_tcp(panel, tmp_path):
    # The account registers over TCP; a monitor on the allow-list still calls
    # the panel's UDP port, and the whole dialog stays on UDP.
    registrar = _tcp_registrar(tmp_path / "registrar")
    try:
        account = dict(panel_sip_account("sip:127.0.0.1:%d" % registrar.port), transport="tcp")
        api(panel, "POST", "/api/v1/device/sip/settings", account)
        api(panel, "POST", "/api/v1/device/sip/enable", {"sip_enable": True})
        deadline = time.monotonic() + 10
        while api(panel, "GET", "/api/v1/device/sip/status")["sip_status"] != "OK":
            assert time.monotonic() < deadline, registrar.log()
            time.sleep(0.05)
        api(panel, "POST", INCOMING, {"enabled": True, "allow": ["127.0.0.1"], "answer_after_s": 1})
        sipp = answered_call_opens_lock_1(
            panel, caller(tmp_path, panel, "uac_call_panel.xml", "caller")
        )
        with open(sipp.message_file, errors="replace") as handle:
            log = handle.read()
        # Our answers came over UDP, and our Contact does not send the caller to TCP.
        assert "SIP/2.0 200 OK" in log and ";transport=tcp" not in log, log[-3000:]
        with open(registrar.message_file, errors="replace") as handle:
            assert "Via: SIP/2.0/TCP" in handle.read()
        assert api(panel, "GET", "/api/v1/device/sip/status")["sip_status"] == "OK"
    finally:
        registrar.stop()


def test_a_call_over_the_accounts_tcp_connection_is_answered(panel, tmp_path):
    # The registrar forwards a monitor's INVITE over the panel's own TCP
    # connection: answered there, audio flows, the caller's BYE ends it.
    api(panel, "POST", INCOMING, {"enabled": True, "allow": ["127.0.0.1"], "answer_after_s": 1})
    registrar = _tcp_registrar(tmp_path / "registrar", "registrar_then_call.xml", ["-rtp_echo"])
    try:
        account = dict(panel_sip_account("sip:127.0.0.1:%d" % registrar.port), transport="tcp")
        api(panel, "POST", "/api/v1/device/sip/settings", account)
        api(panel, "POST", "/api/v1/device/sip/enable", {"sip_enable": True})
        talked_with_media(panel, registrar)
        with open(registrar.message_file, errors="replace") as handle:
            log = handle.read()
        assert "SIP/2.0 180 Ringing" in log and ";transport=tcp>" in log
        deadline = time.monotonic() + 5
        while not log_events(panel, "incoming_call_from_monitor"):
            assert time.monotonic() < deadline, "no incoming_call_from_monitor in the log"
            time.sleep(0.05)
        entries = log_events(panel, "incoming_call_from_monitor")
        assert [entry["info"]["caller"] for entry in entries] == ["sip:monitor@127.0.0.1"]
    finally:
        registrar.stop()
