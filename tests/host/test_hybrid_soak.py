# Soak of proto.hybrid: 10,000 commands between two real machines through a
# noisy in-memory channel (1% of bytes corrupted, 0.5% lost, both ways), on a
# simulated clock. Every command must be acknowledged or reported failed within
# the retry budget; no command may reach the adapter twice or in a wrong form;
# the adapter's events likewise reach the panel at most once, unaltered.
import random

from panel.compat import ticks_add, ticks_diff
from panel.proto import hybrid

COMMANDS = 10000
CORRUPTION_RATE = 0.01
LOSS_RATE = 0.005
BUDGET_MS = hybrid.RETRY_TIMEOUT_MS * (hybrid.RETRY_COUNT + 1)


class NoisyChannel:
    """One direction of a UART: bytes corrupted or lost at the given rates."""

    def __init__(self, rng, corruption_rate, loss_rate):
        self.rng = rng
        self.corruption_rate = corruption_rate
        self.loss_rate = loss_rate
        self.pending = bytearray()
        self.corrupted = 0
        self.lost = 0
        self.carried = 0

    def write(self, data):
        for byte in data:
            draw = self.rng.random()
            if draw < self.loss_rate:
                self.lost += 1
                continue
            if draw < self.loss_rate + self.corruption_rate:
                self.corrupted += 1
                byte ^= self.rng.randrange(1, 256)
            self.pending.append(byte)
            self.carried += 1

    def deliver_to(self, machine):
        if self.pending:
            # Arbitrary chunking, as a UART FIFO hands bytes over.
            data = bytes(self.pending)
            self.pending = bytearray()
            start = 0
            while start < len(data):
                size = self.rng.randrange(1, 64)
                machine.feed(data[start : start + size])
                start += size
            return True
        return False


class Soak:
    def __init__(self, seed):
        rng = random.Random(seed)
        self.rng = rng
        self.now = (1 << 30) - 5000  # crosses the ticks wrap on the way
        self.panel = hybrid.HybridLink(hybrid.PANEL)
        info = hybrid.AdapterInfo("1.0", [("laskomex", 1, 65535)], boot_id=9)
        self.adapter = hybrid.HybridLink(hybrid.ADAPTER, info)
        self.to_adapter = NoisyChannel(rng, CORRUPTION_RATE, LOSS_RATE)
        self.to_panel = NoisyChannel(rng, CORRUPTION_RATE, LOSS_RATE)
        self.delivered = []  # commands the adapter acted on
        self.panel_events = []  # line events the panel received
        self.outcomes = {}  # tag -> (acked?, elapsed ms)
        self.sent_at = {}
        self.events_sent = {}  # adapter tag -> line
        self.event_outcomes = {}
        self.sessions = 0
        self.sessions_lost = 0

    def step(self):
        # Move bytes both ways, poll, collect; then jump to the next timer.
        for _ in range(50):
            moved = self.to_adapter.deliver_to(self.adapter)
            moved = self.to_panel.deliver_to(self.panel) or moved
            self.to_adapter.write(self.panel.poll(self.now))
            self.to_panel.write(self.adapter.poll(self.now))
            self._collect()
            if not moved and not self.to_adapter.pending and not self.to_panel.pending:
                break
        wait = min(self.panel.next_timeout_ms(self.now), self.adapter.next_timeout_ms(self.now))
        # Each exchange takes a little wire time.
        self.now = ticks_add(self.now, max(1, min(wait, 5)))

    def _collect(self):
        event = self.adapter.next_event()
        while event is not None:
            if event.kind in hybrid.COMMANDS:
                self.delivered.append((event.kind, event.line))
                # Every tenth ring is answered: an event the other way.
                if event.kind == "ring" and event.line % 10 == 1 and self.adapter.can_send:
                    tag = event.line
                    self.events_sent[tag] = event.line
                    self.to_panel.write(
                        self.adapter.send(
                            hybrid.Message("answered", "laskomex", event.line), self.now, tag
                        )
                    )
            elif event.kind in ("acked", "failed"):
                self.event_outcomes[event.tag] = event.kind
            event = self.adapter.next_event()
        event = self.panel.next_event()
        while event is not None:
            if event.kind in ("acked", "failed"):
                assert event.tag not in self.outcomes, "settled twice: %r" % event
                self.outcomes[event.tag] = (
                    event.kind == "acked" and event.detail == "ok",
                    ticks_diff(self.now, self.sent_at[event.tag]),
                )
            elif event.kind == "ready":
                self.sessions += 1
            elif event.kind == "session_lost":
                self.sessions_lost += 1
            elif event.kind in hybrid.LINE_EVENTS:
                self.panel_events.append((event.kind, event.system, event.line))
            event = self.panel.next_event()

    def connect(self):
        while not self.panel.ready:
            if not self.panel.handshaking:
                self.to_adapter.write(self.panel.hello(self.now, self.rng.getrandbits(16)))
            self.step()

    def run(self, commands):
        self.connect()
        for index in range(commands):
            line = index + 1
            kind = "ring" if index % 2 == 0 else "stop_ring"
            if not self.panel.ready:
                self.connect()
            self.sent_at[line] = self.now
            self.to_adapter.write(
                self.panel.send(hybrid.Message(kind, "laskomex", line), self.now, line)
            )
            while line not in self.outcomes:
                self.step()
        # Let the adapter's last events settle.
        for _ in range(200):
            self.step()


