# SIP transactions over UDP, TCP and TLS (RFC 3261 section 17, with the RFC 6026 "accepted"
# state for INVITE 2xx). Sans-I/O: the clock comes in as ms ticks (wrapping,
# compared with ticks_diff), messages come in parsed, and every call returns a
# list of actions for the user agent to carry out:
#
#   ("send", bytes)            send on the transport to self.destination
#   ("response", SipMessage)   client: a response for the transaction user
#   ("timeout",)               no final response in time (Timer B / F / H)
#   ("transport_error",)       the transport refused to send
#
# Each kind of transaction is one transition table: (state, input) ->
# (next state, action method). A pair absent from the table is an input the
# state absorbs without effect (a late retransmission, for instance); the
# tables are the one place to read the state machines.
from panel.compat import const, ticks_add, ticks_diff
from panel.proto import sip_message
from panel.proto.sip_message import BRANCH_COOKIE, parse_name_address

# RFC 3261 17.1.1.1 timer values, in milliseconds.
T1 = const(500)  # round-trip estimate
T2 = const(4000)  # longest retransmit interval for non-INVITE requests/responses
T4 = const(5000)  # longest a message stays in the network
TIMER_B = const(32000)  # 64*T1: INVITE transaction timeout
TIMER_D = const(32000)  # >= 32 s on UDP: wait for response retransmits
TIMER_F = const(32000)  # 64*T1: non-INVITE transaction timeout
TIMER_H = const(32000)  # 64*T1: wait for ACK
TIMER_I = T4  # absorb ACK retransmits (UDP)
TIMER_J = const(32000)  # 64*T1: absorb request retransmits (UDP)
TIMER_K = T4  # absorb response retransmits (UDP)
TIMER_L = const(32000)  # 64*T1: RFC 6026, absorb INVITE retransmits after 2xx
TIMER_M = const(32000)  # 64*T1: RFC 6026, pass 2xx retransmits to the TU

_INVITE_CLIENT = {
    ("calling", "provisional"): ("proceeding", "_pass_stop_retransmit"),
    ("calling", "success"): ("accepted", "_pass_wait_m"),
    ("calling", "failure"): ("completed", "_ack_pass_wait_d"),
    ("calling", "timer_a"): ("calling", "_retransmit_doubling"),
    ("calling", "timer_b"): ("terminated", "_time_out"),
    ("calling", "transport_error"): ("terminated", "_transport_failed"),
    ("proceeding", "provisional"): ("proceeding", "_pass"),
    ("proceeding", "success"): ("accepted", "_pass_wait_m"),
    ("proceeding", "failure"): ("completed", "_ack_pass_wait_d"),
    ("proceeding", "transport_error"): ("terminated", "_transport_failed"),
    ("completed", "failure"): ("completed", "_resend_ack"),
    ("completed", "timer_d"): ("terminated", "_stop"),
    ("accepted", "success"): ("accepted", "_pass"),
    ("accepted", "timer_m"): ("terminated", "_stop"),
}

_NON_INVITE_CLIENT = {
    ("trying", "provisional"): ("proceeding", "_pass"),
    ("trying", "success"): ("completed", "_pass_wait_k"),
    ("trying", "failure"): ("completed", "_pass_wait_k"),
    ("trying", "timer_e"): ("trying", "_retransmit_capped"),
    ("trying", "timer_f"): ("terminated", "_time_out"),
    ("trying", "transport_error"): ("terminated", "_transport_failed"),
    ("proceeding", "provisional"): ("proceeding", "_pass"),
    ("proceeding", "success"): ("completed", "_pass_wait_k"),
    ("proceeding", "failure"): ("completed", "_pass_wait_k"),
    ("proceeding", "timer_e"): ("proceeding", "_retransmit_at_t2"),
    ("proceeding", "timer_f"): ("terminated", "_time_out"),
    ("proceeding", "transport_error"): ("terminated", "_transport_failed"),
    ("completed", "timer_k"): ("terminated", "_stop"),
}

