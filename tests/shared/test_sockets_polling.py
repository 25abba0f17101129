# drivers.sockets and the robust poll loop (drivers.polled_socket) over real
# UDP sockets on 127.0.0.1, on CPython and on the MicroPython unix port
# (make test-mpy-unix). The WebAssembly port has no socket module: there the
# socket tests return at once and only the pure ones check anything.
#
# Faults are injected into the real socket's receive call (the UdpSocket the
# driver holds), not into the driver: a MemoryError and an OSError arrive
# exactly when a real datagram waits, as a MemoryError in recvfrom does on a
# board whose heap is fragmented. The datagram stays in the kernel's buffer,
# and the driver must read it on a later round.
import gc

from sip_peer import SipPeer, has_sockets, until

from panel.compat import ENOMEM, IS_MICROPYTHON, sleep_ms
from panel.drivers import polled_socket, sockets
from panel.drivers.rtp_session import RtpSession
from panel.drivers.sip_ua import SipUserAgent
from panel.proto import rtp, sdp


def _inject(udp, method_name, errors):
    """Make udp.<method_name> raise each of errors once, then work again."""
    real = getattr(udp, method_name)
    pending = list(errors)

    def faulty(*arguments):
        if pending:
            raise pending.pop(0)
        return real(*arguments)

    setattr(udp, method_name, faulty)
    return pending


def _settings(peer):
    return {
        "proxy": "sip:%s:%d" % peer.address,
        "realm": peer.realm,
        "user": "100001",
        "password": peer.password,
        "user_id": "",
        "registration_interval": 60,
    }


def test_address_tuple_reads_tuples_and_raw_sockaddr_bytes():
    assert sockets.address_tuple(("10.0.0.9", 5060)) == ("10.0.0.9", 5060)
    assert sockets.address_tuple(("::1", 5060, 0, 0)) == ("::1", 5060)
    # Linux sockaddr_in (family 2 little-endian), as the unix port returns it.
    linux = b"\x02\x00\x13\xc4\x7f\x00\x00\x01" + bytes(8)
    assert sockets.address_tuple(linux) == ("127.0.0.1", 5060)
    assert sockets.address_tuple(bytearray(linux)) == ("127.0.0.1", 5060)
    # BSD/macOS sockaddr_in: length byte, then the family.
    bsd = b"\x10\x02\x9c\x40\x0a\x00\x00\x07" + bytes(8)
    assert sockets.address_tuple(bsd) == ("10.0.0.7", 40000)
    for bad in (b"\x0a\x00\x13\xc4", b"\x0a\x00" + bytes(26)):
        try:
            sockets.address_tuple(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)


def test_resolve_keeps_literals_and_looks_names_up():
    assert sockets.resolve("192.168.1.20", 5060) == ("192.168.1.20", 5060)
    if not has_sockets():
        return
    host, port = sockets.resolve("localhost", 5070)
    assert port == 5070 and host.count(".") == 3


def test_udp_socket_binds_a_free_even_port_and_speaks_tuples():
    if not has_sockets():
        return
    first = sockets.udp_socket("127.0.0.1")
    second = sockets.udp_socket("127.0.0.1")
    try:
        for udp in (first, second):
            host, port = udp.local_address
            assert host == "127.0.0.1" and port % 2 == 0 and 40000 <= port < 50000
            assert udp.getsockname() == udp.local_address
        assert first.local_address != second.local_address
        assert not first.readable()
        assert first.receive_into(bytearray(8)) == (0, None)
        second.sendto(b"hello", first.local_address)
        for _ in range(100):
            if first.readable():
                break
            import time

            time.sleep(0.01)
        data, source = first.recvfrom(100)
        assert data == b"hello" and source == second.local_address
        first.sendto(b"again", second.local_address)
        buffer = bytearray(16)
        for _ in range(100):
            count, source = second.receive_into(buffer)
            if count:
                break
            import time

            time.sleep(0.01)
        assert bytes(buffer[:count]) == b"again" and source == first.local_address
        # Datagrams stay apart (MicroPython's socket.readinto would join them).
        for text in (b"one", b"two"):
            first.sendto(text, second.local_address)
        received = []
        for _ in range(100):
            count, source = second.receive_into(buffer)
            if count:
                received.append(bytes(buffer[:count]))
            if len(received) == 2:
                break
            import time

            time.sleep(0.01)
        assert received == [b"one", b"two"]
    finally:
        first.close()
        second.close()


