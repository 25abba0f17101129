# A program for the MicroPython unix port, run by test_sip_ua_mpy_unix.py as
# `micropython -X heapsize=... mpy_unix_ua.py LIB MODE PEER_PORT`: the SIP user
# agent (drivers/sip_ua.py) and RTP (drivers/rtp_session.py) over real sockets
# (drivers/sockets.py) against sipp. LIB holds panel/ as on a board.
#   register  register with digest, refresh once, unregister
#   call      call sip:5588@peer, collect five DTMF digits, hang up
# A MemoryError and an OSError are injected into the UA's first socket reads
# that find a datagram. Prints one line "RESULT <json>" at the end.
import sys

sys.path.insert(0, sys.argv[1])

import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402

from panel.compat import ENOMEM, sleep_ms, ticks_add, ticks_diff, ticks_ms  # noqa: E402
from panel.drivers import sockets  # noqa: E402
from panel.drivers.rtp_session import RtpSession  # noqa: E402
from panel.drivers.sip_ua import SipUserAgent  # noqa: E402
from panel.proto import sdp  # noqa: E402

MODE = sys.argv[2]
PEER_PORT = int(sys.argv[3])


async def until(condition, timeout_ms=15000):
    deadline = ticks_add(ticks_ms(), timeout_ms)
    while not condition():
        if ticks_diff(deadline, ticks_ms()) <= 0:
            return False
        await sleep_ms(20)
    return True


def inject(udp, errors):
    real = udp.recvfrom
    pending = list(errors)

    def recvfrom(size):
        if pending:
            raise pending.pop(0)
        return real(size)

    udp.recvfrom = recvfrom
    return pending


async def main():
    result = {"steps": []}
    udp = sockets.udp_socket("127.0.0.1")
    rtp_socket = sockets.udp_socket("127.0.0.1")
    events = []
    digits = []
    sessions = []

    def on_event(kind, call, detail):
        events.append(kind)
        if kind == "answered":
            session = RtpSession(rtp_socket, detail, digits.append)
            session.start()
            sessions.append(session)
        elif kind == "dtmf":
            digits.append(detail)

    ua = SipUserAgent(udp, on_event=on_event)
    pending = inject(ua.transport, [MemoryError("injected"), OSError(ENOMEM)])
    ua.start()
    if MODE == "register":
        ua.register(
            {
                "proxy": "sip:127.0.0.1:%d" % PEER_PORT,
                "realm": "127.0.0.1",
                "user": "100001",
                "password": "s3cret",
                "user_id": "",
                "registration_interval": 30,
            }
        )
        result["steps"].append(await until(lambda: ua.status()["sip_status"] == "OK"))
        result["steps"].append(await until(lambda: ua._registration.sequence >= 4))
        result["steps"].append(await until(lambda: ua._registration.registered))
        ua.unregister()
        await sleep_ms(500)  # the answer to the unregister
    else:
        offer = sdp.build(1, 1, "127.0.0.1", rtp_socket.local_address[1])
        call = ua.invite("sip:5588@127.0.0.1:%d" % PEER_PORT, offer)
        result["steps"].append(await until(lambda: len(digits) >= 5))
        call.bye()
        result["steps"].append(await until(lambda: call.state == "ended"))
        result["rtp"] = sessions[0].counters if sessions else None
    ua.stop()
    for session in sessions:
        session.stop()
    gc.collect()
    result.update(
        {
            "status": ua.status()["sip_status"],
            "events": events,
            "digits": digits,
            "pending_faults": len(pending),
            "counters": ua.counters,
            "heap_used": gc.mem_alloc(),  # after collecting: what stays live
        }
    )
    udp.close()
    rtp_socket.close()
    print("RESULT " + json.dumps(result))


asyncio.run(main())
