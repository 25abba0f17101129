# Run by tests/host/test_http_server_mpy_unix.py in the MicroPython unix port
# (`micropython`, capped heap): the whole panel as the wiring builds it on a
# board (store in a directory, recording relay pins, no radio), its HTTP
# server on 127.0.0.1:PORT with the limits given, until the test ends the
# process.
#
# Usage: micropython mpy_unix_http.py LIB DATA_DIR PORT LIMITS_JSON
import sys

sys.path.insert(0, sys.argv[1])

import asyncio  # noqa: E402
import json  # noqa: E402

from panel.clock import Clock  # noqa: E402
from panel.drivers.pins import RecordingPin  # noqa: E402
from panel.store import Store  # noqa: E402
from panel.wiring import BoardParts, build_panel  # noqa: E402

BOARD = {
    "name": "mpy-unix-http",
    "device_model": "TEST-PANEL",
    "mcu_version": "unix port",
    "device_serial_number": "00000000-0000-4000-8000-000000000002",
    "limits": {"forward_rules": 50, "redirect_rules": 8, "call_log_entries": 20},
}


async def main():
    BOARD["limits"].update(json.loads(sys.argv[4]))
    store = Store(sys.argv[2] + "/store")
    store.open()
    parts = BoardParts(store=store, clock=Clock(assume_set=True), relay_pins=[RecordingPin(1)])
    panel = build_panel(BOARD, parts)
    panel.start()
    task = asyncio.create_task(panel.serve("127.0.0.1", int(sys.argv[3])))
    await asyncio.sleep(0.2)
    print("READY")
    await task


asyncio.run(main())
