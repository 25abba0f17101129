# Every panel setting, declared once: its store name, its defaults and the
# checks of its values; and the Settings service that reads and writes them.
#
# Settings are small JSON documents in the store under "s:<name>". Every GET of
# the BAS-IP API answers with every field from the first boot on (spec section
# 8, [COMPAT]), so a document is always read through its defaults: stored
# fields override, missing ones come from the declaration.
#
# Routes and the call engine read settings through the typed accessors of
# Settings (settings.sip_enabled(), settings.lock(1), ...); no module types a
# setting's store name or default anywhere else.
import json

from panel.core import body as body_rules
from panel.core import incoming, routing, schedule

_PREFIX = "s:"


class Setting:
    """One declared setting: store name and the defaults every read merges.

    A stored field replaces its default whole; with nested=True (the echo
    settings of section 8) a stored object is merged key by key into the
    default object, so a partial POST of it keeps the other keys."""

    def __init__(self, name, defaults, nested=False, isolated=False):
        self.name = name
        self.defaults = defaults
        self.nested = nested
        # Kept in the board's account store (a store of its own, so damage
        # to the rules' files cannot reach it) when the board has one.
        self.isolated = isolated


# -- call timing (BAS-IP 4) ---------------------------------------------------
DIAL_TIMEOUT = Setting("call_dial_timeout", {"dial_timeout": 45, "forwarding_timeout": 20})
TALK_TIMEOUT = Setting("call_talk_timeout", {"talk_timeout": 90})
# [CHOICE] ranges of spec 4.1 and 4.2, seconds.
DIAL_TIMEOUT_RANGE = (5, 120)
FORWARDING_TIMEOUT_RANGE = (5, 60)
TALK_TIMEOUT_RANGE = (10, 600)

# -- forwarding (BAS-IP 3.4) --------------------------------------------------
MODE_ALL_AT_ONCE = "all_at_once"
MODE_ONE_BY_ONE = "one_by_one"
FORWARD_MODES = (MODE_ALL_AT_ONCE, MODE_ONE_BY_ONE)
FORWARD_MODE = Setting("forward_mode", {"forward_mode": MODE_ALL_AT_ONCE})

# -- SIP (BAS-IP 5) -----------------------------------------------------------
# What a fresh panel answers (contract 8, defaults [COMPAT]).
SIP_ACCOUNT = Setting(
    "sip_settings",
    {
        "proxy": "",
        "realm": "",
        "user": "",
        "password": "",
        "user_id": "",
        "transport": "udp",
        "registration_interval": 30,
        "outbound": "",
        "stun": {"ip": "", "port": 3478},
    },
)
SIP_ENABLE = Setting("sip_enable", {"sip_enable": False})
# GET never shows the password (vendor rule); posting it back keeps the stored one.
SIP_PASSWORD_PLACEHOLDER = "WebPass"
SIP_TRANSPORTS = ("udp", "tcp", "tls")
_SIP_FIELD_MAX = 31  # user, password, user_id
_SIP_ADDRESS_MAX = 63  # proxy, realm, outbound, stun ip
SIP_INTERVAL_RANGE = (30, 900)

# [D] Where the CA certificates for SIP over TLS are (a PEM file on the
# panel's file system; docs/incoming-calls.md). Its own document, so the
# BAS-IP sip/settings answer keeps exactly its contract's fields; written by
# POST /api/v1/device/sip/tls.
SIP_TLS = Setting("sip_tls", {"ca_file": "", "verify": True})
_CA_FILE_MAX = 127

# [D] Incoming SIP calls (docs/incoming-calls.md): off by default; callers on
# `allow` (core.incoming: IPv4 addresses, sip:user@host, user names) are
# answered after `answer_after_s` of ringing, everyone else gets 403.
INCOMING_CALLS = Setting("incoming_calls", {"enabled": False, "allow": [], "answer_after_s": 3})

