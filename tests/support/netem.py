"""A network emulator of our own for media tests: a UDP relay between two
peers that drops a fraction of the datagrams and delays each of the others by
a random jitter (so datagrams overtake each other), seeded, so a run's
choices are the same every time.

    emulator = NetworkEmulator(peer_a, peer_b, loss=0.05, jitter_ms=(0, 40), seed=1)
    emulator.start()
    # peer A sends to emulator.address_for_a, peer B to emulator.address_for_b;
    # each receives the other's datagrams from the emulator's socket it sends to.
    emulator.set_conditions(loss, jitter_ms)   from now on (a spike, a calm)
    emulator.stop()
    emulator.log["a->b"]   [(index, dropped, delay_ms)] per datagram, in arrival order

Each direction has its own random.Random (seed and direction), so the drop
and delay of the n-th datagram of a direction do not depend on how the two
directions interleave. Real sockets, one thread: datagrams wait in a heap
ordered by their due time and leave when it comes (timing is the OS's,
a little later than due on a loaded machine, never earlier).
"""

import heapq
import random
import select
import socket
import threading
import time


class _Direction:
    def __init__(self, name, inbound, outbound, destination, loss, jitter_ms, seed):
        self.name = name
        self.inbound = inbound  # the socket this direction's sender sends to
        self.outbound = outbound  # the socket it leaves from (the receiver's view)
        self.destination = destination
        self.loss = loss
        self.jitter_ms = jitter_ms
        self.random = random.Random("%s/%s" % (seed, name))
        self.log = []

    def choose(self):
        """(dropped, delay_ms) of the next datagram."""
        dropped = self.random.random() < self.loss
        delay_ms = self.random.uniform(*self.jitter_ms)
        self.log.append((len(self.log), dropped, delay_ms))
        return dropped, delay_ms


class NetworkEmulator:
    def __init__(self, peer_a, peer_b, loss=0.05, jitter_ms=(0, 40), seed=1, host="127.0.0.1"):
        self.loss = loss
        self.jitter_ms = jitter_ms
        self._socket_a = self._bound(host)  # A's side: A sends here, hears B from here
        self._socket_b = self._bound(host)
        self.address_for_a = self._socket_a.getsockname()
        self.address_for_b = self._socket_b.getsockname()
        self._directions = {
            self._socket_a: _Direction(
                "a->b", self._socket_a, self._socket_b, peer_b, loss, jitter_ms, seed
            ),
            self._socket_b: _Direction(
                "b->a", self._socket_b, self._socket_a, peer_a, loss, jitter_ms, seed
            ),
        }
        self.log = {direction.name: direction.log for direction in self._directions.values()}
        self._queue = []  # (due, order, direction, data)
        self._order = 0
        self._running = False
        self._thread = None

    @staticmethod
    def _bound(host):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        sock.setblocking(False)
        return sock

    def start(self):
        self._running = True
        self._thread = threading.Thread(target=self._run, name="netem", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._running = False
        if self._thread is not None:
            self._thread.join(5)
        self._socket_a.close()
        self._socket_b.close()

    def set_conditions(self, loss, jitter_ms):
        """New loss and jitter for the datagrams that come from now on."""
        for direction in self._directions.values():
            direction.loss = loss
            direction.jitter_ms = jitter_ms

    def counts(self, name):
        """(datagrams seen, dropped) in direction "a->b" or "b->a"."""
        log = self.log[name]
        return len(log), sum(1 for entry in log if entry[1])

    def _run(self):
        sockets = list(self._directions)
        while self._running:
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, direction, data = heapq.heappop(self._queue)
                try:
                    direction.outbound.sendto(data, direction.destination)
                except OSError:
                    pass  # the peer went away: the network lost it
            timeout = 0.05
            if self._queue:
                timeout = max(0.0, min(timeout, self._queue[0][0] - now))
            readable, _, _ = select.select(sockets, [], [], timeout)
            for sock in readable:
                self._receive(sock)

    def _receive(self, sock):
        direction = self._directions[sock]
        while True:
            try:
                data, _ = sock.recvfrom(65536)
            except (BlockingIOError, OSError):
                return
            dropped, delay_ms = direction.choose()
            if dropped:
                continue
            self._order += 1
            due = time.monotonic() + delay_ms / 1000
            heapq.heappush(self._queue, (due, self._order, direction, data))
