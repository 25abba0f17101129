# The adapter emulator's control API and its pty, as a real subprocess.
import os
import time

import pytest

from panel.proto import hybrid
from support.emulator_process import EmulatorProcess


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    process = EmulatorProcess(
        str(tmp_path_factory.mktemp("emulator")), laskomex="1-80", vizit="5-9"
    )
    process.start()
    yield process
    process.stop()


def test_state_lists_every_line_and_the_pty(emulator):
    state = emulator.get("/state")
    assert state["plugged"] is True and state["session"] is False
    assert os.path.realpath(emulator.link) == state["pty"]
    assert state["ranges"] == [
        {"system": "laskomex", "first": 1, "last": 80},
        {"system": "vizit", "first": 5, "last": 9},
    ]
    assert len(state["lines"]) == 85
    line = state["lines"]["vizit:5"]
    assert line["state"] == "idle" and line["ring_count"] == 0
    assert line["behaviour"] == {
        "answer_after_s": None,
        "busy": False,
        "door_button_after_s": None,
        "hang_up_after_s": None,
    }


def test_control_errors(emulator):
    assert emulator.request("GET", "/lines/vizit:4")[0] == 404
    assert emulator.request("GET", "/lines/sip:4")[0] == 404
    assert emulator.request("GET", "/nothing")[0] == 404
    status, answer = emulator.request("POST", "/lines/vizit:5", {"action": "answer"})
    assert status == 409 and "not ringing" in answer["error"]
    assert emulator.request("POST", "/lines/vizit:5", {"action": "hang_up"})[0] == 409
    assert emulator.request("POST", "/lines/vizit:5", {"action": "door_button"})[0] == 409
    assert emulator.request("POST", "/lines/vizit:5", {"action": "dance"})[0] == 400
    assert (
        emulator.request("POST", "/lines/vizit:5", {"action": "fault", "kind": "melted"})[0] == 400
    )
    assert (
        emulator.request("POST", "/lines/vizit:5", {"action": "behaviour", "answer_after_s": -1})[0]
        == 400
    )
    assert (
        emulator.request("POST", "/lines/vizit:5", {"action": "behaviour", "colour": 1})[0] == 400
    )
    assert emulator.request("POST", "/noise", {"loss_rate": 2})[0] == 400
    assert emulator.request("POST", "/noise", [1])[0] == 400
    assert emulator.request("POST", "/reset", {"reason": "tired"})[0] == 400
    assert emulator.request("POST", "/replug", {})[0] == 409


def test_behaviour_for_every_line_and_fault_toggle(emulator):
    answer = emulator.post("/lines", {"action": "behaviour", "answer_after_s": 1.5})
    assert answer["lines"] == 85
    assert emulator.line("laskomex:80")["behaviour"]["answer_after_s"] == 1.5
    emulator.post("/lines", {"action": "behaviour", "answer_after_s": None})
    emulator.post("/lines/laskomex:2", {"action": "fault", "kind": "open"})
    assert emulator.line("laskomex:2")["state"] == "fault"
    emulator.post("/lines/laskomex:2", {"action": "clear_fault"})
    assert emulator.line("laskomex:2")["state"] == "idle"


def test_noise_settings_round_trip(emulator):
    noise = emulator.post("/noise", {"corruption_rate": 0.25, "delay_ms": 5})
    assert noise == {"corruption_rate": 0.25, "loss_rate": 0.0, "delay_ms": 5}
    assert emulator.post("/noise", {"corruption_rate": 0, "delay_ms": 0})["delay_ms"] == 0


def test_boot_frames_on_the_pty_then_unplug_and_replug(emulator):
    # Read the raw pty: a booted adapter announces itself about once a second
    # with BOOT frames a panel machine understands (dropped outside a session).
    emulator.post("/reset", {"reason": "brownout"})
    descriptor = os.open(emulator.link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        data = b""
        deadline = time.monotonic() + 3
        while data.count(b"\x00") < 2 and time.monotonic() < deadline:
            try:
                data += os.read(descriptor, 256)
            except BlockingIOError:
                time.sleep(0.02)
        boot = hybrid.encode_frame(0x80, 0, bytes((2,)) + b"\x00\x00")
        assert data[:3] == boot[:3]  # 0x00, COBS code, type BOOT
        panel = hybrid.HybridLink(hybrid.PANEL)
        panel.feed(data)
        assert panel.stats["frames_ok"] >= 1 and panel.next_event() is None
    finally:
        os.close(descriptor)
    assert emulator.post("/unplug")["plugged"] is False
    assert not os.path.lexists(emulator.link)
    assert emulator.request("POST", "/unplug", {})[0] == 409
    answer = emulator.post("/replug")
    announcement = emulator.read_announcement()
    assert announcement["pty"] == answer["pty"] == os.path.realpath(emulator.link)
