# SIP message parsing and building (RFC 3261 7, 8, 18, 20), limits and errors.
from checks import raises
from panel.proto import sip_message
from panel.proto.sip_message import LocalError, RemoteError

INVITE = (
    "INVITE sip:5588@10.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Panel" <sip:100001@10.0.0.1>;tag=1928301774\r\n'
    "To: <sip:5588@10.0.0.1>\r\n"
    "Call-ID: a84b4c76e66710@10.0.0.7\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:100001@10.0.0.7:5062>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n"
).encode()


def test_parse_request_fields():
    message = sip_message.parse(INVITE)
    assert message.is_request and message.method == "INVITE"
    assert message.uri == "sip:5588@10.0.0.1:5060"
    assert message.cseq() == (314159, "INVITE")
    assert message.body == b"v=0\n"
    via = message.top_via()
    assert via.transport == "UDP" and via.host == "10.0.0.7" and via.port == 5062
    assert via.branch == "z9hG4bK776asdhds" and via.parameters["rport"] == ""
    sender = sip_message.parse_name_address(message.get("from"))
    assert sender.display == "Panel" and sender.tag == "1928301774"
    assert sip_message.parse_name_address(message.get("To")).tag is None
    uri = sip_message.parse_uri(message.uri)
    assert (uri.user, uri.host, uri.port) == ("5588", "10.0.0.1", 5060)


def test_build_then_parse_round_trip():
    message = sip_message.parse(INVITE)
    again = sip_message.parse(message.to_bytes())
    assert again.headers == message.headers
    assert again.body == message.body and again.uri == message.uri


def test_compact_forms_and_folding():
    data = (
        "BYE sip:a@b SIP/2.0\r\n"
        "v: SIP/2.0/UDP h:5060;branch=z9hG4bKx\r\n"
        "f: <sip:a@b>;tag=1\r\n"
        "t: <sip:c@d>\r\n  ;tag=2\r\n"
        "i: call1\r\n"
        "CSeq: 2 BYE\r\n"
        "l: 0\r\n\r\n"
    ).encode()
    message = sip_message.parse(data)
    assert message.get("call-id") == "call1" and message.get("i") == "call1"
    assert sip_message.parse_name_address(message.get("to")).tag == "2"
    assert b"Call-ID: call1\r\n" in message.to_bytes()


def test_multiple_vias_in_one_header_and_several():
    data = INVITE.replace(
        b"Via: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bK776asdhds;rport\r\n",
        b"Via: SIP/2.0/UDP p1:5060;branch=z9hG4bKa, SIP/2.0/UDP p2;branch=z9hG4bKb\r\n"
        b"v: SIP/2.0/UDP p3;branch=z9hG4bKc\r\n",
    )
    message = sip_message.parse(data)
    assert [sip_message.parse_via(v).host for v in message.get_all("via")] == ["p1", "p2", "p3"]


def test_response_parse_and_make_response_with_tag():
    request = sip_message.parse(INVITE)
    response = sip_message.make_response(request, 180, to_tag="abc")
    parsed = sip_message.parse(response.to_bytes())
    assert parsed.status == 180 and parsed.reason == "Ringing"
    assert sip_message.parse_name_address(parsed.get("to")).tag == "abc"
    assert parsed.get("call-id") == request.get("call-id")
    assert parsed.get_all("via") == request.get_all("via")
    trying = sip_message.make_response(request, 100, to_tag="abc")
    assert "tag=" not in trying.get("to")


def test_stamp_via_received_and_rport():
    request = sip_message.parse(INVITE)
    sip_message.stamp_via(request, "192.0.2.9", 40000)
    via = request.top_via()
    assert via.parameters["rport"] == "40000" and via.parameters["received"] == "192.0.2.9"
    assert sip_message.response_address(via) == ("192.0.2.9", 40000)
    plain = sip_message.parse_via("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKq")
    assert sip_message.response_address(plain) == ("10.0.0.7", 5060)


def test_content_length_rules_for_udp():
    # Extra bytes after Content-Length are ignored (RFC 3261 18.3).
    message = sip_message.parse(INVITE + b"trailing")
    assert message.body == b"v=0\n"
    # A body shorter than Content-Length is a 400.
    error = raises(RemoteError, sip_message.parse, INVITE[:-2])
    assert error.status == 400
    # No Content-Length over UDP: the body is the rest of the datagram.
    no_length = INVITE.replace(b"Content-Length: 4\r\n", b"")
    assert sip_message.parse(no_length + b"xy").body == b"v=0\nxy"


def test_limits_give_status_hints():
    error = raises(RemoteError, sip_message.parse, INVITE + b"x" * sip_message.MAX_DATAGRAM)
    assert error.status == 513
    many = INVITE.replace(b"Max-Forwards: 70\r\n", b"X-A: 1\r\n" * (sip_message.MAX_HEADERS + 1))
    assert raises(RemoteError, sip_message.parse, many).status == 400
    long_line = INVITE.replace(b"Max-Forwards: 70", b"X-Long: " + b"a" * sip_message.MAX_LINE)
    assert raises(RemoteError, sip_message.parse, long_line).status == 400
    version = INVITE.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    assert raises(RemoteError, sip_message.parse, version).status == 505


