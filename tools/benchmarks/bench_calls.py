"""Calls: from a key press on the host keypad to the first INVITE and RING.

The panel runs as `make run` starts it (host.run: the panel process plus the
hybrid-adapter emulator on a real pseudo-terminal), with 10,000 forward rules
stored. Apartment 5000's queue is one SIP target (a small UDP responder in this
process: 180 and at once 200 to an INVITE, 200 to BYE; 200 + 487 to a CANCEL)
and one analog handset (laskomex:10). Each round: POST /sim/keypad
{"keys": "5000#"}, wait for the INVITE, the RING and the answer, hang up (BYE),
wait idle; rounds start ROUND_PERIOD_S apart (see there why).

Prints `name: value unit` lines:
  keypress_to_invite_median_ms / _p99_ms      keypad request sent -> the INVITE
      datagram received by the responder (same process, one clock).
  keypress_to_ring_frame_median_ms / _p99_ms  keypad request sent -> the emulator
      shows the RING processed (its line's ring_count grew), polled over its
      control API by a thread; the poll period is printed as the resolution.
  keypad_request_median_ms     the keypad request's own HTTP round trip.
  http_roundtrip_median_ms     baseline in the same run: GET /api/info.
  emulator_poll_median_ms      baseline: one GET /lines/<line> of the emulator.
  concurrent_ringing_targets   targets of one all-at-once call seen ringing at
      once in GET /sim/call (a queue of 8, the contract cap: 4 SIP, 4 analog).
  all_targets_ringing_ms       keypad request -> all of them ringing.
"""

