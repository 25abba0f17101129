# The simulator boards' front: what a developer (and the tests) press and see in
# place of a panel's physical keypad and door relays. Runtime-neutral, so the
# CPython simulator (host/panel_process.py) and the MicroPython unix board
# (boards/unix, firmware/main.py) mount the same code. A real board's build
# never gets this package: tools/compile_firmware.py copies it only into the
# tree of a board file that asks for it ("sim": true).
