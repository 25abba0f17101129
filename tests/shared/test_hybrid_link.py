# proto.hybrid sessions: handshake, ACK, retransmission, duplicates, liveness,
# adapter reset. Two machines wired back to back with a hand-driven clock and
# a channel that loses what the test tells it to. Runs under pytest and
# MicroPython (make test-mpy).
from checks import raises
from panel.compat import TICKS_PERIOD, ticks_add
from panel.proto import hybrid


class _Pair:
    # Two machines and two one-way queues; `drop_next` loses whole writes.
    def __init__(self, now=0):
        self.now = now
        self.panel = hybrid.HybridLink(hybrid.PANEL)
        self.info = hybrid.AdapterInfo(
            "2.3.1", [("laskomex", 1, 80), ("vizit", 1, 40)], boot_id=0x0101
        )
        self.adapter = hybrid.HybridLink(hybrid.ADAPTER, self.info)
        self.to_adapter = []
        self.to_panel = []
        self.drop_to_adapter = 0
        self.drop_to_panel = 0
        self.panel_events = []
        self.adapter_events = []

    def panel_write(self, data):
        if data:
            if self.drop_to_adapter:
                self.drop_to_adapter -= 1
            else:
                self.to_adapter.append(data)

    def adapter_write(self, data):
        if data:
            if self.drop_to_panel:
                self.drop_to_panel -= 1
            else:
                self.to_panel.append(data)

    def run(self, milliseconds=0, step=10):
        # Move bytes and poll both sides until quiet, then let time pass.
        end = ticks_add(self.now, milliseconds)
        while True:
            for _ in range(20):
                moved = False
                while self.to_adapter:
                    self.adapter.feed(self.to_adapter.pop(0))
                    moved = True
                while self.to_panel:
                    self.panel.feed(self.to_panel.pop(0))
                    moved = True
                self.panel_write(self.panel.poll(self.now))
                self.adapter_write(self.adapter.poll(self.now))
                self._collect()
                if not moved and not self.to_adapter and not self.to_panel:
                    break
            if self.now == end:
                return
            self.now = ticks_add(self.now, step)

    def _collect(self):
        for machine, events in (
            (self.panel, self.panel_events),
            (self.adapter, self.adapter_events),
        ):
            event = machine.next_event()
            while event is not None:
                events.append(event)
                event = machine.next_event()

    def connect(self, nonce=0x4242):
        self.panel_events = []
        self.panel_write(self.panel.hello(self.now, nonce))
        self.run()
        assert self.panel.ready and self.adapter.ready
        kinds = [event.kind for event in self.panel_events]
        assert kinds == ["ready"]
        self.panel_events = []
        self.adapter_events = []

    def command(self, kind, system, line, tag):
        self.panel_write(self.panel.send(hybrid.Message(kind, system, line), self.now, tag))

    def event(self, kind, system, line, detail=None, tag=None):
        self.adapter_write(
            self.adapter.send(hybrid.Message(kind, system, line, detail), self.now, tag)
        )


def test_handshake_gives_versions_and_capabilities():
    pair = _Pair()
    pair.panel_write(pair.panel.hello(0, 0x1234))
    pair.run()
    ready = pair.panel_events[0]
    assert ready.kind == "ready"
    info = ready.detail
    assert info.firmware == "2.3.1" and info.protocol_version == "1.0"
    assert info.ranges == [("laskomex", 1, 80), ("vizit", 1, 40)]
    assert pair.panel.peer is info
    assert pair.adapter_events[0].kind == "session"


def test_ring_is_delivered_once_and_acknowledged():
    pair = _Pair()
    pair.connect()
    pair.command("ring", "laskomex", 10, "first")
    pair.run()
    assert pair.adapter_events == [hybrid.Message("ring", "laskomex", 10)]
    assert pair.panel_events == [hybrid.Message("acked", detail="ok", tag="first")]


