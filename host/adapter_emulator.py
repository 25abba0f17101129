"""Hybrid-adapter emulator: the adapter's side of the UART, on a real pseudo-terminal.

    python -m host.adapter_emulator --pty-link /tmp/hybrid-pty --http-port 8765 \\
        --laskomex 1-80 --vizit 1-40 [--firmware-version 1.0] [--seed N]

It opens a pseudo-terminal (raw mode), links PATH to its slave (/dev/pts/N) and
prints one JSON line on stdout once ready (and again after each replug):
    {"event": "ready", "pty": "/dev/pts/N", "link": PATH, "http_port": N, "pid": P}
The panel's driver opens PATH with pyserial (host.serial_transport). The
emulator speaks the adapter side of docs/hybrid-adapter-protocol.md with the
same machine as the panel (panel.proto.hybrid) and emulates one handset per
line of the given ranges. --http-port 0 picks a free port (see the JSON line).

Control API: HTTP/1.1 on 127.0.0.1 only, JSON bodies and answers.
  GET  /state              adapter (plugged, session, pty, firmware, boot_id,
                           resets, noise, stats) and "lines": {"laskomex:10":
                           line, ...}
  GET  /lines/<line>       one line: {"line", "state" (idle, ringing, talking,
                           fault), "ring_count", "stop_count", "audio",
                           "audio_connects", "audio_disconnects", "fault",
                           "behaviour", "events_sent"}
  POST /lines/<line>       {"action": ...} on one line:
                             answer       ringing -> talking, sends ANSWERED
                             hang_up      talking -> idle, sends HUNG_UP
                             door_button  while talking, sends DOOR_BUTTON
                             fault        {"kind": "no_handset"|"short"|"open"}:
                                          -> fault, sends FAULT
                             clear_fault  fault -> idle
                             behaviour    set any of: "answer_after_s" (number
                                          or null: never), "busy" (bool: a RING
                                          gets BUSY), "door_button_after_s",
                                          "hang_up_after_s" (number or null,
                                          counted from the answer)
                           409 when the line is not in the state the action needs.
  POST /lines              {"action": "behaviour", ...}: the same for every line.
  POST /noise              {"corruption_rate": 0..1, "loss_rate": 0..1,
                           "delay_ms": >= 0}: each byte in either direction is
                           corrupted (XOR with a random non-zero byte) or lost
                           with that probability; every write of the adapter
                           is delayed by delay_ms.
  POST /reset              {"reason": "power_on"|"watchdog"|"brownout"|
                           "requested"|"other"}: the adapter restarts: calls
                           end, a new boot id, BOOT frames until a HELLO.
  POST /unplug             close the pty (master and slave); PATH is removed.
  POST /replug             open a new pty and link PATH to it.
Errors: {"error": text} with 400 (bad body), 404 (no such line or route), 409.
"""

import argparse
import asyncio
import errno
import json
import os
import random
import signal
import sys
import tty

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.join(_ROOT, "firmware") not in sys.path:
    sys.path.insert(0, os.path.join(_ROOT, "firmware"))

from panel.compat import ticks_ms  # noqa: E402
from panel.proto import hybrid  # noqa: E402

# Largest control request body; the API takes a few short fields.
MAX_BODY = 16384
# Bytes read from the pty per wake-up.
READ_SIZE = 4096
# The adapter's own ringing safety limit (docs, section 4).
RING_LIMIT_S = 120
_BEHAVIOUR_FIELDS = ("answer_after_s", "busy", "door_button_after_s", "hang_up_after_s")


