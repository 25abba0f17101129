"""RFC 5626 flows and the TCP listener of the user agent, in process, against
real sockets: a registrar of our own on asyncio that sends requests down the
connection the UA registered on (OPTIONS, an incoming INVITE, a re-INVITE
and a BYE of a call the UA placed), answers or withholds CRLF pongs, and a
raw TCP client on the UA's listening socket; kamailio answering the UA's
keep-alive pings. Timing is never asserted: every wait polls a deadline."""

import asyncio
import socket
import time

import pytest

from panel.drivers.sip_ua import SipUserAgent
from panel.proto import sdp, sip_message
from support.kamailio import Kamailio, kamailio_path

SETTINGS = {
    "realm": "127.0.0.1",
    "user": "100001",
    "password": "s3cret",
    "user_id": "",
    "registration_interval": 60,
    "outbound": "",
}
SDP_ANSWER = sdp.build(7, 1, "127.0.0.1", 40000)


def _udp_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _until(condition, timeout_s=10, what="condition"):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        await asyncio.sleep(0.02)


class FlowRegistrar:
    """A TCP registrar: 200 to REGISTER (with Require: outbound), optional
    CRLF pongs, and requests of its own sent down the client's connection."""

    def __init__(self):
        self.pong = True
        self.requests = []
        self.responses = []
        self.connections = 0
        self.writer = None

    async def start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def close(self):
        self.server.close()

    async def _serve(self, reader, writer):
        self.connections += 1
        self.writer = writer
        buffer = b""
        while True:
            data = await reader.read(4096)
            if not data:
                return
            buffer += data
            while buffer.startswith(b"\r\n\r\n"):
                buffer = buffer[4:]
                if self.pong:
                    writer.write(b"\r\n")
            messages, buffer = sip_message.split_stream(buffer)
            for raw in messages:
                message = sip_message.parse(raw)
                if not message.is_request:
                    self.responses.append(message)
                    continue
                self.requests.append(message)
                if message.method in ("REGISTER", "ACK"):
                    if message.method == "REGISTER":
                        response = sip_message.make_response(message, 200, to_tag="reg")
                        response.add("contact", message.get("contact") + ";expires=60")
                        response.add("require", "outbound")
                        response.add("flow-timer", "1")  # pings every 0.8 s
                        writer.write(response.to_bytes())
                elif message.method == "INVITE":
                    response = sip_message.make_response(message, 200, to_tag="callee")
                    response.add("contact", "<sip:5588@127.0.0.1:%d;transport=tcp>" % self.port)
                    response.add("content-type", "application/sdp")
                    response.body = SDP_ANSWER
                    writer.write(response.to_bytes())
            await writer.drain()

    def send(self, data):
        self.writer.write(data)

    def response_to(self, call_id, method):
        """The final response to the request (call_id, method), or None."""
        for response in self.responses:
            if (
                response.get("call-id") == call_id
                and response.cseq()[1] == method
                and response.status >= 200
            ):
                return response
        return None