_INVITE_SERVER = {
    ("proceeding", "request"): ("proceeding", "_resend_last"),
    ("proceeding", "send_provisional"): ("proceeding", "_send"),
    ("proceeding", "send_success"): ("accepted", "_send_wait_l"),
    ("proceeding", "send_failure"): ("completed", "_send_wait_ack"),
    ("proceeding", "transport_error"): ("terminated", "_transport_failed"),
    ("completed", "request"): ("completed", "_resend_last"),
    ("completed", "timer_g"): ("completed", "_retransmit_response"),
    ("completed", "timer_h"): ("terminated", "_time_out"),
    ("completed", "ack"): ("confirmed", "_wait_i"),
    ("completed", "transport_error"): ("terminated", "_transport_failed"),
    ("confirmed", "timer_i"): ("terminated", "_stop"),
    ("accepted", "send_success"): ("accepted", "_send"),
    ("accepted", "timer_l"): ("terminated", "_stop"),
}

_NON_INVITE_SERVER = {
    ("trying", "send_provisional"): ("proceeding", "_send"),
    ("trying", "send_success"): ("completed", "_send_wait_j"),
    ("trying", "send_failure"): ("completed", "_send_wait_j"),
    ("trying", "transport_error"): ("terminated", "_transport_failed"),
    ("proceeding", "request"): ("proceeding", "_resend_last"),
    ("proceeding", "send_provisional"): ("proceeding", "_send"),
    ("proceeding", "send_success"): ("completed", "_send_wait_j"),
    ("proceeding", "send_failure"): ("completed", "_send_wait_j"),
    ("proceeding", "transport_error"): ("terminated", "_transport_failed"),
    ("completed", "request"): ("completed", "_resend_last"),
    ("completed", "timer_j"): ("terminated", "_stop"),
    ("completed", "transport_error"): ("terminated", "_transport_failed"),
}


def _status_input(status):
    if status < 200:
        return "provisional"
    return "success" if status < 300 else "failure"


def client_key(message):
    """Matches a response to its client transaction (RFC 3261 17.1.3)."""
    return (message.top_via().branch, message.cseq()[1])


def server_key(request):
    """Matches a request to its server transaction (RFC 3261 17.2.3).

    ACK matches the INVITE it acknowledges; CANCEL has its own transaction.
    Branches without the RFC 3261 cookie fall back to the dialog identifiers.
    """
    via = request.top_via()
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(BRANCH_COOKIE):
        return (branch, via.host, via.port, method)
    from_tag = parse_name_address(request.get("from")).tag
    return (request.get("call-id"), from_tag, request.cseq()[0], method)


class _Transaction:
    """Timers and the table driver shared by the four kinds."""

    table = None

    def __init__(self, state, now, destination):
        self.state = state
        self.destination = destination
        self._timers = {}
        self._now = now

    @property
    def terminated(self):
        return self.state == "terminated"

    def _run(self, event, now, argument=None):
        self._now = now
        entry = self.table.get((self.state, event))
        if entry is None:
            return []  # absorbed: see the module comment
        self.state = entry[0]
        actions = getattr(self, entry[1])(argument)
        if self.state == "terminated":
            self._timers = {}
        return actions

    def _start_timer(self, name, delay):
        self._timers[name] = ticks_add(self._now, delay)

    def next_deadline(self):
        """Ticks of the earliest pending timer, or None."""
        earliest = None
        for name in self._timers:
            deadline = self._timers[name]
            if earliest is None or ticks_diff(deadline, earliest) < 0:
                earliest = deadline
        return earliest

    def tick(self, now):
        """Fire every timer due at now, earliest first; returns the actions."""
        actions = []
        while True:
            due = None
            for name in self._timers:
                deadline = self._timers[name]
                if ticks_diff(now, deadline) >= 0:
                    if due is None or ticks_diff(deadline, self._timers[due]) < 0:
                        due = name
            if due is None:
                return actions
            # The timer fires at its own deadline, so restarts stay on schedule.
            fired_at = self._timers.pop(due)
            actions.extend(self._run("timer_" + due, fired_at))

    def transport_error(self, now):
        return self._run("transport_error", now)

    def _stop(self, argument):
        return []

    def _time_out(self, argument):
        return [("timeout",)]

    def _transport_failed(self, argument):
        return [("transport_error",)]


