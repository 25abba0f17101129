# The jitter buffer (panel.proto.jitter): reordering over the 16-bit wrap,
# concealment then silence, adaptive depth, bounded slots.
from panel.proto import g711, jitter


def _frame(value):
    """An encoded frame whose decoded samples all equal ULAW_TABLE[value]."""
    return bytes([value]) * jitter.FRAME_SAMPLES


def _level(pcm):
    # Every sample of these frames is the same: the first one stands for all.
    value = pcm[0] | (pcm[1] << 8)
    return value - 0x10000 if value & 0x8000 else value


def _pull_all(buffer, count):
    pcm = bytearray(2 * jitter.FRAME_SAMPLES)
    found = []
    for _ in range(count):
        kind = buffer.pull(pcm)
        found.append((kind, _level(pcm)))
    return found


def test_reordered_frames_over_the_wrap_play_in_sequence_order():
    buffer = jitter.JitterBuffer(g711.ulaw_decode, start_depth=3)
    codes = [0x80 + index for index in range(6)]  # six distinct levels
    sequences = [(65533 + index) & 0xFFFF for index in range(6)]
    order = [0, 2, 1, 3, 5, 4]  # swapped pairs, across 65535 -> 0
    pcm = bytearray(2 * jitter.FRAME_SAMPLES)
    played = []
    # A packet arrives, then a frame is pulled: the depth of 3 absorbs the swaps.
    for position in order:
        buffer.put(sequences[position], _frame(codes[position]))
        kind = buffer.pull(pcm)
        if kind == jitter.AUDIO:
            played.append(_level(pcm))
    for _ in range(3):
        if buffer.pull(pcm) == jitter.AUDIO:
            played.append(_level(pcm))
    assert played == [g711.ULAW_TABLE[code] for code in codes]
    assert buffer.counters["late"] == 0 and buffer.counters["played"] == 6


def test_a_loss_is_concealed_attenuated_then_silence():
    buffer = jitter.JitterBuffer(g711.ulaw_decode, start_depth=1)
    buffer.put(10, _frame(0x80))  # the loudest positive level
    first = _pull_all(buffer, 1)
    assert first == [(jitter.AUDIO, 32124)]
    after = _pull_all(buffer, jitter.CONCEAL_FRAMES + 2)
    kinds = [kind for kind, _ in after]
    assert kinds == [jitter.CONCEALED] * jitter.CONCEAL_FRAMES + [jitter.SILENCE] * 2
    levels = [level for _, level in after]
    assert levels[:3] == [16062, 8031, 4015] and levels[3:] == [0, 0]
    # Audio again once frames come: the next in sequence plays.
    buffer.put(10 + 1 + len(after), _frame(0x90))
    assert _pull_all(buffer, 1) == [(jitter.AUDIO, g711.ULAW_TABLE[0x90])]


def test_a_late_packet_grows_the_depth_and_calm_shrinks_it():
    buffer = jitter.JitterBuffer(g711.ulaw_decode, start_depth=1)
    pcm = bytearray(2 * jitter.FRAME_SAMPLES)
    buffer.put(0, _frame(0x80))
    buffer.pull(pcm)
    buffer.pull(pcm)  # frame 1 is due and missing: concealed
    buffer.put(1, _frame(0x81))  # too late
    assert buffer.counters["late"] == 1 and buffer.depth == 2
    # The growth is one frame played without advancing; then 2 is on time.
    buffer.put(2, _frame(0x82))
    assert buffer.pull(pcm) == jitter.CONCEALED
    assert buffer.pull(pcm) == jitter.AUDIO and _level(pcm) == g711.ULAW_TABLE[0x82]
    # Steady arrivals a frame ahead of playout, for a whole window: one frame shorter.
    sequence = 3
    buffer.put(sequence, _frame(0x83))
    for _ in range(jitter.SHRINK_WINDOW + 1):
        sequence += 1
        buffer.put(sequence, _frame(0x83))
        buffer.pull(pcm)
    assert buffer.depth == 1
    assert buffer.depth >= jitter.MIN_DEPTH


def test_losses_with_frames_waiting_do_not_stop_the_depth_shrinking():
    # Found by the network emulator (tests/host/test_jitter_netem.py): on a
    # lossy link every lost frame counted as "ran dry", so the depth of one
    # jitter spike stayed for the whole call. A loss while later frames wait
    # is no reason to keep the delay.
    buffer = jitter.JitterBuffer(g711.ulaw_decode, start_depth=4)
    pcm = bytearray(2 * jitter.FRAME_SAMPLES)
    for sequence in range(4):
        buffer.put(sequence, _frame(0x80))
    sequence = 4
    for pull in range(jitter.SHRINK_WINDOW + 8):
        if pull % 10 != 5:  # one packet in ten is lost (10 % loss)
            buffer.put(sequence, _frame(0x80))
        sequence += 1
        buffer.pull(pcm)
    assert buffer.counters["concealed"] > 0
    assert buffer.depth == 3


def test_a_buffer_that_runs_dry_keeps_its_depth():
    # Running dry (nothing waiting after the frame played) is what keeps the
    # depth: here one packet in ten comes a frame later than the others, in
    # time to play but leaving the buffer empty for a pull.
    buffer = jitter.JitterBuffer(g711.ulaw_decode, start_depth=2)
    pcm = bytearray(2 * jitter.FRAME_SAMPLES)
    delayed = None
    for sequence in range(jitter.SHRINK_WINDOW + 8):
        if delayed is not None:
            buffer.put(delayed, _frame(0x80))
            delayed = None
        if sequence % 10 == 5:
            delayed = sequence
        else:
            buffer.put(sequence, _frame(0x80))
        buffer.pull(pcm)
    assert buffer.counters["late"] == 0 and buffer.counters["concealed"] == 0
    assert buffer.depth == 2


def test_duplicates_far_jumps_wrong_sizes_and_bounds():
    buffer = jitter.JitterBuffer(g711.ulaw_decode, start_depth=2)
    buffer.put(100, _frame(0x80))
    buffer.put(100, _frame(0x80))
    assert buffer.counters["duplicate"] == 1
    buffer.put(101, b"\x80" * 80)
    assert buffer.counters["wrong_size"] == 1
    # Far ahead of playout: the buffer starts again there.
    buffer.put(100 + jitter.MAX_FRAMES + 5, _frame(0x85))
    assert buffer.counters["restarts"] == 1 and buffer.buffered() == 1
    # A flood of frames never holds more than MAX_FRAMES.
    for offset in range(200):
        buffer.put(121 + offset, _frame(0x85))
        assert buffer.buffered() <= jitter.MAX_FRAMES
    # Nothing before the first packet: silence.
    empty = jitter.JitterBuffer(g711.alaw_decode)
    assert _pull_all(empty, 2) == [(jitter.SILENCE, 0), (jitter.SILENCE, 0)]
