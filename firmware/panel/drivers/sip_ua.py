"""SIP user agent over UDP: registration, outgoing calls, in-dialog requests.

A thin driver around the sans-I/O code in panel.proto (sip_message,
sip_transaction, digest, sdp). It runs the same on MicroPython and CPython:
MicroPython's asyncio has no datagram endpoints, so the UA owns a bound,
non-blocking UDP socket and polls it from one asyncio task.

Interface for the call controller
---------------------------------
ua = SipUserAgent(transport, local_address=None, on_event=None, unix_time=None,
                  random_bytes=None, resolve=None, clock=None)
    transport      a bound UDP socket (the board/app builds it, best with
                   drivers.sockets.udp_socket); the UA wraps it with
                   drivers.sockets.wrap (addresses as (ip, port) on every
                   runtime), sets it non-blocking, polls it for readability
                   and uses only sendto() and recvfrom().
    local_address  (ip, port) written in Via, Contact and used for SDP;
                   default: the address the socket was bound to (known to a
                   sockets.UdpSocket, or getsockname() where the runtime has it).
    on_event       callable(kind, call, detail), see the events below.
    unix_time      callable() -> seconds since 1970 (default time.time).
    random_bytes   callable(count) -> bytes (default compat.urandom).
    resolve        callable(host, port) -> (ip, port) (default
                   drivers.sockets.resolve: literal IPv4 as is, names through
                   socket.getaddrinfo).
    clock          callable() -> ms ticks (default compat.ticks_ms); tests
                   pass their own to drive the RFC 3261 timers.
    instance_id    the device serial number (board file): the stable
                   RFC 5626 +sip.instance of the registrations over TCP/TLS
                   (proto.sip_outbound.instance_urn).
ua.start()                 start the polling task (needs a running loop)
ua.stop()                  cancel it (the socket stays open: its owner closes it)
ua.poll(now)               one round (receive, timers); the task calls it every
                           polled_socket.POLL_MS ms; tests may call it directly
ua.register(settings)      settings as in BAS-IP 5.1 (proxy, realm, user,
                           password, user_id, registration_interval, outbound);
                           registers, refreshes, re-registers on change
ua.unregister()            REGISTER with Expires: 0; status becomes OFFLINE
ua.status()                {"sip_status": "OK"|"ERROR"|"OFFLINE",
                            "register_last_attempt": unix seconds or None}
call = ua.invite(target, sdp_body)
    target: "5588" (via the registrar: sip:5588@<realm> through the proxy, or
    the outbound proxy when set), "sip:user@host[:port]" (direct) or
    "sip:ip[:port]" (peer to peer). sdp_body: our offer, bytes from
    proto.sdp.build(session_id, version, local_ip, rtp_port). A target the
    API would have refused, or digits without an account, is a LocalError.
call.cancel()  call.bye()  call.hangup() (cancel or bye, whichever applies)
call.state: "calling", "ringing", "answered", "ended", "failed"

Events, on_event(kind, call, detail):
    "registration"  call None, detail the new sip_status
    "ringing"       detail the provisional status (180 or 183), once per call
    "answered"      detail a proto.sdp.MediaPlan (remote RTP address, port,
                    payload types); call.remote_sdp holds the raw body
    "failed"        detail the SIP status (408 on timeout, 503 when the
                    transport or name resolution fails, 487 after cancel())
    "ended"         detail "local" (our BYE) or "remote" (the peer's BYE)
    "dtmf"          detail one digit from a SIP INFO (application/dtmf-relay
                    or application/dtmf); RFC 4733 digits come from
                    drivers.rtp_session
Transports: with "transport" tcp or tls in the account, registration and
outgoing calls use one connection (drivers.sip_stream); the UDP socket is
still polled, so a peer may call the panel there (an incoming call answers
on the transport its INVITE came on, connection or socket, for its whole
dialog: each transaction and timer remembers the transport it started on).
Over TCP/TLS the UA registers as RFC 5626 says (Contact with +sip.instance
and reg-id=1, Supported: outbound, path; ;ob in the Contact of its
dialog-forming requests and answers; Via with ;alias, RFC 5923), so a proxy
that supports outbound or connection aliases sends requests down the
registered connection; that connection is kept alive with CRLF pings and a
drop makes the UA register again at once. For proxies that route plainly by
the Contact, a TCP account also listens on TCP at the SIP port (same number
as UDP: RFC 3261 18.1.1, drivers.sip_listener) and takes requests from the
connections a proxy opens there. (TLS has no such listener: the panel has
no server certificate.)
Garbage datagrams are counted in ua.counters and dropped, or answered with the
RemoteError's status when the request is readable enough; nothing raises out
of poll(). Socket and heap errors (a MemoryError in recvfrom, say) are counted
("receive_errors", "poll_errors", "send_errors"), logged, and the task backs
off and goes on (drivers.polled_socket).
"""

from panel.compat import const, print_exception, ticks_add, ticks_diff, ticks_ms, urandom
from panel.drivers import sockets
from panel.drivers.polled_socket import PolledSocket
from panel.proto import digest, rtp, sdp, sip_message, sip_outbound
from panel.proto.sip_message import MAX_DATAGRAM, Dialog, LocalError, RemoteError, SipMessage, Via
from panel.proto.sip_transaction import (
    T1,
    T2,
    TIMER_B,
    ClientTransaction,
    ServerTransaction,
    client_key,
    server_key,
)

