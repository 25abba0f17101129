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
