# Wires the panel together from a board description: the store, the services
# over it, the drivers the board hands in, and the HTTP app.
#
# Hardware objects (relay pins, UART transport, sockets) are built by the board's
# entry point (firmware/main.py, or host/ on a developer machine) and passed in;
# nothing here touches hardware at import time or in a constructor.
import asyncio

import microdot.microdot as microdot_core
from microdot import Microdot, Request

from panel.api import (
    access,
    auth,
    common,
    device,
    forwards,
    history,
    hybrid_routes,
    redirectrules,
    stored_settings,
)
from panel.api.common import ApiError, error_answer
from panel.call_log import CallLog
from panel.compat import run_handlers_in_loop
from panel.core import body as body_rules
from panel.core import redirects
from panel.drivers.lock_relay import LockRelay
from panel.forward_rules import ForwardRules
from panel.services.redirect_rules import DEFAULT_RULE_LIMIT, RedirectRules
from panel.services.redirect_settings import RedirectSettings
from panel.settings import Settings

FIRMWARE_VERSION = "1.0.0"
API_VERSION = "2.15.0"
# Seconds between the reboot route's answer and the reboot itself, so the
# answer reaches the client first.
_REBOOT_DELAY_S = 0.3

_DEFAULT_LIMITS = {
    "forward_rules": 10000,
    "redirect_rules": DEFAULT_RULE_LIMIT,
    "body_bytes": 16384,
    "tokens": 8,
    "call_log_entries": 1000,
    "identifiers": 2000,
}

REDIRECT_RULES_PREFIX = "/rest/"


