# Device routes of the BAS-IP contract: call timing (4), SIP settings, enable and
# status (5), device info (7.1), reboot and factory reset (8).
from panel.api.common import answer, ok, read_object, route
from panel.core import body as body_rules

DIAL_TIMEOUT_SETTINGS = "call_dial_timeout"
TALK_TIMEOUT_SETTINGS = "call_talk_timeout"
SIP_SETTINGS = "sip_settings"
SIP_ENABLE_SETTINGS = "sip_enable"

DIAL_TIMEOUT_DEFAULTS = {"dial_timeout": 45, "forwarding_timeout": 20}
TALK_TIMEOUT_DEFAULTS = {"talk_timeout": 90}
# What a fresh panel answers (contract 8, defaults [COMPAT]).
SIP_DEFAULTS = {
    "proxy": "",
    "realm": "",
    "user": "",
    "password": "",
    "user_id": "",
    "transport": "udp",
    "registration_interval": 30,
    "outbound": "",
    "stun": {"ip": "", "port": 3478},
}
SIP_ENABLE_DEFAULTS = {"sip_enable": False}
# GET never shows the password (vendor rule); posting it back keeps the stored one.
PASSWORD_PLACEHOLDER = "WebPass"

_FIELD_MAX = 31  # user, password, user_id
_ADDRESS_MAX = 63  # proxy, realm


def _is_host_char(char):
    return "0" <= char <= "9" or "a" <= char <= "z" or "A" <= char <= "Z" or char in ".+_-"


def host_port_ok(text):
    """`host` or `host:port`, host of [0-9A-Za-z.+_-], port 1..65535 (lenient 5.1)."""
    host, separator, port = text.partition(":")
    if not host:
        return False
    for char in host:
        if not _is_host_char(char):
            return False
    if separator:
        if not port or len(port) > 5:
            return False
        for char in port:
            if not "0" <= char <= "9":
                return False
        return 1 <= int(port) <= 65535
    return True


def _checked_text(document, name, low, high, required=True, default=""):
    if required:
        value = body_rules.require(document, name, "str")
    else:
        value = body_rules.optional(document, name, "str", default)
    if not low <= len(value) <= high:
        raise body_rules.range_error(name, "%d..%d characters" % (low, high))
    return value


def validate_sip_settings(document, stored):
    """The settings to store, checked field by field in the contract's order."""
    proxy = _checked_text(document, "proxy", 1, _ADDRESS_MAX)
    if not proxy.startswith("sip:") or not host_port_ok(proxy[4:]):
        raise body_rules.range_error("proxy", "sip:host or sip:host:port")
    realm = _checked_text(document, "realm", 1, _ADDRESS_MAX)
    if not host_port_ok(realm):
        raise body_rules.range_error("realm", "host or host:port")
    user = _checked_text(document, "user", 1, _FIELD_MAX)
    password = _checked_text(document, "password", 1, _FIELD_MAX)
    if password == PASSWORD_PLACEHOLDER and stored.get("password"):
        password = stored["password"]
    user_id = _checked_text(document, "user_id", 0, _FIELD_MAX, required=False)
    transport = body_rules.optional(document, "transport", "str", "udp")
    if transport not in ("udp", "tcp", "tls"):
        raise body_rules.range_error("transport", "udp, tcp or tls")
    interval = body_rules.optional(document, "registration_interval", "int", 30)
    if not 30 <= interval <= 900:
        raise body_rules.range_error("registration_interval", "30..900")
    outbound = body_rules.optional(document, "outbound", "str", "")
    if len(outbound) > _ADDRESS_MAX:
        raise body_rules.range_error("outbound", "0..63 characters")
    stun = body_rules.require(document, "stun", "dict")
    stun_ip = body_rules.optional(stun, "ip", "str", "")
    if stun_ip and not host_port_ok(stun_ip) or len(stun_ip) > _ADDRESS_MAX:
        raise body_rules.range_error("stun", "ip: an IPv4 address or host name")
    stun_port = body_rules.optional(stun, "port", "int", 3478)
    if not 0 <= stun_port <= 65535:
        raise body_rules.range_error("stun", "port: 0..65535")
    return {
        "proxy": proxy,
        "realm": realm,
        "user": user,
        "password": password,
        "user_id": user_id,
        "transport": transport,
        "registration_interval": interval,
        "outbound": outbound,
        "stun": {"ip": stun_ip, "port": stun_port},
    }