def parse_range(text):
    """'1-80' -> (1, 80); '7' -> (7, 7); 'none' -> None."""
    if text is None or text == "none":
        return None
    first, _, last = text.partition("-")
    first = int(first)
    last = int(last) if last else first
    if not (0 <= first <= last <= hybrid.MAX_LINE):
        raise ValueError("bad line range %r" % text)
    return (first, last)


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Line:
    """One emulated analog handset."""

    def __init__(self, system, number):
        self.system = system
        self.number = number
        self.state = "idle"
        self.fault = None
        self.audio = False
        self.ring_count = 0
        self.stop_count = 0
        self.audio_connects = 0
        self.audio_disconnects = 0
        self.events_sent = 0
        self.behaviour = {
            "answer_after_s": None,
            "busy": False,
            "door_button_after_s": None,
            "hang_up_after_s": None,
        }
        self.timers = []

    def cancel_timers(self):
        for handle in self.timers:
            handle.cancel()
        self.timers = []

    def describe(self):
        return {
            "line": hybrid.format_line(self.system, self.number),
            "state": self.state,
            "ring_count": self.ring_count,
            "stop_count": self.stop_count,
            "audio": self.audio,
            "audio_connects": self.audio_connects,
            "audio_disconnects": self.audio_disconnects,
            "fault": self.fault,
            "behaviour": dict(self.behaviour),
            "events_sent": self.events_sent,
        }