class Panel:
    """Everything the API and the call engine share, built once at boot."""

    def __init__(self, board, store, clock, relay_pins, reboot=None):
        self.board = board
        limits = {}
        for name in _DEFAULT_LIMITS:
            limits[name] = board.get("limits", {}).get(name, _DEFAULT_LIMITS[name])
        board["limits"] = limits
        self.limits = limits
        self.store = store
        self.clock = clock
        self.settings = Settings(store)
        self.forward_rules = ForwardRules(store, limits["forward_rules"])
        self.redirect_rules = RedirectRules(store, clock, limits["redirect_rules"])
        self.redirect_settings = RedirectSettings(
            self.settings, clock, lambda: stored_settings.utc_offset_minutes(self.settings)
        )
        self.call_log = CallLog(store, clock, limits["call_log_entries"])
        self.accounts = auth.Accounts(self.settings, limits["tokens"])
        self.identifiers = access.Identifiers(store, limits["identifiers"])
        self.relays = {}
        for index, pin in enumerate(relay_pins):
            self.relays[index + 1] = LockRelay(index + 1, pin)
        self.adapter = None  # drivers.adapter.AdapterDriver, when the board has one
        self.sip = None  # drivers.sip_ua user agent, when the board has a network
        self.public_prefixes = []  # extra unauthenticated path prefixes (host keypad)
        self.calls = None  # call_controller.CallController, built by start()
        # RTP of calls, from the board: {"socket": callable() -> bound UDP
        # socket, "tone_hz": int}; empty: a socket per call, silence.
        self.media_options = {}
        self._reboot = reboot
        self._sip_listeners = []
        self._call_listeners = []
        self._sip_registered = False

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self.call_log.add("device_booted", {"firmware_version": FIRMWARE_VERSION})
        # Imported here: the API alone (and its tests) need none of the call code.
        from panel.calls.controller import CallController
        from panel.calls.environment import PanelEnvironment
        from panel.calls.ticks_clock import TicksClock

        environment = PanelEnvironment(self, device, forwards, redirectrules, access)
        calls = CallController(
            environment, TicksClock(), self.sip, self.adapter, self.media_options
        )

        def to_calls(source, kind, subject, detail):
            if source == "sip":
                calls.on_sip_event(kind, subject, detail)
            else:
                calls.on_adapter_event(detail)

        self.add_call_listener(to_calls)
        self.calls = calls
        calls.start()

    def stop(self):
        if self.calls is not None:
            self.calls.stop()
        for relay in self.relays.values():
            relay.stop()
        if self.adapter is not None:
            self.adapter.stop()
        if self.sip is not None:
            self.sip.stop()

    # -- drivers the board hands in ----------------------------------------
    def attach_adapter(self, driver):
        """The hybrid adapter's driver; its events arrive via on_adapter_event."""
        self.adapter = driver

    def attach_sip(self, user_agent):
        """The SIP user agent; registers now and again whenever SIP changes."""
        self.sip = user_agent
        self.add_sip_listener(self._apply_sip_settings)
        self._apply_sip_settings()

    def sip_settings(self):
        return self.settings.get(device.SIP_SETTINGS, device.SIP_DEFAULTS)

    def _apply_sip_settings(self):
        # Enabled with an account: (re-)register. Otherwise unregister; the
        # status then reads OFFLINE (disabled) or ERROR (enabled, no account).
        settings = self.sip_settings()
        if self.sip_enabled() and settings["proxy"] and settings["user"]:
            self.sip.register(settings)
        else:
            self.sip.unregister()

    def on_sip_event(self, kind, call, detail):
        """Every SIP user-agent event: registration here, calls to the controller."""
        if kind == "registration":
            if self._sip_registered and detail != "OK" and self.sip_enabled():
                self.call_log.add("sip_registration_lost", {"status": detail})
            self._sip_registered = detail == "OK"
        for listener in self._call_listeners:
            listener("sip", kind, call, detail)

    def on_adapter_event(self, event):
        for listener in self._call_listeners:
            listener("adapter", event.kind, event.line, event)

    def add_call_listener(self, listener):
        """listener(source, kind, subject, detail) for SIP and adapter events."""
        self._call_listeners.append(listener)

    # -- services used by the API -------------------------------------------
    def add_sip_listener(self, listener):
        self._sip_listeners.append(listener)

    def sip_changed(self):
        """SIP settings or enable changed: the user agent re-registers."""
        for listener in self._sip_listeners:
            listener()

    def sip_enabled(self):
        return self.settings.get(device.SIP_ENABLE_SETTINGS, device.SIP_ENABLE_DEFAULTS)[
            "sip_enable"
        ]

    def sip_status(self):
        """Contract 5.3 from what really happened: OFFLINE while disabled, else
        the user agent's registration state (ERROR when there is none)."""
        if self.sip is not None:
            status = self.sip.status()
            if not self.sip_enabled():
                status["sip_status"] = "OFFLINE"
            elif status["sip_status"] == "OFFLINE":
                # Enabled but not registering (no account yet): failing.
                status["sip_status"] = "ERROR"
            return status
        return {
            "sip_status": "ERROR" if self.sip_enabled() else "OFFLINE",
            "register_last_attempt": None,
        }

    def device_info(self):
        board = self.board
        adapter = self.adapter
        return {
            "firmware_version": FIRMWARE_VERSION,
            "framework_version": FIRMWARE_VERSION,
            "frontend_version": FIRMWARE_VERSION,
            "api_version": API_VERSION,
            "device_name": board.get("device_name", "Entrance panel"),
            "device_type": "panel",
            "device_model": board.get("device_model", "IP-PANEL"),
            "device_serial_number": board.get("device_serial_number", "unknown"),
            "mcu_version": board.get("mcu_version", "unknown"),
            "hybrid_enable": bool(adapter is not None and adapter.present),
            "hybrid_version": (adapter.version or "") if adapter is not None else "",
            "commit": board.get("commit", "unknown"),
        }

    def open_lock(self, number, seconds, event, info=None):
        """Release lock `number` for `seconds` (0: the lock's own timeout) and log it."""
        relay = self.relays.get(number)
        if relay is None:
            return False
        if not seconds:
            seconds = access.lock_settings(self.settings, number)["lock_timeout"]
        relay.open_for(seconds)
        details = {"lock": number, "seconds": seconds}
        if info:
            for key in info:
                details[key] = info[key]
        self.call_log.add(event, details)
        return True

    def request_reboot(self):
        async def reboot_later():
            await asyncio.sleep(_REBOOT_DELAY_S)
            if self._reboot is not None:
                self._reboot()

        asyncio.create_task(reboot_later())

    def factory_reset(self):
        """Rules, SIP, password and every setting back to the factory state."""
        self.store.clear()
        self.forward_rules.forget_count()
        self.accounts.revoke_all()
        self.sip_changed()


