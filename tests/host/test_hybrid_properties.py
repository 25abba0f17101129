# Property tests of proto.hybrid (hypothesis, host only): any bytes, fed whole or
# in random chunks, give the same events and the same counted drops, never an
# exception; a damaged frame is dropped, never taken for a different one.
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.proto import hybrid

# Deterministic runs: a CRC-16 lets one random damage in 65536 through by
# design; a test suite must not flicker on that.
SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_INFO = hybrid.AdapterInfo("1.0", [("laskomex", 1, 80), ("vizit", 1, 40)], boot_id=3)


def _ready_panel():
    panel = hybrid.HybridLink(hybrid.PANEL)
    adapter = hybrid.HybridLink(hybrid.ADAPTER, _INFO)
    adapter.feed(panel.hello(0, 0x1111))
    panel.feed(adapter.poll(0))
    assert panel.next_event().kind == "ready"
    assert adapter.next_event().kind == "session"
    return panel


def _ready_adapter():
    adapter = hybrid.HybridLink(hybrid.ADAPTER, _INFO)
    adapter.feed(hybrid.encode_frame(0x01, 0, b"\x01\x00\x22\x22"))
    assert adapter.next_event().kind == "session"
    adapter.poll(0)
    return adapter


MACHINES = {
    "panel_idle": lambda: hybrid.HybridLink(hybrid.PANEL),
    "panel_ready": _ready_panel,
    "adapter_booted": lambda: hybrid.HybridLink(hybrid.ADAPTER, _INFO),
    "adapter_ready": _ready_adapter,
}

line_bodies = st.builds(
    lambda system, line: bytes((system, line >> 8, line & 0xFF)),
    st.integers(0, 3),
    st.integers(0, 0xFFFF),
)
valid_frames = st.one_of(
    # Line events and commands, ACKs, BOOT, HELLO: right and wrong directions,
    # right and wrong bodies.
    st.builds(
        hybrid.encode_frame,
        st.sampled_from([0x90, 0x91, 0x92, 0x93, 0x10, 0x11, 0x12, 0x13, 0x02]),
        st.integers(0, 255),
        line_bodies,
    ),
    st.builds(
        hybrid.encode_frame,
        st.just(0x94),
        st.integers(0, 255),
        st.builds(lambda body, kind: body + bytes((kind,)), line_bodies, st.integers(0, 4)),
    ),
    st.builds(
        hybrid.encode_frame, st.just(0x06), st.integers(0, 255), st.binary(min_size=0, max_size=2)
    ),
    st.builds(
        hybrid.encode_frame, st.just(0x80), st.integers(0, 255), st.binary(min_size=3, max_size=3)
    ),
    st.builds(
        hybrid.encode_frame, st.just(0x01), st.integers(0, 255), st.binary(min_size=4, max_size=4)
    ),
    st.builds(
        hybrid.encode_frame, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=80)
    ),
)
streams = st.lists(st.one_of(st.binary(max_size=120), valid_frames), max_size=12).map(b"".join)


def _run(machine, pieces):
    events = []
    for piece in pieces:
        machine.feed(piece)
        event = machine.next_event()
        while event is not None:
            events.append(repr(event))
            event = machine.next_event()
        machine.poll(0)
    return events, dict(machine.stats), machine.poll(0)


def _chunks(data, cuts):
    points = sorted(set(cut % (len(data) + 1) for cut in cuts))
    pieces = []
    start = 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


@SETTINGS
@given(st.sampled_from(sorted(MACHINES)), streams, st.lists(st.integers(0, 10**6), max_size=20))
def test_whole_or_chunked_gives_the_same_events_and_counts(name, data, cuts):
    whole = _run(MACHINES[name](), [data])
    chunked = _run(MACHINES[name](), _chunks(data, cuts))
    single = _run(MACHINES[name](), [data[index : index + 1] for index in range(len(data))])
    assert whole[0] == chunked[0] == single[0]
    assert whole[1] == chunked[1] == single[1]


@SETTINGS
@given(st.sampled_from(sorted(MACHINES)), st.binary(max_size=600))
def test_random_bytes_never_raise(name, data):
    machine = MACHINES[name]()
    machine.feed(data)
    while machine.next_event() is not None:
        pass
    machine.poll(10)
    assert sum(machine.stats.values()) >= 0


def _decoded(data):
    # Every frame a receiver would accept from data: (type, seq, body).
    frames = []
    raw = bytearray(90)
    for piece in bytes(data).split(b"\x00"):
        if not piece or len(piece) > 86:
            continue
        size = hybrid.cobs_decode_into(piece, len(piece), raw)
        if size < 5 or hybrid.crc16(raw, size - 2) != (raw[size - 2] << 8) | raw[size - 1]:
            continue
        if raw[2] != size - 5:
            continue
        frames.append((raw[0], raw[1], bytes(raw[3 : size - 2])))
    return frames


mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "drop", "insert"]), st.integers(0, 10**6), st.integers(1, 255)
    ),
    min_size=1,
    max_size=3,
)


@SETTINGS
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=80), mutations)
def test_a_damaged_frame_is_never_taken_for_another(frame_type, seq, body, changes):
    original = hybrid.encode_frame(frame_type, seq, body)
    assert _decoded(original) == [(frame_type, seq, body)]
    damaged = bytearray(original)
    for action, where, value in changes:
        position = where % len(damaged)
        if action == "flip":
            damaged[position] ^= value
        elif action == "drop" and len(damaged) > 1:
            del damaged[position]
        else:
            damaged.insert(position, value)
    for frame in _decoded(damaged):
        assert frame == (frame_type, seq, body)
    # The machines agree with the reference decoder: what they accept is a
    # valid frame, and nothing raises.
    for name in MACHINES:
        machine = MACHINES[name]()
        before = machine.stats["frames_ok"]
        machine.feed(bytes(damaged))
        assert machine.stats["frames_ok"] - before <= len(_decoded(damaged))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["answered", "hung_up", "door_button", "busy"]),
            st.sampled_from(["laskomex", "vizit"]),
            st.integers(1, 40),
        ),
        min_size=1,
        max_size=10,
    ),
    st.lists(st.integers(0, 10**6), max_size=30),
)
def test_events_cross_in_any_chunking_exactly_once(messages, cuts):
    # The adapter sends events; the panel receives the byte stream (with every
    # retransmission duplicated on the wire) cut anywhere: each event once.
    panel = hybrid.HybridLink(hybrid.PANEL)
    adapter = hybrid.HybridLink(hybrid.ADAPTER, _INFO)
    adapter.feed(panel.hello(0, 0x1111))
    panel.feed(adapter.poll(0))
    panel.next_event()
    adapter.next_event()
    wire = bytearray()
    for kind, system, line in messages:
        frame = adapter.send(hybrid.Message(kind, system, line), 0)
        wire.extend(frame + frame)  # sent twice: a retransmission
        wire.extend(adapter.poll(1000))  # and the timer's retransmission
        # The panel's ACK (not carried here) settles it before the next one.
        adapter.feed(hybrid.encode_frame(0x06, adapter._outstanding.seq, b"\x00"))
        assert adapter.next_event().kind == "acked"
    received = []
    for piece in _chunks(bytes(wire), cuts):
        panel.feed(piece)
        event = panel.next_event()
        while event is not None:
            received.append((event.kind, event.system, event.line))
            event = panel.next_event()
    assert received == messages
