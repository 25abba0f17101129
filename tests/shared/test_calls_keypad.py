# The front keypad's buffer (panel.drivers.keypad), on both runtimes.
from checks import raises
from panel.drivers.keypad import KEY_IDLE_RESET_MS, Keypad, valid_keys


def press_all(keypad, keys, now=0):
    return [keypad.press(key, now) for key in keys]


def test_digits_then_hash_dial():
    keypad = Keypad()
    assert press_all(keypad, "0223#")[-1] == ("dial", "0223")
    assert keypad.describe() == {"buffer": "", "mode": "number"}
    assert keypad.press("#", 0) == ("ignored", "empty")


def test_star_clears_or_starts_code_entry():
    keypad = Keypad()
    assert press_all(keypad, "22*")[-1] == ("cleared", None)
    assert keypad.press("*", 0) == ("code_entry", None)
    press_all(keypad, "1234")
    assert keypad.describe() == {"buffer": "****", "mode": "code"}
    assert keypad.press("#", 0) == ("code", "1234")
    assert keypad.mode == "number"
    # "*" inside code entry leaves it.
    assert press_all(keypad, "*5*") == [("code_entry", None), ("digit", None), ("cleared", None)]
    assert keypad.mode == "number"


def test_idle_timeout_and_length_limits():
    keypad = Keypad()
    keypad.press("9", 0)
    assert keypad.press("1", KEY_IDLE_RESET_MS) == ("digit", None)
    assert keypad.press("#", KEY_IDLE_RESET_MS) == ("dial", "1")
    results = press_all(keypad, "1" * 25)
    assert results[18] == ("digit", None) and results[19] == ("ignored", "too_long")
    keypad.clear()
    results = press_all(keypad, "*" + "7" * 9)
    assert results[-1] == ("ignored", "too_long")


def test_only_keypad_keys():
    assert valid_keys("0123456789*#")
    for text in ("", "A", "1 2", "c", None, "١"):
        assert not valid_keys(text)
    raises(ValueError, Keypad().press, "A", 0)
    raises(ValueError, Keypad().press, "12", 0)