# -- doors (BAS-IP 6) ---------------------------------------------------------
LOCKS = (1, 2)
_LOCK_SETTINGS = {
    1: Setting("lock_1", {"dtmf_code": "1", "lock_timeout": 5}),
    2: Setting("lock_2", {"dtmf_code": "2", "lock_timeout": 5}),
}
LOCK_TIMEOUT_RANGE = (1, 40)
_DTMF_CHARS = "0123456789*#ABCD"
_DTMF_CODE_MAX = 4

# -- the admin account (BAS-IP 2) ---------------------------------------------
ACCOUNT = Setting("account", {}, isolated=True)

# -- time (BAS-IP 8) ----------------------------------------------------------
TIMEZONE = Setting("timezone", {"timezone": "UTC\u00b100:00"})

# -- redirect rules (redirectrules-api.md 2.6, 5.2) ---------------------------
# work_hours (the "work" and "non-work" schedules), response_map (SIP final
# code -> outcome) and ring_timeout_s, in one document. response_map keys are
# SIP final codes as three-digit strings ("486") or classes "4xx", "5xx",
# "6xx"; an exact code wins over its class; codes in neither give
# "unavailable". Values: busy, reject, noanswer, unavailable.
REDIRECT = Setting(
    "redirect",
    {
        "work_hours": schedule.default_work_hours(),
        "response_map": dict(routing.DEFAULT_RESPONSE_MAP),
        "ring_timeout_s": 30,
    },
)
RING_TIMEOUT_RANGE = (5, 120)
# Limits of a stored document (each checked before it is copied).
_WORK_PERIODS_MAX = 16
_RESPONSE_MAP_MAX = 64

# -- store-and-echo settings (BAS-IP 8) ---------------------------------------
LANGUAGE = Setting("language", {})
PANEL_MODE = Setting("panel_mode", {"current_panel_mode": "Unit"})
PANEL_MODES = ("Wall", "Unit")

# Where the event lines of section 10 go (services.events reads it through
# SYSLOG). `transport` "http" (default) or "udp" [CHOICE, 10.1].
SYSLOG_FIELDS = {
    "enabled": ("bool", False),
    "server": ("dict", {"server": "", "port": 514, "severity": 6}),
    "tag": ("str", ""),
    "transport": ("str", "http"),
}

# Management servers write these during provisioning and read them back on
# every sync; their behaviour is out of the contract, their values are checked
# for type only. path -> (settings name, GET allowed, {field: (kind, default)});
# a default of None means "stored only": not answered when absent.
ECHO_SETTINGS = (
    (
        "/api/v1/device/call/concierge",
        "concierge",
        False,
        {"number_enable": ("bool", False), "number_url": ("str", "")},
    ),
    (
        "/api/v1/device/settings/video",
        "video",
        False,
        {"fps": ("int", None), "video_resolution": ("str", None)},
    ),
    (
        "/api/v1/device/settings/payload",
        "video_payload",
        False,
        {"payload_codec_h264": ("int", None)},
    ),
    (
        "/api/v1/device/settings/rtsp",
        "video_rtsp",
        False,
        {
            "username": ("str", None),
            "password": ("str", None),
            "is_audio_enabled": ("bool", None),
            "enable": ("bool", None),
        },
    ),
    (
        "/api/v1/access/door/sensor",
        "door_sensor",
        False,
        {"enable": ("bool", None), "mode": ("str", None), "opening_delay": ("int", None)},
    ),
    (
        "/api/v1/access/general/wiegand/type",
        "wiegand_type",
        False,
        {"type": ("str", None), "identifier_representation": ("str", None)},
    ),
    ("/api/v1/device/settings/volume", "volume", True, {"volume_level": ("int", 5)}),
    ("/api/v1/device/settings/mic", "mic", True, {"mic_gain_level": ("int", 5)}),
    (
        "/api/v1/access/general/unlock/input/code",
        "input_code",
        False,
        {"input_code_enable": ("bool", False), "input_code_number": ("text", "")},
    ),
    (
        "/api/v1/access/freeaccess",
        "freeaccess",
        True,
        {"enable": ("bool", False), "days": ("list", [])},
    ),
    (
        "/api/v1/network/ntp",
        "ntp",
        True,
        {"custom_server": ("str", ""), "enabled": ("bool", False), "use_default": ("bool", True)},
    ),
    ("/api/v1/syslog/settings", "syslog", True, SYSLOG_FIELDS),
    ("/api/v1/web/ssl", "web_ssl", False, {"is_enabled": ("bool", False)}),
)


