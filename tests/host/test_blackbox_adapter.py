"""Issue 5's user flow through `make run`'s launcher: the panel and the adapter
emulator on a real pseudo-terminal; ring two handsets, answer one from the
emulator's control port, and the panel sees the answer."""

import json
import os
import urllib.request

import pytest

from support.panel_process import PanelProcess
from support.polling import poll_until


def emulator_port(data_dir):
    with open(os.path.join(data_dir, "adapter-emulator.log")) as handle:
        for line in handle:
            if line.startswith("{"):
                return json.loads(line)["http_port"]
    raise AssertionError("no emulator announcement")


def emulator(port, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), data=data, method="GET" if body is None else "POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def wait_for(predicate, timeout=5.0):
    return poll_until(predicate, timeout)


@pytest.fixture
def panel_with_adapter(tmp_path, runtime):
    process = PanelProcess(
        tmp_path, extra_args=["--sip-port", "0", "--adapter-http-port", "0"], runtime=runtime
    ).start()
    yield process, emulator_port(str(tmp_path))
    process.stop()


def test_ring_answer_seen_by_the_panel(panel_with_adapter):
    panel, control = panel_with_adapter
    info = wait_for(
        lambda: (
            panel.request("GET", "/api/info", auth=None).json
            if panel.request("GET", "/api/info", auth=None).json["hybrid_enable"]
            else None
        )
    )
    assert info["hybrid_enable"] is True
    assert info["hybrid_version"] == "1.0"
    for line in ("laskomex:10", "vizit:7"):
        reply = panel.request("POST", "/api/v1/hybrid/lines/%s/ring" % line)
        assert (reply.status, reply.json) == (200, {})
    assert emulator(control, "/lines/laskomex:10")["state"] == "ringing"
    assert emulator(control, "/lines/vizit:7")["state"] == "ringing"
    emulator(control, "/lines/vizit:7", {"action": "answer"})

    def answered():
        lines = panel.request("GET", "/api/v1/hybrid/state").json["lines"]
        return [line for line in lines if line["line"] == "vizit:7" and line["event"] == "answered"]

    assert answered() or wait_for(answered)
    state = panel.request("GET", "/api/v1/hybrid/state").json
    assert state["present"] is True
    assert state["capabilities"]["systems"] == ["laskomex", "vizit"]
    assert panel.request("POST", "/api/v1/hybrid/lines/laskomex:10/stop").json == {}
    assert emulator(control, "/lines/laskomex:10")["state"] == "idle"


def test_hybrid_route_errors(panel_with_adapter):
    panel, _ = panel_with_adapter
    reply = panel.request("POST", "/api/v1/hybrid/lines/sip:1@a.b/ring")
    assert (reply.status, reply.json) == (400, {"error": "Wrong number"})
    wait_for(lambda: panel.request("GET", "/api/info", auth=None).json["hybrid_enable"])
    # Line 99 is outside the emulator's Vizit range 1-40: refused, not rung.
    reply = panel.request("POST", "/api/v1/hybrid/lines/vizit:99/ring")
    assert (reply.status, reply.json) == (409, {"error": "Hybrid adapter did not acknowledge"})
    assert panel.request("GET", "/api/v1/hybrid/state", auth=None).status == 401