def test_unknown_line_is_refused_in_the_ack():
    pair = _Pair()
    pair.connect()
    pair.command("ring", "vizit", 41, 1)
    pair.run()
    assert pair.adapter_events == []
    assert pair.panel_events == [hybrid.Message("acked", detail="unknown_line", tag=1)]


def test_lost_command_is_retransmitted():
    pair = _Pair()
    pair.connect()
    pair.drop_to_adapter = 1
    pair.command("ring", "vizit", 7, 1)
    pair.run(150)
    assert pair.adapter_events == [hybrid.Message("ring", "vizit", 7)]
    assert pair.panel_events[0].kind == "acked"
    assert pair.panel.stats["retransmissions"] == 1


def test_lost_ack_gives_a_duplicate_that_is_not_delivered_twice():
    pair = _Pair()
    pair.connect()
    pair.command("ring", "vizit", 7, 1)
    pair.drop_to_panel = 1  # the ACK
    pair.run(150)
    assert pair.adapter_events == [hybrid.Message("ring", "vizit", 7)]
    assert pair.adapter.stats["duplicates"] == 1
    assert pair.panel_events == [hybrid.Message("acked", detail="ok", tag=1)]


def test_retry_budget_runs_out_then_failed():
    pair = _Pair()
    pair.connect()
    pair.drop_to_adapter = 1000
    pair.command("stop_ring", "laskomex", 3, "x")
    pair.run(hybrid.RETRY_TIMEOUT_MS * (hybrid.RETRY_COUNT + 1) + 10)
    assert pair.panel_events == [hybrid.Message("failed", detail="no_ack", tag="x")]
    assert pair.panel.stats["retransmissions"] == hybrid.RETRY_COUNT
    assert pair.panel.ready  # one lost message does not end the session


def test_queued_commands_go_in_order():
    pair = _Pair()
    pair.connect()
    for number in range(1, 6):
        pair.command("ring", "laskomex", number, number)
    pair.run()
    assert [event.line for event in pair.adapter_events] == [1, 2, 3, 4, 5]
    assert [event.tag for event in pair.panel_events] == [1, 2, 3, 4, 5]


def test_adapter_events_reach_the_panel():
    pair = _Pair()
    pair.connect()
    pair.event("answered", "vizit", 7)
    pair.event("fault", "laskomex", 9, "short", tag="f")
    pair.drop_to_panel = 1
    pair.run(150)
    assert pair.panel_events == [
        hybrid.Message("answered", "vizit", 7),
        hybrid.Message("fault", "laskomex", 9, "short"),
    ]
    assert [event.tag for event in pair.adapter_events] == [None, "f"]
    raises(hybrid.LocalError, pair.adapter.send, hybrid.Message("fault", "vizit", 1), 0)
    raises(hybrid.LocalError, pair.adapter.send, hybrid.Message("ring", "vizit", 1), 0)


def test_heartbeat_keeps_the_session_and_silence_ends_it():
    pair = _Pair()
    pair.connect()
    pair.run(10000, step=50)
    assert pair.panel.ready and pair.adapter.ready
    assert pair.panel.stats["frames_sent"] >= 9  # PINGs
    pair.drop_to_panel = 10**6
    pair.run(hybrid.PANEL_LIVENESS_MS + 100, step=50)
    assert not pair.panel.ready
    assert pair.panel_events[-1] == hybrid.Message("session_lost", detail="liveness")


def test_adapter_ends_session_on_silence_and_refuses_commands():
    pair = _Pair()
    pair.connect()
    pair.drop_to_adapter = 10**6
    pair.run(hybrid.ADAPTER_LIVENESS_MS + 100, step=50)
    assert not pair.adapter.ready
    assert pair.adapter_events[-1] == hybrid.Message("session_lost", detail="liveness")


