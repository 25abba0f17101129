"""The call controller's async layer: panel.calls.machine.CallMachine on the real drivers.

    controller = CallController(panel)      # nothing starts here
    controller.start()                      # listens to SIP/adapter events, timer task
    controller.stop()
    controller.dial("223") -> True, or False when a call is running (refused)
    controller.hangup() -> True, or False when there is no call
    controller.press(keys) -> [result, ...]  the front keypad (drivers.keypad)
    controller.describe() -> dict for GET /sim/call

It turns driver events into machine events (SIP Call -> leg, adapter line ->
leg) and machine actions into driver calls: SipUserAgent.invite/cancel/bye,
AdapterDriver.ring/stop_ring/connect_audio/disconnect_audio (awaited in
their own tasks; a refused RING becomes leg_failed 503), an RtpSession for
the answered SIP leg (RFC 4733 digits, and SIP INFO digits from the user
agent, go back to the machine) and Panel.open_lock for door openings.

Media: panel.media_options {"socket": callable() -> bound UDP socket for RTP,
"tone_hz": int} from the board (the host sends a 425 Hz tone; a board without
audio hardware sends silence). Without a socket factory, one UDP socket per
call is bound on the SIP user agent's address (port chosen by the system).
"""

import asyncio

from panel.calls.machine import CODE_BUSY, CODE_UNAVAILABLE, UNREACHABLE, CallMachine
from panel.compat import const, ticks_diff, ticks_ms
from panel.drivers.keypad import Keypad, valid_keys
from panel.proto import hybrid, sdp
from panel.proto.sip_message import LocalError

# Longest the timer task sleeps without a timer due (ms): only a safety net,
# every event and every new timer wakes it anyway.
_IDLE_POLL_MS = const(1000)
# Keys accepted in one keypad request.
MAX_KEYS_PER_PRESS = const(64)


class PanelEnvironment:
    """What the call machine asks about the panel's configuration and drivers."""

    def __init__(self, panel):
        self.panel = panel

    def queue(self, number):
        # Forward numbers are 1..int64 (spec 3.1): at most 19 ASCII digits.
        if not isinstance(number, str) or not 1 <= len(number) <= 19 or number.strip("0123456789"):
            return None
        value = int(number)
        if value < 1:
            return None
        return self.panel.forward_rules.get(value)

    def mode(self):
        return self.panel.settings.get("forward_mode", {"forward_mode": "all_at_once"}).get(
            "forward_mode", "all_at_once"
        )

    def timeouts(self):
        from panel.api import device

        dial = self.panel.settings.get(device.DIAL_TIMEOUT_SETTINGS, device.DIAL_TIMEOUT_DEFAULTS)
        talk = self.panel.settings.get(device.TALK_TIMEOUT_SETTINGS, device.TALK_TIMEOUT_DEFAULTS)
        return (
            dial.get("dial_timeout", 45),
            dial.get("forwarding_timeout", 20),
            talk.get("talk_timeout", 90),
        )

    def rules(self, called):
        from panel.api import redirectrules

        # The rule index answers with the few rules that may match `called`
        # (routing still checks each one); no scan of every rule.
        return redirectrules.candidate_rules(self.panel.store, called)

    def minute_of_week(self):
        from panel.api import redirectrules

        return redirectrules.minute_of_week(self.panel)

    def _redirect_settings(self):
        from panel.api import redirectrules

        return redirectrules.load_settings(self.panel)

    def work_hours(self):
        return self._redirect_settings()["work_hours"]

    def response_map(self):
        return self._redirect_settings()["response_map"]

    def caller(self):
        return self.panel.sip_settings().get("user") or "panel"

    def reachable(self, kind, target):
        """Spec 3.3: SIP entries need SIP enabled (digits also registration OK);
        analog lines need the adapter present and covering the line."""
        panel = self.panel
        if kind == "sip":
            if panel.sip is None or not panel.sip_enabled():
                return False
            if target.startswith("sip:"):
                return True
            return panel.sip_status()["sip_status"] == "OK"
        adapter = panel.adapter
        return adapter is not None and adapter.present and adapter.covers(target)

    def lock_codes(self):
        from panel.api import access

        codes = {}
        for lock in (1, 2):
            codes[lock] = access.lock_settings(self.panel.settings, lock)["dtmf_code"]
        return codes

    def lock_seconds(self, lock):
        from panel.api import access

        return access.lock_settings(self.panel.settings, lock)["lock_timeout"]


