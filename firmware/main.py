# Board entry point: read the board description, build the panel from the
# board's parts and run the one asyncio loop. Copied to the board's root with
# /board.json next to it (tools/deploy.py); the host simulator uses
# host/panel_process.py instead, with the same Panel and app.
import asyncio
import json

from panel.app import Panel, build_app
from panel.clock import Clock
from panel.store import Store

BOARD_FILE = "/board.json"
# MicroPython ports whose epoch is 2000-01-01 are this many seconds behind Unix.
_EPOCH_2000_OFFSET = 946684800


def load_board():
    with open(BOARD_FILE) as handle:
        return json.load(handle)


def unix_time_source():
    import time

    offset = _EPOCH_2000_OFFSET if time.gmtime(0)[0] == 2000 else 0

    def now():
        return time.time() + offset

    return now


def relay_pins(board):
    # Built here, from the board description, never at import time elsewhere.
    from machine import Pin

    return [Pin(number, Pin.OUT, value=0) for number in board.get("relay_pins", [])]


def reset():
    import machine

    machine.reset()


async def run():
    board = load_board()
    store = Store(board.get("data_dir", "/data"))
    store.open()
    panel = Panel(board, store, Clock(unix_time_source()), relay_pins(board), reboot=reset)
    app = build_app(panel)
    panel.start()
    await app.start_server(host="0.0.0.0", port=board.get("http_port", 80))


def main():
    asyncio.run(run())


if __name__ == "__main__":
    main()
