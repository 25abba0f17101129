# The store-and-echo settings of BAS-IP contract section 8: management servers
# write them during provisioning and read them back on every sync, so each GET
# answers with every listed field from the first boot on. Their behaviour is
# out of the contract; their values are checked for type only.
from panel.api.common import ApiError, answer, ok, read_object, route
from panel.core import body as body_rules
from panel.core import schedule

TIMEZONE_SETTINGS = "timezone"
TIMEZONE_DEFAULTS = {"timezone": "UTC\u00b100:00"}

# path -> (settings name, GET allowed, {field: (kind, default)})
# A default of None means "stored only": not answered when absent.
ECHO_ROUTES = (
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
        "/api/v1/device/settings/video/payload",
        "video_payload",
        False,
        {"payload_codec_h264": ("int", None)},
    ),
    (
        "/api/v1/device/settings/video/rtsp",
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
        {"input_code_enable": ("bool", False), "input_code_number": ("str", "")},
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
    (
        "/api/v1/syslog/settings",
        "syslog",
        True,
        {
            "enabled": ("bool", False),
            "server": ("dict", {"server": "", "port": 514, "severity": 6}),
            "tag": ("str", ""),
        },
    ),
    ("/api/v1/web/ssl", "web_ssl", False, {"is_enabled": ("bool", False)}),
)


def _defaults(fields):
    result = {}
    for name in fields:
        default = fields[name][1]
        if default is not None:
            result[name] = default
    return result


def _merge(defaults, stored):
    """Stored values over defaults; nested objects merged key by key, so a GET
    always has every listed field even after a partial POST."""
    result = {}
    for key in defaults:
        result[key] = defaults[key]
    for key in stored:
        if isinstance(result.get(key), dict) and isinstance(stored[key], dict):
            result[key] = _merge(result[key], stored[key])
        else:
            result[key] = stored[key]
    return result


def make_echo_handler(panel, name, get_allowed, fields):
    defaults = _defaults(fields)

    async def handler(request):
        if request.method == "POST":
            document = read_object(request)
            current = panel.settings.get(name, {})
            for field in fields:
                if field in document:
                    current[field] = body_rules.require(document, field, fields[field][0])
            panel.settings.put(name, current)
            return ok()
        return answer(_merge(defaults, panel.settings.get(name, {})))

    return handler


def timezone_text(offset_minutes):
    """The vendor's way of writing an offset: UTC+03:00, UTC-05:30, UTC±00:00."""
    if offset_minutes == 0:
        return "UTC\u00b100:00"
    sign = "+" if offset_minutes > 0 else "-"
    offset_minutes = abs(offset_minutes)
    return "UTC%s%02d:%02d" % (sign, offset_minutes // 60, offset_minutes % 60)


def utc_offset_minutes(settings):
    """The configured timezone as minutes east of UTC."""
    text = settings.get(TIMEZONE_SETTINGS, TIMEZONE_DEFAULTS)["timezone"]
    return schedule.parse_utc_offset(text) or 0


def register(app, panel):
    settings = panel.settings
    for path, name, get_allowed, fields in ECHO_ROUTES:
        methods = ["GET", "POST"] if get_allowed else ["POST"]
        route(app, path, methods=methods)(make_echo_handler(panel, name, get_allowed, fields))

    async def timezone(request):
        if request.method == "POST":
            document = read_object(request)
            # One vendor model sends current_timezone instead of timezone.
            key = (
                "timezone"
                if "timezone" in document or "current_timezone" not in document
                else "current_timezone"
            )
            text = body_rules.require(document, key, "str")
            offset = schedule.parse_utc_offset(text)
            if offset is None:
                raise body_rules.range_error(key, "UTC+HH:MM or UTC-HH:MM")
            settings.put(TIMEZONE_SETTINGS, {"timezone": timezone_text(offset)})
            return ok()
        text = settings.get(TIMEZONE_SETTINGS, TIMEZONE_DEFAULTS)["timezone"]
        return answer({"timezone": text, "current_timezone": text})

    route(app, "/api/v1/network/timezone", ["GET", "POST"])(timezone)

    async def language(request):
        value = request.args.get("language")
        if value is None:
            document = read_object(request)
            value = body_rules.require(document, "language", "str")
        settings.put("language", {"language": value})
        return ok()

    route(app, "/api/v1/device/language", ["POST"])(language)

    async def current_mode(request):
        return answer(settings.get("panel_mode", {"current_panel_mode": "Unit"}))

    route(app, "/api/v1/device/mode/current", ["GET"])(current_mode)

    def set_mode(mode):
        async def handler(request):
            settings.put("panel_mode", {"current_panel_mode": mode})
            return ok()

        return handler

    route(app, "/api/v1/device/mode/wall", ["POST"])(set_mode("Wall"))
    route(app, "/api/v1/device/mode/unit", ["POST"])(set_mode("Unit"))

    async def photo(request):
        raise ApiError(404, "No camera")

    route(app, "/api/v1/photo/file", ["GET"])(photo)
