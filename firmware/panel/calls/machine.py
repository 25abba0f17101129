# The call controller's state machine: one transition table, sans-I/O
# (BAS-IP spec 3.3, 3.4, 6.1; redirect spec 5).
#
# A visitor dials an apartment; the machine runs that apartment's plan (forward
# queue and mode, timeouts, redirect rules through core.routing) and answers
# every event with a list of actions for a thin async layer to carry out
# (calls.controller on the panel, a list in tests). It does no I/O, reads no
# clock and starts no task: time comes in as ms ticks with each event.
#
#     machine = CallMachine(environment)
#     actions = machine.handle(event, now_ms, leg_id=None, value=None)
#     actions = machine.tick(now_ms)        # fires due timers
#     machine.next_deadline()               # ms ticks of the next timer, or None
#     machine.state, machine.describe(), machine.last_call
#
# Events (EVENTS), every one handled in every state (TRANSITIONS):
#     dial (value: apartment digits), hangup (the visitor, or /sim/call/hangup),
#     leg_ringing, leg_answered (value: the SIP media plan, or None for a line),
#     leg_failed (value: a SIP status, analog busy 486; or UNREACHABLE: a line
#     in fault, a RING the adapter refused, no adapter, an INVITE the user
#     agent could not send; or NO_REPLY: a SIP target that sent no response
#     at all before its INVITE timed out),
#     leg_ended (the callee hung up, or our BYE completed), digit (value: one
#     DTMF character), door_button (an analog handset's door key),
#     adapter_lost (the hybrid adapter went away or reset), incoming (a SIP
#     caller the allow-list let through, docs/incoming-calls.md; value a dict:
#     "token" the controller's handle, "caller" the From URI, "plan" the media
#     plan of its offer, "answer_after_s"), and the timers ring_timeout,
#     talk_timeout, door_closed, ending_timeout, answer_due.
#
# Actions (tuples; leg ids are small ints unique for the machine's lifetime):
#     ("invite", leg, target)          SIP INVITE to "5588" or "sip:..."
#     ("cancel", leg) ("bye", leg)     end a SIP leg (ringing / answered)
#     ("ring", leg, line) ("stop_ring", leg, line)
#     ("connect_audio", leg, line) ("disconnect_audio", leg, line)
#     ("start_media", leg, plan) ("stop_media", leg)
#     ("open_lock", lock, info)        log access_granted_by_call_host
#     ("log", event, info)             a call-log entry
#     ("refused", number, reason)      a dial while a call is running
#     ("ring_incoming", leg, token)    ring an incoming caller (180, ring tone)
#     ("answer_incoming", leg, plan)   answer it (200 with our SDP) and start
#                                      its media
#     ("refuse_incoming", token, 486)  an incoming call while one runs
#
# The environment answers questions about configuration and reachability: the
# configuration half of the interface in calls/environment.py (queue, mode,
# timeouts, ring_timeout, rules, minute_of_week, work_hours, response_map,
# caller, reachable, lock_codes, lock_seconds). The effects are actions here.
#
# The ring timer of one attempt is min(ring_timeout_s, dial_timeout) all at
# once and min(ring_timeout_s, forwarding_timeout) per target one by one
# (redirect spec 5.0, 5.2 [D]); when it runs out while a target still rings,
# the outcome is noanswer.
from panel.compat import const, ticks_add, ticks_diff
from panel.core import numbers, routing
from panel.proto import rtp

STATES = ("idle", "dialling", "ringing", "incoming", "talking", "door_open", "ending")

EVENTS = (
    "dial",
    "hangup",
    "leg_ringing",
    "leg_answered",
    "leg_failed",
    "leg_ended",
    "digit",
    "door_button",
    "adapter_lost",
    "ring_timeout",
    "talk_timeout",
    "door_closed",
    "ending_timeout",
    "incoming",
    "answer_due",
)

# The one table (STYLE.md rule 9): state -> event -> handler (method "_on_<name>").
# "ignore" is an explicit decision: that event means nothing in that state
# (a straggler from a leg already settled, a timer of a phase already left).
# Two pairs of states answer every event alike and share their row; the pair
# differs only in what describe() shows.

