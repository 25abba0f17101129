# The receive side of a call's audio: a jitter buffer for 20 ms G.711 frames.
# Packets go in as they come (any order, duplicates, losses), one decoded
# 20 ms frame of 16-bit PCM comes out per pull, at the pace of the caller's
# 20 ms clock. Pure: no clock, no I/O; the caller says when to pull.
#
#   buffer = JitterBuffer(decode)       decode(payload, pcm_out, count): a G.711 law
#   buffer.put(sequence, payload)       an RTP packet's sequence number and payload
#   kind = buffer.pull(pcm_out)         fills 320 bytes; kind says what it holds:
#       AUDIO      the frame that was due
#       CONCEALED  it was lost or late: the last frame again, attenuated
#       SILENCE    nothing yet, or lost for longer than the concealment
#
# Reordering: frames sit in slots by sequence number (16-bit, wrapping).
# Depth (frames between arrival and playout) adapts: a packet that comes after
# its turn grows it by one frame (one frame of concealment is played without
# advancing); a whole window without late packets in which the buffer never
# ran dry shrinks it by one frame (one frame is dropped). It starts at
# START_DEPTH and stays within MIN_DEPTH..MAX_DEPTH.
# Memory is bounded by MAX_FRAMES slots of one encoded frame each, all
# preallocated; put() and pull() allocate nothing.
from panel.compat import const

AUDIO = "audio"
CONCEALED = "concealed"
SILENCE = "silence"

# Slots: the most frames held at once (320 ms of audio); a packet further
# ahead than this restarts the buffer at it (the peer jumped).
MAX_FRAMES = const(16)
# Samples (encoded bytes) of one 20 ms G.711 frame; packets of another size
# are dropped and counted (a peer must honour our ptime).
FRAME_SAMPLES = const(160)
# Depth bounds and start, in frames of 20 ms.
MIN_DEPTH = const(1)
START_DEPTH = const(2)
MAX_DEPTH = const(10)
# Consecutive lost frames concealed by repeating the last one (each time at
# half the level); after that, silence.
CONCEAL_FRAMES = const(3)
# Pulls (20 ms each: 5 s) without a late packet, the buffer never empty, before
# the depth shrinks by a frame.
SHRINK_WINDOW = const(250)


def _signed16(low, high):
    value = low | (high << 8)
    return value - 0x10000 if value & 0x8000 else value


class JitterBuffer:
    def __init__(self, decode, start_depth=START_DEPTH):
        self.decode = decode
        self._slots = [bytearray(FRAME_SAMPLES) for _ in range(MAX_FRAMES)]
        # Sequence number held by each slot, or -1 for an empty slot.
        self._held = [-1] * MAX_FRAMES
        self._last = bytearray(2 * FRAME_SAMPLES)
        self.depth = start_depth
        self._next = None  # sequence number of the next frame to play
        self._waiting = 0  # pulls of silence left before playout starts
        self._hold = 0  # frames to play without advancing (the depth grew)
        self._losses = 0  # consecutive lost frames
        self._calm = 0  # pulls since the last late packet or dry pull
        self.counters = {
            "received": 0,
            "played": 0,
            "concealed": 0,
            "silent": 0,
            "late": 0,
            "duplicate": 0,
            "dropped": 0,
            "restarts": 0,
            "wrong_size": 0,
        }

    def _distance(self, sequence):
        # Signed distance from the playout point, 16-bit wrap (RFC 3550 A.1).
        return ((sequence - self._next + 0x8000) & 0xFFFF) - 0x8000

    def _restart(self, sequence):
        for index in range(MAX_FRAMES):
            self._held[index] = -1
        self._next = sequence
        self._waiting = self.depth - 1
        self._hold = 0

    def buffered(self):
        """Frames held from the playout point on (what will play without loss)."""
        if self._next is None:
            return 0
        count = 0
        for index in range(MAX_FRAMES):
            if self._held[index] >= 0:
                count += 1
        return count

    def put(self, sequence, payload):
        counters = self.counters
        counters["received"] += 1
        if len(payload) != FRAME_SAMPLES:
            counters["wrong_size"] += 1
            return
        sequence &= 0xFFFF
        if self._next is None:
            self._restart(sequence)
        distance = self._distance(sequence)
        if distance < 0:
            # Its turn has passed (it was concealed): play later from now on.
            counters["late"] += 1
            self._calm = 0
            if self.depth < MAX_DEPTH:
                self.depth += 1
                self._hold += 1
            return
        if distance >= MAX_FRAMES:
            # Far ahead: a long outage or a new stream; start again from it.
            counters["restarts"] += 1
            self._restart(sequence)
        slot = sequence % MAX_FRAMES
        if self._held[slot] == sequence:
            counters["duplicate"] += 1
            return
        if self._held[slot] >= 0:
            counters["dropped"] += 1  # an older frame never played: overwritten
        self._slots[slot][:] = payload
        self._held[slot] = sequence

    def pull(self, output):
        """One 20 ms frame of 16-bit PCM into output (320 bytes); returns its kind."""
        counters = self.counters
        if self._next is None or self._waiting > 0:
            if self._next is not None:
                self._waiting -= 1
            return self._silence(output)
        if self._hold > 0:
            self._hold -= 1
            return self._conceal(output)
        slot = self._next % MAX_FRAMES
        found = self._held[slot] == self._next
        if found:
            self.decode(self._slots[slot], output, FRAME_SAMPLES)
            self._held[slot] = -1
            self._last[:] = output
            self._losses = 0
            counters["played"] += 1
            kind = AUDIO
        else:
            kind = self._conceal(output)
        self._next = (self._next + 1) & 0xFFFF
        self._adapt()
        return kind

    def _adapt(self):
        # The buffer ran dry (nothing left after this frame): no shrinking for
        # a window. A frame lost while later ones wait is a loss, not a sign
        # the depth is too small: counting it as dry kept the depth (and the
        # delay) of one jitter spike for the rest of a call on a lossy link
        # (5 % loss: 250 pulls without any loss almost never happen).
        if self.buffered() == 0:
            self._calm = 0
            return
        self._calm += 1
        if self._calm >= SHRINK_WINDOW and self.depth > MIN_DEPTH:
            self._calm = 0
            self.depth -= 1
            # Drop the frame now due, so playout comes a frame closer.
            slot = self._next % MAX_FRAMES
            if self._held[slot] == self._next:
                self._held[slot] = -1
                self.counters["dropped"] += 1
            self._next = (self._next + 1) & 0xFFFF

    def _silence(self, output):
        for index in range(len(output)):
            output[index] = 0
        self.counters["silent"] += 1
        return SILENCE

    def _conceal(self, output):
        self._losses += 1
        if self._losses > CONCEAL_FRAMES:
            return self._silence(output)
        # The last frame at half its level (an arithmetic shift per sample).
        last = self._last
        for index in range(0, len(last), 2):
            value = _signed16(last[index], last[index + 1]) >> 1
            last[index] = value & 0xFF
            last[index + 1] = (value >> 8) & 0xFF
        output[:] = last
        self.counters["concealed"] += 1
        return CONCEALED
