"""Each real board's build size and heap budget (`make bench`).

Prints per board in boards/ whose board file says "hardware": true:
  firmware_mpy_bytes_<board>   bytes of .mpy in build/<board>/ (what a deploy
                               copies onto the flash file system, or what the
                               frozen image's manifest.py puts into flash)
  heap_budget_kib_<board>      the board file's heap_kib
  mpy_bytes_per_heap_kib_<board>  the two divided: how much bytecode the heap
                               would have to hold if the tree is loaded (not frozen)
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import compile_firmware  # noqa: E402


def main():
    for name in sorted(os.listdir(os.path.join(ROOT, "boards"))):
        path = compile_firmware.board_file(name)
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            board = json.load(handle)
        if not board.get("hardware"):
            continue
        tree = compile_firmware.build_board(name)
        size = compile_firmware.tree_bytes(tree)
        print("firmware_mpy_bytes_%s: %d bytes" % (name, size))
        print("heap_budget_kib_%s: %d KiB" % (name, board["heap_kib"]))
        print("mpy_bytes_per_heap_kib_%s: %.0f bytes/KiB" % (name, size / board["heap_kib"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