def echo_setting(name, fields):
    """The Setting of an echo route, its defaults the fields that have one."""
    defaults = {}
    for field in fields:
        default = fields[field][1]
        if default is not None:
            defaults[field] = default
    return Setting(name, defaults, nested=True)


SYSLOG = echo_setting("syslog", SYSLOG_FIELDS)


def _fresh(value):
    # A copy of a default: callers change what they read and must not change
    # the declaration (defaults are small: a few lists and objects).
    if isinstance(value, dict):
        return {key: _fresh(value[key]) for key in value}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


def _merge(defaults, stored, nested):
    """Stored values over defaults, so a GET always has every listed field;
    with `nested`, objects are merged key by key (a partial POST of one)."""
    result = {}
    for key in defaults:
        result[key] = _fresh(defaults[key])
    for key in stored:
        if nested and isinstance(result.get(key), dict) and isinstance(stored[key], dict):
            result[key] = _merge(result[key], stored[key], nested)
        else:
            result[key] = stored[key]
    return result


class Settings:
    """Reads and writes declared settings; durable on return (the store fsyncs)."""

    def __init__(self, store, account_store=None):
        self._store = store
        # Isolated settings (the admin account) live here; the main store
        # before the board had one, so an older panel keeps its password.
        self._account_store = account_store or store

    def _raw(self, setting):
        key = _PREFIX + setting.name
        if setting.isolated:
            raw = self._account_store.get(key)
            if raw is not None or self._account_store is self._store:
                return raw
        return self._store.get(key)

    # -- generic, by declaration -----------------------------------------------
    def read(self, setting):
        raw = self._raw(setting)
        stored = json.loads(raw) if raw is not None else {}
        return _merge(setting.defaults, stored, setting.nested)

    def read_stored(self, setting):
        """Only what was stored, without defaults ({} when nothing was)."""
        raw = self._raw(setting)
        return json.loads(raw) if raw is not None else {}

    def write(self, setting, document):
        store = self._account_store if setting.isolated else self._store
        store.put(_PREFIX + setting.name, json.dumps(document).encode())

    # -- typed accessors ---------------------------------------------------------
    def dial_timeouts(self):
        """(dial_timeout_s, forwarding_timeout_s)."""
        document = self.read(DIAL_TIMEOUT)
        return document["dial_timeout"], document["forwarding_timeout"]

    def talk_timeout(self):
        return self.read(TALK_TIMEOUT)["talk_timeout"]

    def forward_mode(self):
        return self.read(FORWARD_MODE)["forward_mode"]

    def sip_account(self):
        return self.read(SIP_ACCOUNT)

    def sip_enabled(self):
        return self.read(SIP_ENABLE)["sip_enable"]

    def sip_tls(self):
        """{"ca_file", "verify"} for SIP over TLS."""
        return self.read(SIP_TLS)

    def incoming_calls(self):
        """{"enabled", "allow", "answer_after_s"} (docs/incoming-calls.md)."""
        return self.read(INCOMING_CALLS)

    def lock(self, number):
        """{"dtmf_code", "lock_timeout"} of lock 1 or 2."""
        return self.read(_LOCK_SETTINGS[number])

    def write_lock(self, number, document):
        self.write(_LOCK_SETTINGS[number], document)

    def lock_codes(self):
        codes = {}
        for number in LOCKS:
            codes[number] = self.lock(number)["dtmf_code"]
        return codes

    def password_md5(self):
        """The admin password's stored MD5, or None (factory password)."""
        return self.read(ACCOUNT).get("password_md5")

    def timezone_text(self):
        return self.read(TIMEZONE)["timezone"]

    def utc_offset_minutes(self):
        """The configured timezone as minutes east of UTC."""
        return schedule.parse_utc_offset(self.timezone_text()) or 0


