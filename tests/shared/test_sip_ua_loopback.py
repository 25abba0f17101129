# The user agent (drivers/sip_ua.py) on both runtimes. MicroPython's
# WebAssembly build has no socket module, so here the UA talks through a small
# in-memory datagram network to a peer scripted with the proto modules; the
# host tests (tests/host/test_sip_ua_sipp.py) run the same UA against sipp
# over real UDP. On MicroPython this also runs digest auth on the pure MD5.
from loopback_network import LoopbackNetwork

from panel.drivers.sip_ua import SipUserAgent
from panel.proto import digest, sdp, sip_message

PANEL = ("10.0.0.7", 5060)
PEER = ("10.0.0.9", 5060)
SETTINGS = {
    "proxy": "sip:10.0.0.9",
    "realm": "10.0.0.9",
    "user": "100001",
    "password": "s3cret",
    "user_id": "",
    "registration_interval": 60,
}


class Clock:
    def __init__(self):
        self.now = 1000

    def __call__(self):
        return self.now


class Rig:
    def __init__(self):
        self.network = LoopbackNetwork()
        self.peer = self.network.endpoint(PEER)
        self.clock = Clock()
        self.events = []
        counter = [0]

        def random_bytes(count):
            counter[0] += 1
            return bytes((counter[0] + index) & 0xFF for index in range(count))

        self.ua = SipUserAgent(
            self.network.endpoint(PANEL),
            PANEL,
            lambda kind, call, detail: self.events.append((kind, detail)),
            unix_time=lambda: 1700000000,
            random_bytes=random_bytes,
            clock=self.clock,
        )

    def advance(self, milliseconds, step=50):
        for _ in range(milliseconds // step):
            self.clock.now += step
            self.ua.poll(self.clock.now)

    def received(self):
        """Every message the peer got, parsed."""
        messages = []
        while self.network.queues[PEER]:
            data, _ = self.network.queues[PEER].pop(0)
            messages.append(sip_message.parse(data))
        return messages

    def send(self, message):
        self.peer.sendto(message.to_bytes(), PANEL)
        self.ua.poll(self.clock.now)


def test_register_answers_digest_on_this_runtime_and_refreshes():
    rig = Rig()
    rig.ua.register(SETTINGS)
    first = rig.received()
    assert [message.method for message in first] == ["REGISTER"]
    assert first[0].uri == "sip:10.0.0.9" and first[0].get("expires") == "60"
    challenge = sip_message.make_response(first[0], 401, to_tag="r")
    challenge.add("www-authenticate", 'Digest realm="pbx", nonce="abc", qop="auth"')
    rig.send(challenge)
    second = rig.received()[0]
    assert second.cseq()[0] == first[0].cseq()[0] + 1
    assert second.get("call-id") == first[0].get("call-id")
    credentials = digest.parse_authorization(second.get("authorization"))
    assert credentials["username"] == "100001" and credentials["realm"] == "pbx"
    assert digest.verify(credentials, "REGISTER", "s3cret")
    accepted = sip_message.make_response(second, 200, to_tag="r")
    accepted.add("expires", "60")
    rig.send(accepted)
    assert rig.ua.status() == {"sip_status": "OK", "register_last_attempt": 1700000000}
    # Refresh at half the 60 s granted [D]: nothing at 29 s, a REGISTER by 30 s.
    rig.advance(29000, step=1000)
    assert rig.received() == []
    rig.advance(1000, step=1000)
    assert [message.method for message in rig.received()] == ["REGISTER"]


def test_registration_timeout_is_error_and_unregister_is_offline():
    rig = Rig()
    rig.ua.register(SETTINGS)
    rig.advance(7900, step=100)  # nobody answers: sent at 0, 0.5, 1.5, 3.5, 7.5 s
    sent = rig.received()
    assert len(sent) == 5 and rig.ua.status()["sip_status"] == "ERROR"
    rig.advance(100, step=100)  # the REGISTER's own 8 s timeout [D]
    assert rig.ua.status()["sip_status"] == "ERROR"
    rig.ua.unregister()
    assert rig.ua.status()["sip_status"] == "OFFLINE"
    assert rig.received()[0].get("expires") == "0"
    assert [detail for kind, detail in rig.events] == ["ERROR", "OFFLINE"]


def test_registrar_gone_is_error_before_the_binding_expires():
    # [D] The registrar grants 30 s and then disappears: sip/status must say
    # ERROR before the binding expired (it said OK for about 61 s when the
    # refresh went out at 90 % and waited the 32 s of Timer F).
    for granted in (30, 60, 900):
        rig = Rig()
        rig.ua.register(SETTINGS)
        accepted = sip_message.make_response(rig.received()[0], 200, to_tag="r")
        accepted.add("expires", str(granted))
        rig.send(accepted)
        granted_at = rig.clock.now
        assert rig.ua.status()["sip_status"] == "OK"
        error_at = None
        while error_at is None and rig.clock.now - granted_at < granted * 1000 + 40000:
            rig.advance(100, step=100)
            rig.received()  # the registrar is gone: nobody answers
            if rig.ua.status()["sip_status"] == "ERROR":
                error_at = rig.clock.now
        assert error_at is not None, granted
        assert error_at - granted_at < granted * 1000, (granted, error_at - granted_at)
        assert [detail for kind, detail in rig.events] == ["ERROR", "OK", "ERROR"]


def test_call_answered_info_dtmf_and_remote_bye():
    rig = Rig()
    call = rig.ua.invite("sip:10.0.0.9", sdp.build(1, 1, PANEL[0], 40000))
    invite = rig.received()[0]
    assert invite.method == "INVITE" and invite.uri == "sip:10.0.0.9"
    assert sdp.negotiate(sdp.parse(invite.body)).port == 40000
    rig.send(sip_message.make_response(invite, 180, to_tag="callee"))
    answer = sip_message.make_response(invite, 200, to_tag="callee")
    answer.add("contact", "<sip:5588@10.0.0.9:5060>")
    answer.add("content-type", "application/sdp")
    answer.body = sdp.build(9, 9, "10.0.0.9", 30000)
    rig.send(answer)
    ack = rig.received()[0]
    assert ack.method == "ACK" and ack.cseq() == (1, "ACK")
    assert ack.top_via().branch != invite.top_via().branch  # 2xx ACK: new transaction
    rig.send(answer)  # retransmitted 2xx
    assert rig.received()[0].method == "ACK"
    assert [kind for kind, detail in rig.events] == ["ringing", "answered"]
    plan = rig.events[1][1]
    assert (plan.address, plan.port, plan.event_type) == ("10.0.0.9", 30000, 101)
    dialog = sip_message.Dialog.from_uas_request(invite, "callee")
    via = sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKinfo1"})
    info = dialog.request("INFO", via)
    info.add("content-type", "application/dtmf-relay")
    info.body = b"Signal=#\r\nDuration=160\r\n"
    rig.send(info)
    assert rig.received()[0].status == 200
    assert rig.events[-1] == ("dtmf", "#")
    bye = dialog.request("BYE", sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKbye1"}))
    rig.send(bye)
    assert rig.received()[0].status == 200
    assert rig.events[-1] == ("ended", "remote") and call.state == "ended"


def test_invite_timer_a_then_b_fails_408():
    rig = Rig()
    call = rig.ua.invite("sip:10.0.0.9", sdp.build(1, 1, PANEL[0], 40000))
    rig.advance(32000, step=100)
    assert len(rig.received()) == 7  # first send + 6 retransmissions
    assert rig.events == [("failed", 408)] and call.state == "failed"


def test_cancel_waits_for_a_provisional_then_487_is_acked():
    rig = Rig()
    rig.network.queues[("10.0.0.9", 5070)] = rig.network.queues[PEER]  # one peer, two ports
    call = rig.ua.invite("sip:10.0.0.9:5070", sdp.build(1, 1, PANEL[0], 40000))
    invite = rig.received()[0]
    call.cancel()
    assert rig.received() == []  # no CANCEL before any 1xx (9.1)
    rig.send(sip_message.make_response(invite, 100))
    cancel = rig.received()[0]
    assert cancel.method == "CANCEL" and cancel.cseq() == (1, "CANCEL")
    assert cancel.top_via().branch == invite.top_via().branch
    rig.send(sip_message.make_response(cancel, 200, to_tag="x"))
    rig.send(sip_message.make_response(invite, 487, to_tag="x"))
    ack = rig.received()[0]
    assert ack.method == "ACK" and ack.top_via().branch == invite.top_via().branch
    assert rig.events == [("failed", 487)]


def test_options_answered_and_an_untaken_incoming_invite_is_busy():
    rig = Rig()
    options = sip_message.parse(
        (
            "OPTIONS sip:100001@10.0.0.7 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKo1;rport\r\n"
            "From: <sip:p@10.0.0.9>;tag=p\r\nTo: <sip:100001@10.0.0.7>\r\nCall-ID: o1\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    rig.send(options)
    reply = rig.received()[0]
    assert reply.status == 200 and "INFO" in reply.get("allow")
    assert reply.top_via().parameters["rport"] == "5060"
    rig.send(options)  # a retransmission: same answer
    assert rig.received()[0].to_bytes() == reply.to_bytes()
    # An INVITE that nobody takes (no controller acts on "incoming"): busy.
    rig.send(incoming_invite("i0"))
    assert [message.status for message in rig.received()] == [100, 486]
    assert [kind for kind, detail in rig.events] == ["incoming", "failed"]
    assert rig.ua.counters["internal_errors"] == 0


def incoming_invite(call_id, body=None, caller="sip:101@10.0.0.9"):
    offer = sdp.build(5, 5, PEER[0], 30000) if body is None else body
    text = (
        "INVITE sip:100001@10.0.0.7 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK%s;rport\r\n"
        "From: <%s>;tag=caller\r\nTo: <sip:100001@10.0.0.7>\r\nCall-ID: %s\r\n"
        "CSeq: 1 INVITE\r\nContact: <sip:101@10.0.0.9:5060>\r\n"
        "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n"
    ) % (call_id, caller, call_id, len(offer))
    return sip_message.parse(text.encode() + offer)


def test_incoming_call_rings_answers_until_acked_and_takes_dtmf():
    rig = Rig()
    calls = []

    def on_event(kind, call, detail):
        rig.events.append((kind, detail))
        if kind == "incoming":
            calls.append(call)
            call.ring()

    rig.ua.on_event = on_event
    invite = incoming_invite("in1")
    rig.send(invite)
    assert [message.status for message in rig.received()] == [100, 180]
    call = calls[0]
    assert call.caller == "sip:101@10.0.0.9" and call.caller_user == "101"
    assert call.address == PEER and call.media.port == 30000
    rig.send(invite)  # a retransmitted INVITE: the last answer again
    assert [message.status for message in rig.received()] == [180]
    call.answer(sdp.build(1, 1, PANEL[0], 40000))
    ok = rig.received()[0]
    assert ok.status == 200 and sdp.negotiate(sdp.parse(ok.body)).port == 40000
    assert ok.get("contact") == "<sip:panel@10.0.0.7:5060>"  # not registered
    rig.advance(600)  # no ACK yet: the 2xx again after T1
    assert [message.status for message in rig.received()] == [200]
    dialog = sip_message.Dialog(
        "in1",
        "caller",
        sip_message.parse_name_address(ok.get("to")).tag,
        "sip:101@10.0.0.9",
        "sip:100001@10.0.0.7",
        "sip:panel@10.0.0.7:5060",
        1,
    )
    rig.send(
        dialog.request(
            "ACK", sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKa1"}), sequence=1
        )
    )
    rig.advance(5000)
    assert rig.received() == []  # acknowledged: no more 2xx
    info = dialog.request("INFO", sip_message.Via("UDP", "10.0.0.9", 5060, {"branch": "z9hG4bKi1"}))
    info.add("content-type", "application/dtmf-relay")
    info.body = b"Signal=1\r\nDuration=160\r\n"
    rig.send(info)
    assert rig.received()[0].status == 200 and rig.events[-1] == ("dtmf", "1")
    call.hangup()  # our BYE, to the caller's Contact
    bye = rig.received()[0]
    assert bye.method == "BYE" and bye.uri == "sip:101@10.0.0.9:5060"
    rig.send(sip_message.make_response(bye, 200))
    assert rig.events[-1] == ("ended", "local") and call.state == "ended"
    assert rig.ua.counters["internal_errors"] == 0


def test_incoming_call_refused_cancelled_and_unacked():
    rig = Rig()
    decisions = {"in2": 403}
    calls = {}

    def on_event(kind, call, detail):
        rig.events.append((kind, detail))
        if kind == "incoming":
            calls[call.call_id] = call
            if call.call_id in decisions:
                call.reject(decisions[call.call_id])
            else:
                call.ring()

    rig.ua.on_event = on_event
    rig.send(incoming_invite("in2"))
    replies = rig.received()
    assert [message.status for message in replies] == [100, 403]
    ack = sip_message.mirrored_request(incoming_invite("in2"), "ACK", replies[1].get("to"))
    rig.send(ack)
    rig.advance(1000)
    assert rig.received() == []  # the ACK stopped the 403's retransmissions
    # The caller gives up while it rings: 200 to the CANCEL, 487 to the INVITE.
    invite = incoming_invite("in3")
    rig.send(invite)
    assert [message.status for message in rig.received()] == [100, 180]
    rig.send(sip_message.mirrored_request(invite, "CANCEL", invite.get("to")))
    assert sorted(message.status for message in rig.received()) == [200, 487]
    assert rig.events[-1] == ("failed", 487) and calls["in3"].state == "failed"
    # No usable offer: 488 before anyone is asked.
    rig.send(incoming_invite("in4", body=b""))
    assert [message.status for message in rig.received()] == [100, 488]
    assert "in4" not in calls
    # Answered, never acknowledged: the 2xx is re-sent, then a BYE after 32 s.
    rig.send(incoming_invite("in5"))
    rig.received()
    calls["in5"].answer(sdp.build(1, 1, PANEL[0], 40000))
    rig.advance(32100, step=100)
    sent = rig.received()
    mine = [message for message in sent if message.get("call-id") == "in5"]
    assert [message.status for message in mine if not message.is_request][:2] == [200, 200]
    assert [message.method for message in mine if message.is_request] == ["BYE"]
    assert rig.events[-1] == ("ended", "no_ack")
    assert rig.ua.counters["internal_errors"] == 0


def test_rtp_session_paces_frames_and_reports_telephone_events():
    from panel.drivers.rtp_session import RtpSession
    from panel.proto import rtp

    network = LoopbackNetwork()
    local = network.endpoint(("10.0.0.7", 40000))
    peer = network.endpoint(("10.0.0.9", 30000))
    plan = sdp.MediaPlan("10.0.0.9", 30000, 0, 101, 20, "sendrecv")
    digits = []
    session = RtpSession(
        local,
        plan,
        digits.append,
        tone_frequency=425,
        random_bytes=lambda count: bytes(range(1, count + 1)),
    )
    session.poll(0)
    session.poll(100)  # frames due at 0, 20, 40, 60, 80, 100
    packets = [rtp.parse_packet(data) for data, _ in network.queues[("10.0.0.9", 30000)]]
    assert len(packets) == 6
    assert [packet.marker for packet in packets] == [True] + [False] * 5
    assert all(packet.payload_type == 0 and len(packet.payload) == 160 for packet in packets)
    assert [(b.sequence - a.sequence) & 0xFFFF for a, b in zip(packets, packets[1:])] == [1] * 5
    assert [b.timestamp - a.timestamp for a, b in zip(packets, packets[1:])] == [160] * 5
    assert packets[0].payload != b"\xff" * 160  # a 425 Hz tone, not silence
    for step in range(5):
        payload = rtp.build_telephone_event(7, step >= 2, 10, 160 * (step + 1))
        peer.sendto(rtp.build_packet(101, 500 + step, 8000, 9, payload), ("10.0.0.7", 40000))
    peer.sendto(b"\x12not rtp", ("10.0.0.7", 40000))
    session.poll(110)
    assert digits == ["7"] and session.counters["malformed"] == 1
    # A stalled loop skips ahead instead of bursting the backlog out.
    network.queues[("10.0.0.9", 30000)] = []
    session.poll(10000)
    assert len(network.queues[("10.0.0.9", 30000)]) <= 3


def test_digits_via_proxy_answer_407_with_proxy_authorization():
    rig = Rig()
    rig.ua.register(dict(SETTINGS, realm="pbx.test", user_id="auth100001"))
    rig.received()  # the REGISTER: left unanswered
    call = rig.ua.invite("5588", sdp.build(1, 1, PANEL[0], 40000))
    invite = rig.received()[0]
    assert invite.uri == "sip:5588@pbx.test" and call.request_uri == invite.uri
    challenge = sip_message.make_response(invite, 407, to_tag="px")
    challenge.add("proxy-authenticate", 'Digest realm="pbx.test", nonce="n407", opaque="o"')
    rig.send(challenge)
    ack, again = rig.received()
    assert ack.method == "ACK" and again.method == "INVITE"
    assert again.cseq() == (2, "INVITE") and again.get("call-id") == invite.get("call-id")
    credentials = digest.parse_authorization(again.get("proxy-authorization"))
    assert credentials["username"] == "auth100001" and credentials["opaque"] == "o"
    assert "qop" not in credentials and digest.verify(credentials, "INVITE", "s3cret")
    # A second challenge to the answered credentials is a failure, not a loop.
    rig.send(sip_message.make_response(again, 407, to_tag="px"))
    assert rig.events[-1] == ("failed", 407) and call.state == "failed"


async def test_started_task_polls_until_stopped():
    import asyncio

    rig = Rig()
    rig.ua.start()
    options = (
        "OPTIONS sip:100001@10.0.0.7 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKt1\r\n"
        "From: <sip:p@10.0.0.9>;tag=p\r\nTo: <sip:100001@10.0.0.7>\r\nCall-ID: t1\r\n"
        "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    rig.peer.sendto(options, PANEL)
    for _ in range(50):
        await asyncio.sleep(0.01)
        if rig.network.queues[PEER]:
            break
    rig.ua.stop()
    assert [message.status for message in rig.received()] == [200]
    rig.peer.sendto(options.replace(b"z9hG4bKt1", b"z9hG4bKt2"), PANEL)
    await asyncio.sleep(0.05)
    assert rig.received() == []  # stopped: nobody polls


def test_registrar_listing_many_bindings_still_registers():
    # Registrars list every binding of the account in the 200's Contact; more
    # than MAX_LIST_ITEMS of them must not break the refresh computation.
    rig = Rig()
    rig.ua.register(SETTINGS)
    accepted = sip_message.make_response(rig.received()[0], 200, to_tag="r")
    accepted.add(
        "contact",
        ", ".join("<sip:x%d@10.0.0.%d>;expires=60" % (index, index) for index in range(30)),
    )
    accepted.add("expires", "40")
    rig.send(accepted)
    assert rig.ua.status()["sip_status"] == "OK"
    rig.advance(19000, step=1000)  # refreshed at half the 40 s granted
    assert rig.received() == []
    rig.advance(1000, step=1000)
    assert [message.method for message in rig.received()] == ["REGISTER"]
    assert rig.ua.counters["internal_errors"] == 0


def test_back_to_back_failed_calls_do_not_exhaust_the_transaction_table():
    # Each INVITE answered 486 lingers 32 s (timer D) to absorb retransmissions;
    # 100 such calls within a few seconds must still all be sent.
    rig = Rig()
    sent = 0
    for number in range(100):
        rig.ua.invite("sip:%d@10.0.0.9" % number, b"")
        rig.advance(50)
        for message in rig.received():
            if message.method == "INVITE":
                sent += 1
                rig.send(sip_message.make_response(message, 486, to_tag="busy"))
        rig.advance(50)
        rig.received()  # the ACKs
    assert sent == 100
    assert rig.ua.counters["overload"] == 0
    assert rig.ua.counters["lingering_dropped"] > 0
    failures = [detail for kind, detail in rig.events if kind == "failed"]
    assert failures == [486] * 100
