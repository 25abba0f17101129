"""The /sim/ routes: moved to firmware/sim/front.py so that the MicroPython unix
board mounts the same code; re-exported here for the host's imports."""

from sim.front import PREFIX, register  # noqa: F401
