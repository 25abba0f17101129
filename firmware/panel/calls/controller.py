# The call controller: the async layer that runs calls.machine.CallMachine on
# the drivers handed in (BAS-IP spec 3.3, 3.4, 6.1, 8.1; redirect spec 5).
#
#   controller = CallController(environment, clock, sip=None, adapter=None, media=None)
#       environment  answers configuration and carries the effects (open_lock,
#                    log, find_personal_code): calls/environment.py has the
#                    whole interface and the panel's own PanelEnvironment
#       clock        ticks_ms() and await wait(event, ms) (calls/ticks_clock.py;
#                    tests hand in tests/shared/fake_clock.FakeClock)
#       sip          the SIP user agent (drivers.sip_ua.SipUserAgent), or None:
#                    SIP targets are then unreachable
#       adapter      the hybrid adapter's driver (drivers.adapter.AdapterDriver),
#                    or None: analog lines are then unreachable
#       media        RTP of answered SIP calls: {"socket": callable() -> (a bound
#                    non-blocking UDP socket, its (host, port)), "tone_hz": int}
#                    (the host sends a 425 Hz tone, a board without audio
#                    hardware silence). One socket per call, from the board's
#                    factory; without a factory SIP legs fail (unreachable).
#                    Optional: "source": callable() -> an audio source for the
#                    call (drivers.rtp_session: read_frame(buffer)), "sink":
#                    callable() -> an audio sink (write_frame(frame); its
#                    close(), if it has one, is called when the call's media
#                    stops), "rtcp_socket": callable((host, port)) -> a bound
#                    UDP socket on port + 1 of the RTP address (OSError: no RTCP).
#                    "ring": optional callable(on) for the board's ring tone
#                    while an incoming call rings (True) and when it stops
#                    (False); the host has none.
#   Nothing starts in the constructor (STYLE rule 11).
#
#   controller.start() / controller.stop()    the timer task
#   controller.on_sip_event(kind, call, detail)   the user agent's on_event
#   controller.on_adapter_event(event)            the adapter driver's on_event
#       (the wiring connects both; events before start() or after stop() are
#       dropped)
#   controller.dial("223") -> True, or False when a call is running (refused)
#   controller.hangup() -> True, or False when there is no call
#   controller.press(keys) -> [result, ...]     the front keypad (drivers.keypad)
#   controller.personal_code(code) -> bool      spec 8.1 (with a lockout
#       after wrong codes: KEYPAD_FREE_FAILURES below)
#   controller.code_locked_ms() -> ms until personal codes are taken again
#   controller.run_timers()   fire the machine's due timers at clock.ticks_ms()
#       and carry out their actions: the timer task's one step, called by
#       tests after they move a fake clock on
#   controller.describe() -> dict for GET /sim/call
#   controller.machine, controller.keypad, controller.counters
#
# It turns driver events into machine events (SIP Call -> leg, adapter line ->
# leg) and machine actions into driver calls: sip.invite/cancel/hangup,
# adapter.ring/stop_ring/connect_audio/disconnect_audio (awaited in their own
# tasks; a refused RING becomes leg_failed "unreachable"), an RtpSession for the
# answered SIP leg (RFC 4733 digits, and SIP INFO digits from the user agent, go
# back to the machine) and environment.open_lock for door openings.
#
# Incoming SIP calls (docs/incoming-calls.md): the user agent's "incoming"
# event is checked against environment.incoming_calls() (core.incoming):
# refused 403 when off or not on the allow-list, else handed to the machine
# (486 there when a call runs); the machine rings it, answers it after
# answer_after_s with an SDP answer on the call's RTP socket, and runs it
# like an answered outgoing SIP leg (DTMF opens the locks).
import asyncio

from panel.calls.machine import CODE_BUSY, CODE_UNAVAILABLE, NO_REPLY, UNREACHABLE, CallMachine
from panel.compat import const, ticks_diff
from panel.core import incoming
from panel.core.attempts import AttemptLimiter
from panel.drivers.keypad import Keypad, valid_keys
from panel.proto import hybrid, sdp
from panel.proto.sip_message import LocalError, RemoteError

# Longest the timer task sleeps without a timer due (ms): only a safety net,
# every event and every new timer wakes it anyway.
_IDLE_POLL_MS = const(1000)
# Keys accepted in one keypad request.
MAX_KEYS_PER_PRESS = const(64)

