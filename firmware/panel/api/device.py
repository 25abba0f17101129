# Device routes of the BAS-IP contract: call timing (4), SIP settings, enable and
# status (5), device info (7.1), reboot and factory reset (8).
from panel.api.common import answer, ok, read_object, route
from panel.core import body as body_rules
from panel.services import settings as schema


def register(app, services):
    settings = services.settings
    sip = services.sip

    async def dial_timeout(request):
        if request.method == "POST":
            document = read_object(request)
            present = [name for name in ("dial_timeout", "forwarding_timeout") if name in document]
            if not present:
                raise body_rules.BodyError("Wrong JSON body")
            current = settings.read(schema.DIAL_TIMEOUT)
            if "dial_timeout" in document:
                current["dial_timeout"] = schema.checked_int(
                    document, "dial_timeout", schema.DIAL_TIMEOUT_RANGE
                )
            if "forwarding_timeout" in document:
                current["forwarding_timeout"] = schema.checked_int(
                    document, "forwarding_timeout", schema.FORWARDING_TIMEOUT_RANGE
                )
            settings.write(schema.DIAL_TIMEOUT, current)
            return ok()
        return answer(settings.read(schema.DIAL_TIMEOUT))

    route(app, "/api/v1/device/call/dial/timeout", ["GET", "POST"])(dial_timeout)

    async def talk_timeout(request):
        if request.method == "POST":
            document = read_object(request)
            seconds = schema.checked_int(document, "talk_timeout", schema.TALK_TIMEOUT_RANGE)
            settings.write(schema.TALK_TIMEOUT, {"talk_timeout": seconds})
            return ok()
        return answer(settings.read(schema.TALK_TIMEOUT))

    route(app, "/api/v1/device/call/talk/timeout", ["GET", "POST"])(talk_timeout)

    async def sip_settings(request):
        stored = settings.sip_account()
        if request.method == "POST":
            new = schema.check_sip_account(read_object(request), stored)
            settings.write(schema.SIP_ACCOUNT, new)
            sip.changed()
            return ok()
        stored["password"] = schema.SIP_PASSWORD_PLACEHOLDER
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
            sip.set_enabled(stored)
            return ok()
        return answer({"sip_enable": sip.enabled()})

    route(app, "/api/v1/device/sip/enable", ["GET", "POST"])(sip_enable)

    async def sip_status(request):
        return answer(sip.status())

    route(app, "/api/v1/sip/status", ["GET"])(sip_status)
    route(app, "/api/v1/device/sip/status", ["GET"])(sip_status)

    async def info(request):
        return answer(services.system.device_info())

    route(app, "/api/info", ["GET"])(info)

    async def reboot(request):
        services.system.request_reboot()
        return ok()

    route(app, "/api/v1/system/reboot/run", ["GET"])(reboot)

    async def health(request):
        # Not in the vendor's API: the panel's own health (stores, damage,
        # free flash, account, SIP, adapter), behind the same login.
        return answer(services.system.health())

    route(app, "/api/v1/system/health", ["GET"])(health)

    async def factory_reset(request):
        services.system.factory_reset()
        return ok()

    route(app, "/api/v1/system/settings/default", ["POST"])(factory_reset)
