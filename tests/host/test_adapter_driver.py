# The hybrid-adapter driver with pyserial against the emulator process on a
# real pseudo-terminal: no mocks, every byte crosses the kernel's pty.
import asyncio
import json
import time

import pytest

from host.serial_transport import serial_opener
from panel.drivers.adapter import AdapterDriver
from panel.proto import hybrid
from support.emulator_process import EmulatorProcess, EventLog, wait_until


@pytest.fixture
def emulator(tmp_path):
    process = EmulatorProcess(str(tmp_path), laskomex="1-80", vizit="1-40", firmware="2.4.1")
    process.start()
    yield process
    process.stop()


async def _started(emulator, **options):
    log = EventLog()
    options.setdefault("backoff_max_ms", 1000)
    driver = AdapterDriver(serial_opener(emulator.link), on_event=log, **options)
    assert not driver.present and driver.link is None  # nothing before start()
    driver.start()
    assert await wait_until(lambda: driver.present, 10), driver.describe()
    return driver, log


async def _stopped(driver):
    driver.stop()
    await driver.wait_stopped()
    assert not driver.present


async def test_handshake_gives_version_and_capabilities(emulator):
    driver, log = await _started(emulator)
    try:
        assert driver.version == "2.4.1"
        assert driver.protocol_version == "1.0"
        assert driver.capabilities["systems"] == ["laskomex", "vizit"]
        assert driver.capabilities["ranges"] == [
            {"system": "laskomex", "first": 1, "last": 80},
            {"system": "vizit", "first": 1, "last": 40},
        ]
        assert driver.covers(("vizit", 40)) and not driver.covers("vizit:41")
        assert log.kinds() == ["presence"] and log.events[0].detail is True
        described = json.loads(json.dumps(driver.describe()))  # JSON-ready
        assert described["present"] is True and described["version"] == "2.4.1"
        assert described["protocol_version"] == "1.0" and described["lines"] == []
        assert described["capabilities"]["firmware"] == "2.4.1"
        assert emulator.get("/state")["session"] is True
    finally:
        await _stopped(driver)
    assert log.events[-1].kind == "presence" and log.events[-1].detail is False


async def test_ring_answer_audio_and_hang_up(emulator):
    driver, log = await _started(emulator)
    try:
        assert await driver.ring(("laskomex", 10)) is True
        assert await driver.ring("vizit:7") is True
        assert emulator.line("laskomex:10")["state"] == "ringing"
        assert emulator.line("vizit:7")["state"] == "ringing"
        assert emulator.line("laskomex:10")["ring_count"] == 1
        assert emulator.line("laskomex:11")["state"] == "idle"

        emulator.post("/lines/vizit:7", {"action": "answer"})
        answered = await log.wait_for("answered", ("vizit", 7))
        assert driver.lines_state()[("vizit", 7)]["event"] == "answered"
        assert answered.detail is None

        assert await driver.stop_ring(("laskomex", 10)) is True
        assert emulator.line("laskomex:10")["state"] == "idle"
        assert await driver.connect_audio(("vizit", 7)) is True
        assert emulator.line("vizit:7")["audio"] is True
        assert await driver.disconnect_audio(("vizit", 7)) is True
        assert emulator.line("vizit:7")["audio"] is False

        emulator.post("/lines/vizit:7", {"action": "hang_up"})
        await log.wait_for("hung_up", ("vizit", 7))
        lines = driver.describe()["lines"]
        assert [entry["line"] for entry in lines] == ["vizit:7"]
        assert lines[0]["event"] == "hung_up"
    finally:
        await _stopped(driver)


async def test_lines_outside_the_adapter_are_refused_without_a_frame(emulator):
    driver, _ = await _started(emulator)
    try:
        sent = driver.link.stats["frames_sent"]
        assert await driver.ring(("laskomex", 81)) is False
        assert await driver.ring("vizit:0") is False
        assert driver.link.stats["frames_sent"] == sent
        with pytest.raises(hybrid.LocalError):
            await driver.ring(("sip", 10))
        with pytest.raises(hybrid.LocalError):
            await driver.ring("laskomex:ten")
    finally:
        await _stopped(driver)


