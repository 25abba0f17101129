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

    # MicroPython's ticks wrap at 2**30 on 32-bit boards (small-int range); the
    # same arithmetic here keeps wrap-around bugs visible on the host too.
    _HOST_TICKS_PERIOD = 1 << 30
    _TICKS_HALF = _HOST_TICKS_PERIOD // 2

    def ticks_ms():
        return int(_time.monotonic() * 1000) & (_HOST_TICKS_PERIOD - 1)

    def ticks_add(ticks, delta):
        return (ticks + delta) % _HOST_TICKS_PERIOD

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) % _HOST_TICKS_PERIOD) - _TICKS_HALF


# Where this runtime's ticks wrap: 2**30 on 32-bit boards and under CPython,
# 2**62 on the 64-bit unix port (its small ints are 63-bit). ticks_add(0, -1)
# is the largest tick on every port, so the period is found, not assumed.
TICKS_PERIOD = ticks_add(0, -1) + 1


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

    def fsync_directory(path):
        # POSIX: a rename or unlink is durable once its directory is fsync'd.
        import os

        descriptor = os.open(path, os.O_RDONLY)
        try:
            _os_fsync(descriptor)
        finally:
            os.close(descriptor)

except ImportError:
    # No os.fsync on any MicroPython port. There flush() is the durable step:
    # on LittleFS (boards) it commits the file's metadata block; on the unix
    # port's VfsPosix it is fsync(2) itself (seen with strace: write, fsync).
    def fsync(handle):
        handle.flush()

    if sys.platform in ("linux", "darwin"):
        # The unix port: a directory opened read-only is a file descriptor too,
        # and its flush() is fsync(2) on it (strace: openat O_RDONLY, fsync).
        def fsync_directory(path):
            with open(path, "rb") as handle:
                handle.flush()

    else:
        # LittleFS commits directory changes itself; the WebAssembly port's
        # file system is in memory. Nothing to do.
        def fsync_directory(path):
            return None


# errno numbers, one table for every module. CPython's errno module has them
# all (and the platform's numbers: macOS differs from Linux); MicroPython's has
# a subset with the POSIX/Linux numbers its ports use (no ENOSPC, though
# LittleFS reports a full disk as 28).
try:
    import errno as _errno
except ImportError:
    _errno = None
ENOENT = getattr(_errno, "ENOENT", 2)
EAGAIN = getattr(_errno, "EAGAIN", 11)
ENOMEM = getattr(_errno, "ENOMEM", 12)
EEXIST = getattr(_errno, "EEXIST", 17)
ENOSPC = getattr(_errno, "ENOSPC", 28)
EADDRINUSE = getattr(_errno, "EADDRINUSE", 98)
EHOSTUNREACH = getattr(_errno, "EHOSTUNREACH", 113)
# The WebAssembly port (the test runner) passes Emscripten's own numbers
# through from its file system (a missing file is 44, measured); no board uses
# them. error_number() translates them to the table above.
_WEBASSEMBLY_ERRNO = {6: EAGAIN, 20: EEXIST, 44: ENOENT, 51: ENOSPC}


def error_number(error):
    """The errno of an OSError in this module's numbering, or None."""
    number = getattr(error, "errno", None)
    if number is None and error.args:
        number = error.args[0]
    if not isinstance(number, int):
        return None
    if sys.platform == "webassembly":
        return _WEBASSEMBLY_ERRNO.get(number, number)
    return number


if hasattr(sys, "print_exception"):
    # MicroPython: the traceback as far as the port kept it, to stdout.
    print_exception = sys.print_exception
else:
    import traceback as _traceback

    def print_exception(error, file=None):
        """The traceback of error to file (stdout, as on MicroPython)."""
        _traceback.print_exception(type(error), error, error.__traceback__, file=file or sys.stdout)


try:
    from asyncio import sleep_ms
except ImportError:
    # CPython: no sleep_ms. MicroPython's avoids a float per sleep (a heap
    # object on ports without float-in-pointer representation).
    def sleep_ms(milliseconds):
        import asyncio

        return asyncio.sleep(milliseconds / 1000)


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


def compile_native(source, names):
    """{name: function} of `source` compiled with MicroPython's native emitters.

    The source holds @micropython.viper (or .native) functions: a hot loop's
    machine-code twin. It is compiled here, at run time, because mpy-cross
    rejects those decorators without a target architecture (DESIGN.md rule 5:
    every file compiles with plain mpy-cross) while the board's own compiler
    knows its architecture. None on CPython, and on ports built without the
    native emitters (the WebAssembly port), whose compiler raises SyntaxError
    for the decorator: the caller then keeps its plain-Python version.
    """
    if not IS_MICROPYTHON:
        return None
    namespace = {}
    try:
        exec(source, namespace)
    except SyntaxError:
        return None
    found = {}
    for name in names:
        found[name] = namespace[name]
    return found
