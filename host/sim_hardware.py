"""The /sim/ exit button, door sensor and card reader: moved to
firmware/sim/hardware.py so that the MicroPython unix board mounts the same
code; re-exported here for the host's imports."""

from sim.hardware import register  # noqa: F401
