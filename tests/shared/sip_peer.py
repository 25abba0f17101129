# A small SIP peer over a real UDP socket (drivers.sockets), scripted with the
# proto modules: a registrar that challenges with digest, and a UAS that rings,
# answers with SDP and hangs up. It runs on CPython and on the MicroPython unix
# port (the WebAssembly port has no sockets: tests check has_sockets() first).
# Used by test_sockets_polling.py; tests/host/test_sip_ua_sipp.py uses sipp.
from panel.compat import sleep_ms, ticks_add, ticks_diff, ticks_ms
from panel.drivers import sockets
from panel.proto import digest, sdp, sip_message


def has_sockets():
    try:
        import socket  # noqa: F401 - only asking whether the port has one
    except ImportError:
        return False
    return True


async def until(condition, timeout_ms=5000, what="condition"):
    """Wait (10 ms steps, letting other tasks run) until condition() is true."""
    deadline = ticks_add(ticks_ms(), timeout_ms)
    while not condition():
        if ticks_diff(deadline, ticks_ms()) <= 0:
            raise AssertionError("timed out waiting for " + what)
        await sleep_ms(10)


class SipPeer:
    """Registrar and UAS on 127.0.0.1, one request at a time."""

    def __init__(self, realm="peer.test", password="s3cret"):
        self.socket = sockets.udp_socket("127.0.0.1")
        self.address = self.socket.local_address
        self.realm = realm
        self.password = password
        self.counter = 0

    def close(self):
        self.socket.close()

    async def receive(self, timeout_ms=5000):
        """(message, source) of the next datagram."""
        found = []

        def arrived():
            if self.socket.readable():
                try:
                    found.append(self.socket.recvfrom(sip_message.MAX_DATAGRAM))
                except OSError:
                    return False
                return True
            return False

        await until(arrived, timeout_ms, "a datagram at the peer")
        data, source = found[0]
        return sip_message.parse(data), source

    async def expect(self, method, timeout_ms=5000):
        """The next request with this method (responses and others skipped)."""
        while True:
            message, source = await self.receive(timeout_ms)
            if message.is_request and message.method == method:
                return message, source

    def reply(self, request, status, source, headers=(), body=b"", to_tag="peer"):
        response = sip_message.make_response(request, status, to_tag=to_tag)
        for name, value in headers:
            response.add(name, value)
        if body:
            response.add("content-type", "application/sdp")
            response.body = body
        self.socket.sendto(response.to_bytes(), source)
        return response

    async def registrar(self, expires=60):
        """Challenge one REGISTER, check the answer, accept it; returns the
        accepted REGISTER."""
        first, source = await self.expect("REGISTER")
        self.reply(
            first,
            401,
            source,
            [("www-authenticate", 'Digest realm="%s", nonce="n1", qop="auth"' % self.realm)],
        )
        second, source = await self.expect("REGISTER")
        credentials = digest.parse_authorization(second.get("authorization"))
        if not digest.verify(credentials, "REGISTER", self.password):
            self.reply(second, 403, source)
            raise AssertionError("digest did not verify")
        self.reply(
            second, 200, source, [("expires", str(expires)), ("contact", second.get("contact"))]
        )
        return second

    async def answer(self, rtp_port=30000):
        """Ring, answer with SDP, take the ACK; returns (invite, dialog, source)."""
        invite, source = await self.expect("INVITE")
        self.reply(invite, 180, source, to_tag="callee")
        contact = "<sip:callee@%s:%d>" % self.address
        self.reply(
            invite,
            200,
            source,
            [("contact", contact)],
            sdp.build(9, 9, self.address[0], rtp_port),
            to_tag="callee",
        )
        await self.expect("ACK")
        return invite, sip_message.Dialog.from_uas_request(invite, "callee"), source

    async def hang_up(self, dialog, source):
        """Send BYE in the dialog; returns the final response."""
        self.counter += 1
        via = sip_message.Via(
            "UDP", self.address[0], self.address[1], {"branch": "z9hG4bKpeer%d" % self.counter}
        )
        self.socket.sendto(dialog.request("BYE", via).to_bytes(), source)
        while True:
            message, _ = await self.receive()
            if not message.is_request:
                return message