def _request(method, call_id, port, cseq=1, to_tag="", body=b"", from_tag="f1", uri=None):
    to = "<sip:100001@127.0.0.1>" + (";tag=" + to_tag if to_tag else "")
    lines = [
        "%s %s SIP/2.0" % (method, uri or "sip:100001@127.0.0.1"),
        "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-%s-%d-%s" % (port, call_id, cseq, method),
        "Max-Forwards: 70",
        "From: <sip:5588@127.0.0.1>;tag=" + from_tag,
        "To: " + to,
        "Call-ID: " + call_id,
        "CSeq: %d %s" % (cseq, method),
        "Contact: <sip:5588@127.0.0.1:%d;transport=tcp>" % port,
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_requests_down_the_registered_connection_and_its_keepalive():
    registrar = await FlowRegistrar().start()
    udp = _udp_socket()
    events = []
    ua = SipUserAgent(
        udp,
        udp.getsockname(),
        on_event=lambda kind, call, detail: events.append((kind, detail)),
        instance_id="0d9f5b3e-2c41-4a7e-9f0e-3b8f2a1c6d55",
    )
    ua.start()
    try:
        ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % registrar.port, transport="tcp"))
        await _until(lambda: ua.status()["sip_status"] == "OK", what="registered")
        register = registrar.requests[0]
        assert register.get("contact") == (
            '<sip:100001@127.0.0.1:%d;transport=tcp>;+sip.instance="<urn:uuid:'
            '0d9f5b3e-2c41-4a7e-9f0e-3b8f2a1c6d55>";reg-id=1' % ua.local_address[1]
        )
        assert register.get("supported") == "outbound, path"

        # OPTIONS and an incoming INVITE (no controller: 486) on the flow.
        registrar.send(_request("OPTIONS", "opt1", registrar.port))
        await _until(lambda: registrar.response_to("opt1", "OPTIONS"), what="OPTIONS answered")
        assert registrar.response_to("opt1", "OPTIONS").status == 200
        registrar.send(_request("INVITE", "inc1", registrar.port, body=SDP_ANSWER))
        await _until(lambda: registrar.response_to("inc1", "INVITE"), what="INVITE answered")
        answer = registrar.response_to("inc1", "INVITE")
        assert answer.status == 486, answer.get("warning")

        # A call the UA places over the flow; ;ob in its Contact (RFC 5626 4.3).
        call = ua.invite(
            "sip:5588@127.0.0.1:%d" % registrar.port, sdp.build(1, 1, "127.0.0.1", 40002)
        )
        await _until(lambda: call.state == "answered", what="answered")
        invite = [r for r in registrar.requests if r.method == "INVITE"][0]
        assert invite.get("contact").endswith(";transport=tcp;ob>"), invite.get("contact")
        assert invite.get("supported") == "outbound"
        assert "alias" in invite.top_via().parameters
        # The callee's re-INVITE (refused: 488, the session stays) and BYE.
        from_tag = call.local_tag
        reinvite = _request(
            "INVITE", call.call_id, registrar.port, cseq=2, to_tag=from_tag,
            body=SDP_ANSWER, from_tag="callee",
        )  # fmt: skip
        registrar.send(reinvite)
        await _until(
            lambda: any(
                r.get("call-id") == call.call_id and r.cseq() == (2, "INVITE") and r.status >= 200
                for r in registrar.responses
            ),
            what="re-INVITE answered",
        )
        assert call.state == "answered"
        registrar.send(
            _request(
                "BYE", call.call_id, registrar.port, cseq=3, to_tag=from_tag, from_tag="callee"
            )
        )
        await _until(lambda: call.state == "ended", what="ended by the BYE")
        assert registrar.response_to(call.call_id, "BYE").status == 200
        assert ("ended", "remote") in events

        # Keep-alive: pings answered by pongs, then a peer that stops
        # answering: the flow has failed, the UA registers again on a new one.
        assert ua._stream.keepalive_ms == 800  # Flow-Timer: 1
        await _until(lambda: ua._stream.counters["pongs"] >= 2, what="pongs")
        registers = len([r for r in registrar.requests if r.method == "REGISTER"])
        registrar.pong = False
        await _until(lambda: ua._stream.counters["pong_timeouts"] == 1, 20, "pong timeout")
        await _until(lambda: registrar.connections == 2, what="a new connection")
        await _until(
            lambda: len([r for r in registrar.requests if r.method == "REGISTER"]) > registers,
            what="registered again",
        )
        assert ua.counters["internal_errors"] == 0
    finally:
        ua.stop()
        ua._close_stream()
        registrar.close()
        udp.close()


def _raw_exchange(sock, data, timeout_s=5):
    sock.settimeout(timeout_s)
    sock.sendall(data)
    received = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
        messages, _ = sip_message.split_stream(received)
        if messages or received == b"\r\n":
            break
    return received


async def test_the_tcp_listener_takes_requests_within_its_limits():
    registrar = await FlowRegistrar().start()
    udp = _udp_socket()
    ua = SipUserAgent(udp, udp.getsockname())
    ua.start()
    loop = asyncio.get_running_loop()
    clients = []
    try:
        ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % registrar.port, transport="tcp"))
        await _until(lambda: ua.status()["sip_status"] == "OK", what="registered")
        listener = ua._listener
        await _until(lambda: listener._server is not None, what="listening")
        port = ua.local_address[1]  # the UDP port's number (RFC 3261 18.1.1)

        def connect():
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            clients.append(client)
            return client

        client = await loop.run_in_executor(None, connect)
        # A ping gets a pong; an OPTIONS its 200 on the same connection.
        assert await loop.run_in_executor(None, _raw_exchange, client, b"\r\n\r\n") == b"\r\n"
        text = _request("OPTIONS", "lst1", 5060)
        answer = await loop.run_in_executor(None, _raw_exchange, client, text)
        response = sip_message.parse(sip_message.split_stream(answer)[0][0])
        assert response.status == 200 and response.get("call-id") == "lst1"
        # A BYE of no dialog: 481. A malformed request: 400, the connection stays.
        text = _request("BYE", "lst2", 5060, to_tag="x")
        answer = await loop.run_in_executor(None, _raw_exchange, client, text)
        assert sip_message.parse(sip_message.split_stream(answer)[0][0]).status == 481
        bad = _request("OPTIONS", "lst3", 5060).replace(b"Max-Forwards: 70", b"Bad Header x")
        answer = await loop.run_in_executor(None, _raw_exchange, client, bad)
        assert sip_message.parse(sip_message.split_stream(answer)[0][0]).status == 400

        # More connections than the limit: the extra one is closed unread.
        for _ in range(listener.max_connections - 1):
            await loop.run_in_executor(None, connect)
        await _until(lambda: len(listener.connections) == listener.max_connections)
        extra = await loop.run_in_executor(None, connect)
        extra.settimeout(5)
        assert await loop.run_in_executor(None, extra.recv, 100) == b""
        assert listener.counters["refused"] == 1

        # A message beyond MAX_DATAGRAM cannot be framed: its connection closes.
        oversized = b"OPTIONS sip:a@b SIP/2.0\r\nX: " + b"a" * 5000
        client.sendall(oversized)
        client.settimeout(5)
        assert await loop.run_in_executor(None, client.recv, 100) == b""
        await _until(lambda: listener.counters["framing_errors"] == 1)

        # Idle connections are closed after idle_ms.
        listener.idle_ms = 200
        idle = await loop.run_in_executor(None, connect)
        idle.settimeout(10)
        assert await loop.run_in_executor(None, idle.recv, 100) == b""
        assert listener.counters["idle_closed"] >= 1
        assert ua.counters["internal_errors"] == 0

        # Back on UDP: the listener closes.
        ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % registrar.port, transport="udp"))
        assert ua._listener is None
    finally:
        for client in clients:
            client.close()
        ua.stop()
        ua._close_stream()
        registrar.close()
        udp.close()


