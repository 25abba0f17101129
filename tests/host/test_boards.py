"""Each real board's build (build/<board>/: the .mpy tree, board file, boot.py,
main.py) run under the real MicroPython unix port as if a staging folder were
the board's flash, with the fake machine, network and ntptime modules of
tests/support on its path and its UART on the adapter emulator's pty."""

import json
import os
import time

import pytest

from support.board_flash import BOOT, MICROPYTHON, BoardFlash, Emulator
from support.polling import poll_until

BOARDS = ("esp32-poe-iso", "pico2w")

pytestmark = pytest.mark.skipif(not os.path.exists(MICROPYTHON), reason="no micropython")


def wait_for(predicate, timeout=10.0):
    return poll_until(predicate, timeout)


@pytest.fixture(params=BOARDS)
def board(request, tmp_path):
    emulator = Emulator(tmp_path).start()
    flash = BoardFlash(tmp_path, request.param, emulator=emulator)
    yield flash
    flash.stop()
    emulator.stop()


def test_board_boots_brings_the_network_up_and_answers_info(board):
    board.start()
    status, info = board.request("GET", "/api/info", auth=None)
    assert status == 200
    assert info["device_model"] == board.board_file()["device_model"]
    kind = board.board_file()["network"]["kind"]
    log = wait_for(
        lambda: [line for line in board.hardware_log() if line.startswith(("lan", "wlan"))]
    )
    if kind == "lan":
        # The PHY settings of the board file reached network.LAN.
        assert (
            log[0] == "lan mdc=23 mdio=18 phy_addr=0 phy_type=0 power=12 ref_clk=0 ref_clk_mode=1"
        )
    else:
        assert "wlan connect panel-test" in board.hardware_log()
    assert wait_for(lambda: "network: up, address 127.0.0.1" in board.console())
    # NTP at boot, from the "ntp" setting's server.
    assert wait_for(lambda: "ntp pool.ntp.org" in board.hardware_log())
    # The relays start released: at their inactive level.
    for spec in board.board_file()["relays"]:
        assert "pin %d %d" % (spec["pin"], 1 - spec["active"]) in board.hardware_log()
    # The watchdog runs and is fed.
    assert any(line.startswith("wdt start") for line in board.hardware_log())


def test_keypad_sequence_rings_a_handset_through_the_uart(board):
    board.start()
    status, _ = board.request(
        "POST", "/api/v1/forward/item/12", body={"forward_entity_list": ["laskomex:12"]}
    )
    assert status == 200
    assert wait_for(lambda: board.request("GET", "/api/info", auth=None)[1]["hybrid_enable"])
    board.press("12#")
    emulator = board.emulator
    assert wait_for(lambda: emulator.control("/lines/laskomex:12")["state"] == "ringing")
    emulator.control("/lines/laskomex:12", {"action": "answer"})

    def answered():
        lines = board.request("GET", "/api/v1/hybrid/state")[1]["lines"]
        return [
            line for line in lines if line["line"] == "laskomex:12" and line["event"] == "answered"
        ]

    assert wait_for(answered)


def test_exit_button_opens_lock_1(board):
    board.start()
    spec = [item for item in board.board_file()["inputs"] if item["kind"] == "exit_button"][0]
    relay = board.board_file()["relays"][0]
    board.set_level(spec["pin"], spec["active"])
    time.sleep(0.2)
    board.set_level(spec["pin"], 1 - spec["active"])
    assert wait_for(lambda: "pin %d %d" % (relay["pin"], relay["active"]) in board.hardware_log())
    assert wait_for(lambda: "access_granted_by_exit_button" in board.log_events())
    # One press, one opening (no repeat while held, no bounce counted).
    assert board.log_events().count("access_granted_by_exit_button") == 1


def test_door_sensor_change_is_logged(board):
    board.start()
    spec = [item for item in board.board_file()["inputs"] if item["kind"] == "door_sensor"][0]
    # Nothing drives the pin: the pull-up reads "open", reported at boot.
    assert wait_for(lambda: "door_sensor_opened" in board.log_events())
    board.set_level(spec["pin"], 1 - spec["active"])
    assert wait_for(lambda: "door_sensor_closed" in board.log_events())
    board.set_level(spec["pin"], spec["active"])
    assert wait_for(lambda: board.log_events().count("door_sensor_opened") == 2)


