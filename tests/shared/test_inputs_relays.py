from fake_pins import InputPin, OutputPin

from panel.drivers.inputs import DebouncedInput
from panel.drivers.relays import RelayOutput, inactive_level


def test_input_counts_only_a_level_held_for_the_debounce():
    pin = InputPin(1)
    button = DebouncedInput(pin, active_level=0, debounce_ms=30)
    button.reset(1, 0)
    assert not button.active
    # A 10 ms glitch: nothing.
    assert not button.step(0, 10)
    assert not button.step(1, 20)
    assert not button.step(1, 60)
    # Held low: active after 30 ms, reported once.
    assert not button.step(0, 100)
    assert not button.step(0, 120)
    assert button.step(0, 130)
    assert button.active
    assert not button.step(0, 500)
    assert button.changes == 1


def test_input_active_high_and_release():
    sensor = DebouncedInput(InputPin(0), active_level=1, debounce_ms=20)
    sensor.reset(0, 0)
    assert not sensor.step(1, 0)
    assert sensor.step(1, 20) and sensor.active
    assert not sensor.step(0, 30)
    assert sensor.step(0, 50) and not sensor.active


def test_input_sample_calls_the_handler_on_change_only():
    pin = InputPin(1)
    seen = []
    button = DebouncedInput(pin, 0, 20, on_change=seen.append)
    button.reset(1, 0)
    pin.level = 0
    for now in range(0, 100, 10):
        button.sample(now)
    pin.level = 1
    for now in range(100, 200, 10):
        button.sample(now)
    assert seen == [True, False]


def test_a_state_held_at_boot_is_no_event():
    button = DebouncedInput(InputPin(0), 0, 20)
    button.reset(0, 0)  # held at boot
    assert button.active
    assert not button.step(0, 100)


def test_relay_active_high_writes_the_logical_level():
    pin = OutputPin()
    relay = RelayOutput(pin, active_level=1)
    relay.start()
    relay.value(1)
    relay.value(0)
    assert pin.writes == [0, 1, 0]
    assert relay.openings == 1


def test_relay_active_low_inverts():
    pin = OutputPin()
    relay = RelayOutput(pin, active_level=0)
    relay.start()
    assert pin.level == 1  # released: high
    relay.value(1)
    assert pin.level == 0 and relay.value() == 1
    relay.value(0)
    assert pin.writes == [1, 0, 1]


def test_inactive_level_of_a_board_file_entry():
    assert inactive_level({"pin": 14, "active": 0}) == 1
    assert inactive_level({"pin": 32, "active": 1}) == 0
    assert inactive_level({"pin": 32}) == 0


def test_relay_refuses_a_level_that_is_not_0_or_1():
    try:
        RelayOutput(OutputPin(), active_level=2)
    except ValueError:
        return
    raise AssertionError("active level 2 accepted")