class ClientTransaction(_Transaction):
    """Sends one request and follows its responses (INVITE or non-INVITE)."""

    def __init__(self, request, now, destination=None, timeout_ms=None, reliable=False):
        # timeout_ms: Timer B / F of this transaction when its user wants an
        # answer sooner than 64*T1 (the REGISTER refresh, sip_ua); reliable:
        # a stream transport (TCP, TLS), so no retransmissions and no waits
        # for retransmitted responses (RFC 3261 17.1.1.2, 17.1.2.2: A, E off,
        # D and K zero).
        self.request = request
        self.is_invite = request.method == "INVITE"
        self.table = _INVITE_CLIENT if self.is_invite else _NON_INVITE_CLIENT
        _Transaction.__init__(self, "calling" if self.is_invite else "trying", now, destination)
        self.key = (request.top_via().branch, request.method)
        self.data = request.to_bytes()
        self.ack = None
        self._interval = T1
        self.timeout_ms = timeout_ms or (TIMER_B if self.is_invite else TIMER_F)
        self.reliable = reliable

    def start(self, now):
        """The first transmission and the retransmit/timeout timers."""
        self._now = now
        if self.is_invite:
            if not self.reliable:
                self._start_timer("a", T1)
            self._start_timer("b", self.timeout_ms)
        else:
            if not self.reliable:
                self._start_timer("e", T1)
            self._start_timer("f", self.timeout_ms)
        return [("send", self.data)]

    def receive(self, response, now):
        """A response matched to this transaction (by client_key)."""
        return self._run(_status_input(response.status), now, response)

    def _pass(self, response):
        return [("response", response)]

    def _pass_stop_retransmit(self, response):
        self._timers.pop("a", None)
        self._timers.pop("b", None)
        return [("response", response)]

    def _pass_wait_m(self, response):
        self._timers = {}
        self._start_timer("m", TIMER_M)
        return [("response", response)]

    def _ack_pass_wait_d(self, response):
        self._timers = {}
        self._start_timer("d", 0 if self.reliable else TIMER_D)
        self.ack = self._build_ack(response).to_bytes()
        return [("send", self.ack), ("response", response)]

    def _resend_ack(self, response):
        return [("send", self.ack)]

    def _pass_wait_k(self, response):
        self._timers = {}
        self._start_timer("k", 0 if self.reliable else TIMER_K)
        return [("response", response)]

    def _retransmit_doubling(self, argument):
        self._interval *= 2
        self._start_timer("a", self._interval)
        return [("send", self.data)]

    def _retransmit_capped(self, argument):
        self._interval = min(self._interval * 2, T2)
        self._start_timer("e", self._interval)
        return [("send", self.data)]

    def _retransmit_at_t2(self, argument):
        self._start_timer("e", T2)
        return [("send", self.data)]

    def _build_ack(self, response):
        """ACK for a non-2xx final response (RFC 3261 17.1.1.3)."""
        return sip_message.mirrored_request(self.request, "ACK", response.get("to"))


class ServerTransaction(_Transaction):
    """Answers one request; absorbs its retransmissions (INVITE or non-INVITE)."""

    def __init__(self, request, now, destination=None, reliable=False):
        # reliable: the request came over TCP or TLS: no response
        # retransmissions (Timer G off) and no waits for retransmitted
        # requests or ACKs (Timers I, J zero; RFC 3261 17.2.1, 17.2.2).
        self.reliable = reliable
        self.request = request
        self.is_invite = request.method == "INVITE"
        self.table = _INVITE_SERVER if self.is_invite else _NON_INVITE_SERVER
        _Transaction.__init__(self, "proceeding" if self.is_invite else "trying", now, destination)
        self.key = server_key(request)
        self.last_response = None
        self._interval = T1

    def receive(self, request, now):
        """A retransmission of the request, or the ACK of an INVITE."""
        return self._run("ack" if request.method == "ACK" else "request", now, request)

    def respond(self, response, now):
        """The transaction user's response: sent now and kept for retransmits."""
        return self._run("send_" + _status_input(response.status), now, response)

    def _send(self, response):
        self.last_response = response.to_bytes()
        return [("send", self.last_response)]

    def _resend_last(self, request):
        if self.last_response is None:
            return []
        return [("send", self.last_response)]

    def _send_wait_l(self, response):
        self._start_timer("l", TIMER_L)
        return self._send(response)

    def _send_wait_ack(self, response):
        if not self.reliable:
            self._start_timer("g", T1)
        self._start_timer("h", TIMER_H)
        return self._send(response)

    def _retransmit_response(self, argument):
        self._interval = min(self._interval * 2, T2)
        self._start_timer("g", self._interval)
        return [("send", self.last_response)]

    def _wait_i(self, request):
        self._timers = {}
        self._start_timer("i", 0 if self.reliable else TIMER_I)
        return []

    def _send_wait_j(self, response):
        self._start_timer("j", 0 if self.reliable else TIMER_J)
        return self._send(response)