async def test_sip_ua_registers_and_calls_after_receive_errors():
    if not has_sockets():
        return
    peer = SipPeer()
    panel_socket = sockets.udp_socket("127.0.0.1")
    events = []
    ua = SipUserAgent(panel_socket, on_event=lambda kind, call, detail: events.append(kind))
    assert ua.local_address == panel_socket.local_address
    pending = _inject(ua.transport, "recvfrom", [MemoryError("injected"), OSError(ENOMEM)])
    try:
        ua.start()
        ua.register(_settings(peer))
        accepted = await peer.registrar()
        assert accepted.get("authorization")
        await until(lambda: ua.status()["sip_status"] == "OK", what="registration")
        assert pending == [] and ua.counters["receive_errors"] == 2
        # The same UA, same task, places a call and the peer hangs up.
        call = ua.invite("sip:5588@%s:%d" % peer.address, sdp.build(1, 1, "127.0.0.1", 40000))
        invite, dialog, source = await peer.answer(rtp_port=30002)
        assert invite.uri == call.request_uri
        await until(lambda: call.state == "answered", what="the answer")
        assert call.media.port == 30002
        assert (await peer.hang_up(dialog, source)).status == 200
        await until(lambda: call.state == "ended", what="the remote BYE")
        assert events == ["registration", "registration", "ringing", "answered", "ended"]
        assert ua.counters["internal_errors"] == 0 and ua.counters["poll_errors"] == 0
        assert ua._task is not None
    finally:
        ua.stop()
        panel_socket.close()
        peer.close()


async def test_rtp_keeps_receiving_after_receive_errors():
    if not has_sockets():
        return
    local = sockets.udp_socket("127.0.0.1")
    remote = sockets.udp_socket("127.0.0.1")
    plan = sdp.MediaPlan(remote.local_address[0], remote.local_address[1], 0, 101, 20, "sendrecv")
    digits = []
    session = RtpSession(local, plan, digits.append)
    pending = _inject(session.transport, "receive_into", [MemoryError("injected"), OSError(ENOMEM)])
    try:
        session.start()
        for step in range(5):
            payload = rtp.build_telephone_event(4, step >= 2, 10, 160 * (step + 1))
            remote.sendto(rtp.build_packet(101, 700 + step, 8000, 9, payload), local.local_address)
        await until(lambda: session.counters["received"] == 5, what="five RTP packets")
        assert pending == [] and session.counters["receive_errors"] == 2
        assert digits == ["4"] and session.counters["malformed"] == 0
        await until(lambda: remote.readable(), what="our RTP at the peer")
        data, source = remote.recvfrom(rtp.MAX_PACKET)
        assert source == local.local_address and rtp.parse_packet(data).payload_type == 0
        assert session.counters["poll_errors"] == 0
    finally:
        session.stop()
        local.close()
        remote.close()


class _Flaky(polled_socket.PolledSocket):
    """A poller whose poll() raises a given number of times, then counts rounds."""

    def __init__(self, failures):
        self.transport = _NoSocket()
        self.counters = {}
        self.failures = failures
        self.rounds = 0
        self.pauses = []
        self.last = None

    def poll(self, now):
        if self.last is not None:
            self.pauses.append(now - self.last)
        self.last = now
        self.rounds += 1
        if self.failures:
            self.failures -= 1
            raise MemoryError("injected into poll")


class _NoSocket:
    def setblocking(self, flag):
        pass


async def test_poll_task_counts_backs_off_and_goes_on_until_cancelled():
    poller = _Flaky(3)
    poller.start()
    await until(lambda: poller.rounds >= 6, timeout_ms=3000, what="rounds after failures")
    assert poller.counters["poll_errors"] == 3
    # Pauses after each failure double (20, 40, 80 ms), then the normal 10 ms.
    assert poller.pauses[0] >= 18 and poller.pauses[1] >= 38 and poller.pauses[2] >= 78
    assert poller.pauses[3] < 60
    poller.stop()
    rounds = poller.rounds
    await sleep_ms(50)
    assert poller.rounds == rounds  # only cancellation stops it


def test_idle_poll_allocates_nothing():
    # MicroPython only (gc.mem_alloc): an idle UA or RTP receive must not make
    # garbage. Before the readability check, each idle SIP poll allocated
    # 4704 bytes on the unix port (recvfrom's 4097-byte buffer and EAGAIN).
    if not (IS_MICROPYTHON and has_sockets() and hasattr(gc, "mem_alloc")):
        return
    udp = sockets.udp_socket("127.0.0.1")
    try:
        ua = SipUserAgent(udp)
        ua.poll(0)
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()
            for now in range(1, 101):
                ua.poll(now)
            allocated = gc.mem_alloc() - before
        finally:
            gc.enable()
        assert allocated == 0, "%d bytes in 100 idle SIP polls" % allocated
    finally:
        udp.close()
