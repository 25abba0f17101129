# Client and server transactions (RFC 3261 17) driven by a clock passed in.
from panel.compat import ticks_add
from panel.proto import sip_message
from panel.proto import sip_transaction as tx


def _request(method, branch="z9hG4bKtx1"):
    text = (
        "%s sip:5588@10.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.7:5062;branch=%s;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:100001@10.0.0.1>;tag=ft\r\n"
        "To: <sip:5588@10.0.0.1>\r\n"
        "Call-ID: c1@10.0.0.7\r\n"
        "CSeq: 1 %s\r\n"
        "Content-Length: 0\r\n\r\n" % (method, branch, method)
    )
    return sip_message.parse(text.encode())


def _sends(actions):
    return [action for action in actions if action[0] == "send"]


def _run_until(transaction, start, end, step=10):
    """Tick from start to end (ms, wrapping ticks); all actions in order."""
    actions = []
    elapsed = 0
    while elapsed <= end - start:
        actions.extend(transaction.tick(ticks_add(start, elapsed)))
        elapsed += step
    return actions


def test_invite_client_retransmits_on_timer_a_and_times_out_on_b():
    # Start near the tick wrap point so wrap-around arithmetic is exercised.
    now = (1 << 30) - 1000
    transaction = tx.ClientTransaction(_request("INVITE"), now)
    assert _sends(transaction.start(now))
    actions = []
    elapsed = 0
    while elapsed <= 32000:
        actions.extend(transaction.tick(ticks_add(now, elapsed)))
        elapsed += 10
    # Timer A at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s: six retransmissions, then B.
    assert len(_sends(actions)) == 6
    assert actions[-1] == ("timeout",) and transaction.terminated


def test_invite_client_provisional_stops_retransmits_then_failure_acks():
    now = 1000
    request = _request("INVITE")
    transaction = tx.ClientTransaction(request, now)
    transaction.start(now)
    ringing = sip_message.make_response(request, 180, to_tag="rt")
    actions = transaction.receive(ringing, now + 100)
    assert actions == [("response", ringing)] and transaction.state == "proceeding"
    assert _sends(_run_until(transaction, now + 100, now + 40000, 100)) == []
    busy = sip_message.make_response(request, 486, to_tag="rt")
    actions = transaction.receive(busy, now + 41000)
    assert actions[0][0] == "send" and actions[1] == ("response", busy)
    ack = sip_message.parse(actions[0][1])
    assert ack.method == "ACK" and ack.cseq() == (1, "ACK")
    assert ack.top_via().branch == "z9hG4bKtx1"
    assert sip_message.parse_name_address(ack.get("to")).tag == "rt"
    # A retransmitted 486 is answered with the same ACK, not passed up again.
    assert transaction.receive(busy, now + 41500) == [("send", actions[0][1])]
    # Timer D ends the transaction.
    transaction.tick(now + 41000 + tx.TIMER_D)
    assert transaction.terminated


def test_invite_client_2xx_goes_to_accepted_and_passes_retransmits():
    request = _request("INVITE")
    transaction = tx.ClientTransaction(request, 0)
    transaction.start(0)
    ok = sip_message.make_response(request, 200, to_tag="x")
    assert transaction.receive(ok, 10) == [("response", ok)]
    assert transaction.state == "accepted"
    assert transaction.receive(ok, 600) == [("response", ok)]
    transaction.tick(10 + tx.TIMER_M)
    assert transaction.terminated


def test_non_invite_client_timer_e_caps_at_t2_and_f_times_out():
    transaction = tx.ClientTransaction(_request("REGISTER"), 0)
    transaction.start(0)
    actions = _run_until(transaction, 0, 32000)
    # E at 0.5, 1.5, 3.5, 7.5, then every 4 s up to 31.5: 4 + 6 = 10 sends.
    assert len(_sends(actions)) == 10
    assert actions[-1] == ("timeout",)


def test_non_invite_client_provisional_then_final_then_k():
    request = _request("OPTIONS")
    transaction = tx.ClientTransaction(request, 0)
    transaction.start(0)
    transaction.receive(sip_message.make_response(request, 100), 100)
    assert transaction.state == "proceeding"
    # In proceeding, retransmits go every T2: the pending E at 0.5 s, then
    # 4.5 s and 8.5 s.
    actions = _run_until(transaction, 100, 9000, 100)
    assert len(_sends(actions)) == 3
    final = sip_message.make_response(request, 200, to_tag="t")
    assert transaction.receive(final, 9100) == [("response", final)]
    assert transaction.receive(final, 9200) == []
    transaction.tick(9100 + tx.TIMER_K)
    assert transaction.terminated


def test_transport_error_terminates_client():
    transaction = tx.ClientTransaction(_request("INVITE"), 0)
    transaction.start(0)
    assert transaction.transport_error(5) == [("transport_error",)]
    assert transaction.terminated and transaction.next_deadline() is None


def test_invite_server_failure_retransmits_until_ack_then_i():
    request = _request("INVITE")
    transaction = tx.ServerTransaction(request, 0)
    trying = sip_message.make_response(request, 100)
    assert _sends(transaction.respond(trying, 0))
    # A retransmitted INVITE gets the last provisional again.
    assert _sends(transaction.receive(request, 200))[0][1] == trying.to_bytes()
    busy = sip_message.make_response(request, 486, to_tag="s")
    transaction.respond(busy, 1000)
    actions = _run_until(transaction, 1000, 5000)
    # Timer G at 0.5, 1.5, 3.5 s after the 486.
    assert len(_sends(actions)) == 3
    ack = _request("ACK")
    assert tx.server_key(ack) == transaction.key
    transaction.receive(ack, 5100)
    assert transaction.state == "confirmed"
    assert _sends(_run_until(transaction, 5100, 9000)) == []
    transaction.tick(5100 + tx.TIMER_I)
    assert transaction.terminated


def test_invite_server_without_ack_times_out_on_h():
    request = _request("INVITE")
    transaction = tx.ServerTransaction(request, 0)
    transaction.respond(sip_message.make_response(request, 603, to_tag="s"), 0)
    actions = _run_until(transaction, 0, 32000, 50)
    assert actions[-1] == ("timeout",) and transaction.terminated


def test_non_invite_server_answers_retransmits_until_j():
    request = _request("OPTIONS")
    transaction = tx.ServerTransaction(request, 0)
    assert transaction.receive(request, 10) == []  # nothing sent yet
    ok = sip_message.make_response(request, 200, to_tag="s")
    sent = transaction.respond(ok, 20)
    assert transaction.receive(request, 600) == sent
    transaction.tick(20 + tx.TIMER_J)
    assert transaction.terminated


def test_keys_match_responses_and_retransmissions():
    request = _request("INVITE")
    transaction = tx.ClientTransaction(request, 0)
    response = sip_message.make_response(request, 180)
    assert tx.client_key(response) == transaction.key
    other = _request("INVITE", branch="z9hG4bKother")
    assert tx.server_key(other) != tx.server_key(request)
    legacy = _request("OPTIONS", branch="1234")
    assert tx.server_key(legacy) == ("c1@10.0.0.7", "ft", 1, "OPTIONS")