@pytest.mark.skipif(kamailio_path() is None, reason="kamailio missing: `make voip-peers`")
async def test_kamailio_answers_the_keepalive_pings(tmp_path):
    kamailio = Kamailio(tmp_path, certificates=False, nat_helper=False, outbound=True)
    await asyncio.get_running_loop().run_in_executor(None, kamailio.start)
    udp = _udp_socket()
    ua = SipUserAgent(udp, udp.getsockname())
    ua.start()
    try:
        ua.register(dict(SETTINGS, proxy="sip:127.0.0.1:%d" % kamailio.port, transport="tcp"))
        await _until(lambda: ua.status()["sip_status"] == "OK", what="registered")
        # kamailio's registrar with outbound_mode 1 and flow_timer 1:
        # Flow-Timer: 1 in its 200, so the UA pings every 0.8 s.
        assert ua._stream.keepalive_ms == 800
        await _until(lambda: ua._stream.counters["pongs"] >= 3, what="kamailio's pongs")
        assert ua._stream.counters["pong_timeouts"] == 0
        assert ua._stream.counters["connects"] == 1
    finally:
        ua.stop()
        ua._close_stream()
        udp.close()
        kamailio.stop()


@pytest.mark.skipif(kamailio_path() is None, reason="kamailio missing: `make voip-peers`")
def test_the_panel_registers_over_tcp_and_takes_requests_on_its_sip_port(tmp_path, runtime):
    # Both runtimes: the panel as `make run` starts it, registered at a plain
    # kamailio over TCP (RFC 5626 Contact), then a raw TCP client on the
    # panel's SIP port: a ping gets its pong, an OPTIONS its 200.
    from support.baresip import free_udp_tcp_port
    from support.panel_process import PanelProcess
    from support.sipp import panel_sip_account

    kamailio = Kamailio(tmp_path / "kamailio", certificates=False, nat_helper=False, outbound=True)
    # Free for TCP too: the listener takes the SIP port's number over TCP.
    port = free_udp_tcp_port()
    panel = PanelProcess(
        tmp_path / "panel", runtime=runtime, extra_args=["--sip-port", str(port), "--no-adapter"]
    )
    try:
        kamailio.start()
        panel.start()
        account = dict(panel_sip_account("sip:127.0.0.1:%d" % kamailio.port), transport="tcp")
        assert panel.request("POST", "/api/v1/device/sip/settings", account).status == 200
        assert (
            panel.request("POST", "/api/v1/device/sip/enable", {"sip_enable": True}).status == 200
        )
        kamailio.wait_for(
            lambda: any(proto == "tcp" for proto, _ in kamailio.registrations("100001")),
            20,
            "the panel registered over tcp",
        )
        deadline = time.monotonic() + 10
        while True:
            sip = panel.request("GET", "/sim/sip", auth=None).json
            listener = sip["listener"] or {}
            if listener.get("listening") and sip["stream"]["keepalive_ms"] == 800:
                break
            assert time.monotonic() < deadline, sip
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            assert _raw_exchange(client, b"\r\n\r\n") == b"\r\n"
            answer = _raw_exchange(client, _request("OPTIONS", "mpy1", 5060))
            response = sip_message.parse(sip_message.split_stream(answer)[0][0])
            assert response.status == 200 and response.get("call-id") == "mpy1"
        sip = panel.request("GET", "/sim/sip", auth=None).json
        assert sip["listener"]["accepted"] == 1 and sip["listener"]["pings"] == 1, sip
        assert sip["stream"]["connects"] == 1 and sip["ua"]["internal_errors"] == 0, sip
    finally:
        panel.stop()
        kamailio.stop()


async def test_a_listener_whose_port_is_taken_binds_once_it_is_free():
    from panel.drivers import sip_listener
    from support.baresip import free_tcp_port

    port = free_tcp_port()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    listener = sip_listener.StreamListener("127.0.0.1", port)
    try:
        listener.start()
        await _until(lambda: listener.counters["listen_errors"] >= 1, what="the bind refused")
        assert not listener.listening()
        blocker.close()
        # Tried again every LISTEN_RETRY_MS, not given up.
        await _until(
            listener.listening, timeout_s=3 * sip_listener.LISTEN_RETRY_MS / 1000, what="bound"
        )
    finally:
        blocker.close()
        listener.close()
