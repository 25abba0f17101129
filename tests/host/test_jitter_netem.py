"""The jitter buffer under a bad network: two of the firmware's RTP sessions
(drivers.rtp_session with proto.jitter) over real UDP sockets, through our
network emulator (support.netem: loss, random delay that reorders), each
streaming numbered 20 ms frames at real-time pace (support.rtp_stream).

What the buffer promises (proto/jitter.py): frames play in sequence order;
a missing frame is concealed (the last one, attenuated) for up to
CONCEAL_FRAMES frames before silence; the depth stays within
MIN_DEPTH..MAX_DEPTH, and shrinks again after a calm window. Figures (the
settled delay in ms, concealed frames) are benchmarks: bench_audio.py's
jitter_netem_* lines. Nothing here is a timing target: the delay bound is
in frames on the call's own 20 ms clock, derived from MAX_DEPTH.
"""

from panel.proto import jitter
from support.rtp_stream import run_call

LOSS = 0.05
JITTER_MS = (0, 40)
FRAME_MS = 20


def _delay_bound_frames(jitter_ms):
    # Playout lags arrival by at most MAX_DEPTH frames; arrival lags sending by
    # the emulator's largest delay; one more frame each for the send and pull
    # of one poll and for the poll period.
    return jitter.MAX_DEPTH + -(-jitter_ms[1] // FRAME_MS) + 2


def test_five_percent_loss_and_40_ms_jitter_both_ways():
    result = run_call(seconds=8, loss=LOSS, jitter_ms=JITTER_MS, seed=1)
    for name, peer_log in (("a", "b->a"), ("b", "a->b")):
        hearing = result.sides[name]
        buffer = result.sessions[name].jitter
        log = result.emulator.log[peer_log]
        sent, dropped = result.emulator.counts(peer_log)
        assert sent > 300 and 0 < dropped < sent // 5, (sent, dropped)
        # The seed's losses are never longer than the concealment covers, so
        # nothing the buffer plays between two frames may be silence.
        assert hearing.longest_drop_run(log) < jitter.CONCEAL_FRAMES, log
        played = hearing.played()
        assert None not in played, "a frame played as audio that is not one of ours intact"
        assert all(before < after for before, after in zip(played, played[1:])), played
        assert len(played) >= 0.8 * len(hearing.pulls), buffer.counters
        assert max(hearing.gaps()) <= jitter.CONCEAL_FRAMES, hearing.gaps()
        assert hearing.silent_after_start() == 0
        assert buffer.counters["concealed"] >= 1
        depths = [pull[4] for pull in hearing.pulls]
        assert jitter.MIN_DEPTH <= min(depths) and max(depths) <= jitter.MAX_DEPTH
        assert hearing.settled(2) <= _delay_bound_frames(JITTER_MS), hearing.settled(2)


def test_the_depth_of_a_jitter_spike_shrinks_again_on_a_lossy_link():
    # 2 s of up to 120 ms delay grow the depth; then 8 s of up to 20 ms with
    # the same 5 % loss: after a calm window (SHRINK_WINDOW pulls) it shrinks.
    # (Before the fix every lost frame restarted the window: it never did.)
    result = run_call(seconds=10, loss=LOSS, jitter_ms=(0, 120), seed=3, then=(2, LOSS, (0, 20)))
    for name in ("a", "b"):
        hearing = result.sides[name]
        depths = [pull[4] for pull in hearing.pulls]
        grown = max(depths)
        assert grown > jitter.START_DEPTH, depths
        assert depths[-1] < grown, (depths[-1], grown, result.sessions[name].jitter.counters)
        assert hearing.settled(2, part=0.1) < max(
            pull[2] for pull in hearing.pulls if pull[2] is not None
        )
        played = hearing.played()
        assert all(before < after for before, after in zip(played, played[1:]))
