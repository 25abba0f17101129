"""`make firmware BOARD=<name>` and `make deploy BOARD=<name> DEVICE=/dev/ttyUSB0`.

    python tools/deploy.py build  --board pico2w
    python tools/deploy.py deploy --board pico2w --device /dev/ttyACM0 [--wifi FILE] [--frozen]
    DRY_RUN=1 python tools/deploy.py deploy ...     # print the mpremote commands only

build: tools/compile_firmware.py's board tree in build/<board>/ (the .mpy tree
of the firmware and the pinned microdot, the board file, boot.py, main.py),
plus the pinned microdot's sources in build/microdot-src/ for the boards'
manifest.py (a frozen-firmware image).
deploy: copies the tree onto the board's flash with mpremote (requirements.txt
pins it), the Wi-Fi credentials file when given (never in git), and resets the
board. --frozen: the firmware image has panel/ and microdot/ frozen in
(manifest.py), so only main.py, boot.py and board.json are copied.
"""

import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import compile_firmware  # noqa: E402

MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
WIFI_FILE = "wifi.json"  # panel/drivers/network_link.py WIFI_FILE


def build(board):
    tree = compile_firmware.build_board(board)
    source = os.path.join(ROOT, "build", "microdot-src", "microdot")
    shutil.rmtree(source, ignore_errors=True)
    os.makedirs(source)
    for name in compile_firmware.MICRODOT_MODULES:
        shutil.copyfile(
            os.path.join(compile_firmware.microdot_directory(), name), os.path.join(source, name)
        )
    print("%s: %d bytes of .mpy" % (os.path.relpath(tree, ROOT), compile_firmware.tree_bytes(tree)))
    return tree


def deploy_commands(tree, device, wifi=None, frozen=False):
    """The mpremote command lines, in order."""
    base = [MPREMOTE, "connect", device]
    commands = []
    names = ["boot.py", "main.py", "board.json"]
    if not frozen:
        names += ["panel", "microdot"]
    for name in names:
        path = os.path.join(tree, name)
        if os.path.isdir(path):
            commands.append(base + ["fs", "cp", "-r", path, ":"])
        else:
            commands.append(base + ["fs", "cp", path, ":" + name])
    if wifi:
        commands.append(base + ["fs", "cp", wifi, ":" + WIFI_FILE])
    commands.append(base + ["reset"])
    return commands


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("build", "deploy"))
    parser.add_argument("--board", required=True)
    parser.add_argument("--device", default="/dev/ttyUSB0")
    parser.add_argument("--wifi", help="the Wi-Fi credentials file to copy as wifi.json")
    parser.add_argument(
        "--frozen", action="store_true", help="the image has the firmware frozen in"
    )
    args = parser.parse_args(argv)
    if not os.path.exists(compile_firmware.board_file(args.board)):
        print("no board file boards/%s/board.json" % args.board)
        return 2
    tree = build(args.board)
    if args.action == "build":
        return 0
    dry_run = bool(os.environ.get("DRY_RUN"))
    for command in deploy_commands(tree, args.device, args.wifi, args.frozen):
        print(" ".join(command), flush=True)
        if not dry_run:
            result = subprocess.run(command)
            if result.returncode != 0:
                return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
