from panel import compat


def test_ticks_arithmetic_across_the_wrap():
    # ticks_add(0, -1) is the last tick before the counter wraps, whatever the
    # port's period (2**30 on boards, larger on 64-bit ports): 1,500 ms later
    # the counter has wrapped to a small value, and ticks_diff still sees 1,500.
    last = compat.ticks_add(0, -1)
    later = compat.ticks_add(last, 1500)
    assert later < last
    assert later == 1499
    assert compat.ticks_diff(later, last) == 1500
    assert compat.ticks_diff(last, later) == -1500


def test_ticks_diff_of_now():
    start = compat.ticks_ms()
    later = compat.ticks_add(start, 250)
    assert compat.ticks_diff(later, start) == 250


def test_urandom_length():
    assert len(compat.urandom(16)) == 16


def test_hexlify():
    assert compat.hexlify(b"\x00\xab\x10") == "00ab10"


def test_ticks_period_is_where_ticks_wrap():
    assert compat.ticks_add(compat.TICKS_PERIOD - 1, 1) == 0
    assert compat.ticks_diff(0, compat.TICKS_PERIOD - 1) == 1
    assert compat.TICKS_PERIOD in (1 << 30, 1 << 62)


def test_error_number_and_names():
    assert compat.error_number(OSError(compat.ENOENT, "missing")) == compat.ENOENT
    assert compat.error_number(OSError(compat.EAGAIN)) == compat.EAGAIN
    assert compat.error_number(OSError("no number")) is None
    assert compat.ENOSPC == 28 and compat.ENOENT == 2


def test_fsync_and_directory_sync_on_this_runtime():
    from checks import temp_dir

    directory = temp_dir("compat-fsync")
    with open(directory + "/file", "wb") as handle:
        handle.write(b"durable")
        compat.fsync(handle)
    compat.fsync_directory(directory)
    with open(directory + "/file", "rb") as handle:
        assert handle.read() == b"durable"


def test_print_exception_prints_the_error():
    import io

    stream = io.StringIO()
    try:
        raise ValueError("shown")
    except ValueError as error:
        compat.print_exception(error, stream)
    assert "ValueError" in stream.getvalue() and "shown" in stream.getvalue()


_AWAITED = []


async def test_async_tests_are_awaited():
    import asyncio

    await asyncio.sleep(0)
    # Reached only when the runner awaits the coroutine past its first await.
    _AWAITED.append("done")


def test_awaited_test_ran_to_its_end():
    # Runs after the async test on both runners (file order in pytest, name
    # order in tools/mpy/runner.py): a runner that did not await it fails here.
    assert _AWAITED == ["done"]
