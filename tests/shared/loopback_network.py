# A datagram network in memory, for the SIP and RTP tests of both runtimes
# (MicroPython's WebAssembly build has no socket module): endpoints with the
# sendto/recvfrom/setblocking of a non-blocking UDP socket.


class Endpoint:
    """A datagram socket's sendto/recvfrom/setblocking over a LoopbackNetwork."""

    def __init__(self, network, address):
        self.network = network
        self.address = address

    def setblocking(self, flag):
        pass

    def close(self):
        # Like a closed socket: nothing more is delivered to this address.
        self.network.queues.pop(self.address, None)

    def sendto(self, data, address):
        queue = self.network.queues.get(tuple(address))
        if queue is not None:  # like UDP: no listener, the datagram is lost
            queue.append((bytes(data), self.address))

    def recvfrom(self, size):
        queue = self.network.queues.get(self.address)
        if queue is None:
            raise OSError(9)  # EBADF: closed
        if not queue:
            raise OSError(11)  # EAGAIN, as a non-blocking socket says
        data, source = queue.pop(0)
        return data[:size], source


class LoopbackNetwork:
    def __init__(self):
        self.queues = {}

    def endpoint(self, address):
        self.queues[address] = []
        return Endpoint(self, address)
