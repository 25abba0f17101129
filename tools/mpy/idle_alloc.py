# Heap garbage of the network drivers' poll tasks, measured under the
# MicroPython unix port with the collector off:
#   .venv/bin/micropython -X heapsize=8m tools/mpy/idle_alloc.py [FIRMWARE_DIR]
# FIRMWARE_DIR (default firmware) holds panel/; point it at an older tree to
# compare. Prints bytes allocated per idle SipUserAgent.poll(), and per second
# by a started SIP task (asyncio round included) and by an RTP task sending
# silence to a peer that sends nothing back.
import sys

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "firmware")

import asyncio  # noqa: E402
import gc  # noqa: E402
import socket  # noqa: E402

from panel.drivers.rtp_session import RtpSession  # noqa: E402
from panel.drivers.sip_ua import SipUserAgent  # noqa: E402
from panel.proto import sdp  # noqa: E402

POLLS = 1000


def bound_socket():
    # Built by hand, as a board's entry point would, so older trees work too.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
    sock.setblocking(False)
    return sock


def allocated_during(function):
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        function()
        return gc.mem_alloc() - before
    finally:
        gc.enable()


async def allocated_while_running(task_owner, milliseconds=1000):
    task_owner.start()
    await asyncio.sleep_ms(100)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    await asyncio.sleep_ms(milliseconds)
    allocated = gc.mem_alloc() - before
    gc.enable()
    task_owner.stop()
    return allocated


async def main():
    ua = SipUserAgent(bound_socket(), ("127.0.0.1", 5060))
    ua.poll(0)

    def polls():
        for now in range(1, POLLS + 1):
            ua.poll(now)

    print("SipUserAgent.poll, idle: %d bytes per poll" % (allocated_during(polls) // POLLS))
    print("SIP task, idle: %d bytes per second" % await allocated_while_running(ua))
    peer = bound_socket()
    port = peer.getsockname()[1] if hasattr(peer, "getsockname") else 9
    session = RtpSession(bound_socket(), sdp.MediaPlan("127.0.0.1", port, 0, 101, 20, "sendrecv"))
    allocated = await allocated_while_running(session)
    print(
        "RTP task, sending: %d bytes per second, %d frames sent"
        % (allocated, session.counters["sent"])
    )


asyncio.run(main())
