# The UDP user agent (drivers/sip_ua.py) and RTP session against real sipp
# peers on 127.0.0.1: registrar with digest, answering, busy, ringing-forever,
# hanging-up and challenging UASs, and a UAC sending garbage.
import asyncio
import socket
import struct
import time

import pytest

from panel.drivers.rtp_session import RtpSession
from panel.drivers.sip_ua import SipUserAgent
from panel.proto import rtp, sdp
from support.sipp import Sipp, sipp_path

pytestmark = pytest.mark.skipif(
    sipp_path() is None, reason="sipp missing: `make sipp` installs sip-tester"
)

SETTINGS = {
    "proxy": "sip:127.0.0.1:5060",
    "realm": "127.0.0.1",
    "user": "100001",
    "password": "s3cret",
    "user_id": "",
    "registration_interval": 30,
    "transport": "udp",
    "outbound": "",
}


def _udp_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class UserAgentRig:
    """A UA on a real socket with its events recorded, as the controller sees them."""

    def __init__(self):
        self.socket = _udp_socket()
        self.rtp_socket = _udp_socket()
        self.events = []
        self.digits = []
        self.sessions = []
        self.ua = SipUserAgent(self.socket, self.socket.getsockname(), self.on_event)

    def on_event(self, kind, call, detail):
        self.events.append((kind, detail))
        if kind == "answered":
            session = RtpSession(self.rtp_socket, detail, self.digits.append)
            session.start()
            self.sessions.append(session)
        elif kind == "dtmf":
            self.digits.append(detail)

    def kinds(self):
        return [event[0] for event in self.events]

    def offer(self):
        return sdp.build(1, 1, "127.0.0.1", self.rtp_socket.getsockname()[1])

    async def until(self, condition, timeout_s=15):
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "timed out; events %r" % self.events
            await asyncio.sleep(0.02)

    def close(self):
        self.ua.stop()
        for session in self.sessions:
            session.stop()
        self.socket.close()
        self.rtp_socket.close()


async def _finish(panel, sipp):
    status = await sipp.wait(20)
    panel.close()
    assert status == 0, sipp.log()
    assert panel.ua.counters["internal_errors"] == 0


async def test_register_with_digest_refresh_and_unregister(tmp_path):
    sipp = Sipp("registrar_digest.xml", tmp_path).start()
    panel = UserAgentRig()
    panel.ua.start()
    assert panel.ua.status() == {"sip_status": "OFFLINE", "register_last_attempt": None}
    before = int(time.time())
    panel.ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % sipp.port))
    await panel.until(lambda: panel.ua.status()["sip_status"] == "OK")
    first_attempt = panel.ua.status()["register_last_attempt"]
    assert before <= first_attempt <= int(time.time())
    # The registrar granted 2 s: the UA refreshes (at half the grant) and stays OK.
    await panel.until(lambda: panel.ua._registration.sequence >= 4)
    await panel.until(lambda: panel.ua._registration.registered)
    assert panel.ua.status()["sip_status"] == "OK"
    panel.ua.unregister()
    assert panel.ua.status()["sip_status"] == "OFFLINE"
    await _finish(panel, sipp)
    assert [detail for kind, detail in panel.events if kind == "registration"] == [
        "ERROR",
        "OK",
        "OFFLINE",
    ]


async def test_settings_change_moves_the_binding(tmp_path):
    sipp = Sipp("registrar_change.xml", tmp_path, extra=["-m", "2"]).start()
    panel = UserAgentRig()
    panel.ua.start()
    old = dict(SETTINGS, proxy="sip:127.0.0.1:%d" % sipp.port)
    panel.ua.register(old)
    await panel.until(lambda: panel.ua.status()["sip_status"] == "OK")
    sent = panel.ua._registration.sequence
    panel.ua.register(dict(old))  # unchanged settings: nothing is sent
    assert panel.ua._registration.sequence == sent
    old_call_id = panel.ua._registration.call_id
    panel.ua.register(dict(old, user="100002"))
    assert panel.ua._registration.call_id != old_call_id
    await panel.until(lambda: panel.ua.status()["sip_status"] == "OK")
    await _finish(panel, sipp)
    log = sipp.log()
    assert "Expires: 0" in log and "sip:100002@" in log