# dialling: the attempt is started, no target has confirmed ringing yet;
# ringing: one has.
_RINGING_ROW = {
    "dial": "refuse",
    "hangup": "caller_hangup",
    "leg_ringing": "leg_ringing",
    "leg_answered": "leg_answered",
    "leg_failed": "leg_failed",
    "leg_ended": "settle",
    "digit": "ignore",
    "door_button": "ignore",
    "adapter_lost": "adapter_lost_ringing",
    "ring_timeout": "ring_timeout",
    "talk_timeout": "ignore",
    "door_closed": "ignore",
    "ending_timeout": "ignore",
    "incoming": "refuse_incoming",
    "answer_due": "ignore",
}

# talking; door_open: talking with a lock released, back to talking when it
# closes (door_closed in talking finds no lock open and stays there).
_TALKING_ROW = {
    "dial": "refuse",
    "hangup": "local_hangup",
    "leg_ringing": "ignore",
    "leg_answered": "ignore",
    "leg_failed": "settle",
    "leg_ended": "talk_leg_ended",
    "digit": "digit",
    "door_button": "door_button",
    "adapter_lost": "adapter_lost_talking",
    "ring_timeout": "ignore",
    "talk_timeout": "talk_timeout",
    "door_closed": "door_closed",
    "ending_timeout": "ignore",
    "incoming": "refuse_incoming",
    "answer_due": "ignore",
}

TRANSITIONS = {
    "idle": {
        "dial": "start",
        "hangup": "ignore",
        "leg_ringing": "ignore",
        "leg_answered": "ignore",
        "leg_failed": "ignore",
        "leg_ended": "ignore",
        "digit": "ignore",
        "door_button": "ignore",
        "adapter_lost": "ignore",
        "ring_timeout": "ignore",
        "talk_timeout": "ignore",
        "door_closed": "ignore",
        "ending_timeout": "ignore",
        "incoming": "start_incoming",
        "answer_due": "ignore",
    },
    "dialling": _RINGING_ROW,
    "ringing": _RINGING_ROW,
    # incoming: a caller on the allow-list rings the panel (180 sent); the
    # answer_due timer answers it, then it is a call like any answered one
    # (talking, door_open, ending: digits open the locks).
    "incoming": {
        "dial": "refuse",
        "hangup": "decline_incoming",
        "leg_ringing": "ignore",
        "leg_answered": "ignore",
        "leg_failed": "incoming_gone",
        "leg_ended": "incoming_gone",
        "digit": "ignore",
        "door_button": "ignore",
        "adapter_lost": "ignore",
        "ring_timeout": "ignore",
        "talk_timeout": "ignore",
        "door_closed": "ignore",
        "ending_timeout": "ignore",
        "incoming": "refuse_incoming",
        "answer_due": "answer_incoming",
    },
    "talking": _TALKING_ROW,
    "door_open": _TALKING_ROW,
    # ending: BYE or CANCEL sent, waiting for their final answers (bounded).
    "ending": {
        "dial": "refuse",
        "hangup": "ignore",
        "leg_ringing": "ignore",
        "leg_answered": "ignore",
        "leg_failed": "settle_ending",
        "leg_ended": "settle_ending",
        "digit": "ignore",
        "door_button": "ignore",
        "adapter_lost": "ignore",
        "ring_timeout": "ignore",
        "talk_timeout": "ignore",
        "door_closed": "ignore",
        "ending_timeout": "finish_ending",
        "incoming": "refuse_incoming",
        "answer_due": "ignore",
    },
}

# Timer events, checked by tick() in this order when several are due.
TIMER_EVENTS = ("ring_timeout", "talk_timeout", "door_closed", "ending_timeout", "answer_due")

