"""The adapter's lost and restored event lines (BAS-IP contract 10.3) from a real
panel process, its adapter emulator on a real pty and a real HTTP listener:
the emulator unplugs its pty (the panel's reads fail), then plugs a new one
in; the server gets exactly one "lost" line and then one "restored" line,
and the call log says the same."""

import json
import os
import time
import urllib.request

from support.event_listener import Listener
from support.panel_process import PanelProcess

LOST = "System: Adapter: Connection lost"
RESTORED = "System: Adapter: Connection restored"


def _emulator_port(data_dir):
    with open(os.path.join(str(data_dir), "adapter-emulator.log")) as handle:
        for line in handle:
            if line.startswith("{"):
                return json.loads(line)["http_port"]
    raise AssertionError("no emulator announcement")


def _emulator(port, path):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=b"{}")
    with urllib.request.urlopen(request, timeout=5) as reply:
        return reply.status


def _wait(predicate, what, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_adapter_unplugged_and_back_gives_one_lost_and_one_restored_line(tmp_path):
    listener = Listener().start()
    panel = PanelProcess(tmp_path, extra_args=["--sip-port", "0", "--adapter-http-port", "0"])
    panel.start()
    try:
        reply = panel.request(
            "POST",
            "/api/v1/syslog/settings",
            {"enabled": True, "server": {"port": listener.port, "server": "127.0.0.1"}},
        )
        assert reply.status == 200, reply
        _wait(lambda: panel.request("GET", "/api/info").json["hybrid_enable"], "the handshake")
        control = _emulator_port(tmp_path)
        assert _emulator(control, "/unplug") == 200
        _wait(lambda: not panel.request("GET", "/api/info").json["hybrid_enable"], "adapter loss")
        _wait(lambda: any(LOST in line for line in listener.lines()), "the lost line")
        assert _emulator(control, "/replug") == 200
        _wait(lambda: panel.request("GET", "/api/info").json["hybrid_enable"], "the adapter back")
        _wait(lambda: any(RESTORED in line for line in listener.lines()), "the restored line")
        lines = [line for line in listener.lines() if "System: Adapter" in line]
        assert [LOST in line for line in lines] == [True, False]
        assert RESTORED in lines[1]
        log = panel.request("GET", "/api/v1/log/items?limit=20").json["list_items"]
        names = [item["name"]["key"] for item in log]
        assert names.count("adapter_lost") == 1 and names.count("adapter_restored") == 1
    finally:
        panel.stop()
        listener.stop()
