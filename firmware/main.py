# Board entry point: read the board file, build the board's parts from it (the
# store on flash, the clock, relay pins, the adapter's UART, the SIP and RTP
# sockets), hand them to the one wiring (panel.wiring.build_panel) and run the
# one asyncio loop. The host simulator (host/panel_process.py) calls the same
# wiring with a laptop's parts instead.
#
# Copied to the board's root with board.json beside it. Everything that touches
# hardware is built here, from the board description, and nowhere at import
# time (DESIGN.md rule 3).
#
# The MicroPython unix board (boards/unix, `make run RUNTIME=micropython`) runs
# this same file over its .mpy build; there the launcher (host/run.py) passes
# what `make run` passes the CPython panel on the command line:
#     micropython -X heapsize=... main.py --port 8080 --data var/host \
#         --adapter var/host/adapter-pty --sip-port 0 --board board.json
# and restarts it when it exits with REBOOT_EXIT_CODE. Its board file asks for
# the simulator front ("sim": true: the /sim/ routes, package sim/) and
# simulated relays ("relay": "simulated"); a real board's build has no sim/.
import asyncio
import json
import os
import sys

from panel.clock import Clock
from panel.drivers.sockets import udp_socket
from panel.store import Store

# panel.wiring (and with it nearly all the code) is imported only once the
# stores are open: their index is the one large block a boot allocates, and on
# a small heap it finds a contiguous hole only before the code fills the heap
# with small objects (board_parts, run).

# The board file sits beside this file: the root of the board's flash (an
# absolute "/board.json" would be wrong wherever the firmware is not at "/",
# as on the unix port or in a staging folder).
BOARD_FILE = "board.json"
# MicroPython ports whose epoch is 2000-01-01 are this many seconds behind Unix.
_EPOCH_2000_OFFSET = 946684800
# What a simulator board exits with when the API asks for a reboot, so that its
# launcher starts it again (host/panel_process.py's REBOOT_EXIT_CODE).
REBOOT_EXIT_CODE = 75
# Command-line options (simulator boards only) and the board-file keys they set.
_OPTIONS = ("--board", "--port", "--data", "--adapter", "--sip-port", "--loopback-only")


def _here():
    path = __file__ if "__file__" in globals() else ""
    cut = path.rfind("/")
    return path[:cut] if cut > 0 else "."


def load_board(path=None):
    with open(path or (_here() + "/" + BOARD_FILE)) as handle:
        return json.load(handle)


def command_line(argv):
    """{option: value} of the simulator's command line; {} on a board."""
    options = {}
    index = 1
    while index + 1 < len(argv):
        name = argv[index]
        if name not in _OPTIONS:
            raise SystemExit("unknown option " + name)
        options[name] = argv[index + 1]
        index += 2
    if index < len(argv):
        raise SystemExit("option without a value: " + argv[index])
    return options


def apply_options(board, options):
    """The board file with the command line's overrides (a new dict)."""
    board = dict(board)
    if "--port" in options:
        board["http_port"] = int(options["--port"])
    if "--data" in options:
        board["data_dir"] = options["--data"]
    if options.get("--loopback-only") == "1":
        board["loopback_only"] = True  # the tests' sandbox (drivers.sockets)
    if "--sip-port" in options:
        board["sip"] = dict(board.get("sip") or {})
        board["sip"]["local_port"] = int(options["--sip-port"])
    adapter = dict(board.get("adapter") or {})
    if "--adapter" in options:
        adapter["path"] = options["--adapter"]
    elif adapter.get("transport") == "pty":
        adapter = {}  # a simulator started without its emulator
    board["adapter"] = adapter
    return board


def unix_time_source():
    import time

    offset = _EPOCH_2000_OFFSET if time.gmtime(0)[0] == 2000 else 0

    def now():
        return time.time() + offset

    return now


def relay_pins(board, hardware=None):
    if hardware is not None:
        return hardware.relay_pins()  # machine.Pin with the board's active levels
    if board.get("relay") == "simulated":
        from sim.relay import SimulatedRelayPin

        log = board.get("data_dir", "data") + "/relay.log"
        return [SimulatedRelayPin(number, log) for number in range(1, board.get("locks", 2) + 1)]
    from machine import Pin

    return [Pin(number, Pin.OUT, value=0) for number in board.get("relay_pins", [])]


def adapter_opener(board):
    """`async def()` opening the hybrid adapter's UART as an asyncio stream,
    or None when the board file names no adapter UART."""
    adapter = board.get("adapter") or {}
    if adapter.get("transport") == "pty" and adapter.get("path"):
        from panel.drivers.pty_stream import pty_opener

        return pty_opener(adapter["path"])
    if adapter.get("transport") != "uart":
        return None
    from machine import UART

    from panel.drivers.uart_stream import uart_opener

    return uart_opener(UART, adapter)