# Datagrams read per poll: bounds the work one poll does under a flood.
_MAX_DATAGRAMS_PER_POLL = const(32)
# Open transactions at once: registration, a few calls, their in-dialog
# requests and peers' requests. A flood beyond this is answered 503.
_MAX_TRANSACTIONS = const(64)
# States in which a transaction has had its final answer and only absorbs
# retransmissions (timers D, I, J, K: up to 32 s). Every cancelled leg of an
# all-at-once call lingers so; when the table is full, the first such one is
# dropped to make room rather than refusing a new call. ("accepted", after a
# 2xx, is kept: a retransmitted 2xx must still be acknowledged.)
_LINGERING_STATES = ("completed", "confirmed")
# Calls at once (all-at-once forwarding rings at most 8 targets, API 3.2).
_MAX_CALLS = const(16)
# Wait after a failed registration before trying again (seconds, upper bound).
_REGISTER_RETRY_S = const(30)
# RFC 5626 4.4.1: a failed flow is registered again at once, but not more
# often than this (a proxy closing every connection must not be flooded).
_FLOW_RECOVERY_MS = const(30000)
# RFC 5626 4.2.1: the one flow the panel registers.
_REG_ID = "1"
# [D] When a registration is refreshed, and how long a REGISTER may take.
# The binding must never outlive what sip/status says: with a refresh at 90 %
# of a 30 s grant and the 32 s Timer F of RFC 3261, a registrar that went
# away showed OK for about 61 s. Now the refresh goes out at
# max(grant / 2, grant - _REFRESH_MARGIN_S) and a REGISTER that has no final
# answer after _REGISTER_TIMEOUT_MS fails (the UA's own Timer F): a lost
# registrar is ERROR before the grant ends, for every grant the settings
# allow (30..900 s: 30 s -> refresh at 15 s, ERROR by 23 s; 900 s -> refresh
# at 870 s, ERROR by 878 s).
_REFRESH_MARGIN_S = const(30)
_REGISTER_TIMEOUT_MS = const(8000)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
USER_AGENT = "intercom-panel"


def _default_unix_time():
    import time

    return int(time.time())


