# The store-and-echo settings of BAS-IP contract section 8 (declared in
# services.settings.ECHO_SETTINGS), the timezone, language and panel mode:
# management servers write them during provisioning and read them back on every
# sync, so each GET answers with every listed field from the first boot on.
from panel.api.common import ApiError, answer, ok, read_object, route
from panel.core import body as body_rules
from panel.core import schedule
from panel.services import settings as schema


def _field_value(document, field, kind):
    # "text": a string, or an integer stored as its digits: SmartYard's driver
    # posts input_code_number as a JSON number though the field is a string
    # [COMPAT] (section 8: every provisioning call answers 200).
    if kind == "text":
        value = document[field]
        if type(value) is int:
            return str(value)
        return body_rules.require(document, field, "str")
    return body_rules.require(document, field, kind)


def register(app, services):
    settings = services.settings
    # One handler for every echo route, its declaration found by the path:
    # a board holds one dict entry per route instead of a closure and a
    # Setting each (the Setting is made per request; it is three fields).
    declarations = {}
    for declaration in schema.ECHO_SETTINGS:
        declarations[declaration[0]] = declaration

    async def echo(request):
        _, name, _, fields = declarations[request.path]
        setting = schema.echo_setting(name, fields)
        if request.method == "POST":
            document = read_object(request)
            current = settings.read_stored(setting)
            for field in fields:
                if field in document:
                    current[field] = _field_value(document, field, fields[field][0])
            settings.write(setting, current)
            return ok()
        return answer(settings.read(setting))

    for path, _, get_allowed, _ in schema.ECHO_SETTINGS:
        route(app, path, ("GET", "POST") if get_allowed else ("POST",))(echo)

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
            settings.write(schema.TIMEZONE, {"timezone": schema.timezone_text(offset)})
            return ok()
        text = settings.timezone_text()
        return answer({"timezone": text, "current_timezone": text})

    route(app, "/api/v1/network/timezone", ["GET", "POST"])(timezone)

    async def language(request):
        value = request.args.get("language")
        if value is None:
            document = read_object(request)
            value = body_rules.require(document, "language", "str")
        settings.write(schema.LANGUAGE, {"language": value})
        return ok()

    route(app, "/api/v1/device/language", ["POST"])(language)

    async def current_mode(request):
        return answer(settings.read(schema.PANEL_MODE))

    route(app, "/api/v1/device/mode/current", ["GET"])(current_mode)

    def set_mode(mode):
        async def handler(request):
            settings.write(schema.PANEL_MODE, {"current_panel_mode": mode})
            return ok()

        return handler

    route(app, "/api/v1/device/mode/wall", ["POST"])(set_mode("Wall"))
    route(app, "/api/v1/device/mode/unit", ["POST"])(set_mode("Unit"))

    async def syslog_status(request):
        # [CHOICE] the event queue of spec 10.1: lines waiting, the counters
        # (events_dropped: lines the full queue lost, ever), the last failure.
        return answer(services.events.status())

    route(app, "/api/v1/syslog/status", ["GET"])(syslog_status)

    async def photo(request):
        raise ApiError(404, "No camera")

    route(app, "/api/v1/photo/file", ["GET"])(photo)
