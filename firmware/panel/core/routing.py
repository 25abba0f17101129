"""Applying redirect rules to a call (redirectrules-api.md, section 5).

Pure: the call controller passes the rules (any iterable of stored rule dicts,
typically streamed from the store, consumed once per question), the local
minute of the week (None while the clock is unset) and the panel settings.

Interface for the call controller:

    routing = CallRouting(called, caller, minute_of_week, work_hours)
    # before ringing routing.called (5.2 step 1):
    step = routing.next_step(rules, "absolute")
    #   None: no absolute rule; ring the contacts of routing.called, or, when
    #   it has no reachable contact, ask next_step(rules, "unregistered").
    # after a failed attempt (5.2 steps 2-3), with the time of now:
    outcome = outcome_from_replies(sip_codes, timed_out, response_map)
    step = routing.next_step(rules, outcome, minute_of_week)
    #   None: the call fails (no candidate, cascade limit, loops).

A step is a Forward with .rule (the rule dict), .destination (text) and
.kind: "number" (plain number or filled template: if it is an internal
number, routing.called is now that number and the controller starts again
with next_step(rules, "absolute"); otherwise it dials it directly), "sip"
(call that URI directly, no rules) or "line" (ring that laskomex:/vizit:
handset directly, no rules; next_step answers None from then on).
A plain number that is not internal is also dialled directly: the
controller simply stops asking. `routing.steps` counts forwards (limit 4);
every destination reached is remembered and never chosen twice.

Lower-level helpers: is_candidate(rule, called, caller, minute, work_hours),
destination(rule, called) -> (text, kind) or None, choose(...),
outcome_from_replies(...), DEFAULT_RESPONSE_MAP, outcome_for_code(...).
"""

from panel.compat import const
from panel.core import numbers, schedule

# At most this many forwarding steps per call (5.3); then the last failure stands.
MAX_FORWARD_STEPS = const(4)

OUTCOMES = ("busy", "reject", "noanswer", "unavailable")

# SIP final reply -> outcome (2.3). Keys are three-digit codes ("486") or
# classes ("4xx", "5xx", "6xx"); an exact code wins over its class, and a
# code matching neither maps to "unavailable". Values are OUTCOMES.
DEFAULT_RESPONSE_MAP = {
    "486": "busy",
    "600": "busy",
    "603": "reject",
    "408": "noanswer",
    "480": "noanswer",
    "4xx": "unavailable",
    "5xx": "unavailable",
    "6xx": "unavailable",
}


class Forward:
    """One forwarding step: the rule applied and where it sends the call."""

    def __init__(self, rule, destination, kind):
        self.rule = rule
        self.destination = destination
        self.kind = kind

    def __repr__(self):
        return "Forward(%r, %r, %r)" % (self.rule.get("id"), self.destination, self.kind)


def caller_matches(pattern, caller):
    """filter_fromnumber: "" and "*" both mean any caller (2.2)."""
    if pattern == "" or pattern == "*":
        return True
    return numbers.dial_pattern_matches(pattern, caller)


def is_candidate(rule, called, caller, minute_of_week, work_hours):
    """5.1: enabled, both patterns match, schedule active now."""
    if rule.get("enabled") != 1:
        return False
    if not schedule.schedule_active(
        rule.get("schedule"), rule.get("periods", ()), minute_of_week, work_hours
    ):
        return False
    if not numbers.dial_pattern_matches(rule["filter_number"], called):
        return False
    return caller_matches(rule.get("filter_fromnumber", ""), caller)


def destination(rule, called):
    """(destination text, kind) from tran_number (2.5), or None if unusable."""
    text = rule["tran_number"]
    form = numbers.destination_form(text)
    if form == "number":
        return text, "number"
    if form == "template":
        filled = numbers.apply_template(text, called)
        if filled is None:
            return None
        return filled, "number"
    if form == "sip":
        return text, "sip"
    if form == "line":
        return text, "line"
    return None


def _order_key(rule):
    return (rule["priority"], rule["ext"]["ct"], rule["id"])


