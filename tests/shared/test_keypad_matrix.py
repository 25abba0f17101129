from fake_pins import MatrixWiring

from panel.drivers.keypad_matrix import LAYOUT_4X3, LAYOUT_4X4, KeypadMatrix, ambiguous


def matrix(layout=LAYOUT_4X3):
    wiring = MatrixWiring(len(layout), len(layout[0]))
    keypad = KeypadMatrix(wiring.rows, wiring.columns, layout, active_level=0, debounce_ms=20)
    keypad.release_rows()
    return wiring, keypad


def run(keypad, start, end, step=5):
    keys = ""
    for now in range(start, end, step):
        keys += keypad.step(now)
    return keys


def test_a_held_key_gives_one_key_after_the_debounce():
    wiring, keypad = matrix()
    wiring.closed.add((1, 1))  # "5"
    assert keypad.step(0) == ""
    assert keypad.step(10) == ""
    assert keypad.step(20) == "5"
    # Held for a second: no repeat.
    assert run(keypad, 25, 1000) == ""
    assert keypad.held() == "5"


def test_bounce_shorter_than_the_debounce_gives_nothing_then_one_key():
    wiring, keypad = matrix()
    keys = ""
    for now in range(0, 40, 5):  # contact chatter every 5 ms
        if (now // 5) % 2:
            wiring.closed.add((0, 0))
        else:
            wiring.closed.discard((0, 0))
        keys += keypad.step(now)
    assert keys == ""
    wiring.closed.add((0, 0))
    assert run(keypad, 40, 100) == "1"


def test_release_then_press_again_gives_the_key_again():
    wiring, keypad = matrix()
    wiring.closed.add((3, 2))  # "#"
    assert run(keypad, 0, 50) == "#"
    wiring.closed.clear()
    assert run(keypad, 50, 100) == ""
    wiring.closed.add((3, 2))
    assert run(keypad, 100, 150) == "#"


def test_two_keys_at_once_each_give_their_key_once_in_scan_order():
    wiring, keypad = matrix()
    wiring.closed.update({(2, 0), (0, 2)})  # "7" and "3": no shared row or column
    assert run(keypad, 0, 200) == "37"


def test_a_second_key_while_the_first_is_held_gives_only_the_second():
    wiring, keypad = matrix()
    wiring.closed.add((0, 0))
    assert run(keypad, 0, 50) == "1"
    wiring.closed.add((1, 1))
    assert run(keypad, 50, 100) == "5"


def test_ghosting_three_corners_of_a_rectangle_change_nothing():
    wiring, keypad = matrix()
    wiring.closed.add((0, 0))
    assert run(keypad, 0, 50) == "1"
    # "2" and "4" too: the fourth corner "5" reads closed through them.
    wiring.closed.update({(0, 1), (1, 0)})
    assert (1, 1) in keypad.scan()  # the ghost is electrically there
    assert run(keypad, 50, 200) == ""
    assert keypad.ghost_frames > 0
    # Back to one key: the held "1" gives nothing new.
    wiring.closed.difference_update({(0, 1), (1, 0)})
    assert run(keypad, 200, 300) == ""


def test_ambiguous_frames():
    assert ambiguous({(0, 0), (0, 1), (1, 0)})
    assert not ambiguous({(0, 0), (1, 1)})
    assert not ambiguous({(0, 0), (0, 1)})


def test_4x4_layout_gives_letters():
    wiring, keypad = matrix(LAYOUT_4X4)
    wiring.closed.add((3, 3))
    assert run(keypad, 0, 50) == "D"


def test_rows_rest_at_the_inactive_level_between_scans():
    wiring, keypad = matrix()
    keypad.scan()
    assert [row.level for row in wiring.rows] == [1, 1, 1, 1]
    assert all(0 in row.writes for row in wiring.rows)


def test_a_layout_that_does_not_fit_the_pins_is_refused():
    wiring = MatrixWiring(4, 3)
    try:
        KeypadMatrix(wiring.rows, wiring.columns, LAYOUT_4X4)
    except ValueError:
        return
    raise AssertionError("4x4 keys on 4x3 pins accepted")
