# MicroPython manifest (docs.micropython.org/en/latest/reference/manifest.html)
# of a frozen-firmware image for the Raspberry Pi Pico 2 W. With 192 KiB of
# heap this is the recommended way to run the panel: frozen bytecode stays in
# flash (XIP) instead of being loaded into RAM. Build from a MicroPython
# checkout (README "Flash a real panel"):
#     make -C ports/rp2 BOARD=RPI_PICO2_W \
#         FROZEN_MANIFEST=$PANEL/boards/pico2w/manifest.py
include("$(BOARD_DIR)/manifest.py")  # noqa: F821 - defined by MicroPython's makemanifest
require("ntptime")  # noqa: F821 - defined by MicroPython's makemanifest
# Paths are relative to this file: the repository's firmware/, and the pinned
# microdot's sources that `make firmware` copies to build/microdot-src/.
package("panel", base_path="../../firmware")  # noqa: F821 - defined by MicroPython's makemanifest
package("microdot", base_path="../../build/microdot-src")  # noqa: F821 - defined by MicroPython's makemanifest