def test_malformed_messages_are_remote_errors():
    cases = [
        b"",
        b"\r\n\r\n",
        b"garbage",
        b"INVITE sip:a SIP/2.0\r\n",
        INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"),
        INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: 99999999999 INVITE"),
        INVITE.replace(b"Call-ID: a84b4c76e66710@10.0.0.7\r\n", b""),
        INVITE.replace(b"Content-Length: 4", b"Content-Length: -4"),
        INVITE.replace(b"To: <sip:5588@10.0.0.1>", b"To: <sip:5588@10.0.0.1"),
        INVITE.replace(b"Via: SIP/2.0/UDP", b"Via: SIP/2.0"),
        INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards\x01: 70"),
        INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: \xff\xfe"),
        INVITE.replace(b"INVITE sip", b"INV ITE sip"),
        b"SIP/2.0 99 Odd\r\n\r\n",
    ]
    for data in cases:
        error = raises(RemoteError, sip_message.parse, data)
        assert 400 <= error.status < 600


def test_uri_forms():
    uri = sip_message.parse_uri("sip:user@host.example.org;transport=udp")
    assert uri.user == "user" and uri.host == "host.example.org" and uri.port is None
    assert uri.parameters == {"transport": "udp"}
    assert str(sip_message.parse_uri("sip:192.168.1.65:5070")) == "sip:192.168.1.65:5070"
    assert raises(RemoteError, sip_message.parse_uri, "tel:+123").status == 416
    raises(RemoteError, sip_message.parse_uri, "sip:a@b:99999")
    raises(RemoteError, sip_message.parse_uri, "sip:a@b c")


def test_building_over_the_limit_is_local_error():
    message = sip_message.SipMessage(method="OPTIONS", uri="sip:a@b")
    message.body = b"x" * sip_message.MAX_DATAGRAM
    raises(LocalError, message.to_bytes)
    message.body = b""
    message.add("subject", "a\r\nInjected: 1")
    raises(LocalError, message.to_bytes)


def test_scan_for_error_response_reads_broken_requests():
    broken = INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 INVITE\r\nX: \x01")
    raises(RemoteError, sip_message.parse, broken)
    request = sip_message.scan_for_error_response(broken)
    assert request is not None and request.method == "INVITE"
    response = sip_message.make_response(request, 400)
    assert sip_message.parse(response.to_bytes()).status == 400
    assert sip_message.scan_for_error_response(b"\xff\xfe garbage") is None
    assert sip_message.scan_for_error_response(INVITE.replace(b"INVITE sip", b"ACK sip")) is None


def test_dialog_from_response_builds_in_dialog_requests():
    request = sip_message.parse(INVITE)
    response = sip_message.make_response(request, 200, to_tag="remote1")
    response.add("contact", "<sip:5588@10.0.0.50:5070>")
    response.add("record-route", "<sip:10.0.0.1;lr>")
    dialog = sip_message.Dialog.from_uac_response(request, response)
    assert dialog.remote_tag == "remote1" and dialog.local_tag == "1928301774"
    via = sip_message.parse_via("SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKnew")
    bye = dialog.request("BYE", via)
    assert bye.uri == "sip:5588@10.0.0.50:5070" and bye.cseq() == (314160, "BYE")
    assert bye.get("route") == "<sip:10.0.0.1;lr>"
    parsed = sip_message.parse(bye.to_bytes())
    assert sip_message.parse_name_address(parsed.get("to")).tag == "remote1"
    # A request from the peer in this dialog matches; CSeq must grow.
    incoming = sip_message.parse(
        (
            "INFO sip:100001@10.0.0.7 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.50;branch=z9hG4bKi\r\n"
            "From: <sip:5588@10.0.0.1>;tag=remote1\r\nTo: <sip:100001@10.0.0.1>;tag=1928301774\r\n"
            "Call-ID: a84b4c76e66710@10.0.0.7\r\nCSeq: 5 INFO\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    assert dialog.matches(incoming)
    assert dialog.accept_remote_sequence(incoming)
    assert not dialog.accept_remote_sequence(incoming)


def test_mutated_datagrams_never_raise_anything_but_remote_error():
    # A small, deterministic mutation loop (the host fuzz test runs 10,000).
    seed = 12345
    for round_number in range(150):
        data = bytearray(INVITE)
        for _ in range(1 + round_number % 6):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            position = seed % len(data)
            data[position] = (seed >> 8) & 0xFF
        try:
            sip_message.parse(bytes(data))
        except RemoteError:
            pass
        sip_message.scan_for_error_response(bytes(data))