class CallController:
    def __init__(self, panel, environment=None):
        self.panel = panel
        self.machine = CallMachine(environment or PanelEnvironment(panel))
        self.keypad = Keypad()
        self.counters = {
            "events": 0,
            "invite_errors": 0,
            "adapter_refusals": 0,
            "personal_code_granted": 0,
            "personal_code_denied": 0,
        }
        self._running = False
        self._listening = False
        self._task = None
        self._wake = None
        self._queue = []
        self._draining = False
        self._sip_legs = {}  # SIP Call-ID -> leg id
        self._sip_calls = {}  # leg id -> sip_ua.Call
        self._line_legs = {}  # ("vizit", 7) -> leg id of the latest leg on that line
        self._commands = {}  # serial -> adapter command task in flight
        self._command_serial = 0
        self._starting_leg = None
        self._media = None  # RtpSession of the answered SIP leg
        self._pending_logs = []  # ("log", event, info) actions not yet written
        self._flush_scheduled = False
        self._rtp_socket = None
        self._session = 0

    # ------------------------------------------------------------ lifecycle

    def start(self):
        if self._running:
            return
        self._running = True
        if not self._listening:
            self.panel.add_call_listener(self._on_driver_event)
            self._listening = True
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
        while self._running:
            deadline = self.machine.next_deadline()
            wait_ms = _IDLE_POLL_MS
            if deadline is not None:
                wait_ms = max(0, min(_IDLE_POLL_MS, ticks_diff(deadline, ticks_ms())))
            self._wake.clear()
            if wait_ms > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), wait_ms / 1000)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(0)
            self._draining = True
            try:
                self._execute(self.machine.tick(ticks_ms()))
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
            kind, text = self.keypad.press(key, ticks_ms())
            if kind == "dial":
                accepted = self.dial(text)
                result = {"key": key, "action": "dial", "number": int(text), "accepted": accepted}
                if not accepted:
                    result["reason"] = "busy"
                results.append(result)
            elif kind == "code":
                granted = self.personal_code(text)
                results.append({"key": key, "action": "personal_code", "granted": granted})
            elif kind in ("cleared", "code_entry", "ignored"):
                result = {"key": key, "action": kind}
                if text:
                    result["reason"] = text
                results.append(result)
        return results

    def personal_code(self, code):
        """Spec 8.1: a personal code typed on the keypad opens its lock(s)."""
        panel = self.panel
        item = panel.identifiers.find_personal_code(code)
        if item is None:
            self.counters["personal_code_denied"] += 1
            panel.call_log.add("access_denied", {"identifier_type": "personal_code"})
            return False
        locks = {"first": (1,), "second": (2,)}.get(item.get("lock"), (1, 2))
        owner = item.get("identifier_owner") or {}
        info = {
            "identifier_uid": item.get("identifier_uid"),
            "identifier_owner": owner.get("name", ""),
        }
        for lock in locks:
            panel.open_lock(lock, 0, "access_granted_by_personal_code", info)
        self.counters["personal_code_granted"] += 1
        return True

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
                self._execute(self.machine.handle(event, ticks_ms(), leg_id, value))
        finally:
            self._draining = False
        self._after_actions()
        if self._wake is not None:
            self._wake.set()  # the next timer may be earlier now

    def _on_driver_event(self, source, kind, subject, detail):
        if not self._running:
            return
        if source == "sip":
            self._on_sip_event(kind, subject, detail)
        elif source == "adapter":
            self._on_adapter_event(kind, subject, detail)

    def _on_sip_event(self, kind, call, detail):
        if call is None:
            return  # registration changes: the panel logs those
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
            self._post("leg_failed", leg_id, code)
        elif kind == "ended":
            self._forget_call(call, leg_id)
            self._post("leg_ended", leg_id, detail)
        elif kind == "dtmf":
            self._post("digit", leg_id, detail)

    def _forget_call(self, call, leg_id):
        self._sip_legs.pop(call.call_id, None)
        self._sip_calls.pop(leg_id, None)

    def _on_adapter_event(self, kind, line, event):
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
            elif kind == "open_lock":
                self.panel.open_lock(action[1], 0, "access_granted_by_call_host", action[2])
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
            self.panel.call_log.add(action[1], action[2])

    def _after_actions(self):
        if self.machine.state == "idle":
            self._stop_media()
            self._close_rtp_socket()
            self._line_legs = {}

    def _invite(self, leg_id, target):
        user_agent = self.panel.sip
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
            except (LocalError, OSError):
                # No account for a digits target, too many calls, a socket
                # error: this leg fails, the call goes on with the others.
                self.counters["invite_errors"] += 1
                failure = UNREACHABLE
        if failure is not None:
            self._queue.append(("leg_failed", leg_id, failure))

    def _offer(self, user_agent):
        address = user_agent.local_address[0]
        if self._rtp_socket is None:
            self._rtp_socket = self._new_rtp_socket(address)
            self._session += 1
        port = self._rtp_socket.getsockname()[1]
        return sdp.build(self._session, 1, address, port)

    def _new_rtp_socket(self, address):
        options = getattr(self.panel, "media_options", None) or {}
        factory = options.get("socket")
        if factory is not None:
            return factory()
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((address, 0))
        return sock

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
        options = getattr(self.panel, "media_options", None) or {}

        def on_digit(digit):
            self._post("digit", leg_id, digit)

        self._media = RtpSession(self._rtp_socket, plan, on_digit, options.get("tone_hz", 0))
        self._media.start()

    def _stop_media(self):
        if self._media is not None:
            self._media.stop()
            self._media = None

    def _adapter_command(self, kind, leg_id, line):
        self._command_serial += 1
        serial = self._command_serial
        self._commands[serial] = asyncio.create_task(
            self._run_adapter_command(serial, kind, leg_id, line)
        )

    async def _run_adapter_command(self, serial, kind, leg_id, line):
        accepted = False
        adapter = self.panel.adapter
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