def choose(rules, called, caller, minute_of_week, work_hours, rule_types, visited=()):
    """The first usable candidate of each type in rule_types.

    Streams over rules once, keeping one best rule per type: the candidate
    with the lowest (priority, ext.ct, id) whose destination can be built and
    was not visited yet. Returns the Forward for the first type of
    rule_types that has one, else None.
    """
    best = {}
    for rule in rules:
        rule_type = rule.get("type")
        if rule_type not in rule_types:
            continue
        if rule_type in best and _order_key(best[rule_type][0]) <= _order_key(rule):
            continue
        if not is_candidate(rule, called, caller, minute_of_week, work_hours):
            continue
        found = destination(rule, called)
        if found is None or found[0] in visited:
            continue
        best[rule_type] = (rule, found)
    for rule_type in rule_types:
        if rule_type in best:
            rule, found = best[rule_type]
            return Forward(rule, found[0], found[1])
    return None


def outcome_for_code(code, response_map):
    """Outcome of one SIP final failure code through the response map."""
    text = str(code)
    outcome = response_map.get(text)
    if outcome is None:
        outcome = response_map.get(text[0] + "xx")
    return outcome if outcome in OUTCOMES else "unavailable"


def _reply_rank(code):
    # 5.2 step 2: 603, 486, other 6xx, 5xx, 4xx; lower rank is better.
    if code == 603:
        return (0, 0)
    if code == 486:
        return (1, 0)
    if 600 <= code <= 699:
        return (2, code)
    if 500 <= code <= 599:
        return (3, code)
    return (4, code)


def outcome_from_replies(sip_codes, timed_out, response_map=None):
    """Outcome of a failed attempt (5.2 step 2).

    sip_codes: final failure codes received from the contacts (400-699;
    others are ignored). timed_out: the ring timer ran out while a contact
    was still ringing. No usable reply: "unavailable".
    """
    if timed_out:
        return "noanswer"
    if response_map is None:
        response_map = DEFAULT_RESPONSE_MAP
    best = None
    for code in sip_codes:
        if type(code) is not int or code < 400 or code > 699:
            continue
        if best is None or _reply_rank(code) < _reply_rank(best):
            best = code
    if best is None:
        return "unavailable"
    return outcome_for_code(best, response_map)


# Marks "keep the minute given before" in CallRouting.next_step.
_KEEP = object()


class CallRouting:
    """The redirect state of one call: current number, visited, steps."""

    def __init__(self, called, caller, minute_of_week, work_hours=None):
        self.original = called
        self.called = called
        self.caller = caller
        self.minute_of_week = minute_of_week
        self.work_hours = schedule.default_work_hours() if work_hours is None else work_hours
        self.visited = [called]
        self.steps = 0
        # Set after a "sip" or "line" step: that hop runs no further rules.
        self.finished = False

    def next_step(self, rules, outcome, minute_of_week=_KEEP):
        """The Forward for this outcome of routing.called, or None.

        outcome: "absolute" (before ringing), "unregistered", or one of
        OUTCOMES after an attempt. "unregistered" falls back to
        "unavailable" rules (5.2 step 3). minute_of_week, when given,
        replaces the one of the constructor: schedules are evaluated when the
        rules are consulted (5.1), which after 30 s of ringing may be later.
        """
        if minute_of_week is not _KEEP:
            self.minute_of_week = minute_of_week
        if self.finished or self.steps >= MAX_FORWARD_STEPS:
            return None
        if outcome == "unregistered":
            rule_types = ("unregistered", "unavailable")
        elif outcome == "absolute" or outcome in OUTCOMES:
            rule_types = (outcome,)
        else:
            raise ValueError("unknown outcome %r" % (outcome,))
        step = choose(
            rules,
            self.called,
            self.caller,
            self.minute_of_week,
            self.work_hours,
            rule_types,
            self.visited,
        )
        if step is None:
            return None
        self.steps += 1
        self.visited.append(step.destination)
        if step.kind == "number":
            self.called = step.destination
        else:
            self.finished = True
        return step
