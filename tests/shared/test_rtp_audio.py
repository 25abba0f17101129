# Two-way audio of drivers.rtp_session over the loopback network: a source's
# PCM arrives at the other session's sink through G.711 and the jitter buffer,
# for both laws; RTCP reports go to port + 1 and garbage there is counted.
from array import array

from loopback_network import LoopbackNetwork

from panel.drivers.rtp_session import RtpSession, ToneSource
from panel.proto import g711, rtcp, sdp

PANEL = ("10.0.0.7", 40000)
PEER = ("10.0.0.9", 30000)


class RampSource:
    """Frames of a rising ramp, a different level every frame."""

    def __init__(self):
        self.frames = 0

    def read_frame(self, buffer):
        self.frames += 1
        if self.frames % 5 == 0:
            return False  # every fifth frame is silence
        for index in range(160):
            value = ((self.frames * 977 + index * 31) % 20000) - 10000
            buffer[2 * index] = value & 0xFF
            buffer[2 * index + 1] = (value >> 8) & 0xFF
        return True


class CollectingSink:
    def __init__(self):
        self.frames = []
        self.closed = False

    def write_frame(self, frame):
        self.frames.append(bytes(frame))

    def close(self):
        self.closed = True


def _pair(codec_name, payload_type, rtcp_pair=False):
    network = LoopbackNetwork()
    panel_plan = sdp.MediaPlan(PEER[0], PEER[1], payload_type, 101, 20, "sendrecv", codec_name)
    peer_plan = sdp.MediaPlan(PANEL[0], PANEL[1], payload_type, 101, 20, "sendrecv", codec_name)
    source = RampSource()
    sink = CollectingSink()
    extra = {}
    peer_extra = {}
    if rtcp_pair:
        extra["rtcp_transport"] = network.endpoint((PANEL[0], PANEL[1] + 1))
        peer_extra["rtcp_transport"] = network.endpoint((PEER[0], PEER[1] + 1))
    sender = RtpSession(network.endpoint(PANEL), panel_plan, source=source, **extra)
    receiver = RtpSession(network.endpoint(PEER), peer_plan, sink=sink, **peer_extra)
    return network, sender, receiver, source, sink


def _expected(codec, source_frames):
    # What the sink should hear: each source frame through encode + decode.
    replay = RampSource()
    pcm = bytearray(320)
    payload = bytearray(160)
    decoded = bytearray(320)
    frames = []
    for _ in range(source_frames):
        if replay.read_frame(pcm):
            codec.encode(pcm, payload)
        else:
            for index in range(160):
                payload[index] = codec.silence
        codec.decode(payload, decoded)
        frames.append(bytes(decoded))
    return frames


def _run_audio(codec, payload_type):
    network, sender, receiver, source, sink = _pair(codec.name, payload_type)
    for now in range(0, 2000, 10):
        sender.poll(now)
        receiver.poll(now)
    heard = [frame for frame in sink.frames if frame != bytes(320)]
    expected = [frame for frame in _expected(codec, source.frames) if frame != bytes(320)]
    # The jitter buffer delays playout by a frame or two; every frame arrives whole.
    assert len(heard) >= len(expected) - 3
    assert heard == expected[: len(heard)]
    assert receiver.jitter.counters["late"] == 0 and receiver.counters["audio_in"] > 90
    assert sender.counters["sent"] == receiver.counters["audio_in"]


def test_pcmu_audio_reaches_the_sink_bit_exact_after_g711():
    _run_audio(g711.PCMU, 0)


def test_pcma_audio_reaches_the_sink_bit_exact_after_g711():
    _run_audio(g711.PCMA, 8)


def test_the_tone_is_the_default_source_in_either_law():
    tone = ToneSource(1000)
    pcm = bytearray(320)
    assert tone.read_frame(pcm)
    samples = array("h", [0] * 160)
    for index in range(160):
        value = pcm[2 * index] | (pcm[2 * index + 1] << 8)
        samples[index] = value - 0x10000 if value & 0x8000 else value
    assert 7000 < max(samples) <= 8000 and samples[:8] == samples[8:16]
    assert not ToneSource(0).read_frame(pcm)


def test_rtcp_reports_go_to_port_plus_one_and_garbage_is_counted():
    network, sender, receiver, _, _ = _pair("pcmu", 0, rtcp_pair=True)
    for now in range(0, 5020, 10):
        sender.poll(now)
        receiver.poll(now)
    # One report each way at 5 s, to the peer's RTP port + 1.
    assert sender.counters["rtcp_sent"] == 1 and receiver.counters["rtcp_sent"] == 1
    assert receiver.counters["rtcp_received"] == 1 and sender.counters["rtcp_received"] == 1
    report = receiver.last_report
    assert report.kind == rtcp.SR and report.ssrc == sender.ssrc
    assert report.sender_packets == sender.counters["sent"] == 251
    # The receiver's report on the sender's stream: nothing lost.
    block = sender.last_report.blocks[0]
    assert block.ssrc == sender.ssrc and block.cumulative_lost == 0
    garbage = network.endpoint(("10.0.0.66", 9))
    garbage.sendto(b"\x00\x01garbage", (PANEL[0], PANEL[1] + 1))
    sender.poll(5030)
    assert sender.counters["rtcp_malformed"] == 1 and sender.counters["poll_errors"] == 0
