# Fuzzing the SIP receive path: 10,000 generated and mutated datagrams into a
# live user agent (real UDP sockets, a call in progress so responses and
# in-dialog requests reach deep paths), and hypothesis properties of the parser.
import random
import socket

from hypothesis import given, settings
from hypothesis import strategies as strategies

from panel.compat import ticks_add, ticks_ms
from panel.drivers.sip_ua import SipUserAgent
from panel.proto import digest, rtp, sdp, sip_message
from panel.proto.sip_message import RemoteError

FUZZ_DATAGRAMS = 10000


def _udp_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def _seeds(branch, call_id, from_tag, local):
    """Valid datagrams that reach the UA's transactions, dialog and handlers."""
    host, port = local
    base = (
        "Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nFrom: <sip:100001@%s>;tag=%s\r\n"
        "To: <sip:5588@127.0.0.1>%s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
    )
    offer = sdp.build(7, 7, "127.0.0.1", 4000)
    responses = []
    for status, reason, tag in (
        (100, "Trying", ""),
        (180, "Ringing", ";tag=peer"),
        (401, "Unauthorized", ";tag=peer"),
        (486, "Busy Here", ";tag=peer"),
        (200, "OK", ";tag=peer"),
    ):
        head = "SIP/2.0 %d %s\r\n" % (status, reason) + base % (
            host,
            port,
            branch,
            host,
            from_tag,
            tag,
            call_id,
            "1 INVITE",
        )
        extra = ""
        body = b""
        if status == 401:
            extra = 'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth"\r\n'
        if status == 200:
            extra = "Contact: <sip:5588@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n"
            body = offer
        responses.append((head + extra + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    requests = []
    for method, cseq, body, content_type in (
        ("OPTIONS", "1 OPTIONS", b"", None),
        ("INFO", "5 INFO", b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay"),
        ("BYE", "6 BYE", b"", None),
        ("INVITE", "1 INVITE", offer, "application/sdp"),
        ("CANCEL", "1 CANCEL", b"", None),
        ("ACK", "1 ACK", b"", None),
    ):
        head = "%s sip:100001@%s:%d SIP/2.0\r\n" % (method, host, port)
        head += (
            "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKpeer%s;rport\r\n"
            "From: <sip:5588@127.0.0.1>;tag=peer\r\nTo: <sip:100001@%s>;tag=%s\r\n"
            "Call-ID: %s\r\nCSeq: %s\r\nMax-Forwards: 70\r\n"
        ) % (method, host, from_tag, call_id, cseq)
        if content_type:
            head += "Content-Type: %s\r\n" % content_type
        requests.append((head + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    return responses + requests


_TOKENS = [
    b"\r\n",
    b"\r\n\r\n",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b'"',
    b"\\",
    b" ",
    b"\t",
    b"SIP/2.0",
    b"z9hG4bK",
    b"tag=",
    b"Content-Length: 99999",
    b"Via: ",
    b"CSeq: 4294967296 INVITE",
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"sip:",
    b"@",
    b"rport=",
    b"received=",
    b"=" * 50,
    b"a" * 1100,
    b"\r\n ",
    b"Digest ",
    b"l: 0\r\n",
    b"m=audio 0 RTP/AVP 0\r\n",
    b"v=1\r\n",
]


def _mutate(data, generator):
    data = bytearray(data)
    for _ in range(generator.randint(1, 8)):
        choice = generator.randrange(8)
        position = generator.randrange(len(data) + 1) if data else 0
        if choice == 0 and data:
            data[min(position, len(data) - 1)] ^= 1 << generator.randrange(8)
        elif choice == 1:
            data[position:position] = generator.choice(_TOKENS)
        elif choice == 2 and data:
            del data[position : position + generator.randint(1, 40)]
        elif choice == 3:
            data = data[:position]
        elif choice == 4 and data:
            # Duplicate a slice (repeated headers, doubled separators).
            end = min(len(data), position + generator.randint(1, 200))
            data[position:position] = data[position:end]
        elif choice == 5:
            data[position:position] = bytes(
                generator.randrange(256) for _ in range(generator.randint(1, 30))
            )
        elif choice == 6:
            # Case changes in names and methods.
            data = bytearray(bytes(data).swapcase()) if generator.random() < 0.3 else data
        else:
            data += b"x" * generator.randint(1, 5000)
    return bytes(data)


def test_ten_thousand_mutated_datagrams_never_crash_the_ua():
    ua_socket = _udp_socket()
    peer = _udp_socket()
    seen = set()
    ua = SipUserAgent(ua_socket, ua_socket.getsockname(), lambda kind, call, detail: seen.add(kind))
    ua.register(
        {
            "proxy": "sip:127.0.0.1:%d" % peer.getsockname()[1],
            "realm": "127.0.0.1",
            "user": "100001",
            "password": "s3cret",
        }
    )
    call = ua.invite(
        "sip:5588@127.0.0.1:%d" % peer.getsockname()[1], sdp.build(1, 1, "127.0.0.1", 4000)
    )
    invite = call.invite
    seeds = _seeds(invite.top_via().branch, call.call_id, call.local_tag, ua_socket.getsockname())
    generator = random.Random(20261123)
    now = ticks_ms()
    parsed = 0
    for index in range(FUZZ_DATAGRAMS):
        if index % 10 == 0:
            data = generator.choice(seeds)  # valid ones keep state moving
        elif index % 10 == 1:
            data = bytes(generator.randrange(256) for _ in range(generator.randint(0, 300)))
        else:
            data = _mutate(generator.choice(seeds), generator)
        try:
            sip_message.parse(data)
            parsed += 1
        except RemoteError as error:
            assert 400 <= error.status <= 599
        ua.receive_datagram(data, ("127.0.0.1", 9), now)
        now = ticks_add(now, generator.randint(0, 400))  # timers fire too
        ua.poll(now)
        # Drain what the UA sent so socket buffers never fill.
        for sock in (peer,):
            try:
                while True:
                    sock.recv(70000)
            except BlockingIOError:
                pass
        if call.state in ("ended", "failed") and generator.random() < 0.05:
            # Start another call so call paths stay reachable.
            call = ua.invite(
                "sip:5588@127.0.0.1:%d" % peer.getsockname()[1], sdp.build(1, 1, "127.0.0.1", 4000)
            )
            seeds = _seeds(
                call.invite.top_via().branch, call.call_id, call.local_tag, ua_socket.getsockname()
            )
    ua_socket.close()
    peer.close()
    assert ua.counters["internal_errors"] == 0
    assert ua.counters["received"] == FUZZ_DATAGRAMS
    # The mix really exercised both sides: some parsed, many rejected.
    assert 1000 < parsed < FUZZ_DATAGRAMS - 1000
    assert ua.counters["malformed"] > 1000 and ua.counters["error_responses"] > 100
    assert len(ua._client) + len(ua._server) <= 64
    # Calls went through their states under the fuzz, not just the parser.
    assert {"ringing", "answered", "failed", "ended", "dtmf"} <= seen


@settings(max_examples=400, deadline=None)
@given(strategies.binary(max_size=600))
def test_parser_gives_a_message_or_remote_error_for_any_bytes(data):
    try:
        message = sip_message.parse(data)
    except RemoteError as error:
        assert 400 <= error.status <= 599
        return
    # What parses builds back into bytes that parse to the same message.
    again = sip_message.parse(message.to_bytes())
    assert again.headers == message.headers and again.body == message.body


_header_text = strategies.text(
    alphabet=strategies.characters(min_codepoint=32, max_codepoint=126), max_size=80
)


@settings(max_examples=300, deadline=None)
@given(_header_text, _header_text, _header_text)
def test_header_value_helpers_raise_only_remote_error(via, address, challenge):
    for function, argument in (
        (sip_message.parse_via, via),
        (sip_message.parse_name_address, address),
        (sip_message.parse_uri, address),
        (sip_message.parse_cseq, via),
        (digest.parse_challenge, "Digest " + challenge),
        (sdp.parse, ("v=0\r\n" + challenge).encode()),
    ):
        try:
            function(argument)
        except RemoteError:
            pass


@settings(max_examples=300, deadline=None)
@given(strategies.binary(max_size=200))
def test_rtp_parser_gives_a_packet_or_remote_error(data):
    try:
        packet = rtp.parse_packet(data)
    except RemoteError:
        return
    assert 0 <= packet.payload_type < 128 and len(packet.payload) <= len(data)
