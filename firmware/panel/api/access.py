# Door locks (BAS-IP contract 6) and access identifiers (8.1): the routes. The
# locks' settings are declared in services.settings, the identifiers are
# services.access, openings go through services.doors.
from panel.api import listing
from panel.api.common import ApiError, answer, ok, read_object, route
from panel.core import body as body_rules
from panel.services import settings as schema
from panel.services.access import check_identifier

# Longest remote opening (unlockTime), seconds: one week.
_MAX_UNLOCK_SECONDS = 604800

IDENTIFIER_FIELDS = [
    ("identifier_type", "string", ["eq", "nq"]),
    ("identifier_number", "string", ["eq", "nq"]),
    ("identifier_owner.name", "string", ["eq", "nq"]),
]


def _lock_number(text, allowed):
    if text not in allowed:
        raise ApiError(400, "Wrong lock-number")
    return int(text)


def register(app, services):
    settings = services.settings

    async def dtmf_code(request, lock):
        number = max(1, _lock_number(lock, ("0", "1", "2")))  # 0 addresses lock 1
        current = settings.lock(number)
        if request.method == "POST":
            document = read_object(request)
            code = body_rules.require(document, "dtmf_code", "str")
            if not schema.dtmf_code_ok(code):
                raise ApiError(400, "Wrong DTMF value")
            other = settings.lock(3 - number)
            if other["dtmf_code"] == code:
                raise ApiError(400, "DTMF code is already in use")
            current["dtmf_code"] = code
            settings.write_lock(number, current)
            return ok()
        return answer({"dtmf_code": current["dtmf_code"]})

    route(app, "/api/v1/access/general/lock/dtmf/<lock>", ["GET", "POST"])(dtmf_code)

    async def lock_timeout(request, lock):
        number = _lock_number(lock, ("1", "2"))
        current = settings.lock(number)
        if request.method == "POST":
            document = read_object(request)
            seconds = body_rules.require(document, "lock_timeout", "int")
            if not schema.LOCK_TIMEOUT_RANGE[0] <= seconds <= schema.LOCK_TIMEOUT_RANGE[1]:
                raise body_rules.range_error("lock_timeout", "%d..%d" % schema.LOCK_TIMEOUT_RANGE)
            current["lock_timeout"] = seconds
            settings.write_lock(number, current)
            return ok()
        return answer({"lock_timeout": current["lock_timeout"]})

    route(app, "/api/v1/access/general/lock/timeout/<lock>", ["GET", "POST"])(lock_timeout)

    async def open_remote(request, lock):
        number = _lock_number(lock, ("0", "1", "2"))
        unlock_text = request.args.get("unlockTime")
        unlock_seconds = 0
        if unlock_text is not None:
            unlock_seconds = body_rules.parse_positive_int(unlock_text) if unlock_text != "0" else 0
            if unlock_seconds is None or unlock_seconds > _MAX_UNLOCK_SECONDS:
                raise body_rules.range_error("unlockTime", "0..604800")
        for lock_number in (1, 2) if number == 0 else (number,):
            services.doors.open(lock_number, unlock_seconds, "access_granted_by_api_call")
        return ok()

    route(app, "/api/v1/access/general/lock/open/remote/accepted/<lock>", ["GET", "POST"])(
        open_remote
    )

    identifiers = services.identifiers

    async def add_identifier(request):
        item = check_identifier(read_object(request))
        return answer({"uid": identifiers.add(item)})

    route(app, "/api/v1/access/identifier", ["POST"])(add_identifier)

    async def identifier_items(request):
        if request.method == "DELETE":
            document = read_object(request)
            uids = body_rules.require(document, "uid_items", "list")
            for uid in uids:
                if not isinstance(uid, int) or isinstance(uid, bool):
                    raise body_rules.wrong_type("uid_items")
            identifiers.delete_many(uids)
            return ok()
        return answer(
            listing.answer_list(
                request,
                identifiers.scan,
                IDENTIFIER_FIELDS,
                {},
                sortable=["identifier_uid"],
                default_sort="identifier_uid",
                default_ascending=True,
            )
        )

    route(app, "/api/v1/access/identifier/items", ["GET", "DELETE"])(identifier_items)
