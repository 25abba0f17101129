"""Compile every file under firmware/ with mpy-cross (DESIGN.md, rule 5).

Output goes to build/mpy/ (what would be copied or frozen onto a board). Exits
non-zero and names the file when any does not compile.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")


def main():
    source_root = os.path.join(ROOT, "firmware")
    output_root = os.path.join(ROOT, "build", "mpy")
    compiled = 0
    failures = []
    for directory, _, files in os.walk(source_root):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            source = os.path.join(directory, name)
            relative = os.path.relpath(source, source_root)
            target = os.path.join(output_root, relative[:-3] + ".mpy")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            result = subprocess.run(
                [MPY_CROSS, "-o", target, source], capture_output=True, text=True
            )
            if result.returncode != 0:
                failures.append((relative, result.stderr.strip()))
            else:
                compiled += 1
    for relative, error in failures:
        print("mpy-cross rejects %s: %s" % (relative, error))
    print("mpy-cross: %d compiled, %d failed" % (compiled, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