def sip_socket_factory(board):
    """callable() -> (UDP socket, (host, port)) on the board's SIP address;
    None when the board file says "sip": null (the recovery panel)."""
    if "sip" in board and board["sip"] is None:
        return None
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


def open_rtcp_socket(rtp_address):
    """A call's RTCP socket: its RTP port + 1 (RFC 3550 11)."""
    return udp_socket(rtp_address[0], rtp_address[1] + 1)


def reset():
    import machine

    machine.reset()


def sim_front(board, pins):
    """(extra_routes, public_prefixes) of a simulator board's front, or None."""
    if not board.get("sim"):
        return None, ()
    from sim import front, hardware

    def mount(app, panel):
        front.register(app, panel, pins)
        hardware.register(app, panel)

    return mount, (front.PREFIX,)


def board_hardware(board):
    """A real board's drivers (panel.hardware) over the port's machine,
    network and ntptime modules; None on a simulator board."""
    if not board.get("hardware"):
        return None
    import machine
    import network

    from panel.hardware import BoardHardware

    try:
        import ntptime
    except ImportError:
        ntptime = None  # a firmware built without it: the clock stays unset
    return BoardHardware(board, machine, network, ntptime)


def board_parts(board, reboot=None, hardware=None):
    """Every part of a board, from its board file."""
    data_dir = board.get("data_dir", "data")
    try:
        os.mkdir(data_dir)
    except OSError:
        pass  # exists already
    store = Store(data_dir + "/store")
    store.open()
    # The admin account in a store of its own: damage to the rules' files
    # cannot reach it.
    account_dir = data_dir + "/account"
    if board.get("recovery"):
        # A fresh account store each recovery boot: the factory account.
        from panel.safe_boot import RECOVERY_ACCOUNT_DIR, remove_tree

        account_dir = data_dir + "/" + RECOVERY_ACCOUNT_DIR
        remove_tree(account_dir)
    account_store = Store(account_dir)
    account_store.open()
    pins = relay_pins(board, hardware)
    extra_routes, public_prefixes = sim_front(board, pins)
    from panel.wiring import BoardParts

    return BoardParts(
        store=store,
        account_store=account_store,
        clock=Clock(unix_time_source(), assume_set=bool(board.get("sim"))),
        relay_pins=pins,
        open_adapter=hardware.adapter_opener() if hardware else adapter_opener(board),
        sip_socket=sip_socket_factory(board),
        rtp_socket=rtp_socket_factory(board),
        rtcp_socket=open_rtcp_socket,
        tone_hz=board.get("tone_hz", 0),
        reboot=reboot or reset,
        extra_routes=extra_routes,
        public_prefixes=public_prefixes,
    )


async def run(board=None, parts=None, safe_boot=None):
    """Serve until the API asks for a reboot; REBOOT_EXIT_CODE then (when this
    entry built the parts: a board resets before that)."""
    board = board or load_board()
    rebooting = asyncio.Event()
    hardware = board_hardware(board) if parts is None else None
    parts = parts or board_parts(board, rebooting.set, hardware)
    from panel.wiring import build_panel

    panel = build_panel(board, parts)
    panel.start()
    server = asyncio.create_task(panel.serve())
    if hardware is not None:
        hardware.attach(panel, server)
        hardware.start()
    await _until_listening(panel, server)
    if safe_boot is not None:
        safe_boot.panel_up()  # the panel is up: the crash count starts again

    async def reboot_when_asked():
        await rebooting.wait()
        panel.shutdown()

    watcher = asyncio.create_task(reboot_when_asked())
    print("panel: listening on http://%s:%d/" % (board.get("http_host"), board.get("http_port")))
    await server
    watcher.cancel()
    if hardware is not None:
        hardware.stop()
    panel.stop()
    parts.store.close()
    if parts.account_store is not None:
        parts.account_store.close()
    return REBOOT_EXIT_CODE if rebooting.is_set() else 0


async def _until_listening(panel, server):
    while panel.app.server is None and not server.done():
        await asyncio.sleep(0.05)


def main(argv=None):
    options = command_line(sys.argv if argv is None else argv)
    board = apply_options(load_board(options.get("--board")), options)
    if not board.get("hardware"):
        status = asyncio.run(run(board))
        if status:
            sys.exit(status)
        return
    board_main(board)


def board_main(board):
    """A real board: safe boot, and a reset (never the REPL) after a crash
    or a reboot asked over the API."""
    from panel.safe_boot import SafeBoot, recovery_board

    safe_boot = SafeBoot()
    if safe_boot.in_recovery():
        print("panel: %d boots crashed before the panel was up: recovery mode" % safe_boot.limit)
        board = recovery_board(board)
        safe_boot.recovery_started()
    try:
        asyncio.run(run(board, safe_boot=safe_boot))
    except Exception as error:  # a crash: log it, reset; the next boot counts it
        from panel.compat import print_exception

        print_exception(error)
    reset()


if __name__ == "__main__":
    main()