async def test_wrong_password_gives_error_status(tmp_path):
    sipp = Sipp("registrar_digest.xml", tmp_path).start()
    panel = UserAgentRig()
    panel.ua.start()
    panel.ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % sipp.port, password="wrong"))
    await panel.until(lambda: panel.ua.counters["received"] >= 2)
    await asyncio.sleep(0.3)
    assert panel.ua.status()["sip_status"] == "ERROR"
    assert panel.ua.status()["register_last_attempt"] is not None
    status = await sipp.wait(20)
    panel.close()
    assert status == 1  # the registrar's scenario fails on the bad answer


async def test_silent_registrar_gets_timer_e_retransmissions():
    # A real socket that never answers: the REGISTER is retransmitted on Timer
    # E (Timer F, 32 s, is left to the transaction tests with a passed-in clock).
    panel = UserAgentRig()
    panel.ua.start()
    silent = _udp_socket()
    panel.ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % silent.getsockname()[1]))
    await asyncio.sleep(1.7)
    received = []
    silent.setblocking(False)
    try:
        while True:
            received.append(silent.recv(5000))
    except BlockingIOError:
        pass
    silent.close()
    panel.close()
    # The first send and Timer E retransmissions at 0.5 and 1.5 s, same branch.
    assert len(received) == 3 and len(set(received)) == 1
    assert panel.ua.status()["sip_status"] == "ERROR"


async def test_answered_call_with_rfc4733_and_info_dtmf_then_local_bye(tmp_path):
    sipp = Sipp("uas_answer_dtmf.xml", tmp_path, extra=["-rtp_echo"]).start()
    panel = UserAgentRig()
    panel.ua.start()
    call = panel.ua.invite("sip:5588@127.0.0.1:%d" % sipp.port, panel.offer())
    await panel.until(lambda: len(panel.digits) >= 5)
    assert panel.kinds()[:2] == ["ringing", "answered"]
    plan = panel.events[1][1]
    assert plan.address == "127.0.0.1" and plan.port == sipp.media_port
    assert plan.audio_type == 0 and plan.event_type == 101
    # "1", "#", "2" by RFC 4733 (each with three end packets), "5", "*" by INFO.
    assert panel.digits == ["1", "#", "2", "5", "*"]
    collector = rtp.DigitCollector({1: "1", 2: "#2"})
    opened = []
    for index, digit in enumerate(panel.digits[:3]):
        opened.extend(collector.add(digit, index * 500))
    assert opened == [1, 2]
    session = panel.sessions[0]
    # Our PCMU went to the port of the answer's SDP: sipp echoed it back.
    assert session.counters["sent"] > 20 and session.counters["received"] > 20
    assert session.counters["malformed"] == 0 and session.counters["events"] == 3
    call.bye()
    await panel.until(lambda: "ended" in panel.kinds())
    assert panel.events[-1] == ("ended", "local") and call.state == "ended"
    await _finish(panel, sipp)


async def test_busy_callee_fails_with_486_and_is_acked(tmp_path):
    sipp = Sipp("uas_busy.xml", tmp_path).start()
    panel = UserAgentRig()
    panel.ua.start()
    call = panel.ua.invite("sip:5588@127.0.0.1:%d" % sipp.port, panel.offer())
    await panel.until(lambda: "failed" in panel.kinds())
    assert panel.events == [("failed", 486)] and call.state == "failed"
    await _finish(panel, sipp)


async def test_ringing_callee_is_cancelled(tmp_path):
    sipp = Sipp("uas_ring_no_answer.xml", tmp_path).start()
    panel = UserAgentRig()
    panel.ua.start()
    call = panel.ua.invite("sip:5588@127.0.0.1:%d" % sipp.port, panel.offer())
    await panel.until(lambda: "ringing" in panel.kinds())
    assert call.state == "ringing"
    call.hangup()
    await panel.until(lambda: "failed" in panel.kinds())
    assert panel.events == [("ringing", 180), ("failed", 487)]
    await _finish(panel, sipp)


