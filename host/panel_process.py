"""One run of the simulated panel on the host (started and restarted by host.run).

Calls the firmware's one wiring (panel.wiring.build_panel, as firmware/main.py
does on a board) with the host board's parts: the store in a directory, the
system clock, simulated lock relays, the /sim/ routes, the SIP socket and
(when configured) the hybrid-adapter emulator's pseudo-terminal. Exits with
REBOOT_EXIT_CODE when the API asks for a reboot, so the launcher starts it again.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from host import sim_front, sim_hardware, sim_routes, wav_audio  # noqa: E402
from host.serial_transport import serial_opener  # noqa: E402
from host.simulated_relay import SimulatedRelayPin  # noqa: E402
from panel.clock import Clock  # noqa: E402
from panel.drivers.sockets import udp_socket  # noqa: E402
from panel.store import Store  # noqa: E402
from panel.wiring import BoardParts, build_panel  # noqa: E402

REBOOT_EXIT_CODE = 75
# What an answered SIP call hears when there is no voice file (no espeak-ng).
HOST_CALL_TONE_HZ = 425
# The visitor's default voice, made with espeak-ng on first use (host.wav_audio).
DEFAULT_VOICE = os.path.join(ROOT, "build", "voice.wav")


def load_board(path, port, data_dir):
    with open(path) as handle:
        board = json.load(handle)
    board["http_port"] = port
    board["data_dir"] = data_dir
    try:
        board["commit"] = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        board["commit"] = "unknown"
    return board


def sip_socket_factory(board, port):
    """callable() -> (UDP socket, its (host, port)) on the board's SIP address;
    port 0 takes any free port (the launcher's tests do)."""
    host = board.get("sip", {}).get("local_host", "127.0.0.1")

    def open_sip_socket():
        sock = udp_socket(host, port)
        return sock, sock.local_address

    return open_sip_socket


def rtp_socket_factory(board):
    """callable() -> (UDP socket, its (host, port)) for one call's RTP."""
    host = board.get("sip", {}).get("local_host", "127.0.0.1")

    def open_rtp_socket():
        sock = udp_socket(host)
        return sock, sock.local_address

    return open_rtp_socket


def rtcp_socket_for(rtp_address):
    """The RTCP socket of a call: the RTP port + 1 (RFC 3550 11)."""
    return udp_socket(rtp_address[0], rtp_address[1] + 1)


def voice_source_factory(voice):
    """callable() -> a WavSource of the voice file per call, or None (the tone)."""
    path = wav_audio.default_voice(DEFAULT_VOICE) if voice is None else voice
    if not path:
        return None
    wav_audio.read_wav(path)  # a bad file fails at start, not in a call
    return lambda: wav_audio.WavSource(path)


def host_routes(pins, adapter_control=None):
    """BoardParts.extra_routes of the host board: the /sim/ routes and the
    simulator's front page (also used by tests/host/test_openapi.py to walk
    every route the simulator has)."""

    def mount(app, panel):
        sim_routes.register(app, panel, pins)
        sim_hardware.register(app, panel)
        sim_front.register(app, adapter_control)

    return mount


async def serve(board, adapter_path=None, sip_port=None, adapter_control=None, voice=None):
    data_dir = board["data_dir"]
    os.makedirs(data_dir, exist_ok=True)
    store = Store(os.path.join(data_dir, "store"))
    store.open()
    # The admin account in a store of its own: damage to the rules' files
    # cannot reach it.
    account_store = Store(os.path.join(data_dir, "account"))
    account_store.open()
    pins = [
        SimulatedRelayPin(number, os.path.join(data_dir, "relay.log"))
        for number in range(1, board.get("locks", 2) + 1)
    ]
    reboot = asyncio.Event()
    if sip_port is None:
        sip_port = board.get("sip", {}).get("local_port", 5060)
    # What differs from a board: a pty for the adapter, simulated relays, the
    # /sim/ routes, and WAV files for the microphone (the visitor's voice) and
    # the speaker (what the resident says: one file per call under calls/).
    parts = BoardParts(
        store=store,
        account_store=account_store,
        clock=Clock(assume_set=True),
        relay_pins=pins,
        open_adapter=serial_opener(adapter_path) if adapter_path else None,
        sip_socket=sip_socket_factory(board, sip_port),
        rtp_socket=rtp_socket_factory(board),
        tone_hz=HOST_CALL_TONE_HZ,
        rtcp_socket=rtcp_socket_for,
        audio_source=voice_source_factory(voice),
        audio_sink=wav_audio.call_sink_factory(os.path.join(data_dir, "calls")),
        reboot=reboot.set,
        extra_routes=host_routes(pins, adapter_control),
        public_prefixes=(sim_routes.PREFIX,),
    )
    panel = build_panel(board, parts)
    panel.start()
    host = board.get("http_host", "127.0.0.1")
    server = asyncio.create_task(panel.serve(host, board["http_port"]))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    print("panel: listening on http://%s:%d/" % (host, board["http_port"]), flush=True)
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(reboot.wait()), server]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    panel.shutdown()
    panel.stop()
    store.close()
    account_store.close()
    for task in waiters:
        task.cancel()
    return REBOOT_EXIT_CODE if reboot.is_set() else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--board", default=os.path.join(ROOT, "boards", "host", "board.json"))
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data", default=os.path.join(ROOT, "var", "host"))
    parser.add_argument("--adapter", default=None, help="serial device of the hybrid adapter")
    parser.add_argument(
        "--sip-port",
        type=int,
        default=None,
        help="local SIP UDP port (default: the board's; 0: any free port)",
    )
    parser.add_argument(
        "--adapter-control",
        type=int,
        default=None,
        help="the adapter emulator's control port (the /sim/ page proxies to it)",
    )
    parser.add_argument(
        "--voice",
        default=None,
        help="WAV file the visitor says on SIP calls (default: a phrase made with "
        "espeak-ng into build/voice.wav; '' for the 425 Hz tone)",
    )
    parser.add_argument(
        "--loopback-only",
        action="store_true",
        help="send nothing beyond 127.0.0.0/8 (the tests' sandbox)",
    )
    args = parser.parse_args(argv)
    board = load_board(args.board, args.port, os.path.abspath(args.data))
    if args.loopback_only:
        board["loopback_only"] = True
    return asyncio.run(serve(board, args.adapter, args.sip_port, args.adapter_control, args.voice))


if __name__ == "__main__":
    sys.exit(main())