# [D] Keypad personal codes (spec 8.1) against guessing (core.attempts): the
# keypad is one source. The KEYPAD_FREE_FAILURES-th wrong code in a row
# locks code entry for KEYPAD_LOCKOUT_BASE_MS, each further wrong code (after
# the window) for twice as long, at most KEYPAD_LOCKOUT_MAX_MS; a right code
# or KEYPAD_FORGET_MS without a wrong one starts afresh. While locked, codes
# are refused unchecked (the right one too) and cost nothing: no lookup, no
# log entry. Each wrong code that is checked logs one access_denied entry,
# the one that opens a window with "locked_s" in its info: at most one entry
# per window. The entries are written a loop turn after the answer, like the
# call's (no fsync while the visitor waits).
KEYPAD_FREE_FAILURES = const(5)
KEYPAD_LOCKOUT_BASE_MS = const(30000)
KEYPAD_LOCKOUT_MAX_MS = const(900000)  # 15 minutes
KEYPAD_FORGET_MS = const(3600000)  # an hour
_KEYPAD_SOURCE = "keypad"


class CallController:
    def __init__(self, environment, clock, sip=None, adapter=None, media=None):
        self.environment = environment
        self.clock = clock
        self.sip = sip
        self.adapter = adapter
        self.media = media or {}
        self.machine = CallMachine(environment)
        self.keypad = Keypad()
        self.counters = {
            "events": 0,
            "invite_errors": 0,
            "adapter_refusals": 0,
            "personal_code_granted": 0,
            "personal_code_denied": 0,
            "personal_code_locked": 0,
            "incoming_refused": 0,
        }
        self.code_attempts = AttemptLimiter(
            KEYPAD_FREE_FAILURES,
            KEYPAD_LOCKOUT_BASE_MS,
            KEYPAD_LOCKOUT_MAX_MS,
            KEYPAD_FORGET_MS,
            1,
        )
        self._running = False
        self._task = None
        self._wake = None
        self._queue = []
        self._draining = False
        self._sip_legs = {}  # SIP Call-ID -> leg id
        self._sip_calls = {}  # leg id -> sip_ua.Call
        self._ringing = False
        self._incoming = {}  # Call-ID -> sip_ua.IncomingCall the machine decides on
        self._line_legs = {}  # ("vizit", 7) -> leg id of the latest leg on that line
        self._commands = {}  # serial -> adapter command task in flight
        self._command_serial = 0
        self._starting_leg = None
        self._media = None  # RtpSession of the answered SIP leg
        self._pending_logs = []  # ("log", event, info) actions not yet written
        self._flush_scheduled = False
        self._rtp_socket = None
        self._rtp_address = None
        self._session = 0

    # ------------------------------------------------------------ lifecycle

    def start(self):
        if self._running:
            return
        self._running = True
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def stop(self):
        self._running = False
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for serial in list(self._commands):
            self._commands.pop(serial).cancel()
        self._stop_media()
        self._close_rtp_socket()
        self._flush_logs()

    async def _run(self):
        # Sleeps until the machine's next timer is due or an event wakes it
        # (_drain sets _wake: a new timer may be earlier), then one step.
        while self._running:
            deadline = self.machine.next_deadline()
            wait_ms = _IDLE_POLL_MS
            if deadline is not None:
                wait_ms = max(0, min(_IDLE_POLL_MS, ticks_diff(deadline, self.clock.ticks_ms())))
            self._wake.clear()
            if wait_ms > 0:
                await self.clock.wait(self._wake, wait_ms)
            else:
                await asyncio.sleep(0)
            self.run_timers()

    def run_timers(self):
        """Fire the machine's due timers and carry out what they ask for."""
        if self._draining:
            return  # inside an event's actions: the timer task's next turn
        self._draining = True
        try:
            self._execute(self.machine.tick(self.clock.ticks_ms()))
        finally:
            self._draining = False
        self._drain()

    # ------------------------------------------------------------ front panel

    def dial(self, number):
        """Dial an apartment (digits). False when refused: a call is running."""
        before = self.machine.refused
        self._post("dial", None, str(number))
        return self.machine.refused == before

    def hangup(self):
        """End the running call (the visitor's side). False when idle."""
        if self.machine.state == "idle":
            return False
        self._post("hangup", None, None)
        return True

    def press(self, keys):
        """Press keys in order; one result dict per key that did something."""
        if not valid_keys(keys) or len(keys) > MAX_KEYS_PER_PRESS:
            raise ValueError("keys must be 1..%d of 0-9 * #" % MAX_KEYS_PER_PRESS)
        results = []
        for key in keys:
            kind, text = self.keypad.press(key, self.clock.ticks_ms())
            if kind == "dial":
                accepted = self.dial(text)
                result = {"key": key, "action": "dial", "number": int(text), "accepted": accepted}
                if not accepted:
                    result["reason"] = "busy"
                results.append(result)
            elif kind == "code":
                granted = self.personal_code(text)
                result = {"key": key, "action": "personal_code", "granted": granted}
                locked_ms = self.code_locked_ms()
                if not granted and locked_ms:
                    result["reason"] = "locked"
                    result["retry_after_s"] = (locked_ms + 999) // 1000
                results.append(result)
            elif kind in ("cleared", "code_entry", "ignored"):
                result = {"key": key, "action": kind}
                if text:
                    result["reason"] = text
                results.append(result)
        return results

    def personal_code(self, code):
        """Spec 8.1: a personal code typed on the keypad opens its lock(s).
        False for a wrong code, and for any code while code entry is locked
        (KEYPAD_FREE_FAILURES above)."""
        environment = self.environment
        now = self.clock.ticks_ms()
        attempts = self.code_attempts
        if attempts.blocked_ms(_KEYPAD_SOURCE, now):
            self.counters["personal_code_locked"] += 1
            return False
        item = environment.find_personal_code(code)
        if item is None:
            self.counters["personal_code_denied"] += 1
            # The code typed: the event line of spec 10.3 names it.
            info = {"identifier_type": "personal_code", "code": code}
            window_ms = attempts.failed(_KEYPAD_SOURCE, now)
            if window_ms:
                info["locked_s"] = window_ms // 1000
            self._execute([("log", "access_denied", info)])
            return False
        attempts.succeeded(_KEYPAD_SOURCE)
        locks = {"first": (1,), "second": (2,)}.get(item.get("lock"), (1, 2))
        owner = item.get("identifier_owner") or {}
        info = {
            "identifier_uid": item.get("identifier_uid"),
            "identifier_owner": owner.get("name", ""),
        }
        for lock in locks:
            environment.open_lock(lock, 0, "access_granted_by_personal_code", info)
        self.counters["personal_code_granted"] += 1
        return True

    def code_locked_ms(self):
        """ms left until the keypad takes personal codes again (0: it does)."""
        return self.code_attempts.blocked_ms(_KEYPAD_SOURCE, self.clock.ticks_ms())

    def describe(self):
        document = self.machine.describe()
        document["keypad"] = self.keypad.describe()
        document["last_call"] = self.machine.last_call
        document["refused_dials"] = self.machine.refused
        document["calls"] = self.machine.calls
        media = self._media
        document["media"] = dict(media.counters) if media is not None else None
        return document

    # ------------------------------------------------------------ events in

    def _post(self, event, leg_id, value):
        """Feed the machine; events raised while carrying out actions queue up."""
        self._queue.append((event, leg_id, value))
        self._drain()

    def _drain(self):
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                event, leg_id, value = self._queue.pop(0)
                self.counters["events"] += 1
                self._execute(self.machine.handle(event, self.clock.ticks_ms(), leg_id, value))
        finally:
            self._draining = False
        self._after_actions()
        if self._wake is not None:
            self._wake.set()  # the next timer may be earlier now

    def on_sip_event(self, kind, call, detail):
        """An event of the SIP user agent (its on_event callback)."""
        if not self._running or call is None:
            return  # call None: registration changes, the panel logs those
        if kind == "incoming":
            self._on_incoming(call)
            return
        leg_id = self._sip_legs.get(call.call_id)
        if leg_id is None and self._starting_leg is not None:
            # An event raised inside invite(), before it returned the Call.
            leg_id = self._starting_leg
            self._sip_legs[call.call_id] = leg_id
            self._sip_calls[leg_id] = call
        if leg_id is None:
            return
        if kind == "ringing":
            self._post("leg_ringing", leg_id, detail)
        elif kind == "answered":
            self._post("leg_answered", leg_id, detail)
        elif kind == "failed":
            self._forget_call(call, leg_id)
            code = detail if isinstance(detail, int) else CODE_UNAVAILABLE
            if code == 408 and getattr(call, "status", 0) is None:
                # The INVITE timed out without any response (not even 100):
                # sip_ua reports that as 408; a 408 the peer sent has a status.
                code = NO_REPLY
            self._post("leg_failed", leg_id, code)
        elif kind == "ended":
            self._forget_call(call, leg_id)
            self._post("leg_ended", leg_id, detail)
        elif kind == "dtmf":
            self._post("digit", leg_id, detail)

    def _on_incoming(self, call):
        settings = self.environment.incoming_calls()
        if not settings.get("enabled") or not incoming.allowed(
            settings.get("allow") or (), call.caller, call.address[0]
        ):
            # [D] Not on the allow-list (or incoming calls are off): 403.
            self.counters["incoming_refused"] += 1
            call.reject(403)
            return
        self._incoming[call.call_id] = call
        value = {
            "token": call.call_id,
            "caller": call.caller,
            "plan": call.media,
            "answer_after_s": settings.get("answer_after_s", 0),
        }
        try:
            self._post("incoming", None, value)
        finally:
            self._incoming.pop(call.call_id, None)

    def _ring(self, on):
        # The ring-tone hook, called on changes only.
        if on == self._ringing:
            return
        self._ringing = on
        ring = self.media.get("ring")
        if ring is not None:
            ring(on)

    def _forget_call(self, call, leg_id):
        self._sip_legs.pop(call.call_id, None)
        self._sip_calls.pop(leg_id, None)

    def on_adapter_event(self, event):
        """An event of the adapter driver (proto.hybrid event: kind, line, detail)."""
        if not self._running:
            return
        kind = event.kind
        line = event.line
        if kind in ("presence", "adapter_reset"):
            if kind == "adapter_reset" or not event.detail:
                self._post("adapter_lost", None, kind)
            return
        leg_id = self._line_legs.get(line)
        if leg_id is None:
            return
        if kind == "answered":
            self._post("leg_answered", leg_id, None)
        elif kind == "hung_up":
            self._post("leg_ended", leg_id, "remote")
        elif kind == "door_button":
            self._post("door_button", leg_id, None)
        elif kind == "busy":
            self._post("leg_failed", leg_id, CODE_BUSY)
        elif kind == "fault":
            self._post("leg_failed", leg_id, UNREACHABLE)

    # ------------------------------------------------------------ actions out

    def _execute(self, actions):
        # Drivers first, the call log a loop turn later: a log entry is a
        # durable write (an fsync, milliseconds) and the visitor should not
        # wait for it to ring (the RING command's task runs before it).
        logs = []
        for action in actions:
            kind = action[0]
            if kind == "log":
                logs.append(action)
            elif kind == "invite":
                self._invite(action[1], action[2])
            elif kind == "cancel":
                call = self._sip_calls.get(action[1])
                if call is not None:
                    call.cancel()
            elif kind == "bye":
                call = self._sip_calls.get(action[1])
                if call is not None:
                    call.hangup()
                else:
                    self._queue.append(("leg_ended", action[1], "local"))
            elif kind == "ring":
                self._line_legs[action[2]] = action[1]
                self._adapter_command("ring", action[1], action[2])
            elif kind in ("stop_ring", "connect_audio", "disconnect_audio"):
                self._adapter_command(kind, action[1], action[2])
            elif kind == "start_media":
                self._start_media(action[1], action[2])
            elif kind == "stop_media":
                self._stop_media()
            elif kind == "ring_incoming":
                call = self._incoming.pop(action[2], None)
                if call is not None:
                    self._sip_legs[call.call_id] = action[1]
                    self._sip_calls[action[1]] = call
                    call.ring()
                    self._ring(True)
            elif kind == "answer_incoming":
                self._answer_incoming(action[1])
            elif kind == "refuse_incoming":
                call = self._incoming.pop(action[1], None)
                if call is not None:
                    call.reject(action[2])
            elif kind == "open_lock":
                self.environment.open_lock(action[1], 0, "access_granted_by_call_host", action[2])
            # "refused": nothing to drive; dial() reads the machine's count.
        if logs:
            self._pending_logs.extend(logs)
            if not self._flush_scheduled and self._running:
                self._flush_scheduled = True
                asyncio.create_task(self._flush_logs_soon())
            elif not self._running:
                self._flush_logs()

    async def _flush_logs_soon(self):
        await asyncio.sleep(0)
        self._flush_logs()

    def _flush_logs(self):
        self._flush_scheduled = False
        pending = self._pending_logs
        self._pending_logs = []
        for action in pending:
            self.environment.log(action[1], action[2])

    def _after_actions(self):
        if self.machine.state != "incoming":
            self._ring(False)
        if self.machine.state == "idle":
            self._stop_media()
            self._close_rtp_socket()
            self._line_legs = {}

    def _invite(self, leg_id, target):
        user_agent = self.sip
        failure = None
        if user_agent is None:
            failure = UNREACHABLE
        else:
            try:
                offer = self._offer(user_agent)
                self._starting_leg = leg_id
                try:
                    call = user_agent.invite(target, offer)
                finally:
                    self._starting_leg = None
                if call.state not in ("failed", "ended"):
                    self._sip_legs[call.call_id] = leg_id
                    self._sip_calls[leg_id] = call
            except (LocalError, OSError, MemoryError):
                # No account for a digits target, too many calls, a socket
                # error, no heap for the message: this leg fails, the call
                # goes on with the others.
                self.counters["invite_errors"] += 1
                failure = UNREACHABLE
        if failure is not None:
            self._queue.append(("leg_failed", leg_id, failure))

    def _answer_incoming(self, leg_id):
        call = self._sip_calls.get(leg_id)
        if call is None:
            return  # gone while ringing (the machine hears leg_failed)
        self._ring(False)
        try:
            self._ensure_rtp_socket()
            body, plan = sdp.answer(
                call.offer, self._session, self.sip.local_address[0], self._rtp_address[1]
            )
        except (OSError, MemoryError, RemoteError):
            # No RTP socket, no heap, an offer we cannot answer: the caller
            # hears 488/500 and the machine a failed leg.
            self.counters["invite_errors"] += 1
            call.reject(500)
            return
        call.answer(body)
        if call.state == "answered":
            self._start_media(leg_id, plan)

    def _ensure_rtp_socket(self):
        if self._rtp_socket is None:
            factory = self.media.get("socket")
            if factory is None:
                raise OSError("no RTP socket")
            self._rtp_socket, self._rtp_address = factory()
            self._session += 1

    def _offer(self, user_agent):
        address = user_agent.local_address[0]
        if self._rtp_socket is None:
            factory = self.media.get("socket")
            if factory is None:
                # The board hands in its sockets (DESIGN.md rule 3); without
                # one for RTP a SIP leg cannot be offered: it fails.
                raise OSError("no RTP socket")
            self._rtp_socket, self._rtp_address = factory()
            self._session += 1
        return sdp.build(self._session, 1, address, self._rtp_address[1])

    def _close_rtp_socket(self):
        if self._rtp_socket is not None:
            try:
                self._rtp_socket.close()
            except OSError:
                pass
            self._rtp_socket = None

    def _start_media(self, leg_id, plan):
        from panel.drivers.rtp_session import RtpSession

        self._stop_media()
        if plan is None or self._rtp_socket is None:
            return

        def on_digit(digit):
            self._post("digit", leg_id, digit)

        media = self.media
        source = media["source"]() if media.get("source") else None
        sink = media["sink"]() if media.get("sink") else None
        rtcp_socket = None
        if media.get("rtcp_socket"):
            try:
                rtcp_socket = media["rtcp_socket"](self._rtp_address)
            except OSError:
                self.counters["rtcp_socket_errors"] = self.counters.get("rtcp_socket_errors", 0) + 1
        self._media = RtpSession(
            self._rtp_socket,
            plan,
            on_digit,
            media.get("tone_hz", 0),
            source=source,
            sink=sink,
            rtcp_transport=rtcp_socket,
        )
        self._media.start()

    def _stop_media(self):
        media = self._media
        if media is not None:
            self._media = None
            media.stop()
            for part in (media.sink, media.source, media.rtcp_transport):
                close = getattr(part, "close", None)
                if close is not None:
                    try:
                        close()
                    except OSError:
                        pass  # a sink's file or a socket: the call is over anyway

    def _adapter_command(self, kind, leg_id, line):
        self._command_serial += 1
        serial = self._command_serial
        self._commands[serial] = asyncio.create_task(
            self._run_adapter_command(serial, kind, leg_id, line)
        )

    async def _run_adapter_command(self, serial, kind, leg_id, line):
        accepted = False
        adapter = self.adapter
        try:
            if adapter is not None:
                accepted = await getattr(adapter, kind)(line)
        except hybrid.LocalError:
            accepted = False  # a malformed line: our bug; the call goes on without it
        finally:
            self._commands.pop(serial, None)
        if kind == "ring":
            if accepted:
                self._post("leg_ringing", leg_id, None)
            else:
                self.counters["adapter_refusals"] += 1
                self._post("leg_failed", leg_id, UNREACHABLE)
