"""Two of the firmware's RTP sessions (drivers.rtp_session, with its
proto.jitter buffer) talking through the network emulator (support.netem)
over real UDP sockets at real-time pace, each sending a known stream of
numbered 20 ms frames, each recording what its jitter buffer played.

    result = run_call(seconds=8, loss=0.05, jitter_ms=(0, 40), seed=1)
    result.sides["a"] / result.sides["b"]: what A / B heard (a Hearing)

Frame k carries its number in its first three mu-law bytes (0x80 + k // 127,
0x80 + k % 127, a check byte), values G.711 keeps exactly, so a frame the
buffer played as audio is identified bit for bit. What each pull of the
buffer gave (audio, concealed, silence) is read from the buffer's counters.
Delay: frames the sender had sent when a frame was played, minus its number
(delay_frames: both sessions run on one loop, so this counts frames on the
call's own clock), and the time from its sending to its playout on the
monotonic clock (delay_ms).
"""

import os
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from panel.compat import ticks_ms  # noqa: E402
from panel.drivers.rtp_session import RtpSession  # noqa: E402
from panel.proto import g711, jitter  # noqa: E402
from panel.proto.sdp import MediaPlan  # noqa: E402
from support.netem import NetworkEmulator  # noqa: E402

MAX_INDEX = 127 * 127 - 1  # frames a stream can number (5 minutes)
POLL_S = 0.005


def frame_code(index):
    """The mu-law bytes of frame `index` (160)."""
    high, low = 0x80 + index // 127, 0x80 + index % 127
    check = 0x80 + (high + low) % 127
    # The rest: a square wave (+/- one level), something to hear.
    body = bytes([0xA0, 0x20] * ((g711.FRAME_SAMPLES - 3) // 2 + 1))
    return bytes([high, low, check]) + body[: g711.FRAME_SAMPLES - 3]


def frame_index(pcm):
    """The number of a frame of PCM, or None when it is not one of ours intact."""
    code = bytearray(g711.FRAME_SAMPLES)
    g711.PCMU.encode(pcm, code)
    high, low, check = code[0], code[1], code[2]
    if not (0x80 <= high <= 0xFE and 0x80 <= low <= 0xFE):
        return None
    if check != 0x80 + (high + low) % 127:
        return None
    return (high - 0x80) * 127 + (low - 0x80)


class NumberedSource:
    """The sender's audio: frame 0, 1, 2 ... as PCM; remembers when each went."""

    def __init__(self):
        self.sent = 0
        self.sent_at = []
        self._pcm = bytearray(g711.FRAME_BYTES)

    def read_frame(self, buffer):
        if self.sent > MAX_INDEX:
            return False
        g711.PCMU.decode(frame_code(self.sent), self._pcm, g711.FRAME_SAMPLES)
        buffer[:] = self._pcm
        self.sent_at.append(time.monotonic())
        self.sent += 1
        return True


class Hearing:
    """The receiver's sink: per pull, its kind and (for audio) the frame number."""

    def __init__(self, source_of_peer):
        self.peer = source_of_peer
        self.buffer = None  # the session's jitter buffer, set once it exists
        self.pulls = []  # (kind, index or None, delay_frames, delay_ms, depth)
        self._seen = {"played": 0, "concealed": 0, "silent": 0}

    def write_frame(self, pcm):
        counters = self.buffer.counters
        kind = None
        for name, this_kind in (
            ("played", jitter.AUDIO),
            ("concealed", jitter.CONCEALED),
            ("silent", jitter.SILENCE),
        ):
            if counters[name] != self._seen[name]:
                self._seen[name] = counters[name]
                kind = this_kind
        index = frame_index(pcm) if kind == jitter.AUDIO else None
        delay_frames = delay_ms = None
        if index is not None:
            delay_frames = self.peer.sent - index
            delay_ms = (time.monotonic() - self.peer.sent_at[index]) * 1000
        self.pulls.append((kind, index, delay_frames, delay_ms, self.buffer.depth))

    # -- what the assertions and the benchmark read ------------------------------
    def played(self):
        return [pull[1] for pull in self.pulls if pull[0] == jitter.AUDIO]

    def gaps(self):
        """Lengths of the runs of non-audio pulls between two audio pulls."""
        runs = []
        run = None
        for pull in self.pulls:
            if pull[0] == jitter.AUDIO:
                if run:
                    runs.append(run)
                run = 0
            elif run is not None:
                run += 1
        return runs

    def silent_after_start(self):
        """Silent pulls between the first and the last audio pull."""
        kinds = [pull[0] for pull in self.pulls]
        if jitter.AUDIO not in kinds:
            return 0
        first = kinds.index(jitter.AUDIO)
        last = len(kinds) - 1 - kinds[::-1].index(jitter.AUDIO)
        return kinds[first:last].count(jitter.SILENCE)

    def settled(self, field, part=0.5):
        """The median delay (field 2: frames, 3: ms) over the last `part` of the pulls."""
        tail = self.pulls[int(len(self.pulls) * (1 - part)) :]
        values = sorted(pull[field] for pull in tail if pull[1] is not None)
        return values[len(values) // 2] if values else None

    def longest_drop_run(self, log):
        """The most consecutive datagrams the emulator dropped (its log of our peer's stream)."""
        longest = run = 0
        for entry in log:
            run = run + 1 if entry[1] else 0
            longest = max(longest, run)
        return longest


class CallResult:
    def __init__(self, sides, sessions, emulator):
        self.sides = sides
        self.sessions = sessions
        self.emulator = emulator


def _udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def run_call(seconds=8, loss=0.05, jitter_ms=(0, 40), seed=1, then=None):
    """then: (after_s, loss, jitter_ms): the network changes after after_s."""
    socket_a, socket_b = _udp(), _udp()
    emulator = NetworkEmulator(
        socket_a.getsockname(), socket_b.getsockname(), loss, jitter_ms, seed
    ).start()
    sources = {"a": NumberedSource(), "b": NumberedSource()}
    sides = {"a": Hearing(sources["b"]), "b": Hearing(sources["a"])}
    sessions = {}
    for name, sock, via in (
        ("a", socket_a, emulator.address_for_a),
        ("b", socket_b, emulator.address_for_b),
    ):
        plan = MediaPlan(via[0], via[1], g711.PCMU_PAYLOAD_TYPE, None, 20, "sendrecv", "pcmu")
        session = RtpSession(sock, plan, source=sources[name], sink=sides[name])
        session.transport.setblocking(False)
        sides[name].buffer = session.jitter
        sessions[name] = session
    try:
        start = time.monotonic()
        end = start + seconds
        while time.monotonic() < end:
            if then is not None and time.monotonic() - start >= then[0]:
                emulator.set_conditions(then[1], then[2])
                then = None
            now = ticks_ms()
            for session in sessions.values():
                session.poll(now)
            time.sleep(POLL_S)
    finally:
        emulator.stop()
        socket_a.close()
        socket_b.close()
    return CallResult(sides, sessions, emulator)
