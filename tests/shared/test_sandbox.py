# The loopback sandbox of the simulator's tests (drivers.sockets): with it on,
# no datagram, stream connection or DNS lookup leaves 127.0.0.0/8, whatever
# SIP proxy or event server a test (or a fuzzer) stored; off, nothing changes.
from checks import raises
from panel.drivers import sockets


class _Recording:
    def __init__(self):
        self.sent = []

    def setblocking(self, flag):
        pass

    def sendto(self, data, address):
        self.sent.append(address)


def test_the_sandbox_refuses_every_destination_beyond_the_loopback():
    transport = _Recording()
    udp = sockets.wrap(transport)
    try:
        sockets.restrict_to_loopback(True)
        udp.sendto(b"x", ("127.0.0.1", 5060))
        udp.sendto(b"x", ("127.3.2.1", 5060))
        for host in ("10.0.0.9", "192.168.1.5", "8.8.8.8", "0.0.0.0", "localhost", "127.x.0.1"):
            raises(OSError, udp.sendto, b"x", (host, 5060))
            raises(OSError, sockets.check_destination, host)
        # A name is never looked up: the lookup itself would leave the machine.
        raises(OSError, sockets.resolve, "registrar.example.org", 5060)
        assert sockets.resolve("127.0.0.1", 5060) == ("127.0.0.1", 5060)
        assert [address[0] for address in transport.sent] == ["127.0.0.1", "127.3.2.1"]
    finally:
        sockets.restrict_to_loopback(False)
    udp.sendto(b"x", ("10.0.0.9", 5060))  # off: as before
    assert transport.sent[-1][0] == "10.0.0.9"
