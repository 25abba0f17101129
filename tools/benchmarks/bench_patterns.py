"""Dial-pattern matching cost (panel.core.numbers), CPython and MicroPython.

Prints `name: value unit` lines. Figures are medians of several timed rounds,
in microseconds per compiled_matches() call (the call engine caches compiled
patterns, so compiling is measured on its own line).

Shapes, each against a 64-character number of "1"s that does not match:
  - simple:          `1[0-4]X` against "155" (the everyday case);
  - K wildcards:     K `*`/`.` tokens alternating, then a `2` the number lacks;
  - K interleaved:   K wildcards each followed by `1`, then `2` (`*1*1...*12`):
                     the shape on which a backtracking matcher explores
                     exponentially many splits;
  - K worst:         `*`, K/2 `1`s, `2`: the worst case of our restart-at-the-
                     last-star algorithm (every restart re-reads K/2 tokens).
The baseline is CPython's backtracking `re` on the translated interleaved shape,
with a 24-character number (a 64-character one would not finish), next to our
matcher on the very same input. When node and the MicroPython WebAssembly
package are installed, the same figures are measured under MicroPython too
(lines prefixed `mpy_`), by running this file through mpy_run.mjs.
"""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

if IS_MICROPYTHON:
    import time

    def now_us():
        return time.ticks_us()

    def elapsed_us(start):
        return time.ticks_diff(time.ticks_us(), start)
else:
    import os
    import time

    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(ROOT, "firmware"))

    def now_us():
        return time.perf_counter()

    def elapsed_us(start):
        return (time.perf_counter() - start) * 1e6


from panel.core import numbers  # noqa: E402  (after the path set-up above)

NUMBER = "1" * 64
ROUNDS = 7
TOKEN_COUNTS = (16, 32, 64)
# Each timed round runs for at least this long, so that a coarse clock (the
# WebAssembly port's ticks_us moves in milliseconds) still gives good figures.
ROUND_US = 100000 if IS_MICROPYTHON else 20000


def wildcard_pattern(count):
    # count wildcard tokens, `*` and `.` alternating, then a `2` never seen.
    return "*." * (count // 2) + "2"


def interleaved_pattern(count):
    # count wildcards each followed by `1`, then `2`: exponential for re.
    return "*1" * count + "2"


def worst_pattern(count):
    # One star, then count // 2 literal 1s and a 2: every restart of the star
    # re-reads count // 2 characters (our bound is tokens x characters).
    return "*" + "1" * (count // 2) + "2"


def median_us(function, argument_a, argument_b):
    """Median microseconds per call over ROUNDS rounds of calibrated length."""
    calls = 1
    while True:
        start = now_us()
        for _ in range(calls):
            function(argument_a, argument_b)
        spent = elapsed_us(start)
        if spent >= ROUND_US:
            break
        calls *= 2 if spent >= ROUND_US // 4 else 4
    samples = []
    for _ in range(ROUNDS):
        start = now_us()
        for _ in range(calls):
            function(argument_a, argument_b)
        samples.append(elapsed_us(start) / calls)
    samples.sort()
    return samples[len(samples) // 2]


def _compile(pattern, _unused):
    return numbers.compile_dial_pattern(pattern)


def report(prefix, name, value, unit):
    print("%s%s: %.2f %s" % (prefix, name, value, unit))


def measure(prefix):
    simple = numbers.compile_dial_pattern("1[0-4]X")
    if numbers.compiled_matches(simple, "155"):
        raise SystemExit("simple pattern matched")
    simple_us = median_us(numbers.compiled_matches, simple, "155")
    report(prefix, "dial_pattern_simple_us", simple_us, "us")
    shapes = (
        ("wildcards", wildcard_pattern),
        ("interleaved", interleaved_pattern),
        ("worst", worst_pattern),
    )
    for shape, build in shapes:
        for count in TOKEN_COUNTS:
            compiled = numbers.compile_dial_pattern(build(count))
            if numbers.compiled_matches(compiled, NUMBER):
                raise SystemExit("%s pattern matched" % shape)
            value = median_us(numbers.compiled_matches, compiled, NUMBER)
            report(prefix, "dial_pattern_%d_%s_us" % (count, shape), value, "us")
            if count == 64 and shape == "wildcards":
                report(prefix, "dial_pattern_64_wildcards_vs_simple_ratio", value / simple_us, "x")
    report(
        prefix,
        "dial_pattern_compile_64_wildcards_us",
        median_us(_compile, wildcard_pattern(64), None),
        "us",
    )


def measure_re_baseline():
    import re

    short_number = "1" * 24
    for count in (4, 6, 8):
        regex = re.compile("(?:.*)1" * count + "2", re.DOTALL)
        value = median_us(lambda compiled, text: compiled.fullmatch(text), regex, short_number)
        ours = median_us(
            numbers.compiled_matches,
            numbers.compile_dial_pattern(interleaved_pattern(count)),
            short_number,
        )
        report("", "re_backtracking_%d_interleaved_24_chars_us" % count, value, "us")
        report("", "dial_pattern_%d_interleaved_24_chars_us" % count, ours, "us")


def measure_under_micropython():
    import shutil
    import subprocess

    snippet = os.path.join(ROOT, "tools", "benchmarks", "mpy_run.mjs")
    package = os.path.join(
        ROOT,
        "tools",
        "mpy",
        "node_modules",
        "@micropython",
        "micropython-webassembly-pyscript",
        "package.json",
    )
    if not (shutil.which("node") and os.path.exists(snippet) and os.path.exists(package)):
        print("# MicroPython figures skipped: node or the WebAssembly package is missing")
        return
    result = subprocess.run(
        ["node", snippet, os.path.abspath(__file__)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        print("# MicroPython run failed: %s" % result.stderr.strip()[-300:])


if IS_MICROPYTHON:
    measure("mpy_")
else:
    measure("")
    measure_re_baseline()
    sys.stdout.flush()
    measure_under_micropython()
