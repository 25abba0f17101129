from panel import compat


def test_ticks_wrap_arithmetic():
    start = compat.ticks_ms()
    later = compat.ticks_add(start, 1500)
    assert compat.ticks_diff(later, start) == 1500
    assert compat.ticks_diff(start, later) == -1500


def test_urandom_length():
    assert len(compat.urandom(16)) == 16


def test_hexlify():
    assert compat.hexlify(b"\x00\xab\x10") == "00ab10"


async def test_async_tests_are_awaited():
    import asyncio

    await asyncio.sleep(0)
    assert True


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
