"""The simulated lock relays: moved to firmware/sim/relay.py (shared with the
MicroPython unix board); re-exported here for the host's imports."""

from sim.relay import SimulatedRelayPin  # noqa: F401
