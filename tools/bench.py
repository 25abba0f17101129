"""`make bench`: runs every tools/benchmarks/bench_*.py and prints their lines.

Each benchmark is a script printing `name: value unit` lines, measuring the
project's code and its baseline in the same run so figures compare as ratios.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    directory = os.path.join(ROOT, "tools", "benchmarks")
    failures = 0
    selected = sys.argv[1:]
    for name in sorted(os.listdir(directory)):
        if not (name.startswith("bench_") and name.endswith(".py")):
            continue
        if selected and not any(part in name for part in selected):
            continue
        print("# " + name, flush=True)
        result = subprocess.run([sys.executable, os.path.join(directory, name)], cwd=ROOT)
        if result.returncode != 0:
            failures += 1
            print("# %s failed with status %d" % (name, result.returncode), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
