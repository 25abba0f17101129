# Builds the real panel through the one wiring (panel.wiring.build_panel: real
# store in a temporary directory, recording relay pins, no radio) and talks to
# its app with microdot's TestClient, on both runtimes.
import json

from microdot.test_client import TestClient

from checks import temp_dir
from panel.clock import Clock
from panel.drivers.pins import RecordingPin
from panel.store import Store
from panel.wiring import BoardParts, build_panel

BASIC = {"Authorization": "Basic YWRtaW46MTIzNDU2"}  # admin:123456

TEST_BOARD = {
    "name": "test",
    "device_model": "TEST-PANEL",
    "mcu_version": "test MCU",
    "device_serial_number": "00000000-0000-4000-8000-000000000001",
    "limits": {
        "forward_rules": 50,
        "redirect_rules": 8,
        "tokens": 8,
        "call_log_entries": 20,
        "identifiers": 10,
        "body_bytes": 16384,
    },
}


class Harness:
    def __init__(self, name, board=None, clock=None, call_clock=None):
        self.directory = temp_dir(name)
        self.store = Store(self.directory + "/store")
        self.store.open()
        self.pins = [RecordingPin(1), RecordingPin(2)]
        self.board = json.loads(json.dumps(board or TEST_BOARD))
        self.clock = clock or Clock(assume_set=True)
        # call_clock: the ms ticks of calls, tokens and brute-force windows
        # (tests/shared/fake_clock.FakeClock to move them by hand).
        self.call_clock = call_clock
        parts = BoardParts(
            store=self.store, clock=self.clock, relay_pins=self.pins, call_clock=call_clock
        )
        self.panel = build_panel(self.board, parts)
        self.services = self.panel.services
        self.app = self.panel.app
        self.client = TestClient(self.app)

    async def call(self, method, path, body=None, headers=None, auth=True, raw=None):
        all_headers = {}
        if auth:
            all_headers.update(BASIC)
        if headers:
            all_headers.update(headers)
        if raw is not None:
            all_headers.setdefault("Content-Type", "application/json")
            response = await self.client.request(method, path, headers=all_headers, body=raw)
        else:
            response = await self.client.request(method, path, headers=all_headers, body=body)
        return response

    def close(self):
        self.panel.stop()
        self.store.close()