class Emulator:
    def __init__(self, ranges, firmware="1.0", link_path=None, http_port=0, seed=None):
        self.ranges = ranges  # [(system, first, last)]
        self.firmware = firmware
        self.link_path = link_path
        self.http_port = http_port
        self.random = random.Random(seed)
        self.noise = {"corruption_rate": 0.0, "loss_rate": 0.0, "delay_ms": 0}
        self.lines = {}
        for system, first, last in ranges:
            for number in range(first, last + 1):
                self.lines[(system, number)] = Line(system, number)
        self.master = None
        self.slave = None
        self.pty_path = None
        self.resets = 0
        self.counters = {
            "bytes_in": 0,
            "bytes_out": 0,
            "bytes_out_dropped": 0,
            "bytes_corrupted": 0,
            "bytes_lost": 0,
            "commands": 0,
            "events_sent": 0,
            "events_acked": 0,
            "events_failed": 0,
            "events_without_session": 0,
            "sessions": 0,
        }
        self.link = None
        self._new_link("power_on")
        self._wake = None
        self._stopping = None
        self._server = None

    # ------------------------------------------------------------ adapter

    def _new_link(self, reason):
        info = hybrid.AdapterInfo(self.firmware, self.ranges, boot_id=self.random.getrandbits(16))
        self.link = hybrid.HybridLink(hybrid.ADAPTER, info, boot_reason=reason)

    def reset(self, reason):
        # A restart: calls end, the machine (sequence numbers, session) is new.
        if reason not in hybrid.RESET_REASONS:
            raise ControlError(400, "reason must be one of %s" % ", ".join(hybrid.RESET_REASONS))
        self.resets += 1
        for line in self.lines.values():
            self._idle(line)
        self._new_link(reason)
        self._kick()

    def _idle(self, line):
        line.cancel_timers()
        line.audio = False
        if line.state != "fault":
            line.state = "idle"

    def _handle_events(self):
        event = self.link.next_event()
        while event is not None:
            self._handle(event)
            event = self.link.next_event()

    def _handle(self, event):
        kind = event.kind
        if kind == "session":
            # A new session starts from a quiet adapter: rings stop, audio opens.
            self.counters["sessions"] += 1
            for line in self.lines.values():
                self._idle(line)
        elif kind == "session_lost":
            for line in self.lines.values():
                self._idle(line)
        elif kind == "acked":
            self.counters["events_acked"] += 1
        elif kind == "failed":
            self.counters["events_failed"] += 1
        elif kind in hybrid.COMMANDS:
            self.counters["commands"] += 1
            self._command(kind, self.lines[(event.system, event.line)])

    def _command(self, kind, line):
        if kind == "ring":
            line.ring_count += 1
            if line.state == "fault":
                self._send(line, "fault", line.fault)
            elif line.behaviour["busy"] or line.state == "talking":
                self._send(line, "busy")
            elif line.state != "ringing":
                line.state = "ringing"
                self._later(line, RING_LIMIT_S, self._ring_limit, line)
                delay = line.behaviour["answer_after_s"]
                if delay is not None:
                    self._later(line, delay, self._answer_if_ringing, line)
        elif kind == "stop_ring":
            line.stop_count += 1
            if line.state == "ringing":
                line.cancel_timers()
                line.state = "idle"
        elif kind == "audio_connect":
            line.audio_connects += 1
            line.audio = True
        elif kind == "audio_disconnect":
            line.audio_disconnects += 1
            line.audio = False

    def _later(self, line, seconds, function, *args):
        handle = asyncio.get_running_loop().call_later(seconds, function, *args)
        line.timers.append(handle)

    def _ring_limit(self, line):
        if line.state == "ringing":
            line.cancel_timers()
            line.state = "idle"

    def _answer_if_ringing(self, line):
        if line.state == "ringing":
            self.answer(line)

    def answer(self, line):
        if line.state != "ringing":
            raise ControlError(409, "line is %s, not ringing" % line.state)
        line.cancel_timers()
        line.state = "talking"
        self._send(line, "answered")
        if line.behaviour["door_button_after_s"] is not None:
            self._later(line, line.behaviour["door_button_after_s"], self._door_if_talking, line)
        if line.behaviour["hang_up_after_s"] is not None:
            self._later(line, line.behaviour["hang_up_after_s"], self._hang_up_if_talking, line)

    def _door_if_talking(self, line):
        if line.state == "talking":
            self.door_button(line)

    def _hang_up_if_talking(self, line):
        if line.state == "talking":
            self.hang_up(line)

    def hang_up(self, line):
        if line.state != "talking":
            raise ControlError(409, "line is %s, not talking" % line.state)
        line.cancel_timers()
        line.state = "idle"
        line.audio = False
        self._send(line, "hung_up")

    def door_button(self, line):
        if line.state != "talking":
            raise ControlError(409, "line is %s, not talking" % line.state)
        self._send(line, "door_button")

    def set_fault(self, line, kind):
        if kind not in hybrid.FAULT_KINDS or kind is None:
            raise ControlError(400, "kind must be no_handset, short or open")
        line.cancel_timers()
        line.state = "fault"
        line.fault = kind
        line.audio = False
        self._send(line, "fault", kind)

    def clear_fault(self, line):
        if line.state != "fault":
            raise ControlError(409, "line is %s, not in fault" % line.state)
        line.state = "idle"
        line.fault = None

    def _send(self, line, kind, detail=None):
        if not self.link.ready or not self.link.can_send:
            # No panel to tell; the event is lost as on a real adapter.
            self.counters["events_without_session"] += 1
            return
        line.events_sent += 1
        self.counters["events_sent"] += 1
        message = hybrid.Message(kind, line.system, line.number, detail)
        self._write(self.link.send(message, ticks_ms()))
        self._kick()

    # ------------------------------------------------------------ the pty

    def plug(self):
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master = master
        # Holding the slave open keeps the master readable while no panel has
        # the device open (Linux gives EIO on the master otherwise).
        self.slave = slave
        self.pty_path = os.ttyname(slave)
        if self.link_path:
            temporary = self.link_path + ".tmp%d" % os.getpid()
            if os.path.lexists(temporary):
                os.unlink(temporary)
            os.symlink(self.pty_path, temporary)
            os.replace(temporary, self.link_path)
        asyncio.get_running_loop().add_reader(master, self._readable)
        self._announce()

    def unplug(self):
        if self.master is None:
            raise ControlError(409, "already unplugged")
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)
        self.master = None
        self.slave = None
        if self.link_path and os.path.lexists(self.link_path):
            os.unlink(self.link_path)

    def replug(self):
        if self.master is not None:
            raise ControlError(409, "already plugged")
        self.plug()

    def _announce(self):
        print(
            json.dumps(
                {
                    "event": "ready",
                    "pty": self.pty_path,
                    "link": self.link_path,
                    "http_port": self.http_port,
                    "pid": os.getpid(),
                }
            ),
            flush=True,
        )

    def _readable(self):
        try:
            data = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as error:
            if error.errno == errno.EIO:
                return
            raise
        self.counters["bytes_in"] += len(data)
        data = self._noisy(data)
        self.link.feed(data)
        self._write(self.link.poll(ticks_ms()))
        self._handle_events()

    def _noisy(self, data):
        corruption = self.noise["corruption_rate"]
        loss = self.noise["loss_rate"]
        if not corruption and not loss:
            return data
        output = bytearray()
        for byte in data:
            draw = self.random.random()
            if draw < loss:
                self.counters["bytes_lost"] += 1
                continue
            if draw < loss + corruption:
                self.counters["bytes_corrupted"] += 1
                byte ^= self.random.randrange(1, 256)
            output.append(byte)
        return bytes(output)

    def _write(self, data):
        if not data:
            return
        data = self._noisy(data)
        delay = self.noise["delay_ms"]
        if delay:
            asyncio.get_running_loop().call_later(delay / 1000, self._write_now, data)
        else:
            self._write_now(data)

    def _write_now(self, data):
        if self.master is None:
            self.counters["bytes_out_dropped"] += len(data)
            return
        try:
            written = os.write(self.master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            written = 0
        self.counters["bytes_out"] += written
        # A UART with nobody listening loses what it sends.
        self.counters["bytes_out_dropped"] += len(data) - written

    def _kick(self):
        if self._wake is not None:
            self._wake.set()

    async def _timer_loop(self):
        while True:
            wait = self.link.next_timeout_ms(ticks_ms())
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait / 1000)
                except asyncio.TimeoutError:
                    pass
            self._write(self.link.poll(ticks_ms()))
            self._handle_events()

    # ------------------------------------------------------------ control API

    def state(self):
        stats = dict(self.link.stats)
        stats.update(self.counters)
        return {
            "plugged": self.master is not None,
            "pty": self.pty_path,
            "link": self.link_path,
            "session": self.link.ready,
            "firmware": self.firmware,
            "boot_id": self.link.info.boot_id,
            "ranges": [
                {"system": system, "first": first, "last": last}
                for system, first, last in self.ranges
            ],
            "resets": self.resets,
            "noise": dict(self.noise),
            "stats": stats,
            "lines": {
                hybrid.format_line(*key): line.describe() for key, line in self.lines.items()
            },
        }

    def _line(self, text):
        try:
            key = hybrid.parse_line(text)
        except hybrid.LocalError as error:
            raise ControlError(404, str(error))
        if key not in self.lines:
            raise ControlError(404, "no line %s on this adapter" % text)
        return self.lines[key]

    def control(self, method, path, body):
        """One control request -> (status, JSON-able answer)."""
        parts = [part for part in path.split("?")[0].split("/") if part]
        if method == "GET" and parts == ["state"]:
            return 200, self.state()
        if method == "GET" and len(parts) == 2 and parts[0] == "lines":
            return 200, self._line(parts[1]).describe()
        if method != "POST":
            raise ControlError(404, "no route %s %s" % (method, path))
        if not isinstance(body, dict):
            raise ControlError(400, "the body must be a JSON object")
        if parts == ["lines"] and len(parts) == 1:
            if body.get("action") != "behaviour":
                raise ControlError(400, "only the behaviour action applies to every line")
            changes = _behaviour(body)
            for line in self.lines.values():
                line.behaviour.update(changes)
            return 200, {"lines": len(self.lines), "behaviour": changes}
        if len(parts) == 2 and parts[0] == "lines":
            line = self._line(parts[1])
            action = body.get("action")
            if action == "answer":
                self.answer(line)
            elif action == "hang_up":
                self.hang_up(line)
            elif action == "door_button":
                self.door_button(line)
            elif action == "fault":
                self.set_fault(line, body.get("kind"))
            elif action == "clear_fault":
                self.clear_fault(line)
            elif action == "behaviour":
                line.behaviour.update(_behaviour(body))
            else:
                raise ControlError(400, "unknown action %r" % (action,))
            return 200, line.describe()
        if parts == ["noise"]:
            noise = dict(self.noise)
            for name in ("corruption_rate", "loss_rate"):
                if name in body:
                    value = body[name]
                    if not _number(value) or not 0 <= value <= 1:
                        raise ControlError(400, "%s must be a number in 0..1" % name)
                    noise[name] = float(value)
            if "delay_ms" in body:
                if not _number(body["delay_ms"]) or not 0 <= body["delay_ms"] <= 60000:
                    raise ControlError(400, "delay_ms must be a number in 0..60000")
                noise["delay_ms"] = body["delay_ms"]
            self.noise = noise
            return 200, dict(noise)
        if parts == ["reset"]:
            self.reset(body.get("reason", "requested"))
            return 200, {"resets": self.resets, "boot_id": self.link.info.boot_id}
        if parts == ["unplug"]:
            self.unplug()
            return 200, {"plugged": False}
        if parts == ["replug"]:
            self.replug()
            return 200, {"plugged": True, "pty": self.pty_path}
        raise ControlError(404, "no route %s %s" % (method, path))

    async def _serve_client(self, reader, writer):
        try:
            status, answer = await self._read_request(reader)
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            status, answer = 400, {"error": "malformed request"}
        body = json.dumps(answer).encode()
        reasons = {
            200: "OK",
            400: "Bad Request",
            404: "Not Found",
            409: "Conflict",
            413: "Payload Too Large",
        }
        head = (
            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, reasons.get(status, "Error"), len(body))
        )
        try:
            writer.write(head.encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def _read_request(self, reader):
        request_line = (await reader.readline()).decode("latin-1").strip()
        pieces = request_line.split(" ")
        if len(pieces) != 3:
            return 400, {"error": "malformed request line"}
        method, path, _ = pieces
        length = 0
        while True:
            header = (await reader.readline()).decode("latin-1").strip()
            if not header:
                break
            name, _, value = header.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length < 0 or length > MAX_BODY:
            return 413, {"error": "body longer than %d bytes" % MAX_BODY}
        raw = await reader.readexactly(length) if length else b""
        body = {}
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, {"error": "body is not JSON"}
        try:
            return self.control(method, path, body)
        except ControlError as error:
            return error.status, {"error": str(error)}

    # ------------------------------------------------------------ main

    async def run(self):
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, self._stopping.set)
        self._server = await asyncio.start_server(self._serve_client, "127.0.0.1", self.http_port)
        self.http_port = self._server.sockets[0].getsockname()[1]
        self.plug()
        timers = asyncio.create_task(self._timer_loop())
        try:
            await self._stopping.wait()
        finally:
            timers.cancel()
            self._server.close()
            if self.master is not None:
                self.unplug()


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _behaviour(body):
    changes = {}
    for name in _BEHAVIOUR_FIELDS:
        if name not in body:
            continue
        value = body[name]
        if name == "busy":
            if not isinstance(value, bool):
                raise ControlError(400, "busy must be true or false")
        elif value is not None and (not _number(value) or not 0 <= value <= 3600):
            raise ControlError(400, "%s must be null or seconds in 0..3600" % name)
        changes[name] = value
    unknown = [name for name in body if name not in _BEHAVIOUR_FIELDS and name != "action"]
    if unknown:
        raise ControlError(400, "unknown behaviour field %s" % unknown[0])
    return changes


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m host.adapter_emulator", description="Hybrid-adapter emulator on a pty."
    )
    parser.add_argument("--pty-link", help="symlink to the pty slave (PATH)")
    parser.add_argument("--http-port", type=int, default=0, help="control port, 0: any")
    parser.add_argument("--laskomex", default="1-80", help="line range, e.g. 1-80, or none")
    parser.add_argument("--vizit", default="1-40", help="line range, e.g. 1-40, or none")
    parser.add_argument("--firmware-version", default="1.0")
    parser.add_argument("--seed", type=int, default=None, help="noise and boot id seed")
    arguments = parser.parse_args(argv)
    ranges = []
    for system in ("laskomex", "vizit"):
        span = parse_range(getattr(arguments, system))
        if span is not None:
            ranges.append((system, span[0], span[1]))
    emulator = Emulator(
        ranges, arguments.firmware_version, arguments.pty_link, arguments.http_port, arguments.seed
    )
    asyncio.run(emulator.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
