# The one wiring of a panel, the same for every board: a board description and
# the board's parts in, a complete panel out (store services, the HTTP app of
# both contracts, the call controller, the SIP user agent, RTP, the hybrid
# adapter's driver, the lock relays).
#
#     panel = build_panel(board, BoardParts(store=..., clock=..., ...))
#     panel.start()            # boot log entry, drivers' tasks, call controller
#     await panel.serve()      # the HTTP server on the board's address
#     panel.stop()
#
# firmware/main.py (a board) and host/panel_process.py (the simulator) both
# call build_panel; they differ only in the parts they hand in. Hardware objects
# (pins, UART, sockets) are built by them, never here: what this module gets is
# already built, or a factory it calls at start(). The board dict is never
# changed; the limits it names are read into a copy.
#
# This is the only module that imports panel.api (DESIGN.md: who may import whom).
import gc

import microdot.microdot as microdot_core
from microdot import Request

from panel.api import (
    access,
    auth,
    device,
    forwards,
    history,
    hybrid_routes,
    incoming_calls,
    openapi_document,
    redirectrules,
    stored_settings,
    web_page,
)
from panel.api.common import REDIRECT_RULES_PREFIX, error_for, error_for_path
from panel.api.router import PanelApp, out_of_memory, out_of_memory_answer
from panel.calls.controller import CallController
from panel.calls.environment import CallEnvironment
from panel.calls.ticks_clock import TicksClock
from panel.compat import run_handlers_in_loop
from panel.core import redirects
from panel.core.errors import ApiError
from panel.drivers.adapter import AdapterDriver
from panel.drivers.event_sender import EventSender
from panel.drivers.lock_relay import LockRelay
from panel.drivers.sip_ua import SipUserAgent
from panel.drivers.sockets import restrict_to_loopback
from panel.http_server import HttpLimits, HttpServer
from panel.services.access import Identifiers
from panel.services.accounts import Accounts, TooManyAttempts
from panel.services.call_log import CallLog
from panel.services.doors import Doors
from panel.services.events import DEFAULT_QUEUE_LINES, Events
from panel.services.forward_rules import ForwardRules
from panel.services.redirect_rules import DEFAULT_RULE_LIMIT, RedirectRules
from panel.services.redirect_settings import RedirectSettings
from panel.services.settings import Settings
from panel.services.sip_account import SipAccount
from panel.services.system import FIRMWARE_VERSION, System
from panel.store import StoreFull

# Limits a board file may set (boards/<name>/board.json "limits"), and their
# values when it does not.
DEFAULT_LIMITS = {
    "forward_rules": 10000,
    "redirect_rules": DEFAULT_RULE_LIMIT,
    "body_bytes": 16384,
    "tokens": 8,
    "call_log_entries": 1000,
    "identifiers": 2000,
    "event_queue_lines": DEFAULT_QUEUE_LINES,  # spec 10.1: at least 500
    # The HTTP server's (panel.http_server, which explains each): a board has
    # a handful of sockets, so few connections, and short times.
    "http_request_line_bytes": 2048,
    "http_header_count": 32,
    "http_header_bytes": 4096,
    "http_request_ms": 10000,
    "http_idle_ms": 5000,
    "http_connections": 4,
}


