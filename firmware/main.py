# Board entry point: read the board file, build the board's parts from it (the
# store on flash, the clock, relay pins, the adapter's UART, the SIP and RTP
# sockets), hand them to the one wiring (panel.wiring.build_panel) and run the
# one asyncio loop. The host simulator (host/panel_process.py) calls the same
# wiring with a laptop's parts instead.
#
# Copied to the board's root with board.json beside it. Everything that touches
# hardware is built here, from the board description, and nowhere at import
# time (DESIGN.md rule 3).
import asyncio
import json
import os

from panel.clock import Clock
from panel.drivers.sockets import udp_socket
from panel.store import Store
from panel.wiring import BoardParts, build_panel

# The board file sits beside this file: the root of the board's flash (an
# absolute "/board.json" would be wrong wherever the firmware is not at "/",
# as on the unix port or in a staging folder).
BOARD_FILE = "board.json"
# MicroPython ports whose epoch is 2000-01-01 are this many seconds behind Unix.
_EPOCH_2000_OFFSET = 946684800


def _here():
    path = __file__ if "__file__" in globals() else ""
    cut = path.rfind("/")
    return path[:cut] if cut > 0 else "."


def load_board(path=None):
    with open(path or (_here() + "/" + BOARD_FILE)) as handle:
        return json.load(handle)


def unix_time_source():
    import time

    offset = _EPOCH_2000_OFFSET if time.gmtime(0)[0] == 2000 else 0

    def now():
        return time.time() + offset

    return now


def relay_pins(board):
    from machine import Pin

    return [Pin(number, Pin.OUT, value=0) for number in board.get("relay_pins", [])]


def adapter_opener(board):
    """`async def()` opening the hybrid adapter's UART as an asyncio stream,
    or None when the board file names no adapter UART."""
    adapter = board.get("adapter") or {}
    if adapter.get("transport") != "uart":
        return None

    async def open_transport():
        from machine import UART

        options = {}
        for name in ("tx", "rx"):
            if name in adapter:
                options[name] = adapter[name]
        uart = UART(adapter.get("uart", 1), adapter.get("baud", 115200), **options)
        return asyncio.StreamReader(uart)

    return open_transport


def sip_socket_factory(board):
    """callable() -> (UDP socket, (host, port)) on the board's SIP address."""
    sip = board.get("sip") or {}
    host = sip.get("local_host", "0.0.0.0")
    port = sip.get("local_port", 5060)

    def open_sip_socket():
        sock = udp_socket(host, port)
        return sock, sock.local_address

    return open_sip_socket


def rtp_socket_factory(board):
    """callable() -> (UDP socket, (host, port)) for one call's RTP: an even
    free port (RFC 3550) on the SIP address."""
    host = (board.get("sip") or {}).get("local_host", "0.0.0.0")

    def open_rtp_socket():
        sock = udp_socket(host)
        return sock, sock.local_address

    return open_rtp_socket


def reset():
    import machine

    machine.reset()


def board_parts(board):
    """Every part of a real board, from its board file."""
    data_dir = board.get("data_dir", "data")
    try:
        os.mkdir(data_dir)
    except OSError:
        pass  # exists already
    store = Store(data_dir + "/store")
    store.open()
    # The admin account in a store of its own: damage to the rules' files
    # cannot reach it.
    account_store = Store(data_dir + "/account")
    account_store.open()
    return BoardParts(
        store=store,
        account_store=account_store,
        clock=Clock(unix_time_source()),
        relay_pins=relay_pins(board),
        open_adapter=adapter_opener(board),
        sip_socket=sip_socket_factory(board),
        rtp_socket=rtp_socket_factory(board),
        reboot=reset,
    )


async def run(board=None, parts=None):
    board = board or load_board()
    panel = build_panel(board, parts or board_parts(board))
    panel.start()
    await panel.serve()


def main():
    asyncio.run(run())


if __name__ == "__main__":
    main()
