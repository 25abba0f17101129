# A small test runner for MicroPython: imports every test_*.py module of the
# tests directory (/tests in the WebAssembly file system, tests/shared itself
# under the unix port), runs its test_* functions (awaiting the async ones) and
# prints pytest-style totals. Tests are plain functions with asserts (see
# tests/shared/checks.py). Used by tools/mpy/run_tests.mjs (WebAssembly) and
# tools/mpy/run_unix.py (the unix port).
import gc
import os
import sys


def _print_banner():
    version = ".".join(str(part) for part in sys.implementation.version[:3])
    print("MicroPython v%s (%s) %s" % (version, sys.implementation.name, sys.version))


def _selected(name, patterns):
    if not patterns:
        return True
    for pattern in patterns:
        if pattern and pattern in name:
            return True
    return False


async def main(pattern_text, tests_dir="/tests"):
    _print_banner()
    patterns = [part for part in pattern_text.split(",") if part]
    passed = 0
    failed = 0
    for file_name in sorted(os.listdir(tests_dir)):
        if not (file_name.startswith("test_") and file_name.endswith(".py")):
            continue
        module_name = file_name[:-3]
        try:
            module = __import__(module_name)
        except Exception as exc:
            failed += 1
            print("FAILED %s (import)" % module_name)
            sys.print_exception(exc)
            continue
        for attribute in sorted(dir(module)):
            if not attribute.startswith("test_"):
                continue
            test = getattr(module, attribute)
            if not callable(test):
                continue
            full_name = module_name + "::" + attribute
            if not _selected(full_name, patterns):
                continue
            try:
                result = test()
                # An async def test returns a generator-like coroutine here.
                if hasattr(result, "send"):
                    await result
                passed += 1
            except Exception as exc:
                failed += 1
                print("FAILED " + full_name)
                sys.print_exception(exc)
            gc.collect()
    print("%d passed, %d failed" % (passed, failed))
    return failed