class BoardParts:
    """What a board hands the wiring. Only store and clock are required.

    store:          an opened panel.store.Store (on the board's flash)
    account_store:  an opened Store of its own for the admin account (another
                    directory), so damage to the rules cannot reach it; None:
                    the account lives in `store`
    clock:          panel.clock.Clock (Unix time, unset until NTP or an RTC)
    relay_pins:     pin-like outputs of the lock relays, lock 1 first
    open_adapter:   `async def()` opening the hybrid adapter's stream (UART or
                    pty), or None when the board has no adapter
    sip_socket:     callable() -> (bound non-blocking UDP socket, (host, port)
                    it is bound to), called at start(); None: no SIP
    rtp_socket:     callable() -> (bound non-blocking UDP socket, (host, port)) for
                    one call's RTP; None: SIP legs cannot be offered (they fail)
    tone_hz:        what an answered SIP call hears without an audio source
                    (0: silence)
    rtcp_socket:    callable((host, port) of the RTP socket) -> bound UDP socket
                    on port + 1 for RTCP; None: no RTCP
    audio_source:   callable() -> one call's audio source (the microphone:
                    read_frame(buffer), drivers.rtp_session); None: the tone
    audio_sink:     callable() -> one call's audio sink (the speaker:
                    write_frame(frame), optional close()); None: dropped
    reboot:         callable() that restarts the board
    extra_routes:   callable(app, panel) mounting board-only routes (the host's
                    /sim/ routes), called once the app exists
    public_prefixes: path prefixes served without credentials (the host's /sim/)
    call_clock:     the call controller's timer clock (calls.ticks_clock.TicksClock
                    by default; tests pass a fake one)
    """

    def __init__(
        self,
        store,
        clock,
        account_store=None,
        relay_pins=(),
        open_adapter=None,
        sip_socket=None,
        rtp_socket=None,
        tone_hz=0,
        rtcp_socket=None,
        audio_source=None,
        audio_sink=None,
        reboot=None,
        extra_routes=None,
        public_prefixes=(),
        call_clock=None,
    ):
        self.store = store
        self.clock = clock
        self.account_store = account_store
        self.relay_pins = list(relay_pins)
        self.open_adapter = open_adapter
        self.sip_socket = sip_socket
        self.rtp_socket = rtp_socket
        self.tone_hz = tone_hz
        self.rtcp_socket = rtcp_socket
        self.audio_source = audio_source
        self.audio_sink = audio_sink
        self.reboot = reboot
        self.extra_routes = extra_routes
        self.public_prefixes = tuple(public_prefixes)
        self.call_clock = call_clock


class Services:
    """The domain services, one per domain, that the routes and the call
    engine share. Attributes only; each service owns its part of the store."""

    def __init__(self, board, limits, parts, ticks_clock=None):
        store = parts.store
        clock = parts.clock
        self.board = board
        self.limits = limits
        self.store = store
        self.account_store = parts.account_store
        self.clock = clock
        self.settings = Settings(store, parts.account_store)
        self.identifiers = Identifiers(store, limits["identifiers"])
        # Event lines for the management server (spec 10), queued by the log.
        self.events = Events(store, self.settings, self.identifiers, limits["event_queue_lines"])
        self.call_log = CallLog(store, clock, limits["call_log_entries"], self.events)
        self.forward_rules = ForwardRules(store, limits["forward_rules"])
        self.redirect_rules = RedirectRules(store, clock, limits["redirect_rules"])
        self.redirect_settings = RedirectSettings(self.settings, clock)
        # Token lifetimes and brute-force windows run on the ms ticks clock
        # (the call controller's, so tests move one fake clock).
        self.accounts = Accounts(
            self.settings,
            limits["tokens"],
            ticks_ms=(ticks_clock or TicksClock()).ticks_ms,
            call_log=self.call_log,
        )
        relays = {}
        for index, pin in enumerate(parts.relay_pins):
            relays[index + 1] = LockRelay(index + 1, pin)
        self.doors = Doors(relays, self.settings, self.call_log, self.identifiers)
        self.sip = SipAccount(self.settings, self.call_log)
        self.system = System(self, parts.reboot)
        # Drivers, when the board has them (set by the wiring).
        self.adapter = None
        self.calls = None


def board_limits(board):
    """The board's limits over the defaults, in a new dict."""
    named = board.get("limits") or {}
    limits = {}
    for name in DEFAULT_LIMITS:
        limits[name] = named.get(name, DEFAULT_LIMITS[name])
    return limits