# The fault: the SIP user agent's task stops 1.5 s after it started.
STOP_SIP = (
    "import asyncio\n"
    "import panel.drivers.sip_ua as sip_ua\n"
    "_start = sip_ua.SipUserAgent.start\n"
    "def _start_then_stop(self):\n"
    "    _start(self)\n"
    "    async def later():\n"
    "        await asyncio.sleep(1.5)\n"
    "        print('test: stopping the SIP task')\n"
    "        self.stop()\n"
    "    asyncio.create_task(later())\n"
    "sip_ua.SipUserAgent.start = _start_then_stop\n"
)


def test_a_stopped_sip_task_lets_the_watchdog_fire(tmp_path):
    emulator = Emulator(tmp_path).start()
    flash = BoardFlash(
        tmp_path,
        "esp32-poe-iso",
        emulator=emulator,
        board_overrides={"watchdog_ms": 2000},
        boot=STOP_SIP + BOOT,
    )
    try:
        flash.start()
        assert wait_for(lambda: "test: stopping the SIP task" in flash.console())
        status = flash.wait_exit(timeout=15)
        assert "wdt fired" in flash.hardware_log()
        assert "watchdog: not feeding, dead: sip" in flash.console()
        assert status != 0
    finally:
        flash.stop()
        emulator.stop()


def test_a_healthy_panel_keeps_the_watchdog_fed(tmp_path):
    flash = BoardFlash(tmp_path, "esp32-poe-iso", board_overrides={"watchdog_ms": 2000})
    try:
        flash.start()
        time.sleep(4)
        assert flash.process.poll() is None
        assert "wdt fired" not in flash.hardware_log()
    finally:
        flash.stop()


def test_three_crashing_boots_give_recovery_mode(tmp_path):
    # Keypad row pin 2 crashes when built: every boot dies before the panel is up.
    flash = BoardFlash(tmp_path, "esp32-poe-iso", environment={"FAKE_HW_CRASH_PIN": "2"})
    try:
        for attempt in range(3):
            flash.boot()
            assert flash.wait_exit() == 75  # machine.reset() after the crash
            assert flash.hardware_log().count("reset") == attempt + 1
        with open(os.path.join(flash.flash, "boot_count")) as handle:
            assert handle.read() == "3"
        flash.boot()
        status, info = flash.wait_http()
        assert status == 200
        assert info["device_name"].endswith("(recovery mode)")
        assert "recovery mode" in flash.console()
        # No calls: no adapter, no keypad; the factory account logs in; the log reads.
        assert info["hybrid_enable"] is False
        assert "device_booted" in flash.log_events()
        assert flash.request("GET", "/api/v1/hybrid/state")[0] in (200, 404, 503)
        with open(os.path.join(flash.flash, "boot_count")) as handle:
            assert handle.read() == "0"
    finally:
        flash.stop()


def test_network_link_drop_is_logged_and_the_panel_answers_again(tmp_path):
    flash = BoardFlash(tmp_path, "esp32-poe-iso")
    try:
        flash.start()
        assert wait_for(lambda: "network: up" in flash.console())
        flash.set_link(False)
        assert wait_for(lambda: "network: link down; retrying" in flash.console())
        flash.set_link(True)
        assert wait_for(lambda: flash.console().count("network: up") == 2, timeout=15)
        assert flash.request("GET", "/api/info", auth=None)[0] == 200
    finally:
        flash.stop()


def test_board_trees_hold_no_simulator_and_no_host_code():
    import compile_firmware

    for name in BOARDS:
        tree = compile_firmware.build_board(name)
        entries = sorted(os.listdir(tree))
        assert "sim" not in entries and "host" not in entries
        assert {"boot.py", "main.py", "board.json", "panel", "microdot"} <= set(entries)
        with open(os.path.join(tree, "board.json")) as handle:
            assert json.load(handle)["name"] == name