def _is_public(panel, path):
    if path in auth.PUBLIC_PATHS:
        return True
    for prefix in panel.public_prefixes:
        if path.startswith(prefix):
            return True
    return False


def _allowed_methods(app, path):
    allowed = []
    for route_methods, route_pattern, _, _, _ in app.url_map:
        if route_pattern.match(path) is not None:
            for method in route_methods:
                if method not in allowed:
                    allowed.append(method)
    return allowed


def build_app(panel):
    """The HTTP app: every route of both contracts, with their error formats."""
    run_handlers_in_loop(microdot_core)
    # Contract 1: named body limit, checked from Content-Length before reading.
    Request.max_content_length = panel.limits["body_bytes"]
    app = Microdot()
    # OPTIONS gets the 405 of any other unsupported method (no empty bodies).
    app.options_handler = None

    def is_rest(request):
        return request is not None and request.path.startswith(REDIRECT_RULES_PREFIX)

    def rest_error(status, message, headers=None, details=None):
        # Encoded here: microdot would write its own Content-Type for a dict.
        answer_headers = {"Content-Type": "application/json; charset=utf-8"}
        if headers:
            for key in headers:
                answer_headers[key] = headers[key]
        document = redirectrules.error_body(status, message, details)
        return redirects.encode(document), status, answer_headers

    async def check_credentials(request):
        if _is_public(panel, request.path) or panel.accounts.authenticate(request):
            return None
        if is_rest(request):
            return rest_error(401, "Unauthorized")
        return error_answer(401, "Log In")

    app.before_request(check_credentials)

    for module in (auth, forwards, device, access, stored_settings, history, hybrid_routes):
        module.register(app, panel)
    redirectrules.register(app, panel)

    @app.errorhandler(ApiError)
    async def api_error(request, exc):
        return error_answer(exc.status, exc.text)

    @app.errorhandler(body_rules.BodyError)
    async def body_error(request, exc):
        return error_answer(400, exc.text)

    @app.errorhandler(404)
    async def not_found(request):
        if is_rest(request):
            return rest_error(404, "Not found")
        return error_answer(404, "Not found")

    @app.errorhandler(405)
    async def not_allowed(request):
        allow = {"Allow": ", ".join(_allowed_methods(app, request.path))}
        if is_rest(request):
            return rest_error(405, "Method not allowed", allow)
        document, status, headers = error_answer(405, "Method not allowed")
        allow["Content-Type"] = headers["Content-Type"]
        return document, status, allow

    @app.errorhandler(413)
    async def too_large(request):
        if is_rest(request):
            return rest_error(
                413, "Request body too large", details={"limit": redirectrules.BODY_LIMIT_BYTES}
            )
        return error_answer(413, "Payload too large")

    @app.errorhandler(400)
    async def bad_request(request):
        # The HTTP request itself could not be parsed (request is None here).
        return error_answer(400, "Bad request")

    @app.errorhandler(500)
    async def internal_error(request):
        # Reaching this is a bug; it still answers in the contract's shape.
        if is_rest(request):
            return rest_error(500, "Internal error")
        return error_answer(500, "Internal error")

    return app


__all__ = ["Panel", "build_app", "common"]