# -- checks ---------------------------------------------------------------------


def checked_int(document, name, value_range):
    """document[name], an integer within value_range (low, high), or BodyError."""
    value = body_rules.require(document, name, "int")
    if not value_range[0] <= value <= value_range[1]:
        raise body_rules.range_error(name, "%d..%d" % value_range)
    return value


def timezone_text(offset_minutes):
    """The vendor's way of writing an offset: UTC+03:00, UTC-05:30, UTC±00:00."""
    if offset_minutes == 0:
        return "UTC\u00b100:00"
    sign = "+" if offset_minutes > 0 else "-"
    offset_minutes = abs(offset_minutes)
    return "UTC%s%02d:%02d" % (sign, offset_minutes // 60, offset_minutes % 60)


def dtmf_code_ok(code):
    if not 1 <= len(code) <= _DTMF_CODE_MAX:
        return False
    for char in code:
        if char not in _DTMF_CHARS:
            return False
    return True


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


def check_sip_account(document, stored):
    """The SIP settings to store, checked field by field in the contract's order."""
    proxy = _checked_text(document, "proxy", 1, _SIP_ADDRESS_MAX)
    if not proxy.startswith("sip:") or not host_port_ok(proxy[4:]):
        raise body_rules.range_error("proxy", "sip:host or sip:host:port")
    realm = _checked_text(document, "realm", 1, _SIP_ADDRESS_MAX)
    if not host_port_ok(realm):
        raise body_rules.range_error("realm", "host or host:port")
    user = _checked_text(document, "user", 1, _SIP_FIELD_MAX)
    password = _checked_text(document, "password", 1, _SIP_FIELD_MAX)
    if password == SIP_PASSWORD_PLACEHOLDER and stored.get("password"):
        password = stored["password"]
    user_id = _checked_text(document, "user_id", 0, _SIP_FIELD_MAX, required=False)
    transport = body_rules.optional(document, "transport", "str", "udp")
    if transport not in SIP_TRANSPORTS:
        raise body_rules.range_error("transport", "udp, tcp or tls")
    interval = body_rules.optional(document, "registration_interval", "int", 30)
    if not SIP_INTERVAL_RANGE[0] <= interval <= SIP_INTERVAL_RANGE[1]:
        raise body_rules.range_error("registration_interval", "%d..%d" % SIP_INTERVAL_RANGE)
    outbound = body_rules.optional(document, "outbound", "str", "")
    if len(outbound) > _SIP_ADDRESS_MAX:
        raise body_rules.range_error("outbound", "0..%d characters" % _SIP_ADDRESS_MAX)
    stun = body_rules.require(document, "stun", "dict")
    stun_ip = body_rules.optional(stun, "ip", "str", "")
    if stun_ip and not host_port_ok(stun_ip) or len(stun_ip) > _SIP_ADDRESS_MAX:
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


def check_incoming_calls(document, stored):
    """The incoming-call settings to store: the stored ones with the fields
    the document has, each checked; at least one field."""
    present = [name for name in ("enabled", "allow", "answer_after_s") if name in document]
    if not present:
        raise body_rules.BodyError("Wrong JSON body")
    result = dict(stored)
    if "enabled" in document:
        result["enabled"] = body_rules.require(document, "enabled", "bool")
    if "allow" in document:
        allow = body_rules.require(document, "allow", "list")
        if len(allow) > incoming.ALLOW_MAX:
            raise body_rules.range_error("allow", "At most %d entries" % incoming.ALLOW_MAX)
        checked = []
        for index in range(len(allow)):
            entry = allow[index]
            name = "allow[%d]" % index
            if type(entry) is not str:
                raise body_rules.wrong_type(name)
            if incoming.entry_kind(entry) is None:
                raise body_rules.range_error(name, "an IPv4 address, sip:user@host or a user name")
            if entry not in checked:
                checked.append(entry)
        result["allow"] = checked
    if "answer_after_s" in document:
        result["answer_after_s"] = checked_int(
            document, "answer_after_s", incoming.ANSWER_AFTER_RANGE
        )
    return result


def check_sip_tls(document, stored):
    """The TLS settings to store (at least one field of ca_file, verify)."""
    if "ca_file" not in document and "verify" not in document:
        raise body_rules.BodyError("Wrong JSON body")
    result = dict(stored)
    if "ca_file" in document:
        result["ca_file"] = _checked_text(document, "ca_file", 0, _CA_FILE_MAX)
    if "verify" in document:
        result["verify"] = body_rules.require(document, "verify", "bool")
    return result


def _check_work_hours(value):
    if type(value) is not list:
        raise body_rules.wrong_type("work_hours")
    if len(value) > _WORK_PERIODS_MAX:
        raise body_rules.range_error("work_hours", "At most %d periods" % _WORK_PERIODS_MAX)
    periods = []
    for index in range(len(value)):
        period = value[index]
        name = "work_hours[%d]" % index
        if type(period) is not dict:
            raise body_rules.wrong_type(name)
        for key in schedule.PERIOD_KEYS:
            if key not in period:
                raise body_rules.no_value("%s.%s" % (name, key))
            if type(period[key]) is not int:
                raise body_rules.wrong_type(name + "." + key)
        problem = schedule.period_value_problem(period)
        if problem is not None:
            key, details = problem
            if key:
                raise body_rules.range_error(
                    name + "." + key, "%d..%d" % (details["min"], details["max"])
                )
            raise body_rules.range_error(name, "Empty period")
        periods.append(
            {
                "daystart": period["daystart"],
                "timestart": period["timestart"],
                "daystop": period["daystop"],
                "timestop": period["timestop"],
            }
        )
    return periods


def _is_response_key(text):
    if len(text) != 3 or text[0] not in "456":
        return False
    if text[1:] == "xx":
        return True
    return "0" <= text[1] <= "9" and "0" <= text[2] <= "9"


def _check_response_map(value):
    if type(value) is not dict:
        raise body_rules.wrong_type("response_map")
    if len(value) > _RESPONSE_MAP_MAX:
        raise body_rules.range_error("response_map", "At most %d entries" % _RESPONSE_MAP_MAX)
    checked = {}
    for key in sorted(value):
        if not _is_response_key(key):
            raise body_rules.range_error("response_map", "Unknown SIP code %s" % key)
        outcome = value[key]
        if type(outcome) is not str:
            raise body_rules.wrong_type("response_map." + key)
        if outcome not in routing.OUTCOMES:
            raise body_rules.range_error(
                "response_map." + key, "busy, reject, noanswer or unavailable"
            )
        checked[key] = outcome
    return checked


def _check_ring_timeout(value):
    if type(value) is not int:
        raise body_rules.wrong_type("ring_timeout_s")
    if value < RING_TIMEOUT_RANGE[0] or value > RING_TIMEOUT_RANGE[1]:
        raise body_rules.range_error(
            "ring_timeout_s", "%d..%d" % (RING_TIMEOUT_RANGE[0], RING_TIMEOUT_RANGE[1])
        )
    return value


# Every field of REDIRECT: (name, check). The check returns the value to store.
REDIRECT_FIELDS = (
    ("work_hours", _check_work_hours),
    ("response_map", _check_response_map),
    ("ring_timeout_s", _check_ring_timeout),
)