def refresh_delay_s(granted_s):
    """Seconds after a successful REGISTER until its refresh (see above)."""
    return max(1, granted_s // 2, granted_s - _REFRESH_MARGIN_S)


def _split_host_port(text, default_port=5060):
    """'sip:host:port', 'host:port' or 'host' -> (host, port)."""
    if text.startswith("sip:") or text.startswith("sips:"):
        text = text[text.find(":") + 1 :]
    at = text.find("@")
    if at >= 0:
        text = text[at + 1 :]
    semicolon = text.find(";")
    if semicolon >= 0:
        text = text[:semicolon]
    host, port = sip_message.parse_host_port(text)
    return host, port or default_port


class Call:
    """One outgoing call: its INVITE, dialog and state, as the controller sees it."""

    def __init__(self, agent, target, request_uri, destination):
        self.agent = agent
        self.target = target
        self.request_uri = request_uri
        self.destination = destination
        self.state = "calling"
        self.status = None
        self.call_id = None
        self.local_tag = None
        self.invite = None  # the INVITE now in progress (SipMessage)
        self.sequence = 1
        self.dialog = None
        self.ack = None  # bytes of our ACK to the 2xx, re-sent on retransmits
        self.ack_destination = None
        self.remote_sdp = None
        self.media = None
        self.provisional_seen = False
        self.ringing_reported = False
        self.cancel_wanted = False
        self.cancel_sent = False
        self.authenticated = False
        self.sdp_body = b""

    def cancel(self):
        """Stop ringing: CANCEL now, or as soon as a provisional response came."""
        self.agent._cancel(self)

    def bye(self):
        """End an answered call."""
        self.agent._bye(self)

    def hangup(self):
        if self.state == "answered":
            self.bye()
        elif self.state in ("calling", "ringing"):
            self.cancel()


class IncomingCall(Call):
    """A call a peer placed to the panel: the controller rings, answers or
    refuses it from inside the "incoming" event (else the UA answers 486)."""

    incoming = True

    def __init__(self, agent, request, transaction, address):
        Call.__init__(self, agent, None, request.uri, None)
        self.state = "offered"  # -> ringing -> answered -> ended, or failed
        self.invite = request
        self.transaction = transaction
        self.call_id = request.get("call-id")
        self.local_tag = agent._token()
        self.address = address  # (ip, port) the INVITE came from
        # The socket or connection the INVITE came on: the whole dialog (our
        # responses, their retransmissions, our BYE) stays on it, whatever
        # transport the account uses.
        self.transport = agent.transport
        caller = sip_message.parse_name_address(request.get("from"))
        self.caller = caller.uri  # the From URI, as text
        try:
            self.caller_user = sip_message.parse_uri(caller.uri).user or ""
        except RemoteError:
            self.caller_user = ""
        self.offer = None  # the parsed SDP offer (proto.sdp.SessionDescription)
        self.answer_body = None
        self.acknowledged = False
        self._retransmit_ms = 0

    def ring(self):
        """180 Ringing (the board's ring tone is the controller's business)."""
        self.agent._through(self.transport, self.agent._ring_incoming, self)

    def answer(self, sdp_body):
        """200 OK with our SDP answer; re-sent until the ACK comes."""
        self.agent._through(self.transport, self.agent._answer_incoming, self, sdp_body)

    def reject(self, status):
        """A final error response (403, 486, 480 ...) before the answer."""
        self.agent._through(self.transport, self.agent._reject_incoming, self, status)

    def bye(self):
        self.agent._through(self.transport, self.agent._bye, self)

    def cancel(self):
        """Stop ringing from our side: 480 to the caller."""
        self.reject(480)

    def hangup(self):
        if self.state == "answered":
            self.bye()
        elif self.state in ("offered", "ringing"):
            self.reject(480)


class _Registration:
    def __init__(self, settings, call_id, tag):
        self.settings = settings
        self.call_id = call_id
        self.tag = tag
        self.sequence = 0
        self.authenticated = False
        self.expires = 0
        self.registered = False


class SipUserAgent(PolledSocket):
    def __init__(
        self,
        transport,
        local_address=None,
        on_event=None,
        unix_time=None,
        random_bytes=None,
        resolve=None,
        clock=None,
        instance_id=None,
    ):
        self.transport = sockets.wrap(transport)
        self._udp = self.transport
        self._stream = None  # drivers.sip_stream.StreamTransport for tcp / tls
        self._listener = None  # drivers.sip_listener.StreamListener for tcp
        self._flow_recovered_at = None  # ticks of the last re-registration after a drop
        self.clock = clock or ticks_ms
        if local_address is None:
            local_address = self.transport.local_address
        if local_address is None:
            raise LocalError("the UA needs the address its socket is bound to")
        local_address = sockets.address_tuple(local_address)
        self.local_address = (local_address[0], int(local_address[1]))
        self.instance_urn = sip_outbound.instance_urn(instance_id or "%s:%d" % self.local_address)
        self.on_event = on_event
        self.unix_time = unix_time or _default_unix_time
        self.random_bytes = random_bytes or urandom
        self.resolve = resolve or sockets.resolve
        self.counters = {
            "received": 0,
            "malformed": 0,
            "oversized": 0,
            "error_responses": 0,
            "stray_responses": 0,
            "keepalives": 0,
            "send_errors": 0,
            "internal_errors": 0,
            "receive_errors": 0,
            "poll_errors": 0,
            "overload": 0,
            "lingering_dropped": 0,
        }
        self.calls = {}
        self._client = {}
        self._server = {}
        self._timers = {}
        self._registration = None
        self._status = "OFFLINE"
        self._last_attempt = None
        self._deferred = 0
        self._now = self.clock()

    # ----- lifecycle -------------------------------------------------------

    def now_ms(self):
        return self.clock()

    def start(self):
        PolledSocket.start(self)
        if self._listener is not None:
            self._listener.start()

    def stop(self):
        PolledSocket.stop(self)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def poll(self, now):
        """Read waiting datagrams, then fire due timers. Never raises."""
        self._now = now
        for _ in range(_MAX_DATAGRAMS_PER_POLL):
            # None: nothing waiting, or a socket/heap error (counted, logged,
            # backed off in PolledSocket.receive); the timers run either way.
            received = self.receive(MAX_DATAGRAM + 1)
            if received is None:
                break
            self._guarded(self.receive_datagram, received[0], received[1], now)
        if self._stream is not None and self._udp_waiting():
            # The account is on TCP/TLS, but peers on the allow-list may still
            # call the panel's UDP port: read it too, and answer on it. (Asked
            # first, so an idle poll still allocates nothing.)
            self._through(self._udp, self._poll_udp, now)
        listener = self._listener
        if listener is not None and listener.readable():
            # Requests a proxy sent over a connection it opened to our TCP
            # port: each is handled (and answered) on its own connection.
            for _ in range(_MAX_DATAGRAMS_PER_POLL):
                received = listener.receive()
                if received is None:
                    break
                self._through(
                    received[2], self._guarded, self.receive_datagram, received[0], received[1], now
                )
        # Timers only when something may be due: an idle poll (registered, no
        # transaction open) then allocates nothing, not even the bound method
        # _guarded would take.
        if self._client or self._server or self._timer_due(now):
            try:
                self._service_timers(now)
            except Exception as error:  # noqa: BLE001 - the poll must survive
                self._internal_error(error)

    def _udp_waiting(self):
        try:
            return self._udp.readable()
        except Exception as error:  # noqa: BLE001 - OSError, MemoryError: from outside
            self.failed("receive_errors", error)
            return False

    def _poll_udp(self, now):
        for _ in range(_MAX_DATAGRAMS_PER_POLL):
            received = self.receive(MAX_DATAGRAM + 1)
            if received is None:
                break
            self._guarded(self.receive_datagram, received[0], received[1], now)

    def _through(self, transport, function, *arguments):
        """function(*arguments) with transport as self.transport: whatever it
        sends (and every transaction or timer it starts) goes over transport."""
        saved = self.transport
        stream = self._stream
        self.transport = transport
        try:
            return function(*arguments)
        finally:
            # Back to what it was, unless the account's transport changed meanwhile.
            self.transport = saved if self._stream is stream else (self._stream or self._udp)

    def _timer_due(self, now):
        timers = self._timers
        for name in timers:
            if ticks_diff(now, timers[name][0]) >= 0:
                return True
        return False

    def _guarded(self, function, *arguments):
        # The last line of defence: a bug in our own handling must not stop the
        # panel answering. It is counted (tests assert the count stays zero).
        try:
            function(*arguments)
        except Exception as error:  # noqa: BLE001 - the receive loop must survive
            self._internal_error(error)

    def _internal_error(self, error):
        self.counters["internal_errors"] += 1
        try:
            print_exception(error)
        except Exception:  # noqa: BLE001 - no heap left even for the log
            pass

    # ----- status and registration ------------------------------------------

    def status(self):
        return {"sip_status": self._status, "register_last_attempt": self._last_attempt}

    def transports(self):
        """Counters of the UA, of its TCP/TLS stream (with keepalive_ms) and of
        its TCP listener (with listening); None for a part not in use."""
        stream = self._stream
        listener = self._listener
        return {
            "ua": self.counters,
            "stream": None
            if stream is None
            else dict(stream.counters, keepalive_ms=stream.keepalive_ms),
            "listener": None
            if listener is None
            else dict(listener.counters, listening=listener.listening()),
        }

    def _set_status(self, status):
        if status != self._status:
            self._status = status
            self._emit("registration", None, status)

    def register(self, settings):
        """Register with settings (BAS-IP 5.1 fields); re-register if they changed."""
        self._now = self.clock()
        settings = dict(settings)
        for name in ("proxy", "realm", "user", "password"):
            if not settings.get(name):
                raise LocalError("SIP setting %s missing" % name)
        old = self._registration
        if old is not None and old.settings == settings and self._status != "OFFLINE":
            return
        if old is not None and old.registered:
            self._send_unregister(old)
        self._use_transport(settings)
        self._registration = _Registration(
            settings, self._token() + "@" + self.local_address[0], self._token()
        )
        self._cancel_timer("register")
        self._set_status("ERROR")
        self._start_registration()

    def unregister(self):
        """Remove the binding (Expires: 0) and go OFFLINE."""
        self._now = self.clock()
        registration = self._registration
        self._cancel_timer("register")
        self._registration = None
        if registration is not None and (registration.registered or registration.sequence):
            self._send_unregister(registration)
        self._set_status("OFFLINE")

    def _use_transport(self, settings):
        """UDP, or one TCP/TLS connection to the registrar's address (the
        outbound proxy when set, else the proxy) as the account says."""
        kind = settings.get("transport") or "udp"
        if kind == "tcp":
            self._open_listener()
        else:
            self._close_listener()
        if kind not in ("tcp", "tls"):
            self._close_stream()
            return
        outbound = settings.get("outbound") or ""
        host, port = _split_host_port(
            outbound if outbound else settings["proxy"], 5061 if kind == "tls" else 5060
        )
        tls = settings.get("tls") or {}
        stream = self._stream
        if (
            stream is not None
            and (stream.host, stream.port, stream.tls) == (host, port, kind == "tls")
            and stream.ca_file == tls.get("ca_file", "")
        ):
            return  # the same connection serves the new settings
        from panel.drivers.sip_stream import StreamTransport

        self._close_stream()
        self._stream = StreamTransport(
            host,
            port,
            kind == "tls",
            tls.get("ca_file", ""),
            tls.get("verify", True),
            on_drop=self._on_flow_drop,
        )
        self.transport = self._stream

    def _open_listener(self):
        if self._listener is not None:
            return
        from panel.drivers.sip_listener import StreamListener

        self._listener = StreamListener(self.local_address[0], self.local_address[1])
        if self._task is not None:
            self._listener.start()

    def _close_listener(self):
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _on_flow_drop(self):
        """The registered connection went down (RFC 5626 4.4.1: the flow
        failed): register again now, so that requests to the panel find the
        new one; at most once per _FLOW_RECOVERY_MS (else at the refresh)."""
        registration = self._registration
        if registration is None or not registration.registered:
            return  # not registered: the retry timer is already running
        now = self.clock()
        last = self._flow_recovered_at
        if last is not None and ticks_diff(now, last) < _FLOW_RECOVERY_MS:
            return
        self._flow_recovered_at = now
        self._now = now
        saved = self.transport
        self.transport = self._stream or self._udp
        try:
            self._set_timer("register", 0, self._start_registration)
        finally:
            self.transport = saved

    def _close_stream(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.transport = self._udp

    def _reliable(self):
        # The account's connection, or one a peer opened to our TCP port.
        return self.transport is not self._udp

    def _send_unregister(self, registration):
        registration.authenticated = False
        registration.registered = False
        self._send_register(registration, 0)

    def _account(self):
        return None if self._registration is None else self._registration.settings

    def _start_registration(self):
        registration = self._registration
        if registration is None:
            return
        registration.authenticated = False
        self._last_attempt = self.unix_time()
        interval = int(registration.settings.get("registration_interval") or 30)
        self._send_register(registration, interval)

    def _registrar_address(self, settings):
        # The outbound proxy when set, else the proxy (BAS-IP 5.1), resolved.
        outbound = settings.get("outbound") or ""
        host, port = _split_host_port(outbound if outbound else settings["proxy"])
        return self.resolve(host, port)

    def _send_register(self, registration, expires, authorization=None):
        settings = registration.settings
        realm = settings["realm"]
        registration.sequence += 1
        registration.expires = expires
        request = SipMessage(method="REGISTER", uri="sip:" + realm)
        request.add("via", str(self._via()))
        request.add("max-forwards", "70")
        address = "<sip:%s@%s>" % (settings["user"], realm)
        request.add("from", "%s;tag=%s" % (address, registration.tag))
        request.add("to", address)
        request.add("call-id", registration.call_id)
        request.add("cseq", "%d REGISTER" % registration.sequence)
        request.add("contact", self._contact(settings["user"], registering=True))
        request.add("expires", str(expires))
        request.add("allow", ALLOW)
        if self._on_flow():
            request.add("supported", "outbound, path")
        request.add("user-agent", USER_AGENT)
        if authorization:
            request.add(authorization[0], authorization[1])

        def on_result(kind, response):
            self._on_register_result(registration, request, kind, response)

        self._start_client(
            request, lambda: self._registrar_address(settings), on_result, _REGISTER_TIMEOUT_MS
        )

    def _on_register_result(self, registration, request, kind, response):
        current = registration is self._registration
        if kind == "response" and response.status < 200:
            return
        if not current and registration.expires:
            # Superseded by new settings while in flight: remove any binding
            # it created, and never answer its challenges.
            if kind == "response" and response.status < 300:
                self._send_unregister(registration)
            return
        if kind == "response":
            status = response.status
            if status in (401, 407):
                challenge = self._challenge(response)
                if challenge is not None and (not registration.authenticated or challenge.stale):
                    registration.authenticated = True
                    settings = registration.settings
                    self._send_register(
                        registration,
                        registration.expires,
                        self._authorization(challenge, "REGISTER", request.uri, settings),
                    )
                    return
            elif status == 423 and registration.expires:
                minimum = response.get("min-expires", "")
                if minimum.isdigit() and int(minimum) > registration.expires:
                    self._send_register(registration, int(minimum))
                    return
            elif 200 <= status < 300:
                if registration.expires == 0:
                    registration.registered = False
                    return
                if current:
                    registration.registered = True
                    self._apply_flow_timer(response)
                    delay = refresh_delay_s(self._granted_expiry(response, registration.expires))
                    self._set_timer("register", delay * 1000, self._start_registration)
                    self._set_status("OK")
                return
        # Failure: a final error, a timeout or a transport error.
        if current and registration.expires:
            registration.registered = False
            self._set_status("ERROR")
            interval = int(registration.settings.get("registration_interval") or 30)
            self._set_timer(
                "register", min(interval, _REGISTER_RETRY_S) * 1000, self._start_registration
            )

    def _apply_flow_timer(self, response):
        # RFC 5626 4.4.1: a registrar's Flow-Timer (seconds) sets the ping
        # interval: 80 % of it (the RFC's lowest), never beyond the default.
        stream = self._stream
        value = response.get("flow-timer", "")
        if stream is None or not value.isdigit() or int(value) == 0:
            return
        from panel.drivers.sip_stream import KEEPALIVE_MS

        stream.set_keepalive_ms(min(int(value) * 800, KEEPALIVE_MS))

    def _granted_expiry(self, response, requested):
        # The registrar's answer: our Contact's expires parameter, or Expires.
        local = "%s:%d" % self.local_address
        try:
            contacts = response.get_all("contact")
        except RemoteError:
            contacts = []  # more bindings than MAX_LIST_ITEMS: use Expires
        for contact in contacts:
            try:
                address = sip_message.parse_name_address(contact)
            except RemoteError:
                continue
            value = address.parameters.get("expires", "")
            if local in address.uri and value.isdigit() and int(value) > 0:
                return int(value)
        value = response.get("expires", "")
        if value.isdigit() and int(value) > 0:
            return int(value)
        return requested

    def _challenge(self, response):
        name = "www-authenticate" if response.status == 401 else "proxy-authenticate"
        value = response.get(name)
        if value is None:
            return None
        try:
            return digest.parse_challenge(value, proxy=response.status == 407)
        except RemoteError:
            self.counters["malformed"] += 1
            return None

    def _authorization(self, challenge, method, uri, settings):
        username = settings.get("user_id") or settings["user"]
        value = digest.authorization(
            challenge, method, uri, username, settings["password"], self._token(), 1
        )
        return challenge.header_name, value

    # ----- outgoing calls ------------------------------------------------------

    def invite(self, target, sdp_body):
        """Start a call to target (three forms, see the module doc); returns a Call."""
        self._now = self.clock()
        if len(self.calls) >= _MAX_CALLS:
            raise LocalError("too many calls")
        settings = self._account()
        if target and target.isdigit():
            if settings is None:
                raise LocalError("digits need a SIP account")
            request_uri = "sip:%s@%s" % (target, settings["realm"])

            def destination():
                return self._registrar_address(settings)
        elif target.startswith("sip:"):
            try:
                uri = sip_message.parse_uri(target)
            except RemoteError:
                # Targets come validated from the API (contract 3.2): a bad one is our bug.
                raise LocalError("bad SIP target %r" % target)
            request_uri = str(uri)

            def destination():
                return self.resolve(uri.host, uri.port or 5060)
        else:
            raise LocalError("unsupported target %r" % target)
        call = Call(self, target, request_uri, destination)
        call.call_id = self._token() + "@" + self.local_address[0]
        call.local_tag = self._token()
        call.sdp_body = sdp_body
        self.calls[call.call_id] = call
        self._send_invite(call, None)
        return call

    def _identity(self):
        settings = self._account()
        if settings is None:
            return "sip:panel@%s" % self.local_address[0], "panel"
        return "sip:%s@%s" % (settings["user"], settings["realm"]), settings["user"]

    def _send_invite(self, call, authorization):
        identity, user = self._identity()
        request = SipMessage(method="INVITE", uri=call.request_uri)
        request.add("via", str(self._via()))
        request.add("max-forwards", "70")
        request.add("from", "<%s>;tag=%s" % (identity, call.local_tag))
        request.add("to", "<%s>" % call.request_uri)
        request.add("call-id", call.call_id)
        request.add("cseq", "%d INVITE" % call.sequence)
        request.add("contact", self._contact(user))
        request.add("allow", ALLOW)
        if self._on_flow():
            request.add("supported", "outbound")
        request.add("user-agent", USER_AGENT)
        if authorization:
            request.add(authorization[0], authorization[1])
        request.add("content-type", "application/sdp")
        request.body = call.sdp_body
        call.invite = request
        call.provisional_seen = False
        call.cancel_sent = False

        def on_result(kind, response):
            if call.invite is request:
                self._on_invite_result(call, kind, response)

        self._start_client(request, call.destination, on_result)

    def _on_invite_result(self, call, kind, response):
        if kind != "response":
            self._finish(call, "failed", 408 if kind == "timeout" else 503)
            return
        status = response.status
        call.status = status
        if status < 200:
            # Any provisional, 100 included, makes CANCEL allowed (RFC 3261 9.1).
            call.provisional_seen = True
            if call.cancel_wanted and not call.cancel_sent:
                self._send_cancel(call)
                return
            if status > 100 and call.state == "calling":
                call.state = "ringing"
            if not call.ringing_reported and status in (180, 183):
                call.ringing_reported = True
                self._emit("ringing", call, status)
            return
        if status < 300:
            self._on_invite_success(call, response)
            return
        if (
            status in (401, 407)
            and not call.authenticated
            and not call.cancel_wanted
            and self._account() is not None
        ):
            challenge = self._challenge(response)
            if challenge is not None:
                call.authenticated = True
                call.sequence += 1
                self._send_invite(
                    call,
                    self._authorization(challenge, "INVITE", call.request_uri, self._account()),
                )
                return
        self._finish(call, "failed", status)

    def _on_invite_success(self, call, response):
        if call.ack is not None:
            # A retransmitted 2xx: our ACK was lost, send it again.
            self._send(call.ack, call.ack_destination)
            return
        if call.state in ("ended", "failed"):
            return
        try:
            call.dialog = Dialog.from_uac_response(call.invite, response)
            ack = call.dialog.request("ACK", self._via(), sequence=call.invite.cseq()[0])
            call.ack_destination = self._dialog_destination(call.dialog)
        except (RemoteError, OSError):
            self.counters["malformed"] += 1
            self._finish(call, "failed", 502)
            return
        call.ack = ack.to_bytes()
        self._send(call.ack, call.ack_destination)
        if call.cancel_wanted:
            # The answer crossed our CANCEL: acknowledge it, then hang up.
            call.state = "answered"
            self._bye(call)
            return
        try:
            call.remote_sdp = response.body
            call.media = sdp.negotiate(sdp.parse(response.body))
        except RemoteError:
            call.state = "answered"
            self._bye(call, report=False)
            self._finish(call, "failed", 488)
            return
        call.state = "answered"
        self._emit("answered", call, call.media)

    def _dialog_destination(self, dialog):
        if dialog.route_set:
            uri = sip_message.parse_name_address(dialog.route_set[0]).uri
        else:
            uri = dialog.remote_target
        parsed = sip_message.parse_uri(uri)
        return self.resolve(parsed.host, parsed.port or 5060)

    def _cancel(self, call):
        if call.state not in ("calling", "ringing") or call.cancel_wanted:
            return
        self._now = self.clock()
        call.cancel_wanted = True
        if call.provisional_seen:
            self._send_cancel(call)
        # Without any provisional response, RFC 3261 9.1 forbids CANCEL: it
        # goes out when one arrives; Timer B ends the INVITE otherwise.

    def _send_cancel(self, call):
        call.cancel_sent = True
        invite = call.invite
        request = sip_message.mirrored_request(invite, "CANCEL", invite.get("to"))
        self._start_client(request, call.destination, lambda kind, response: None)
        # If the INVITE never gets its final answer, give up after 64*T1 (9.1).
        self._set_timer(
            "cancel " + call.call_id, TIMER_B, lambda: self._finish(call, "failed", 487)
        )

    def _bye(self, call, report=True):
        if call.state != "answered" or call.dialog is None:
            return
        self._now = self.clock()
        call.state = "ending"
        request = call.dialog.request("BYE", self._via())
        request.add("user-agent", USER_AGENT)

        def on_result(kind, response):
            if kind == "response" and response.status < 200:
                return
            if report:
                self._finish(call, "ended", "local")
            else:
                self._forget(call)

        self._start_client(request, lambda: call.ack_destination, on_result)

    def _finish(self, call, kind, detail):
        if call.state in ("ended", "failed"):
            return
        call.state = kind
        self._forget(call)
        self._emit(kind, call, detail)

    def _forget(self, call):
        self._cancel_timer("cancel " + call.call_id)
        self._cancel_timer("2xx " + call.call_id)
        self._cancel_timer("ack " + call.call_id)
        self.calls.pop(call.call_id, None)

    # ----- receiving --------------------------------------------------------

    def receive_datagram(self, data, address, now):
        """One datagram from address; garbage is counted and dropped or answered."""
        self._now = now
        self.counters["received"] += 1
        if not data.strip(b"\r\n"):
            self.counters["keepalives"] += 1  # RFC 5626 CRLF keep-alive
            return
        if len(data) > MAX_DATAGRAM:
            self.counters["oversized"] += 1
            self._answer_garbage(data, address, RemoteError("Datagram too large", 513))
            return
        try:
            message = sip_message.parse(data)
        except RemoteError as error:
            self.counters["malformed"] += 1
            self._answer_garbage(data, address, error)
            return
        if message.is_request:
            self._guarded(self._on_request, message, address, now)
        else:
            self._guarded(self._on_response, message, now)

    def _answer_garbage(self, data, address, error):
        request = sip_message.scan_for_error_response(data)
        if request is None:
            return
        try:
            sip_message.stamp_via(request, address[0], address[1])
            response = sip_message.make_response(request, error.status, to_tag=self._token())
            response.add("warning", '399 panel "%s"' % error.text.replace('"', "'")[:80])
            destination = sip_message.response_address(request.top_via(), address[1])
            self._send(response.to_bytes(), destination)
            self.counters["error_responses"] += 1
        except (RemoteError, LocalError):
            pass

    def _on_response(self, response, now):
        try:
            key = client_key(response)
        except RemoteError:
            self.counters["malformed"] += 1
            return
        transaction = self._client.get(key)
        if transaction is not None:
            self._apply(transaction, transaction.receive(response, now))
            return
        call = self.calls.get(response.get("call-id"))
        if (
            call is not None
            and 200 <= response.status < 300
            and key[1] == "INVITE"
            and call.ack is not None
        ):
            self._send(call.ack, call.ack_destination)  # 2xx retransmission after M
            return
        self.counters["stray_responses"] += 1

    def _on_request(self, request, address, now):
        sip_message.stamp_via(request, address[0], address[1])
        key = server_key(request)
        transaction = self._server.get(key)
        if transaction is not None:
            self._apply(transaction, transaction.receive(request, now))
            return
        if request.method == "ACK":
            # ACK to our 2xx to an incoming call, or after its transaction ended.
            self._on_ack(request)
            return
        destination = sip_message.response_address(request.top_via(), address[1])
        transaction = ServerTransaction(request, now, destination, reliable=self._reliable())
        transaction.transport = self.transport
        if not self._make_room():
            self.counters["overload"] += 1
            self._respond(transaction, request, 503)
            return
        self._server[key] = transaction
        handler = self._request_handlers.get(request.method)
        if handler is None:
            self._respond(transaction, request, 405, [("allow", ALLOW)])
            return
        if not request.uri.lower().startswith("sip:"):
            self._respond(transaction, request, 416)
            return
        required = request.get("require")
        if required and request.method not in ("CANCEL",):
            self._respond(transaction, request, 420, [("unsupported", required)])
            return
        if request.method == "INVITE":
            handler(self, transaction, request, address)
        else:
            handler(self, transaction, request)

    def _respond(
        self, transaction, request, status, headers=None, body=b"", content_type=None, to_tag=None
    ):
        response = sip_message.make_response(request, status, to_tag=to_tag or self._token())
        response.add("user-agent", USER_AGENT)
        for name, value in headers or ():
            response.add(name, value)
        if body:
            response.add("content-type", content_type)
            response.body = body
        self._apply(transaction, transaction.respond(response, self._now))

    def _on_options(self, transaction, request):
        self._respond(
            transaction,
            request,
            200,
            [("allow", ALLOW), ("accept", "application/sdp"), ("supported", "")],
        )

    def _find_call(self, request):
        call = self.calls.get(request.get("call-id"))
        if call is not None and call.dialog is not None and call.dialog.matches(request):
            return call
        return None

    def _on_bye(self, transaction, request):
        call = self._find_call(request)
        if call is None:
            self._respond(transaction, request, 481)
            return
        call.dialog.accept_remote_sequence(request)
        self._respond(transaction, request, 200, to_tag=call.local_tag)
        self._finish(call, "ended", "remote")

    def _on_info(self, transaction, request):
        call = self._find_call(request)
        if call is None:
            self._respond(transaction, request, 481)
            return
        if not call.dialog.accept_remote_sequence(request):
            self._respond(transaction, request, 500, to_tag=call.local_tag)
            return
        content_type = request.get("content-type")
        if not request.body:
            self._respond(transaction, request, 200, to_tag=call.local_tag)  # keep-alive INFO
            return
        digit = rtp.parse_info_dtmf(content_type, request.body)
        if digit is None:
            self._respond(
                transaction,
                request,
                415,
                [("accept", "application/dtmf-relay, application/dtmf")],
                to_tag=call.local_tag,
            )
            return
        self._respond(transaction, request, 200, to_tag=call.local_tag)
        self._emit("dtmf", call, digit)

    def _on_invite(self, transaction, request, address):
        # A re-INVITE in a call is refused (RFC 3264: a failed re-INVITE
        # leaves the session as it was); a new INVITE is an incoming call,
        # offered to the controller through the "incoming" event. A 100
        # first stops the peer's retransmissions.
        self._respond(transaction, request, 100)
        call = self._find_call(request)
        if call is not None:
            self._respond(transaction, request, 488, to_tag=call.local_tag)
            return
        if sip_message.parse_name_address(request.get("to")).tag:
            self._respond(transaction, request, 481)  # a dialog we do not know
            return
        if len(self.calls) >= _MAX_CALLS or request.get("call-id") in self.calls:
            self._respond(transaction, request, 486)
            return
        call = IncomingCall(self, request, transaction, address)
        try:
            # The offer must be in the INVITE and usable: no offer-in-ACK.
            call.offer = sdp.parse(request.body)
            call.media = sdp.negotiate(call.offer)
        except RemoteError as error:
            self._respond(transaction, request, 488, [("warning", '399 panel "%s"' % error.text)])
            return
        call.remote_sdp = request.body
        self.calls[call.call_id] = call
        self._emit("incoming", call, call.caller)
        if call.state == "offered":
            # Nobody took it (no controller, or it left it alone): busy.
            self._reject_incoming(call, 486)

    def _ring_incoming(self, call):
        if call.state != "offered":
            return
        self._now = self.clock()
        call.state = "ringing"
        self._respond(
            call.transaction,
            call.invite,
            180,
            [("contact", self._contact(self._identity()[1]))],
            to_tag=call.local_tag,
        )

    def _answer_incoming(self, call, sdp_body):
        if call.state not in ("offered", "ringing"):
            return
        self._now = self.clock()
        try:
            call.dialog = Dialog.from_uas_request(call.invite, call.local_tag)
            call.ack_destination = self._dialog_destination(call.dialog)
        except (RemoteError, OSError, IndexError, ValueError):
            self._reject_incoming(call, 400)
            return
        call.state = "answered"
        call.answer_body = sdp_body
        self._respond(
            call.transaction,
            call.invite,
            200,
            [("contact", self._contact(self._identity()[1])), ("allow", ALLOW)],
            sdp_body,
            "application/sdp",
            to_tag=call.local_tag,
        )
        # RFC 3261 13.3.1.4: the UAS core re-sends its 2xx (T1 doubling up to
        # T2) until the ACK comes, and gives up after 64*T1 with a BYE.
        call._retransmit_ms = T1
        self._set_timer("2xx " + call.call_id, T1, lambda: self._resend_2xx(call))
        self._set_timer("ack " + call.call_id, TIMER_B, lambda: self._ack_missing(call))

    def _resend_2xx(self, call):
        if call.acknowledged or call.state != "answered":
            return
        transaction = call.transaction
        if transaction.last_response is not None and transaction.destination is not None:
            self._send(transaction.last_response, transaction.destination)
        call._retransmit_ms = min(call._retransmit_ms * 2, T2)
        self._set_timer("2xx " + call.call_id, call._retransmit_ms, lambda: self._resend_2xx(call))

    def _ack_missing(self, call):
        if call.acknowledged or call.state != "answered":
            return
        self._cancel_timer("2xx " + call.call_id)
        # Answered but never confirmed: the call ends (our BYE goes out).
        self._bye(call, report=False)
        self._finish(call, "ended", "no_ack")

    def _on_ack(self, request):
        # The ACK of our 2xx to an incoming INVITE (a transaction of its own).
        call = self._find_call(request)
        if call is None or not getattr(call, "incoming", False) or call.acknowledged:
            return
        call.acknowledged = True
        self._cancel_timer("2xx " + call.call_id)
        self._cancel_timer("ack " + call.call_id)

    def _reject_incoming(self, call, status):
        if call.state not in ("offered", "ringing"):
            return
        self._now = self.clock()
        self._respond(call.transaction, call.invite, status, to_tag=call.local_tag)
        self._finish(call, "failed", status)

    def _on_cancel(self, transaction, request):
        invite_key = server_key(request)
        invite_key = invite_key[:-1] + ("INVITE",)
        invite_transaction = self._server.get(invite_key)
        if invite_transaction is None or invite_transaction.state != "proceeding":
            self._respond(transaction, request, 481)
            return
        self._respond(transaction, request, 200)
        call = self.calls.get(request.get("call-id"))
        if getattr(call, "incoming", False) and call.transaction is invite_transaction:
            self._reject_incoming(call, 487)  # the caller gave up ringing
            return
        self._respond(invite_transaction, invite_transaction.request, 487)

    # ----- transactions, timers, sending ----------------------------------------

    def _start_client(self, request, destination, owner, timeout_ms=None):
        """Start a client transaction; destination is a callable giving (ip, port)."""
        transaction = ClientTransaction(
            request, self._now, timeout_ms=timeout_ms, reliable=self._reliable()
        )
        transaction.owner = owner
        transaction.transport = self.transport
        if not self._make_room():
            self.counters["overload"] += 1
            self._defer(lambda: owner("transport_error", None))
            return
        try:
            transaction.destination = destination()
        except (OSError, RemoteError, IndexError, ValueError):
            # Unresolvable name, not an IPv4 address, no route: a 503 for the call.
            self._defer(lambda: owner("transport_error", None))
            return
        self._client[transaction.key] = transaction
        self._apply(transaction, transaction.start(self._now))

    def _apply(self, transaction, actions):
        for action in actions:
            kind = action[0]
            if kind == "send":
                if not self._send(action[1], transaction.destination):
                    self._apply(transaction, transaction.transport_error(self._now))
                    return
            elif kind == "response":
                transaction.owner("response", action[1])
            elif kind in ("timeout", "transport_error"):
                owner = getattr(transaction, "owner", None)
                if owner is not None:
                    owner(kind, None)
        if transaction.terminated:
            table = self._server if isinstance(transaction, ServerTransaction) else self._client
            if table.get(transaction.key) is transaction:
                del table[transaction.key]

    def _make_room(self):
        """True when a new transaction fits, after dropping a lingering one if
        the table is full."""
        if len(self._client) + len(self._server) < _MAX_TRANSACTIONS:
            return True
        for table in (self._client, self._server):
            for key in table:
                if table[key].state in _LINGERING_STATES:
                    del table[key]
                    self.counters["lingering_dropped"] += 1
                    return True
        return False

    def _send(self, data, destination):
        try:
            self.transport.sendto(data, destination)
            return True
        except (OSError, MemoryError):
            # No route, a full buffer, no heap for the address: the transaction
            # sees a transport error (503) and the UA goes on.
            self.counters["send_errors"] += 1
            return False

    def _service_timers(self, now):
        # Retransmissions and timer actions go out over the transport their
        # transaction or timer was started on (UDP for a UDP caller's dialog).
        for transaction in list(self._client.values()) + list(self._server.values()):
            actions = transaction.tick(now)
            if actions or transaction.terminated:
                self._through(transaction.transport, self._apply, transaction, actions)
        for name in list(self._timers):
            entry = self._timers.get(name)
            if entry is not None and ticks_diff(now, entry[0]) >= 0:
                del self._timers[name]
                self._through(entry[2], entry[1])

    def _set_timer(self, name, delay_ms, function):
        self._timers[name] = (ticks_add(self._now, delay_ms), function, self.transport)

    def _cancel_timer(self, name):
        self._timers.pop(name, None)

    def _defer(self, function):
        # Results the caller must not see before the call handle is returned
        # (a name that does not resolve, say) run on the next poll.
        self._deferred += 1
        self._set_timer("defer %d" % self._deferred, 0, function)

    # ----- small helpers ------------------------------------------------------

    def _emit(self, kind, call, detail):
        if self.on_event is not None:
            self.on_event(kind, call, detail)

    def _token(self):
        return sip_message.new_token(self.random_bytes(8))

    def _transport_name(self):
        if not self._reliable():
            return "UDP"
        return "TLS" if getattr(self.transport, "tls", False) else "TCP"

    def _on_flow(self):
        """True while sending over the account's own (registered) connection."""
        return self._stream is not None and self.transport is self._stream

    def _via(self):
        host, port = self.local_address
        parameters = {"branch": sip_message.new_branch(self.random_bytes(8)), "rport": ""}
        if self._on_flow():
            # RFC 5923: the proxy may send its requests for host:port down
            # this connection (kamailio: tcp_accept_aliases).
            parameters["alias"] = ""
        return Via(self._transport_name(), host, port, parameters)

    def _contact(self, user, registering=False):
        contact = "sip:%s@%s:%d" % (user, self.local_address[0], self.local_address[1])
        if self._reliable():
            contact += ";transport=" + self._transport_name().lower()
        if not self._on_flow():
            return "<%s>" % contact
        if registering:
            # RFC 5626 4.2.1: this device's flow, the same after every reboot.
            return '<%s>;+sip.instance="<%s>";reg-id=%s' % (contact, self.instance_urn, _REG_ID)
        # RFC 5626 4.3: requests in this dialog come back over the flow.
        return "<%s;ob>" % contact


# Requests from peers and who answers them; any other method gets 405.
SipUserAgent._request_handlers = {
    "OPTIONS": SipUserAgent._on_options,
    "BYE": SipUserAgent._on_bye,
    "INFO": SipUserAgent._on_info,
    "INVITE": SipUserAgent._on_invite,
    "CANCEL": SipUserAgent._on_cancel,
}