import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _path in (os.path.join(ROOT, "firmware"), ROOT, os.path.join(ROOT, "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from panel.services.forward_rules import ForwardRules  # noqa: E402
from panel.store import Store  # noqa: E402
from support.panel_process import PanelProcess  # noqa: E402
from support.polling import poll_until  # noqa: E402

RULES = 10000
ROUNDS = 60
# Seconds between the starts of two rounds. The user agent keeps every INVITE
# transaction 32 s after its final answer (RFC 6026 Timer M / Timer D) in a
# table of 64: back-to-back calls would exhaust it (then INVITEs fail with 503).
ROUND_PERIOD_S = 1.4
APARTMENT = 5000
BATCH = 200


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Responder:
    """A minimal SIP UAS on UDP: 180 (+ 200) to an INVITE, 200 + 487 to a CANCEL."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        # Where the panel's RTP goes once a call is answered (never read).
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind(("127.0.0.1", 0))
        # Answer each INVITE at once (200 after 180). The panel's BYE then
        # ends the call: its INVITE transaction ends at the 2xx, whereas a
        # cancelled INVITE lingers 32 s (Timer D) in the user agent's table.
        self.answering = True
        self.invites = []  # (perf_counter, Call-ID) of each first INVITE
        self.seen = set()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        self.thread.join()
        self.socket.close()
        self.media.close()

    def run(self):
        while self.running:
            try:
                data, address = self.socket.recvfrom(8192)
            except socket.timeout:
                continue
            arrived = time.perf_counter()
            text = data.decode(errors="replace")
            head = text.split("\r\n\r\n", 1)[0].split("\r\n")
            method = head[0].split(" ", 1)[0]
            headers = {}
            vias = []
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name in ("via", "v"):
                    vias.append(line)
                else:
                    headers[name] = line
            call_id = headers.get("call-id", "").partition(":")[2].strip()
            if method == "INVITE":
                if call_id not in self.seen:
                    self.seen.add(call_id)
                    self.invites.append((arrived, call_id))
                self.answer(address, vias, headers, "180 Ringing", tag=True)
                if self.answering:
                    self.answer(address, vias, headers, "200 OK", tag=True, sdp=True)
            elif method == "CANCEL":
                self.answer(address, vias, headers, "200 OK", tag=True)
                cseq = headers["cseq"].replace("CANCEL", "INVITE")
                self.answer(
                    address, vias, dict(headers, cseq=cseq), "487 Request Terminated", tag=True
                )
            elif method in ("BYE", "OPTIONS", "INFO"):
                self.answer(address, vias, headers, "200 OK", tag=True)

    def answer(self, address, vias, headers, status, tag=False, sdp=False):
        to = headers.get("to", "To: <sip:x@127.0.0.1>")
        if tag and ";tag=" not in to:
            to += ";tag=bench"
        body = ""
        lines = (
            ["SIP/2.0 " + status]
            + vias
            + [headers.get("from", ""), to, headers.get("call-id", ""), headers.get("cseq", "")]
        )
        if sdp:
            body = (
                "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                "t=0 0\r\nm=audio %d RTP/AVP 0\r\n" % self.media.getsockname()[1]
            )
            lines += [
                "Contact: <sip:5588@127.0.0.1:%d>" % self.port,
                "Content-Type: application/sdp",
            ]
        lines.append("Content-Length: %d" % len(body))
        self.socket.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), address)


def populate(data_dir, queue):
    store = Store(os.path.join(data_dir, "store"))
    store.open()
    rules = ForwardRules(store, RULES)
    batch = []
    for number in range(1, RULES + 1):
        entry = (
            queue
            if number == APARTMENT
            else [
                "sip:%d@10.0.%d.%d" % (number, number // 250 % 250, number % 250 + 1),
                "laskomex:%d" % (number % 80 + 1),
            ]
        )
        batch.append((number, entry))
        if len(batch) == BATCH:
            rules.upsert_many(batch)
            batch = []
    if batch:
        rules.upsert_many(batch)
    count = rules.count()
    store.close()
    return count


def emulator_port(data_dir):
    with open(os.path.join(data_dir, "adapter-emulator.log")) as handle:
        for line in handle:
            if line.startswith("{"):
                return json.loads(line)["http_port"]
    raise RuntimeError("no emulator announcement")


def emulator_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as reply:
        return json.loads(reply.read())


def wait_for(predicate, timeout=10.0, step=0.002):
    """poll_until, a miss raising: a timed-out step spoils the figure."""
    value = poll_until(predicate, timeout, step)
    if not value:
        raise RuntimeError("timed out")
    return value


class RingWatcher:
    """Polls the emulator until the line's ring_count passes `after`."""

    def __init__(self, port, line, after):
        self.port = port
        self.line = line
        self.after = after
        self.seen_at = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = emulator_get(self.port, "/lines/" + self.line)
            if state["ring_count"] > self.after:
                self.seen_at = time.perf_counter()
                return


def main():
    responder = Responder()
    target = "sip:5588@127.0.0.1:%d" % responder.port
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as data_dir:
        stored = populate(data_dir, [target, "laskomex:10"])
        panel = PanelProcess(
            data_dir, extra_args=["--sip-port", "0", "--adapter-http-port", "0"]
        ).start(60)
        try:
            control = emulator_port(data_dir)
            wait_for(
                lambda: panel.request("GET", "/api/info", auth=None).json["hybrid_enable"], 20, 0.05
            )
            panel.request(
                "POST",
                "/api/v1/device/sip/settings",
                {
                    "proxy": "sip:127.0.0.1:9",
                    "realm": "127.0.0.1",
                    "user": "100001",
                    "password": "s3cret",
                    "user_id": "",
                    "registration_interval": 30,
                    "transport": "udp",
                    "outbound": "",
                    "stun": {"ip": "", "port": 3478},
                },
            )
            panel.request("POST", "/api/v1/device/sip/enable", {"sip_enable": True})
            invite_ms, ring_ms, request_ms, http_ms, poll_ms = [], [], [], [], []
            for _ in range(20):
                started = time.perf_counter()
                panel.request("GET", "/api/info", auth=None)
                http_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                emulator_get(control, "/lines/laskomex:10")
                poll_ms.append((time.perf_counter() - started) * 1000)
            next_round = time.monotonic()
            for _ in range(ROUNDS):
                time.sleep(max(0.0, next_round - time.monotonic()))
                next_round = time.monotonic() + ROUND_PERIOD_S
                invites_before = len(responder.invites)
                rings_before = emulator_get(control, "/lines/laskomex:10")["ring_count"]
                watcher = RingWatcher(control, "laskomex:10", rings_before)
                started = time.perf_counter()
                reply = panel.request("POST", "/sim/keypad", {"keys": "%d#" % APARTMENT}, auth=None)
                request_ms.append((time.perf_counter() - started) * 1000)
                if not reply.json["results"][-1]["accepted"]:
                    raise RuntimeError("dial refused: %r" % reply.json)
                try:
                    wait_for(lambda before=invites_before: len(responder.invites) > before)
                except RuntimeError:
                    raise RuntimeError(
                        "no INVITE: %r" % panel.request("GET", "/sim/call", auth=None).json
                    )
                watcher.thread.join()
                if watcher.seen_at is None:
                    raise RuntimeError("no RING seen")
                invite_ms.append((responder.invites[invites_before][0] - started) * 1000)
                ring_ms.append((watcher.seen_at - started) * 1000)
                wait_for(
                    lambda: panel.request("GET", "/sim/call", auth=None).json["state"] == "talking",
                    10,
                    0.005,
                )
                panel.request("POST", "/sim/call/hangup", auth=None)
                wait_for(
                    lambda: panel.request("GET", "/sim/call", auth=None).json["state"] == "idle",
                    10,
                    0.005,
                )
            # Eight targets at once: four SIP users at the responder (ringing,
            # never answering), four handsets.
            responder.answering = False
            eight = ["sip:%d@127.0.0.1:%d" % (user, responder.port) for user in range(1, 5)] + [
                "laskomex:%d" % line for line in range(30, 34)
            ]
            panel.request(
                "POST", "/api/v1/forward/item/%d" % (APARTMENT + 1), {"forward_entity_list": eight}
            )
            started = time.perf_counter()
            panel.request("POST", "/sim/keypad", {"keys": "%d#" % (APARTMENT + 1)}, auth=None)

            def ringing_count():
                call = panel.request("GET", "/sim/call", auth=None).json
                return len([leg for leg in call["targets"] if leg["state"] == "ringing"])

            wait_for(lambda: ringing_count() == len(eight), 10, 0.002)
            all_ringing_ms = (time.perf_counter() - started) * 1000
            concurrent = ringing_count()
            lines_ringing = len(
                [
                    line
                    for line in range(30, 34)
                    if emulator_get(control, "/lines/laskomex:%d" % line)["state"] == "ringing"
                ]
            )
            if lines_ringing != 4:
                raise RuntimeError("emulator shows %d of 4 lines ringing" % lines_ringing)
            panel.request("POST", "/sim/call/hangup", auth=None)
        finally:
            panel.stop()
    responder.stop()
    print("forward_rules_stored: %d rules" % stored)
    print("keypress_to_invite_median_ms: %.2f ms" % statistics.median(invite_ms))
    print("keypress_to_invite_p99_ms: %.2f ms" % percentile(invite_ms, 0.99))
    print("keypress_to_ring_frame_median_ms: %.2f ms" % statistics.median(ring_ms))
    print("keypress_to_ring_frame_p99_ms: %.2f ms" % percentile(ring_ms, 0.99))
    print("keypad_request_median_ms: %.2f ms" % statistics.median(request_ms))
    print("http_roundtrip_median_ms: %.2f ms" % statistics.median(http_ms))
    print("emulator_poll_median_ms: %.2f ms" % statistics.median(poll_ms))
    print("concurrent_ringing_targets: %d targets" % concurrent)
    print("all_targets_ringing_ms: %.2f ms" % all_ringing_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