# Longest wait in "ending" for the final answers to our BYE/CANCEL before the
# panel is free again (ms). A peer that never answers a CANCEL would hold the
# INVITE for 32 s (RFC 3261 Timer B); the visitor must not wait for that.
ENDING_GUARD_MS = const(2000)
# Legs (target attempts) in one call: a queue has at most 8 targets and the
# cascade at most 4 redirect steps, so 5 hops of 8; beyond this a target is
# counted as failed without being rung.
MAX_LEGS_PER_CALL = const(40)
# Digits of a dialled apartment number: forward numbers are int64 (spec 3.1).
MAX_NUMBER_DIGITS = const(19)
# Door openings remembered per call for describe() (each is also logged).
_MAX_DOOR_OPENINGS = const(16)

# Leg states (what describe() shows of each target):
#   queued      one by one: waiting its turn
#   starting    INVITE or RING sent        } live: the target may still ring,
#   ringing     the target rings           } answer or fail
#   answered    the call's one answered leg
#   cancelling  our CANCEL sent            } closing (SIP only): the final answer
#   hanging_up  our BYE sent               } to our CANCEL or BYE is to come
#   done        settled
#   skipped     never rung: the call ended before its turn
_LIVE = ("starting", "ringing")
_CLOSING = ("cancelling", "hanging_up")

# Analog outcomes as SIP-like codes, so one reply ranking (spec 5.2) serves both.
CODE_BUSY = const(486)
CODE_UNAVAILABLE = const(503)
CODE_DECLINE = const(603)
# leg_failed value for a target that could not be reached at all. It ranks as
# 503 among replies; an attempt whose every target was unreachable has the
# outcome "unregistered" (redirect spec 5.0: "adapter absent or line fault").
UNREACHABLE = "unreachable"
# leg_failed value for a SIP target that never sent any response at all (the
# INVITE transaction timed out without even a 100 Trying). Redirect spec 5.2:
# a contact that never replied counts as `unavailable`; it adds no reply code.
NO_REPLY = "no_reply"
# The outgoing_call result of a target that never replied (at the ring timer
# or at the transaction timeout) [CHOICE].
RESULT_NO_REPLY = "unavailable"


def result_for_code(code):
    """The outgoing_call `result` for a SIP failure code."""
    if code in (486, 600):
        return "busy"
    if code == 603:
        return "rejected"
    if code in (408, 480):
        return "no_answer"
    return "failed"


def target_kind(destination):
    """("sip", target) or ("line", (system, number)) for a dialable destination, else None.

    Queue entries follow the vendor patterns (spec 3.2); redirect destinations
    are plain numbers or sip: URIs (redirect spec 2.5). "" and anything the
    user agent could not dial (a "+49..." number) are not dialable.
    """
    if not isinstance(destination, str) or not destination:
        return None
    line = numbers.destination_line(destination)
    if line is not None:
        return ("line", line)
    if destination.startswith("sip:") and len(destination) > 4:
        return ("sip", destination)
    if numbers.destination_kind(destination) == numbers.KIND_DIGITS:
        return ("sip", destination)
    return None


def number_value(text):
    """forward_number for the log: an int when text is digits, else the text."""
    if isinstance(text, str) and text.isdigit() and len(text) <= MAX_NUMBER_DIGITS:
        return int(text)
    return text


class Leg:
    """One target attempt of a call."""

    def __init__(self, leg_id, destination, kind, target, forward_number, hop):
        self.id = leg_id
        self.destination = destination  # the text as the queue or rule gave it
        self.kind = kind  # "sip" or "line"
        self.target = target  # what the driver dials: text or line tuple
        self.forward_number = forward_number
        self.hop = hop  # 0: the dialled number, then one per redirect
        self.state = "queued"  # see the leg states above
        self.result = None
        self.code = None

    def live(self):
        return self.state in _LIVE

    def rang(self):
        """Did the target ring? A SIP one: a 180/183 came. An analog one: the
        adapter took the RING (its answer comes at once; a leg still waiting
        for it at the ring timer counts as ringing, as before)."""
        return self.state == "ringing" or (self.kind != "sip" and self.state == "starting")

    def closing(self):
        return self.state in _CLOSING

    def describe(self):
        return {
            "id": self.id,
            "destination": self.destination,
            "kind": self.kind,
            "forward_number": self.forward_number,
            "state": self.state,
            "result": self.result,
            "code": self.code,
        }