def test_no_session_ack_ends_the_panel_session():
    pair = _Pair()
    pair.connect()
    # The adapter lost the session (e.g. its liveness) while the panel did not.
    pair.adapter.close()
    assert pair.adapter.next_event() == hybrid.Message("session_lost", detail="closed")
    pair.command("ring", "vizit", 2, 5)
    pair.run()
    assert pair.panel_events == [
        hybrid.Message("failed", detail="session_lost", tag=5),
        hybrid.Message("session_lost", detail="no_session"),
    ]
    assert pair.adapter_events == []
    pair.connect(nonce=0x77)
    pair.command("ring", "vizit", 2, 6)
    pair.run()
    assert pair.adapter_events == [hybrid.Message("ring", "vizit", 2)]


def test_adapter_reset_is_reported_and_a_new_hello_works():
    pair = _Pair()
    pair.connect()
    pair.command("ring", "laskomex", 10, 1)
    pair.run()
    # Power cycle: a new machine with a new boot id announces itself.
    pair.info = hybrid.AdapterInfo("2.3.1", [("laskomex", 1, 80)], boot_id=0x0202)
    pair.adapter = hybrid.HybridLink(hybrid.ADAPTER, pair.info, boot_reason="watchdog")
    pair.run()
    assert pair.panel_events[-2:] == [
        hybrid.Message("adapter_reset", detail="watchdog"),
        hybrid.Message("session_lost", detail="adapter_reset"),
    ]
    pair.panel_events = []
    pair.connect(nonce=0x99)
    assert pair.panel.peer.ranges == [("laskomex", 1, 80)]


def test_repeated_hello_reply_and_stale_boot_are_ignored():
    pair = _Pair()
    pair.adapter_write(pair.adapter.poll(0))  # BOOT, before any session
    pair.drop_to_panel = 0
    pair.panel_write(pair.panel.hello(0, 0x55))
    pair.run()
    assert [event.kind for event in pair.panel_events] == ["ready"]
    # A late BOOT of the same boot (sent before our HELLO arrived) changes nothing.
    pair.panel.feed(hybrid.encode_frame(0x80, 0, b"\x00\x01\x01"))
    pair.panel.feed(pair.adapter._reply)
    assert pair.panel.next_event() is None and pair.panel.ready


def test_handshake_without_reply_fails_after_the_budget():
    pair = _Pair()
    pair.drop_to_panel = 10**6
    pair.panel_write(pair.panel.hello(0, 1))
    pair.run(hybrid.RETRY_TIMEOUT_MS * (hybrid.RETRY_COUNT + 1) + 10)
    assert pair.panel_events == [hybrid.Message("handshake_failed", detail="no_reply")]
    assert not pair.panel.ready and not pair.panel.handshaking


def test_incompatible_major_version_is_refused():
    pair = _Pair()
    pair.info.major = 2
    pair.panel_write(pair.panel.hello(0, 3))
    pair.run()
    assert pair.panel_events == [hybrid.Message("handshake_failed", detail="incompatible 2.0")]


def test_timers_survive_ticks_wrap_around():
    # Start 50 ms before this runtime's ticks wrap (2**30 on boards and
    # CPython, 2**62 on the 64-bit unix port): compat knows which.
    assert ticks_add(TICKS_PERIOD - 1, 1) == 0
    pair = _Pair(now=TICKS_PERIOD - 50)
    pair.connect()
    pair.drop_to_adapter = 1
    pair.command("ring", "vizit", 1, 1)
    pair.run(300)
    assert pair.panel_events == [hybrid.Message("acked", detail="ok", tag=1)]
    assert pair.now < 1000


def test_queue_limit_is_checked():
    pair = _Pair()
    pair.connect()
    pair.drop_to_adapter = 10**6
    for number in range(hybrid.QUEUE_LIMIT + 1):
        pair.command("ring", "vizit", 1, number)
    assert not pair.panel.can_send
    raises(hybrid.LocalError, pair.command, "ring", "vizit", 1, "over")
    pair.panel.close()
    pair.run()
    failed = [event for event in pair.panel_events if event.kind == "failed"]
    assert len(failed) == hybrid.QUEUE_LIMIT + 1