async def test_remote_bye_and_in_dialog_options(tmp_path):
    sipp = Sipp("uas_remote_bye.xml", tmp_path).start()
    panel = UserAgentRig()
    panel.ua.start()
    call = panel.ua.invite("sip:127.0.0.1:%d" % sipp.port, panel.offer())  # peer to peer
    await panel.until(lambda: "ended" in panel.kinds())
    assert panel.kinds() == ["answered", "ended"]
    assert panel.events[-1] == ("ended", "remote") and call.state == "ended"
    assert panel.events[0][1].event_type is None  # the answer offered no events
    await _finish(panel, sipp)


async def test_digits_target_goes_through_the_registrar_with_auth(tmp_path):
    sipp = Sipp("uas_proxy_auth.xml", tmp_path, extra=["-m", "2"]).start()
    panel = UserAgentRig()
    panel.ua.start()
    panel.ua.register(
        dict(
            SETTINGS,
            proxy="sip:127.0.0.1:%d" % sipp.port,
            realm="panel.test",
            registration_interval=300,
        )
    )
    await panel.until(lambda: panel.ua.status()["sip_status"] == "OK")
    call = panel.ua.invite("5588", panel.offer())
    await panel.until(lambda: "answered" in panel.kinds())
    assert call.request_uri == "sip:5588@panel.test"
    call.hangup()
    await panel.until(lambda: "ended" in panel.kinds())
    await _finish(panel, sipp)


async def test_garbage_from_a_uac_is_answered_or_dropped(tmp_path):
    panel = UserAgentRig()
    panel.ua.start()
    sipp = Sipp("uac_garbage.xml", tmp_path, remote=panel.socket.getsockname()).start()
    status = await sipp.wait(30)
    await asyncio.sleep(0.1)
    counters = panel.ua.counters
    panel.close()
    assert status == 0, sipp.log()
    assert counters["malformed"] >= 5 and counters["oversized"] == 1
    assert counters["error_responses"] >= 5 and counters["internal_errors"] == 0
    # Its one well-formed INVITE is offered as an incoming call; nobody takes
    # it here (no controller), so it is busy (docs/incoming-calls.md).
    assert [kind for kind, detail in panel.events] == ["incoming", "failed"]
    assert panel.events[1] == ("failed", 486)


async def test_rfc4733_from_a_plain_udp_sender_reaches_the_collector():
    # The RTP session alone, fed by a small real sender: digits 4, 2 with three
    # end packets each, audio interleaved, one garbage datagram.
    receiver_socket = _udp_socket()
    sender = _udp_socket()
    plan = sdp.MediaPlan("127.0.0.1", sender.getsockname()[1], 0, 101, 20, "sendrecv")
    digits = []
    session = RtpSession(receiver_socket, plan, digits.append)
    session.start()
    target = receiver_socket.getsockname()
    sequence = 100
    for digit_index, event in enumerate((4, 2)):
        timestamp = 8000 * (digit_index + 1)
        for step in range(6):
            end = step >= 3
            payload = rtp.build_telephone_event(event, end, 10, 160 * (step + 1))
            sender.sendto(rtp.build_packet(101, sequence, timestamp, 77, payload), target)
            sender.sendto(
                rtp.build_packet(0, sequence + 1000, timestamp, 77, b"\xff" * 160), target
            )
            sequence += 1
            await asyncio.sleep(0.005)
    sender.sendto(b"\x00garbage", target)
    deadline = time.monotonic() + 3
    while len(digits) < 2 or session.counters["malformed"] < 1:
        assert time.monotonic() < deadline, session.counters
        await asyncio.sleep(0.02)
    # The session also sent PCMU silence to the sender, every 20 ms.
    await asyncio.sleep(0.2)
    session.stop()
    sender.setblocking(False)
    frames = []
    try:
        while True:
            frames.append(sender.recv(2000))
    except BlockingIOError:
        pass
    receiver_socket.close()
    sender.close()
    assert digits == ["4", "2"]
    assert len(frames) >= 5
    first = rtp.parse_packet(frames[0])
    assert first.payload_type == 0 and first.payload == b"\xff" * 160
    sequences = [struct.unpack("!H", frame[2:4])[0] for frame in frames]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(sequences, sequences[1:]))