class CallMachine:
    def __init__(self, environment):
        self.environment = environment
        self.state = "idle"
        self.refused = 0  # dials refused because a call was running
        self.calls = 0  # calls started
        self.last_call = None  # describe() of the previous call
        self._next_leg = 1
        self._timers = {}
        self._actions = []
        self._clear_call()

    # ------------------------------------------------------------ interface

    def handle(self, event, now, leg_id=None, value=None):
        """Feed one event at ms ticks `now`; returns the actions to carry out."""
        row = TRANSITIONS[self.state]
        if event not in row:
            raise ValueError("unknown call event %r" % (event,))
        self._actions = []
        getattr(self, "_on_" + row[event])(now, leg_id, value)
        actions = self._actions
        self._actions = []
        return actions

    def tick(self, now):
        """Fire every due timer; returns the actions."""
        actions = []
        for name in TIMER_EVENTS:
            deadline = self._timers.get(name)
            if deadline is not None and ticks_diff(now, deadline) >= 0:
                del self._timers[name]
                actions.extend(self.handle(name, now))
        return actions

    def next_deadline(self):
        """ms ticks of the earliest timer, or None when none is set."""
        earliest = None
        for name in self._timers:
            deadline = self._timers[name]
            if earliest is None or ticks_diff(deadline, earliest) < 0:
                earliest = deadline
        return earliest

    def leg(self, leg_id):
        return self._legs.get(leg_id)

    def answered_leg(self):
        return self._legs.get(self._answered)

    def describe(self):
        """The current call for GET /sim/call (JSON-ready)."""
        legs = [self._legs[leg_id].describe() for leg_id in sorted(self._legs)]
        answered = self.answered_leg()
        return {
            "state": self.state,
            "apartment": number_value(self._apartment) if self._apartment else None,
            "called": number_value(self._routing.called) if self._routing else None,
            "mode": self._mode,
            "targets": legs,
            "answered_by": answered.destination if answered is not None else None,
            "door_openings": list(self._door_openings),
            "redirects": list(self._redirects),
            "outcome": self._outcome,
            "ended_by": self._ended_by,
        }

    # ------------------------------------------------------------ call record

    def _clear_call(self):
        self._apartment = None
        self._routing = None
        self._mode = None
        self._timeouts = None
        self._ring_timeout_ms = None
        self._legs = {}
        self._answered = None
        self._collector = None
        self._door_openings = []
        self._redirects = []
        self._outcome = None
        self._ended_by = None
        self._started = None
        self._stop_asking = False
        self._attempt = None
        self._incoming_plan = None
        self._incoming_leg = None

    def _ring_ms(self, ring_timeout_s):
        """The ring timer of one attempt (ms): redirect spec 5.2's ring timer
        (ring_timeout_s), bounded by the BAS-IP timeout of that attempt [D]:
        dial_timeout for all at once, forwarding_timeout per target one by one
        (redirect spec 5.0: a one-by-one queue runs its ring timer per target)."""
        dial_s, forwarding_s, _ = self._timeouts
        bound_s = forwarding_s if self._mode == "one_by_one" else dial_s
        return min(bound_s, ring_timeout_s) * 1000

    def _set_timer(self, name, now, delay_ms):
        self._timers[name] = ticks_add(now, delay_ms)

    def _log(self, event, info):
        self._actions.append(("log", event, info))

    def _act(self, *action):
        self._actions.append(action)

    # ------------------------------------------------------------ handlers: idle

    def _on_ignore(self, now, leg_id, value):
        pass

    def _on_refuse(self, now, leg_id, value):
        # One speaker, one visitor: a second dial while a call runs is refused.
        self.refused += 1
        self._act("refused", value, "busy")

    def _on_start(self, now, leg_id, value):
        text = str(value)
        # ASCII digits only (CPython's isdigit() also takes other scripts' digits).
        if not 1 <= len(text) <= MAX_NUMBER_DIGITS or text.strip("0123456789"):
            raise ValueError("apartment number must be 1..%d digits" % MAX_NUMBER_DIGITS)
        text = str(int(text))  # "0223" dials 223, as the forward rule's key
        environment = self.environment
        self._clear_call()
        self.calls += 1
        self._started = now
        self._apartment = text
        self._mode = environment.mode()
        self._timeouts = environment.timeouts()
        self._ring_timeout_ms = self._ring_ms(environment.ring_timeout())
        self._routing = routing.CallRouting(
            text, environment.caller(), environment.minute_of_week(), environment.work_hours()
        )
        self._log("incoming_call", {"forward_number": int(text)})
        self.state = "dialling"
        self._begin_hop(now, None)

    # ------------------------------------------------------------ the plan

    def _begin_hop(self, now, direct):
        """Ring routing.called's queue, or `direct` (one destination, no rules)."""
        environment = self.environment
        dialable = []
        if direct is None:
            called = self._routing.called
            step = self._routing.next_step(
                environment.rules(called), "absolute", environment.minute_of_week()
            )
            if step is not None:
                self._follow(step, "absolute", now)
                return
            queue = environment.queue(self._routing.called) or ()
            seen = []
            for destination in queue:
                kind = target_kind(destination)
                # Duplicates are stored as sent (spec 3.2) but rung once: one
                # handset cannot ring twice, and two INVITEs would fork a call.
                if kind is not None and destination not in seen:
                    seen.append(destination)
                    dialable.append((destination, kind))
        else:
            kind = target_kind(direct)
            if kind is not None:
                dialable.append((direct, kind))
        reachable = []
        for entry in dialable:
            if environment.reachable(entry[1][0], entry[1][1]):
                reachable.append(entry)
        if not reachable:
            # Spec 5.2 step 1: no reachable contact. A number with nothing
            # dialable at all is "number not found" in the log (spec 3.3).
            self._after_failure(
                "unregistered", now, "number_not_found" if not dialable else "unregistered"
            )
            return
        self._start_attempt(reachable, now)

    def _follow(self, step, outcome, now):
        self._redirects.append(
            {
                "outcome": outcome,
                "rule": step.rule.get("id"),
                "destination": step.destination,
                "kind": step.kind,
            }
        )
        if step.kind == "number" and self.environment.queue(step.destination) is not None:
            self._begin_hop(now, None)  # an internal number: its own plan
            return
        # A sip:/line destination, or a number without a forward rule here: called
        # directly, and no further rules are asked (routing spec 5.3).
        self._stop_asking = True
        self._begin_hop(now, step.destination)

    def _after_failure(self, outcome, now, reason=None):
        step = None
        if not self._stop_asking:
            environment = self.environment
            step = self._routing.next_step(
                environment.rules(self._routing.called), outcome, environment.minute_of_week()
            )
        if step is not None:
            self._follow(step, outcome, now)
            return
        self._missed(reason or outcome, now)

    def _start_attempt(self, targets, now):
        number = number_value(self._routing.called)
        hop = len(self._redirects)
        legs = []
        for destination, kind in targets:
            if len(self._legs) + len(legs) >= MAX_LEGS_PER_CALL:
                break
            leg = Leg(self._next_leg, destination, kind[0], kind[1], number, hop)
            self._next_leg += 1
            legs.append(leg)
        if not legs:
            self._after_failure("unavailable", now)
            return
        for leg in legs:
            self._legs[leg.id] = leg
        self._attempt = {
            "legs": [leg.id for leg in legs],
            "index": 0,
            "codes": [],
            "timed_out": False,
        }
        if self._mode == "one_by_one":
            self._ring_leg(legs[0])
        else:
            for leg in legs:
                self._ring_leg(leg)
        self._set_timer("ring_timeout", now, self._ring_timeout_ms)
        if self.state not in ("dialling", "ringing"):
            self.state = "dialling"

    def _ring_leg(self, leg):
        leg.state = "starting"
        if leg.kind == "sip":
            self._act("invite", leg.id, leg.target)
        else:
            self._act("ring", leg.id, leg.target)

    def _cancel_leg(self, leg, result):
        if leg.kind == "sip":
            self._act("cancel", leg.id)
            leg.state = "cancelling"
        else:
            self._act("stop_ring", leg.id, leg.target)
            leg.state = "done"
        self._settle_leg(leg, result, None)

    def _settle_leg(self, leg, result, code):
        leg.result = result
        leg.code = code
        self._log(
            "outgoing_call",
            {
                "forward_number": leg.forward_number,
                "destination": leg.destination,
                "result": result,
            },
        )

    def _next_in_queue(self, now):
        """One by one: ring the next target, or end the attempt."""
        attempt = self._attempt
        attempt["index"] += 1
        if attempt["index"] < len(attempt["legs"]):
            attempt["timed_out"] = False
            self._ring_leg(self._legs[attempt["legs"][attempt["index"]]])
            self._set_timer("ring_timeout", now, self._ring_timeout_ms)
            return
        self._finish_attempt(now)

    def _skip_queued(self):
        """One by one: the targets whose turn never came."""
        if self._attempt is None:
            return
        for leg_id in self._attempt["legs"]:
            leg = self._legs[leg_id]
            if leg.state == "queued":
                leg.state = "skipped"

    def _finish_attempt(self, now):
        self._skip_queued()
        attempt = self._attempt
        self._attempt = None
        self._timers.pop("ring_timeout", None)
        unreachable = True
        for leg_id in attempt["legs"]:
            if self._legs[leg_id].result not in (UNREACHABLE, None):
                unreachable = False
        if unreachable and not attempt["timed_out"]:
            outcome = "unregistered"
        else:
            outcome = routing.outcome_from_replies(
                attempt["codes"], attempt["timed_out"], self.environment.response_map()
            )
        self._after_failure(outcome, now)

    def _live_legs(self):
        """The attempt's legs that may still ring, answer or fail."""
        if self._attempt is None:
            return []
        found = []
        for leg_id in self._attempt["legs"]:
            leg = self._legs[leg_id]
            if leg.live():
                found.append(leg)
        return found

    def _live_leg(self, leg_id):
        leg = self._legs.get(leg_id)
        if leg is None or not leg.live():
            return None
        return leg

    def _missed(self, reason, now):
        self._outcome = reason
        for leg in self._live_legs():
            self._cancel_leg(leg, "cancelled")
        self._skip_queued()
        self._attempt = None
        self._log(
            "outgoing_call_missed", {"forward_number": int(self._apartment), "reason": reason}
        )
        self._enter_ending(now)

    # ------------------------------------------------------------ handlers: incoming

    def _on_start_incoming(self, now, leg_id, value):
        environment = self.environment
        self._clear_call()
        self.calls += 1
        self._started = now
        self._mode = "incoming"
        self._timeouts = environment.timeouts()
        caller = value["caller"]
        leg = Leg(self._next_leg, caller, "sip", caller, None, 0)
        self._next_leg += 1
        leg.state = "ringing"
        self._legs[leg.id] = leg
        self._incoming_plan = value["plan"]
        self._incoming_leg = leg.id
        self._log("incoming_call_from_monitor", {"caller": caller})
        self._act("ring_incoming", leg.id, value["token"])
        self._set_timer("answer_due", now, value["answer_after_s"] * 1000)
        self.state = "incoming"

    def _on_refuse_incoming(self, now, leg_id, value):
        # One speaker, one call: a caller while a call runs is busy (486).
        self.refused += 1
        self._act("refuse_incoming", value["token"], CODE_BUSY)

    def _on_answer_incoming(self, now, leg_id, value):
        leg = self._legs[self._incoming_leg]
        leg.state = "answered"
        self._answered = leg.id
        self._outcome = "answered"
        self._act("answer_incoming", leg.id, self._incoming_plan)
        self._collector = rtp.DigitCollector(self.environment.lock_codes())
        self._set_timer("talk_timeout", now, self._timeouts[2] * 1000)
        self.state = "talking"

    def _on_decline_incoming(self, now, leg_id, value):
        # The panel's side hangs up while the caller still rings.
        leg = self._legs[self._incoming_leg]
        leg.state = "done"
        self._ended_by = "hangup"
        self._outcome = "declined"
        self._act("cancel", leg.id)  # the controller answers 480 to a ringing caller
        self._enter_ending(now)

    def _on_incoming_gone(self, now, leg_id, value):
        # The caller gave up (CANCEL) or the call failed before the answer.
        leg = self._legs.get(leg_id)
        if leg is None:
            return
        leg.state = "done"
        leg.code = value if isinstance(value, int) else None
        self._ended_by = "caller"
        self._outcome = "caller_hung_up"
        self._enter_ending(now)

    # ------------------------------------------------------------ handlers: ringing

    def _on_caller_hangup(self, now, leg_id, value):
        self._ended_by = "caller"
        self._missed("caller_hung_up", now)

    def _on_leg_ringing(self, now, leg_id, value):
        leg = self._legs.get(leg_id)
        if leg is None or leg.state != "starting":
            return
        leg.state = "ringing"
        self.state = "ringing"

    def _on_leg_answered(self, now, leg_id, value):
        leg = self._live_leg(leg_id)
        if leg is None:
            # A late answer of a cancelled leg: the user agent hangs a SIP one up
            # itself (the 200 crossed our CANCEL); an analog one is left alone.
            return
        # First answer wins; every other ringing target is cancelled (spec 3.4).
        leg.state = "answered"
        self._answered = leg.id
        self._settle_leg(leg, "answered", 200 if leg.kind == "sip" else None)
        for other in self._live_legs():
            self._cancel_leg(other, "cancelled")
        self._skip_queued()
        self._attempt = None
        self._outcome = "answered"
        self._timers.pop("ring_timeout", None)
        if leg.kind == "sip":
            self._act("start_media", leg.id, value)
        else:
            self._act("connect_audio", leg.id, leg.target)
        self._collector = rtp.DigitCollector(self.environment.lock_codes())
        self._set_timer("talk_timeout", now, self._timeouts[2] * 1000)
        self.state = "talking"

    def _on_leg_failed(self, now, leg_id, value):
        leg = self._live_leg(leg_id)
        if leg is None:
            # The final answer to our CANCEL (or a straggler): settled.
            self._on_settle(now, leg_id, value)
            return
        if isinstance(value, int):
            code = value
            result = result_for_code(code)
        elif value == NO_REPLY:
            code = None
            result = RESULT_NO_REPLY
        else:
            code = CODE_UNAVAILABLE
            result = UNREACHABLE
        leg.state = "done"
        self._settle_leg(leg, result, code)
        attempt = self._attempt
        if attempt is None or leg.id not in attempt["legs"]:
            return
        if code is not None:
            attempt["codes"].append(code)
        if self._mode == "one_by_one":
            if attempt["legs"][attempt["index"]] != leg.id:
                return
            attempt["timed_out"] = False
            if code == CODE_DECLINE:
                # An explicit decline stops the whole sequence (spec 3.4).
                self._finish_attempt(now)
            else:
                self._next_in_queue(now)
            return
        if not self._live_legs():
            self._finish_attempt(now)

    def _on_settle(self, now, leg_id, value):
        # The final answer to our CANCEL or BYE; for any other leg nothing.
        leg = self._legs.get(leg_id)
        if leg is not None and leg.closing():
            leg.state = "done"

    def _on_ring_timeout(self, now, leg_id, value):
        attempt = self._attempt
        if attempt is None:
            return
        # Redirect spec 5.2: the outcome is noanswer only if a contact was still
        # ringing; a SIP one that never replied (no 180/183: still "starting")
        # counts as unavailable.
        if self._mode == "one_by_one":
            leg = self._legs[attempt["legs"][attempt["index"]]]
            ringing = leg.rang()
            if leg.live():
                self._cancel_leg(leg, "no_answer" if ringing else RESULT_NO_REPLY)
            attempt["timed_out"] = ringing
            self._next_in_queue(now)
            return
        ringing = False
        for leg in self._live_legs():
            if leg.rang():
                ringing = True
                self._cancel_leg(leg, "no_answer")
            else:
                self._cancel_leg(leg, RESULT_NO_REPLY)
        attempt["timed_out"] = ringing
        self._finish_attempt(now)

    def _on_adapter_lost_ringing(self, now, leg_id, value):
        # Every line of the attempt fails; _on_leg_failed skips a leg that an
        # earlier one's failure already settled (the attempt then ended).
        for leg in self._live_legs():
            if leg.kind == "line":
                self._on_leg_failed(now, leg.id, UNREACHABLE)

    # ------------------------------------------------------------ handlers: talking

    def _on_digit(self, now, leg_id, value):
        if leg_id != self._answered or self._collector is None:
            return
        for lock in self._collector.add(value, now):
            self._open_door(lock, "dtmf", now)

    def _on_door_button(self, now, leg_id, value):
        leg = self.answered_leg()
        if leg is None or leg.id != leg_id or leg.kind != "line":
            return
        # An analog handset's door key opens the first lock.
        self._open_door(1, "door_button", now)

    def _open_door(self, lock, via, now):
        leg = self.answered_leg()
        info = {"forward_number": leg.forward_number, "destination": leg.destination, "via": via}
        self._act("open_lock", lock, info)
        if len(self._door_openings) < _MAX_DOOR_OPENINGS:
            self._door_openings.append(
                {"lock": lock, "via": via, "after_ms": ticks_diff(now, self._started)}
            )
        self._set_timer("door_closed", now, self.environment.lock_seconds(lock) * 1000)
        self.state = "door_open"

    def _on_door_closed(self, now, leg_id, value):
        self.state = "talking"

    def _on_talk_leg_ended(self, now, leg_id, value):
        leg = self._legs.get(leg_id)
        if leg is not None and leg.id == self._answered and leg.state == "answered":
            leg.state = "done"
            self._end_talk("callee", now)
        else:
            self._on_settle(now, leg_id, value)

    def _on_local_hangup(self, now, leg_id, value):
        self._end_talk("hangup", now)

    def _on_talk_timeout(self, now, leg_id, value):
        self._end_talk("talk_timeout", now)

    def _on_adapter_lost_talking(self, now, leg_id, value):
        leg = self.answered_leg()
        if leg is not None and leg.kind == "line":
            leg.state = "done"
            self._end_talk("adapter_lost", now)

    def _end_talk(self, reason, now):
        self._ended_by = reason
        leg = self.answered_leg()
        if leg.kind == "sip":
            self._act("stop_media", leg.id)
            if leg.state == "answered":
                self._act("bye", leg.id)
                leg.state = "hanging_up"
        else:
            self._act("disconnect_audio", leg.id, leg.target)
            leg.state = "done"
        self._enter_ending(now)

    # ------------------------------------------------------------ handlers: ending

    def _closing(self):
        """Is the final answer to a CANCEL or BYE of ours still to come?"""
        for leg_id in self._legs:
            if self._legs[leg_id].closing():
                return True
        return False

    def _enter_ending(self, now):
        for name in ("ring_timeout", "talk_timeout", "door_closed", "answer_due"):
            self._timers.pop(name, None)
        if self._closing():
            self.state = "ending"
            self._set_timer("ending_timeout", now, ENDING_GUARD_MS)
        else:
            self._to_idle()

    def _on_settle_ending(self, now, leg_id, value):
        self._on_settle(now, leg_id, value)
        if not self._closing():
            self._to_idle()

    def _on_finish_ending(self, now, leg_id, value):
        self._to_idle()

    def _to_idle(self):
        # The call is over: a leg still waiting for the final answer to our
        # CANCEL or BYE (the ending guard ran out, or the visitor's hangup
        # crossed it) is settled now, so the record never shows a closing leg;
        # a late answer finds the machine idle and is ignored.
        for leg_id in self._legs:
            leg = self._legs[leg_id]
            if leg.closing():
                leg.state = "done"
        self._timers = {}
        self.state = "idle"
        record = self.describe()
        record["state"] = "ended"
        self.last_call = record
        self._clear_call()
