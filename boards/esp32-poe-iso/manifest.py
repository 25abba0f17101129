# MicroPython manifest (docs.micropython.org/en/latest/reference/manifest.html)
# of a frozen-firmware image for the Olimex ESP32-POE-ISO: the ESP32 port's own
# modules, then the panel and the pinned microdot frozen into flash, so their
# bytecode runs from flash instead of the heap. Build from a MicroPython
# checkout (README "Flash a real panel"):
#     make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=SPIRAM \
#         FROZEN_MANIFEST=$PANEL/boards/esp32-poe-iso/manifest.py
include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821 - defined by MicroPython's makemanifest
require("ntptime")  # noqa: F821 - defined by MicroPython's makemanifest
# Paths are relative to this file: the repository's firmware/, and the pinned
# microdot's sources that `make firmware` copies to build/microdot-src/.
package("panel", base_path="../../firmware")  # noqa: F821 - defined by MicroPython's makemanifest
package("microdot", base_path="../../build/microdot-src")  # noqa: F821 - defined by MicroPython's makemanifest
