# The one place where MicroPython and CPython differ in what they import.
# Everything else under firmware/ imports from here instead of guessing.
# Each shim catches only the ImportError it expects (STYLE.md, rule 5).
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from micropython import const
except ImportError:
    # CPython: const() is a plain identity; MicroPython inlines it at compile time.
    def const(value):
        return value


try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:
    import time as _time

    # MicroPython's ticks wrap at 2**30 (small-int range); the same arithmetic
    # here keeps wrap-around bugs visible on the host too.
    _TICKS_PERIOD = 1 << 30
    _TICKS_HALF = _TICKS_PERIOD // 2

    def ticks_ms():
        return int(_time.monotonic() * 1000) & (_TICKS_PERIOD - 1)

    def ticks_add(ticks, delta):
        return (ticks + delta) % _TICKS_PERIOD

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) % _TICKS_PERIOD) - _TICKS_HALF


try:
    from os import urandom
except ImportError:
    # Some MicroPython ports have no os.urandom; they all have random.getrandbits
    # seeded from a hardware source.
    import random as _random

    def urandom(count):
        return bytes(_random.getrandbits(8) for _ in range(count))


try:
    from os import fsync as _os_fsync

    def fsync(handle):
        # Durability: data handed to the OS is on the device before we answer.
        handle.flush()
        _os_fsync(handle.fileno())
except ImportError:

    def fsync(handle):
        # MicroPython/LittleFS: flush() commits the file's metadata block.
        handle.flush()


try:
    import hashlib as _hashlib

    md5_hexdigest_available = hasattr(_hashlib, "md5")
except ImportError:
    _hashlib = None
    md5_hexdigest_available = False


def hexlify(data):
    """Lower-case hex text of bytes, the same on both runtimes."""
    return "".join("%02x" % byte for byte in data)


def run_handlers_in_loop(microdot_module):
    """Make microdot call every handler in the one asyncio loop, on both runtimes.

    microdot decides with inspect.iscoroutinefunction whether a handler is async,
    and runs the others in a thread pool (CPython) or via get_running_loop (which
    MicroPython's asyncio lacks). MicroPython's inspect answers False for async
    closures and bound methods, which is how the API registers its handlers, and
    the firmware runs no threads at all (DESIGN.md rule 4). So: call the handler,
    and await what it returns when that is a coroutine (a generator on MicroPython).
    """

    async def invoke_handler(handler, *args, **kwargs):
        result = handler(*args, **kwargs)
        if hasattr(result, "send"):
            result = await result
        return result

    microdot_module.invoke_handler = invoke_handler