class Panel:
    """A wired panel: services, app, controller and drivers, not yet started."""

    def __init__(self, board, parts):
        self.board = board
        self.parts = parts
        self.limits = board_limits(board)
        # The simulator's tests: nothing leaves 127.0.0.0/8 (drivers.sockets).
        restrict_to_loopback(bool(board.get("loopback_only")))
        call_clock = parts.call_clock or TicksClock()
        self.services = Services(board, self.limits, parts, call_clock)
        services = self.services
        self.public_prefixes = parts.public_prefixes
        self.adapter = None
        if parts.open_adapter is not None:
            self.adapter = AdapterDriver(parts.open_adapter, on_event=self._on_adapter_event)
        services.adapter = self.adapter
        services.system.adapter = self.adapter
        self.sip_user_agent = None
        self._sip_socket = None
        self.calls = CallController(
            CallEnvironment(services),
            call_clock,
            sip=None,
            adapter=self.adapter,
            media={
                "socket": parts.rtp_socket,
                "tone_hz": parts.tone_hz,
                "rtcp_socket": parts.rtcp_socket,
                "source": parts.audio_source,
                "sink": parts.audio_sink,
            },
        )
        services.calls = self.calls
        self.event_sender = EventSender(services.events, self._host_address, now_ms=self._now_ms)
        self.app = build_app(services, self.public_prefixes, self.limits["body_bytes"])
        self.http_server = HttpServer(self.app, HttpLimits.from_limits(self.limits), error_answer)
        if parts.extra_routes is not None:
            parts.extra_routes(self.app, self)
        self.app.url_map.seal()

    # -- driver events -----------------------------------------------------
    def _on_sip_event(self, kind, call, detail):
        if kind == "registration":
            self.services.sip.on_registration(detail)
        self.calls.on_sip_event(kind, call, detail)

    def _on_adapter_event(self, event):
        if event.kind == "presence":
            self.services.call_log.link("adapter", event.detail, {"reason": event.reason})
        self.calls.on_adapter_event(event)

    def _now_ms(self):
        return self.services.clock.now_ms()

    def _instance_id(self):
        # The RFC 5626 instance of the SIP registrations: the serial number of
        # the board file, or (a placeholder there) the chip's unique ID, so
        # that no two panels share one.
        serial = self.board.get("device_serial_number") or ""
        if serial not in ("", "unknown", "set-at-deploy"):
            return serial
        try:
            import machine

            return "chip-" + "".join("%02x" % byte for byte in machine.unique_id())
        except (ImportError, AttributeError, OSError):
            return None  # the UA derives one from its address

    def _host_address(self):
        # HOSTNAME of the event lines (spec 10.2): the address SIP is bound
        # to, else the HTTP one; a wildcard says nothing, so it is the board's.
        if self._sip_socket is not None:
            address = getattr(self._sip_socket, "local_address", None)
            if address and address[0] not in ("0.0.0.0", ""):
                return address[0]
        host = self.board.get("http_host", "")
        if host and host != "0.0.0.0":
            return host
        return self.board.get("ip_address", "0.0.0.0")

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        """Log the boot, start the drivers' tasks and the call controller."""
        services = self.services
        try:
            self._log_boot()
        except MemoryError:
            # The boot's log entries are best effort, as every log entry
            # (services.call_log): a heap too short for them must not stop
            # the panel, which answers 503 while it stays short.
            gc.collect()
        if self.adapter is not None:
            self.adapter.start()
        if self.parts.sip_socket is not None:
            sock, address = self.parts.sip_socket()
            self._sip_socket = sock
            self.sip_user_agent = SipUserAgent(
                sock, address, on_event=self._on_sip_event, instance_id=self._instance_id()
            )
            self.sip_user_agent.start()
            self.calls.sip = self.sip_user_agent
            services.sip.attach(self.sip_user_agent)
        self.calls.start()
        self.event_sender.start()

    def _log_boot(self):
        services = self.services
        services.call_log.add("device_booted", {"firmware_version": FIRMWARE_VERSION})
        # Damage the stores found while opening, once each, with its key range.
        for store in (services.store, services.account_store):
            if store is not None:
                for event in store.damage_found():
                    services.call_log.add("storage_damaged", event)
        if services.system.account_state() == "lost":
            services.call_log.add("account_lost", {})

    def stop(self):
        self.event_sender.stop()
        self.calls.stop()
        self.services.doors.stop()
        if self.adapter is not None:
            self.adapter.stop()
        if self.sip_user_agent is not None:
            self.sip_user_agent.stop()
        if self._sip_socket is not None:
            self._sip_socket.close()
            self._sip_socket = None

    async def serve(self, host=None, port=None):
        """The HTTP server on the board's address until shutdown()."""
        if host is None:
            host = self.board.get("http_host", "0.0.0.0")
        if port is None:
            port = self.board.get("http_port", 80)
        await self.http_server.serve(host, port)

    def shutdown(self):
        self.http_server.shutdown()