def _checked_int(document, name, low, high):
    value = body_rules.require(document, name, "int")
    if not low <= value <= high:
        raise body_rules.range_error(name, "%d..%d" % (low, high))
    return value


def register(app, panel):
    settings = panel.settings

    async def dial_timeout(request):
        if request.method == "POST":
            document = read_object(request)
            present = [name for name in ("dial_timeout", "forwarding_timeout") if name in document]
            if not present:
                raise body_rules.BodyError("Wrong JSON body")
            current = settings.get(DIAL_TIMEOUT_SETTINGS, DIAL_TIMEOUT_DEFAULTS)
            if "dial_timeout" in document:
                current["dial_timeout"] = _checked_int(document, "dial_timeout", 5, 120)
            if "forwarding_timeout" in document:
                current["forwarding_timeout"] = _checked_int(document, "forwarding_timeout", 5, 60)
            settings.put(DIAL_TIMEOUT_SETTINGS, current)
            return ok()
        return answer(settings.get(DIAL_TIMEOUT_SETTINGS, DIAL_TIMEOUT_DEFAULTS))

    route(app, "/api/v1/device/call/dial/timeout", ["GET", "POST"])(dial_timeout)

    async def talk_timeout(request):
        if request.method == "POST":
            document = read_object(request)
            settings.put(
                TALK_TIMEOUT_SETTINGS,
                {"talk_timeout": _checked_int(document, "talk_timeout", 10, 600)},
            )
            return ok()
        return answer(settings.get(TALK_TIMEOUT_SETTINGS, TALK_TIMEOUT_DEFAULTS))

    route(app, "/api/v1/device/call/talk/timeout", ["GET", "POST"])(talk_timeout)

    async def sip_settings(request):
        stored = settings.get(SIP_SETTINGS, SIP_DEFAULTS)
        if request.method == "POST":
            new = validate_sip_settings(read_object(request), stored)
            settings.put(SIP_SETTINGS, new)
            panel.sip_changed()
            return ok()
        stored["password"] = PASSWORD_PLACEHOLDER
        return answer(stored)

    route(app, "/api/v1/device/sip/settings", ["GET", "POST"])(sip_settings)

    async def sip_enable(request):
        if request.method == "POST":
            document = read_object(request)
            enabled = body_rules.require(document, "sip_enable", "bool")
            stored = {"sip_enable": enabled}
            # Camdroid extras: accepted and stored; the re-registration policy is ours.
            if "is_reregister" in document:
                stored["is_reregister"] = body_rules.require(document, "is_reregister", "bool")
            if "reregister_time" in document:
                stored["reregister_time"] = body_rules.require(document, "reregister_time", "int")
            settings.put(SIP_ENABLE_SETTINGS, stored)
            panel.sip_changed()
            return ok()
        return answer(
            {"sip_enable": settings.get(SIP_ENABLE_SETTINGS, SIP_ENABLE_DEFAULTS)["sip_enable"]}
        )

    route(app, "/api/v1/device/sip/enable", ["GET", "POST"])(sip_enable)

    async def sip_status(request):
        return answer(panel.sip_status())

    route(app, "/api/v1/sip/status", ["GET"])(sip_status)
    route(app, "/api/v1/device/sip/status", ["GET"])(sip_status)

    async def info(request):
        return answer(panel.device_info())

    route(app, "/api/info", ["GET"])(info)

    async def reboot(request):
        panel.request_reboot()
        return ok()

    route(app, "/api/v1/system/reboot/run", ["GET"])(reboot)

    async def factory_reset(request):
        panel.factory_reset()
        return ok()

    route(app, "/api/v1/system/settings/default", ["POST"])(factory_reset)
