# panel.drivers.adapter on each runtime's own asyncio (CPython and MicroPython):
# the driver talks through an in-memory stream to a real adapter-side
# proto.hybrid machine run by a small task. The pty/pyserial path is covered by
# tests/host/test_adapter_driver.py.
import asyncio

from fake_adapter import FakeAdapter

from checks import raises
from panel.compat import ticks_diff, ticks_ms
from panel.drivers.adapter import AdapterDriver
from panel.proto import hybrid


async def _until(predicate, limit_ms=3000):
    start = ticks_ms()
    while not predicate():
        if ticks_ms() - start > limit_ms:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_driver_handshake_ring_event_reset_and_reconnect():
    adapter = FakeAdapter()
    events = []
    driver = AdapterDriver(
        adapter.open_transport, on_event=events.append, backoff_min_ms=20, backoff_max_ms=50
    )
    assert adapter.opens == 0 and not driver.present  # nothing before start()
    driver.start()
    try:
        assert await _until(lambda: driver.present)
        assert driver.version == "3.1" and driver.protocol_version == "1.0"
        assert driver.capabilities["systems"] == ["laskomex", "vizit"]
        assert await driver.ring(("laskomex", 10)) is True
        assert await driver.ring("vizit:7") is True
        assert await driver.ring(("vizit", 41)) is False  # not on this adapter
        assert adapter.rings == [("laskomex", 10), ("vizit", 7)]
        assert await _until(lambda: ("vizit", 7) in driver.lines_state())
        assert driver.lines_state()[("vizit", 7)]["event"] == "answered"
        assert [event.kind for event in events] == ["presence", "answered"]
        assert driver.describe()["lines"][0]["line"] == "vizit:7"
        exc = None
        try:
            await driver.stop_ring(("sip", 1))
        except hybrid.LocalError as error:
            exc = error
        assert exc is not None

        # The adapter restarts: reported, then a new session.
        adapter.boot(8)
        adapter._flush(adapter.to_panel)
        assert await _until(lambda: driver.stats["handshakes"] == 2)
        kinds = [event.kind for event in events]
        assert kinds[2:] == ["adapter_reset", "presence", "presence"]
        assert events[2].detail == "requested"

        # The device goes away: absent, then opened again.
        adapter.unplug()
        assert await _until(lambda: adapter.opens == 2 and driver.present)
        assert driver.stats["transport_losses"] == 1
        assert await driver.connect_audio(("vizit", 7)) is True
    finally:
        driver.stop()
        await driver.wait_stopped()
    assert not driver.present
    assert await driver.ring(("vizit", 7)) is False


async def test_driver_without_callback_queues_events():
    adapter = FakeAdapter()
    driver = AdapterDriver(adapter.open_transport)
    driver.start()
    try:
        event = await driver.next_event()
        assert event.kind == "presence" and event.detail is True
        assert await driver.ring(("vizit", 7))
        event = await driver.next_event()
        assert event.kind == "answered" and event.line == ("vizit", 7)
    finally:
        driver.stop()
        await driver.wait_stopped()


def test_malformed_line_is_a_local_error():
    driver = AdapterDriver(None)
    raises(hybrid.LocalError, driver.covers, ("vizit", -1))
    raises(hybrid.LocalError, driver.covers, "vizit")
    assert not driver.covers(("vizit", 1))  # no session: covers nothing


# A retry budget of 4 x 25 ms instead of the protocol's default: the same
# budget logic, without sleeping through the real one.
_SHORT_RETRIES = {"retry_timeout_ms": 25, "retry_count": 4}


async def test_concurrent_commands_and_a_command_without_ack():
    adapter = FakeAdapter()
    driver = AdapterDriver(
        adapter.open_transport, on_event=lambda event: None, link_options=_SHORT_RETRIES
    )
    driver.start()
    try:
        assert await _until(lambda: driver.present)
        # "All at once": several rings in flight, queued and settled in order.
        results = await asyncio.gather(
            driver.ring(("laskomex", 1)),
            driver.ring(("laskomex", 2)),
            driver.ring(("vizit", 3)),
            driver.ring(("vizit", 99)),
        )
        assert list(results) == [True, True, True, False]
        assert adapter.rings == [("laskomex", 1), ("laskomex", 2), ("vizit", 3)]
        # The adapter hears nothing: the retry budget runs out, False.
        adapter.mute = True
        start = ticks_ms()
        assert await driver.stop_ring(("laskomex", 1)) is False
        budget = _SHORT_RETRIES["retry_timeout_ms"] * _SHORT_RETRIES["retry_count"]
        assert ticks_diff(ticks_ms(), start) >= budget
        assert driver.stats["commands_failed"] == 1 and driver.present
        adapter.mute = False
        assert await driver.stop_ring(("laskomex", 1)) is True
    finally:
        driver.stop()
        await driver.wait_stopped()