def build_panel(board, parts):
    """The complete panel of `board` from its parts (nothing started yet)."""
    return Panel(board, parts)


def _is_public(path, public_prefixes):
    if path in auth.PUBLIC_PATHS:
        return True
    for prefix in public_prefixes:
        if path.startswith(prefix):
            return True
    return False


def error_answer(path, status):
    """What the HTTP server answers to a request it refuses before the app
    sees it (400, 414, 431), or could not take for lack of heap outside a
    route (503, with a route's Retry-After): the app's own error for path."""
    if status == 503:
        return out_of_memory_answer(path)
    return error_for_path(path, status).answer()


def build_app(services, public_prefixes=(), body_bytes=None):
    """The HTTP app: every route of both contracts, one error model."""
    run_handlers_in_loop(microdot_core)
    # Contract 1: named body limit, checked from Content-Length before reading.
    if body_bytes is not None:
        Request.max_content_length = body_bytes
    app = PanelApp()
    # OPTIONS gets the 405 of any other unsupported method (no empty bodies).
    app.options_handler = None

    async def check_credentials(request):
        if _is_public(request.path, public_prefixes):
            return None
        try:
            if services.accounts.authenticate(request):
                return None
        except TooManyAttempts as exc:
            # Brute-force lockout (services.accounts): 429 in the path's shape.
            if request.path.startswith(REDIRECT_RULES_PREFIX):
                details = {"retry_after_s": exc.retry_after_s}
                return redirects.RuleError(429, exc.text, details).answer(exc.headers())
            return exc.answer()
        return error_for(request, 401).answer()

    app.before_request(check_credentials)

    for module in (
        auth,
        forwards,
        device,
        access,
        stored_settings,
        history,
        hybrid_routes,
        redirectrules,
        web_page,
        incoming_calls,
        openapi_document,
    ):
        module.register(app, services)

    # One handler for the whole error family: each error answers in its own
    # contract's shape (core.errors).
    @app.errorhandler(ApiError)
    async def api_error(request, exc):
        return exc.answer()

    def status_handler(status):
        async def handler(request):
            return error_for(request, status).answer()

        return handler

    for status in (400, 404, 500):
        app.errorhandler(status)(status_handler(status))

    # A write that did not fit on the flash, from a route outside
    # common.route (microdot calls this instead of answering 500).
    @app.errorhandler(StoreFull)
    async def store_full(request, exc):
        return error_for(request, 507).answer()

    # The heap ran out outside a route (the credentials check reads the
    # store): 503 in the path's shape, never microdot's 500.
    @app.errorhandler(MemoryError)
    async def memory_error(request, exc):
        return out_of_memory(request)

    @app.errorhandler(413)
    async def too_large(request):
        return error_for(request, 413).answer()

    @app.errorhandler(405)
    async def not_allowed(request):
        allow = {"Allow": ", ".join(app.allowed_methods(request.path))}
        return error_for(request, 405).answer(allow)

    return app
