"""Compile every file under firmware/ with mpy-cross (DESIGN.md, rule 5), and
build a board's tree.

    python tools/compile_firmware.py                 # check: build/mpy/
    python tools/compile_firmware.py --board unix    # the tree a board gets

The check compiles everything to build/mpy/ and exits non-zero naming any file
that does not compile. A board's tree (build/<board>/) is what would be copied
onto its flash: main.py (the entry, kept as source as MicroPython boots it),
board.json (the board file with the commit it was built from), panel/**.mpy,
microdot/*.mpy (the modules the app imports) and, only for a board file that
says "sim": true, the simulator front sim/*.mpy. Nothing else: no sources.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
FIRMWARE = os.path.join(ROOT, "firmware")
# The microdot modules the panel imports (microdot/__init__ -> microdot.microdot).
MICRODOT_MODULES = ("__init__.py", "microdot.py")


def compile_file(source, target):
    """mpy-cross source -> target; the error text, or None."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    result = subprocess.run([MPY_CROSS, "-o", target, source], capture_output=True, text=True)
    if result.returncode != 0:
        return result.stderr.strip() or "mpy-cross failed"
    return None


def compile_tree(source_root, output_root, names=None):
    """Compile the .py files under source_root (or only names); returns
    (count compiled, [(relative path, error)])."""
    compiled = 0
    failures = []
    for directory, _, files in os.walk(source_root):
        if "__pycache__" in directory:
            continue
        for name in sorted(files):
            if not name.endswith(".py") or (names is not None and name not in names):
                continue
            source = os.path.join(directory, name)
            relative = os.path.relpath(source, source_root)
            error = compile_file(source, os.path.join(output_root, relative[:-3] + ".mpy"))
            if error:
                failures.append((relative, error))
            else:
                compiled += 1
    return compiled, failures


def check():
    compiled, failures = compile_tree(FIRMWARE, os.path.join(ROOT, "build", "mpy"))
    for relative, error in failures:
        print("mpy-cross rejects %s: %s" % (relative, error))
    print("mpy-cross: %d compiled, %d failed" % (compiled, len(failures)))
    return 1 if failures else 0


def microdot_directory():
    import microdot

    return os.path.dirname(microdot.__file__)


def commit():
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return result.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# Built files a board's tree carries beside the .mpy code (paths in firmware/).
BOARD_ASSETS = (
    "panel/web/index.html.gz",
    "panel/web/manifest.json",
    "panel/api/openapi.json.gz",
)


def board_file(name):
    return os.path.join(ROOT, "boards", name, "board.json")


def _inputs(board):
    """(source root, folder in the tree, file names or None) of a board's tree."""
    parts = [(os.path.join(FIRMWARE, "panel"), "panel", None)]
    parts.append((microdot_directory(), "microdot", MICRODOT_MODULES))
    if board.get("sim"):
        parts.append((os.path.join(FIRMWARE, "sim"), "sim", None))
    return parts


def _fingerprint(name, board):
    """What the tree is built from: every input's path, size and mtime, the
    board file and the commit. The same fingerprint: the tree is up to date."""
    lines = [commit(), json.dumps(board, sort_keys=True), MPY_CROSS]
    files = [os.path.join(FIRMWARE, "main.py"), board_file(name)]
    files += [os.path.join(FIRMWARE, asset) for asset in BOARD_ASSETS]
    if board.get("safe_boot"):
        files.append(os.path.join(FIRMWARE, "boot.py"))
    for source_root, _, names in _inputs(board):
        for directory, _, found in os.walk(source_root):
            files += [
                os.path.join(directory, entry)
                for entry in found
                if entry.endswith(".py") and (names is None or entry in names)
            ]
    for path in sorted(files):
        status = os.stat(path)
        lines.append("%s %d %d" % (path, status.st_size, status.st_mtime_ns))
    return "\n".join(lines) + "\n"


def build_board(name, output=None, force=False):
    """Write build/<name>/ (or output) for the board unless it is up to date;
    returns its path. Raises RuntimeError naming the files mpy-cross rejects.
    The old tree is replaced by a rename, so a panel starting never sees half
    a tree (one already running from the old tree loses its lazy imports: a
    rebuild happens only when a source changed)."""
    with open(board_file(name)) as handle:
        board = json.load(handle)
    output = output or os.path.join(ROOT, "build", name)
    fingerprint = _fingerprint(name, board)
    stamp = os.path.join(output, ".fingerprint")
    if not force and os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read() == fingerprint:
                return output
    staging = "%s.new-%d" % (output, os.getpid())
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    failures = []
    for source_root, folder, names in _inputs(board):
        _, failed = compile_tree(source_root, os.path.join(staging, folder), names)
        failures += [(folder + "/" + relative, error) for relative, error in failed]
    if failures:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError("; ".join("mpy-cross rejects %s: %s" % item for item in failures))
    shutil.copyfile(os.path.join(FIRMWARE, "main.py"), os.path.join(staging, "main.py"))
    # Files the panel serves as they are: the web page's gzipped files and
    # manifest (tools/build_web.py) and the OpenAPI document (tools/openapi.py),
    # never their sources.
    for asset in BOARD_ASSETS:
        target = os.path.join(staging, asset)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(FIRMWARE, asset), target)
    if board.get("safe_boot"):
        # A real board's boot.py counts boots for the safe boot (panel/safe_boot.py).
        shutil.copyfile(os.path.join(FIRMWARE, "boot.py"), os.path.join(staging, "boot.py"))
    board["commit"] = commit()
    with open(os.path.join(staging, "board.json"), "w") as handle:
        json.dump(board, handle, indent=2)
    with open(os.path.join(staging, ".fingerprint"), "w") as handle:
        handle.write(fingerprint)
    # Move the old tree aside, the new one in, then drop the old one.
    old = "%s.old-%d" % (output, os.getpid())
    if os.path.exists(output):
        os.rename(output, old)
    os.rename(staging, output)
    shutil.rmtree(old, ignore_errors=True)
    return output


def tree_bytes(path, suffix=".mpy"):
    """Total size of the files under path ending in suffix."""
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            if name.endswith(suffix):
                total += os.path.getsize(os.path.join(directory, name))
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", help="build the tree of boards/BOARD/board.json")
    parser.add_argument("--output", help="where the board's tree goes (build/BOARD/)")
    args = parser.parse_args(argv)
    if not args.board:
        return check()
    try:
        output = build_board(args.board, args.output)
    except RuntimeError as error:
        print(error)
        return 1
    print("%s: %d bytes of .mpy" % (os.path.relpath(output, ROOT), tree_bytes(output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
