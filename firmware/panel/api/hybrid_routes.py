# The hybrid adapter's state and a test ring for installers (not in the BAS-IP
# contract; same authentication and error format as its routes).
#   GET  /api/v1/hybrid/state                  adapter presence, version, lines
#   POST /api/v1/hybrid/lines/<line>/ring      ring a handset ("laskomex:10")
#   POST /api/v1/hybrid/lines/<line>/stop      stop ringing it
# When the adapter is absent or does not acknowledge, the answer is 409 (the
# panel's state does not allow it now): the contract's answers have no 5xx.
from panel.api.common import ApiError, answer, ok, route
from panel.core import numbers


def _line(text):
    line = numbers.destination_line(text)
    if line is None:
        raise ApiError(400, "Wrong number")
    return line


def register(app, services):
    async def state(request):
        if services.adapter is None:
            return answer(
                {
                    "present": False,
                    "version": None,
                    "capabilities": None,
                    "lines": [],
                    "configured": False,
                }
            )
        described = services.adapter.describe()
        described["configured"] = True
        return answer(described)

    route(app, "/api/v1/hybrid/state", ["GET"])(state)

    def command(name):
        async def handler(request, line):
            target = _line(line)
            adapter = services.adapter
            if adapter is None or not adapter.present:
                raise ApiError(409, "Hybrid adapter unavailable")
            done = await getattr(adapter, name)(target)
            if not done:
                raise ApiError(409, "Hybrid adapter did not acknowledge")
            return ok()

        return handler

    route(app, "/api/v1/hybrid/lines/<line>/ring", ["POST"])(command("ring"))
    route(app, "/api/v1/hybrid/lines/<line>/stop", ["POST"])(command("stop_ring"))
