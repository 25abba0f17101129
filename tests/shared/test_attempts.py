# The brute-force limiter (panel.core.attempts) and the keypad's personal-code
# lockout (panel.calls.controller) on a fake clock, on both runtimes: nothing
# sleeps, the tests move the ticks.
import asyncio

from fake_clock import FakeClock

import call_environment
from checks import raises
from panel.calls import controller as controller_module
from panel.calls.controller import CallController
from panel.compat import ticks_add
from panel.core.attempts import AttemptLimiter, LogThrottle


def limiter(max_sources=4):
    return AttemptLimiter(5, 1000, 8000, 20000, max_sources)


def test_four_failures_are_free_the_fifth_opens_a_window_that_doubles():
    attempts = limiter()
    now = 0
    for _ in range(4):
        assert attempts.failed("a", now) == 0
        assert attempts.blocked_ms("a", now) == 0
    assert attempts.failed("a", now) == 1000
    assert attempts.blocked_ms("a", now) == 1000
    assert attempts.blocked_ms("a", now + 999) == 1
    assert attempts.blocked_ms("a", now + 1000) == 0
    # After the window one more try; a failure doubles it, up to the cap.
    windows = []
    now += 1000
    for _ in range(5):
        windows.append(attempts.failed("a", now))
        now += windows[-1]
        assert attempts.blocked_ms("a", now) == 0
    assert windows == [2000, 4000, 8000, 8000, 8000]
    assert attempts.failures("a", now) == 10


def test_sources_are_independent_and_success_forgets():
    attempts = limiter()
    for _ in range(5):
        attempts.failed("a", 0)
    assert attempts.blocked_ms("a", 0) > 0
    assert attempts.blocked_ms("b", 0) == 0
    attempts.failed("b", 0)
    attempts.succeeded("b")
    assert attempts.failures("b", 0) == 0
    attempts.succeeded("a")
    assert attempts.blocked_ms("a", 0) == 0
    assert attempts.tracked() == 0


def test_a_quiet_source_is_forgotten_after_forget_ms():
    attempts = limiter()
    for _ in range(6):
        attempts.failed("a", 0)
    assert attempts.failures("a", 19999) == 6
    assert attempts.failures("a", 20000) == 0
    assert attempts.tracked() == 0
    # Starting afresh: four free failures again.
    assert attempts.failed("a", 20000) == 0


def test_memory_is_bounded_the_oldest_source_goes_first():
    attempts = limiter(max_sources=4)
    for index in range(10):
        attempts.failed("s%d" % index, index)
        assert attempts.tracked() <= 4
    assert attempts.failures("s9", 10) == 1
    assert attempts.failures("s6", 10) == 1
    assert attempts.failures("s5", 10) == 0


def test_windows_span_the_ticks_wrap():
    attempts = limiter()
    start = ticks_add(0, -500)  # the ticks wrap 500 ms into the window
    for _ in range(5):
        attempts.failed("a", start)
    assert attempts.blocked_ms("a", ticks_add(start, 600)) == 400
    assert attempts.blocked_ms("a", ticks_add(start, 1000)) == 0


def test_limits_are_checked():
    assert raises(ValueError, AttemptLimiter, 0, 1000, 8000, 0, 4)
    assert raises(ValueError, AttemptLimiter, 5, 1000, 500, 0, 4)
    assert raises(ValueError, AttemptLimiter, 5, 1000, 8000, 0, 0)
    # forget_ms never shorter than the longest window.
    assert AttemptLimiter(5, 1000, 8000, 10, 4).forget_ms == 8000


def test_log_throttle_allows_a_limit_per_window_and_counts_the_rest():
    throttle = LogThrottle(3, 60000)
    assert [throttle.allow(0) for _ in range(5)] == [True, True, True, False, False]
    assert throttle.suppressed == 2
    assert throttle.allow(59999) is False
    assert throttle.allow(60000) is True
    assert throttle.take_suppressed() == 3
    assert throttle.take_suppressed() == 0


# -- the keypad --------------------------------------------------------------


class CountingEnvironment(call_environment.Environment):
    """The fake environment, counting personal-code lookups."""

    def __init__(self):
        code = {"identifier_uid": 1, "lock": "first", "identifier_owner": {"name": "7"}}
        super().__init__({}, personal_codes={"4321": code})
        self.lookups = 0

    def find_personal_code(self, code):
        self.lookups += 1
        return super().find_personal_code(code)


def keypad_rig():
    environment = CountingEnvironment()
    clock = FakeClock(start=1000)
    return environment, clock, CallController(environment, clock)


def last_code_result(controller, keys):
    return controller.press(keys)[-1]


def test_keypad_locks_after_five_wrong_codes_and_logs_once_per_window():
    environment, clock, controller = keypad_rig()
    base_s = controller_module.KEYPAD_LOCKOUT_BASE_MS // 1000
    for _ in range(4):
        result = last_code_result(controller, "*1234#")
        assert result == {"key": "#", "action": "personal_code", "granted": False}
    fifth = last_code_result(controller, "*1234#")
    assert fifth["granted"] is False
    assert fifth["reason"] == "locked"
    assert fifth["retry_after_s"] == base_s
    denied = environment.events("access_denied")
    assert len(denied) == 5
    assert denied[-1] == {"identifier_type": "personal_code", "code": "1234", "locked_s": base_s}
    # Locked: every code refused unchecked, the right one too; no entries.
    lookups = environment.lookups
    for keys in ("*1234#", "*4321#", "*0000#"):
        assert last_code_result(controller, keys)["reason"] == "locked"
    assert environment.lookups == lookups
    assert environment.opened == []
    assert len(environment.events("access_denied")) == 5
    assert controller.counters["personal_code_locked"] == 3
    # The window ends: one more try; wrong, it opens a window twice as long.
    clock.advance(controller_module.KEYPAD_LOCKOUT_BASE_MS)
    assert controller.code_locked_ms() == 0
    sixth = last_code_result(controller, "*1234#")
    assert sixth["retry_after_s"] == 2 * base_s
    assert environment.events("access_denied")[-1]["locked_s"] == 2 * base_s
    assert len(environment.events("access_denied")) == 6
    # After that window the right code opens the door and starts afresh.
    clock.advance(2 * controller_module.KEYPAD_LOCKOUT_BASE_MS)
    assert last_code_result(controller, "*4321#")["granted"] is True
    assert environment.opened == [(1, "access_granted_by_personal_code")]
    for _ in range(4):
        assert "reason" not in last_code_result(controller, "*1234#")


async def test_a_wrong_code_answers_before_its_log_entry_is_written():
    environment, clock, controller = keypad_rig()
    controller.start()
    try:
        assert last_code_result(controller, "*1234#")["granted"] is False
        # The answer is out before the (durable, fsynced) log write.
        assert environment.events("access_denied") == []
        for _ in range(5):
            await asyncio.sleep(0)
        assert environment.events("access_denied") == [
            {"identifier_type": "personal_code", "code": "1234"}
        ]
    finally:
        controller.stop()