def test_soak_ten_thousand_commands_through_noise():
    soak = Soak(seed=20261123)
    soak.run(COMMANDS)
    acked = sorted(tag for tag, outcome in soak.outcomes.items() if outcome[0])
    failed = sorted(tag for tag, outcome in soak.outcomes.items() if not outcome[0])
    slowest = max(outcome[1] for outcome in soak.outcomes.values())
    lines = [line for _, line in soak.delivered]
    wrong = [
        (kind, line)
        for kind, line in soak.delivered
        if not (1 <= line <= COMMANDS) or kind != ("ring" if line % 2 else "stop_ring")
    ]
    duplicates = len(lines) - len(set(lines))
    event_duplicates = len(soak.panel_events) - len(set(soak.panel_events))
    wrong_events = [
        event
        for event in soak.panel_events
        if event[0] != "answered" or event[2] not in soak.events_sent
    ]
    acked_events = [tag for tag, kind in soak.event_outcomes.items() if kind == "acked"]
    print(
        "\nsoak: %d commands, %d acked, %d failed, slowest %d ms (budget %d ms); "
        "delivered %d, wrong %d, duplicate %d; adapter events %d sent, %d acked, %d "
        "received, wrong %d, duplicate %d; sessions %d, lost %d; bytes corrupted %d, "
        "lost %d of %d\npanel stats %s\nadapter stats %s"
        % (
            COMMANDS,
            len(acked),
            len(failed),
            slowest,
            BUDGET_MS,
            len(lines),
            len(wrong),
            duplicates,
            len(soak.events_sent),
            len(acked_events),
            len(soak.panel_events),
            len(wrong_events),
            event_duplicates,
            soak.sessions,
            soak.sessions_lost,
            soak.to_adapter.corrupted + soak.to_panel.corrupted,
            soak.to_adapter.lost + soak.to_panel.lost,
            soak.to_adapter.carried + soak.to_panel.carried,
            soak.panel.stats,
            soak.adapter.stats,
        )
    )
    # Every command settled, within the budget (plus one 5 ms simulation step).
    assert len(soak.outcomes) == COMMANDS
    assert slowest <= BUDGET_MS + 5
    # No wrong and no duplicate command at the adapter, in the order sent.
    assert wrong == [] and duplicates == 0
    assert lines == sorted(lines)
    # Every acknowledged command was acted on; a failed one at most once.
    assert set(acked) <= set(lines)
    # Events: none invented, none twice, every acknowledged one received.
    assert wrong_events == [] and event_duplicates == 0
    assert set(acked_events) <= set(line for _, _, line in soak.panel_events)
    # The noise was real.
    assert soak.to_adapter.corrupted + soak.to_panel.corrupted > 1000
    assert soak.panel.stats["retransmissions"] > 100
    assert len(acked) > COMMANDS * 0.99