async def test_door_button_after_automatic_answer(emulator):
    emulator.post(
        "/lines/laskomex:5",
        {
            "action": "behaviour",
            "answer_after_s": 0.1,
            "door_button_after_s": 0.1,
            "hang_up_after_s": 0.3,
        },
    )
    driver, log = await _started(emulator)
    try:
        assert await driver.ring(("laskomex", 5))
        await log.wait_for("answered", ("laskomex", 5))
        await log.wait_for("door_button", ("laskomex", 5))
        await log.wait_for("hung_up", ("laskomex", 5))
        line_events = [event.kind for event in log.events if event.line == ("laskomex", 5)]
        assert line_events == ["answered", "door_button", "hung_up"]
    finally:
        await _stopped(driver)


async def test_door_button_from_the_control_port(emulator):
    driver, log = await _started(emulator)
    try:
        assert await driver.ring(("vizit", 12))
        emulator.post("/lines/vizit:12", {"action": "answer"})
        await log.wait_for("answered", ("vizit", 12))
        emulator.post("/lines/vizit:12", {"action": "door_button"})
        await log.wait_for("door_button", ("vizit", 12))
    finally:
        await _stopped(driver)


async def test_busy_line(emulator):
    emulator.post("/lines/vizit:3", {"action": "behaviour", "busy": True})
    driver, log = await _started(emulator)
    try:
        # The adapter accepted the command; the line answers busy.
        assert await driver.ring(("vizit", 3)) is True
        await log.wait_for("busy", ("vizit", 3))
        assert emulator.line("vizit:3")["state"] == "idle"
    finally:
        await _stopped(driver)


async def test_line_faults(emulator):
    driver, log = await _started(emulator)
    try:
        emulator.post("/lines/laskomex:20", {"action": "fault", "kind": "short"})
        event = await log.wait_for("fault", ("laskomex", 20))
        assert event.detail == "short"
        assert driver.lines_state()[("laskomex", 20)]["detail"] == "short"
        emulator.post("/lines/laskomex:21", {"action": "fault", "kind": "open"})
        assert (await log.wait_for("fault", ("laskomex", 21))).detail == "open"
        # Ringing a line in fault reports the fault again.
        emulator.post("/lines/vizit:1", {"action": "fault", "kind": "no_handset"})
        await log.wait_for("fault", ("vizit", 1))
        log.events.clear()
        assert await driver.ring(("vizit", 1)) is True
        assert (await log.wait_for("fault", ("vizit", 1))).detail == "no_handset"
    finally:
        await _stopped(driver)


async def test_unplug_and_replug_while_ringing(emulator):
    driver, log = await _started(emulator)
    try:
        assert await driver.ring(("laskomex", 10))
        emulator.post("/unplug")
        lost = await log.wait_for("presence", detail=False)
        assert lost.reason in ("transport", "liveness")
        assert await driver.ring(("laskomex", 11)) is False  # absent: no wait
        await asyncio.sleep(0.5)  # the driver retries opening a missing device
        assert driver.stats["open_failures"] >= 1
        log.events.clear()
        emulator.post("/replug")
        await log.wait_for("presence", detail=True)
        assert driver.present and driver.stats["connects"] >= 2
        state = emulator.get("/state")
        assert state["session"] is True
        # The adapter kept power but the session is new: the ring was cancelled.
        assert state["lines"]["laskomex:10"]["state"] == "idle"
        assert await driver.ring(("laskomex", 10)) is True
        assert emulator.line("laskomex:10")["state"] == "ringing"
    finally:
        await _stopped(driver)


