# The panel of the scale benchmarks (tools/benchmarks/bench_scale.py on
# CPython and scale_mpy_measure.py under MicroPython, which gets this file at
# /lib/support): a board with the product's full rule limits, and the panel
# wired over a store in a directory, as panel.wiring builds it on a board.
import json

from panel.clock import Clock
from panel.drivers.pins import RecordingPin
from panel.store import Store
from panel.wiring import BoardParts, build_panel

SCALE_BOARD = {
    "name": "bench",
    "device_model": "BENCH-PANEL",
    "mcu_version": "bench",
    "device_serial_number": "00000000-0000-4000-8000-000000000001",
    "limits": {
        "forward_rules": 10000,
        "redirect_rules": 1024,
        "tokens": 8,
        "call_log_entries": 20,
        "identifiers": 10,
        "body_bytes": 16384,
    },
}


def open_panel(path):
    """(store, panel, app) of the scale board over the store at `path`."""
    store = Store(path)
    store.open()
    parts = BoardParts(
        store=store, clock=Clock(assume_set=True), relay_pins=[RecordingPin(1), RecordingPin(2)]
    )
    panel = build_panel(json.loads(json.dumps(SCALE_BOARD)), parts)
    return store, panel, panel.app
