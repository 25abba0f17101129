# Incoming SIP calls and SIP over TLS (docs/incoming-calls.md, our extension
# of BAS-IP section 5 [D]; errors in the BAS-IP family's shape):
#   GET|POST /api/v1/device/call/incoming   {"enabled", "allow", "answer_after_s"}
#   GET|POST /api/v1/device/sip/tls         {"ca_file", "verify"}
# A POST may carry some of the fields; each is checked, the rest kept.
from panel.api.common import answer, ok, read_object, route
from panel.services import settings as schema


def register(app, services):
    settings = services.settings
    sip = services.sip

    async def incoming_calls(request):
        if request.method == "POST":
            stored = settings.incoming_calls()
            settings.write(
                schema.INCOMING_CALLS, schema.check_incoming_calls(read_object(request), stored)
            )
            return ok()
        return answer(settings.incoming_calls())

    route(app, "/api/v1/device/call/incoming", ["GET", "POST"])(incoming_calls)

    async def sip_tls(request):
        if request.method == "POST":
            stored = settings.sip_tls()
            settings.write(schema.SIP_TLS, schema.check_sip_tls(read_object(request), stored))
            sip.changed()  # a TLS account connects again with the new CA
            return ok()
        return answer(settings.sip_tls())

    route(app, "/api/v1/device/sip/tls", ["GET", "POST"])(sip_tls)