async def test_adapter_reset_while_ringing(emulator):
    driver, log = await _started(emulator)
    try:
        assert await driver.ring(("vizit", 7))
        log.events.clear()
        emulator.post("/reset", {"reason": "watchdog"})
        reset = await log.wait_for("adapter_reset")
        assert reset.detail == "watchdog"
        await log.wait_for("presence", detail=True)
        assert log.kinds() == ["adapter_reset", "presence", "presence"]
        assert log.events[1].detail is False and log.events[1].reason == "adapter_reset"
        assert driver.stats["adapter_resets"] == 1
        assert emulator.line("vizit:7")["state"] == "idle"
        assert await driver.ring(("vizit", 7)) is True
        assert emulator.line("vizit:7")["ring_count"] == 2
    finally:
        await _stopped(driver)


async def test_no_adapter_at_the_path_then_it_appears(tmp_path):
    link = str(tmp_path / "hybrid-pty")
    log = EventLog()
    driver = AdapterDriver(serial_opener(link), on_event=log, backoff_max_ms=500)
    driver.start()
    try:
        await asyncio.sleep(0.6)
        assert not driver.present and driver.stats["open_failures"] >= 2
        assert "open" in driver.describe()["last_error"]
        emulator = EmulatorProcess(str(tmp_path), link=link)
        emulator.start()
        try:
            await log.wait_for("presence", detail=True)
            assert driver.version == "1.0"
        finally:
            emulator.stop()
        await log.wait_for("presence", detail=False)
    finally:
        await _stopped(driver)


async def test_soak_through_the_pty_with_noise(emulator):
    # A smaller soak than the in-memory one: every byte crosses the pty and
    # the emulator corrupts 1% and loses 0.5% of them in both directions.
    emulator.post("/noise", {"corruption_rate": 0.01, "loss_rate": 0.005})
    driver, log = await _started(emulator)
    commands = 400
    sent = {}
    results = {True: 0, False: 0}
    slowest = 0.0
    budget_s = hybrid.RETRY_TIMEOUT_MS * (hybrid.RETRY_COUNT + 1) / 1000
    try:
        for index in range(commands):
            number = 1 + index % 80
            kind = "ring" if index % 2 == 0 else "stop_ring"
            if not driver.present:
                await log.wait_for("presence", detail=True)
                log.events.clear()
            started = time.monotonic()
            method = driver.ring if kind == "ring" else driver.stop_ring
            result = await method(("laskomex", number))
            slowest = max(slowest, time.monotonic() - started)
            results[result] += 1
            if kind == "ring":
                sent[number] = sent.get(number, 0) + 1
        state = emulator.get("/state")
    finally:
        await _stopped(driver)
    stats = state["stats"]
    print(
        "pty soak: %d commands, %d acked, %d failed, slowest %.3f s (budget %.3f s), "
        "%d bytes corrupted, %d lost, driver link %s"
        % (
            commands,
            results[True],
            results[False],
            slowest,
            budget_s,
            stats["bytes_corrupted"],
            stats["bytes_lost"],
            driver.link.stats,
        )
    )
    assert results[True] + results[False] == commands
    assert stats["bytes_corrupted"] > 0 and stats["bytes_lost"] > 0
    # No wrong ring (only commanded lines rang) and no duplicate (never more
    # rings delivered than sent).
    for text, line in state["lines"].items():
        system, number = hybrid.parse_line(text)
        assert line["ring_count"] <= (sent.get(number, 0) if system == "laskomex" else 0), text
    # Most commands get through despite the noise.
    assert results[True] >= commands * 0.9


async def test_silent_adapter_is_declared_absent_then_found_again(emulator):
    driver, log = await _started(emulator)
    try:
        # Every byte lost both ways: heartbeats go unanswered.
        emulator.post("/noise", {"loss_rate": 1.0})
        lost = await log.wait_for(
            "presence", detail=False, timeout=hybrid.PANEL_LIVENESS_MS / 1000 + 3
        )
        assert lost.reason == "liveness"
        assert await driver.ring(("vizit", 2)) is False
        emulator.post("/noise", {"loss_rate": 0.0})
        log.events.clear()
        await log.wait_for("presence", detail=True, timeout=15)
        assert await driver.ring(("vizit", 2)) is True
    finally:
        await _stopped(driver)
