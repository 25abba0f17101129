# Door locks (BAS-IP contract 6) and access identifiers (8.1).
import json

from panel.api import listing
from panel.api.common import ApiError, answer, ok, read_object, route
from panel.core import body as body_rules

LOCK_SETTINGS = "lock_%d"
LOCK_DEFAULTS = {1: {"dtmf_code": "1", "lock_timeout": 5}, 2: {"dtmf_code": "2", "lock_timeout": 5}}
_DTMF_CHARS = "0123456789*#ABCD"
_MAX_UNLOCK_SECONDS = 604800
_IDENTIFIER_PREFIX = "i:"
_IDENTIFIER_STOP = "i;"
_PERSONAL_CODE_MAX = 8
_CARD_MAX = 32
_LOCK_CHOICES = ("first", "second", "all")

IDENTIFIER_FIELDS = [
    ("identifier_type", "string", ["eq", "nq"]),
    ("identifier_number", "string", ["eq", "nq"]),
    ("identifier_owner.name", "string", ["eq", "nq"]),
]


def lock_settings(settings, number):
    return settings.get(LOCK_SETTINGS % number, LOCK_DEFAULTS[number])


def _lock_number(text, allowed):
    if text not in allowed:
        raise ApiError(400, "Wrong lock-number")
    return int(text)


def dtmf_code_ok(code):
    if not 1 <= len(code) <= 4:
        return False
    for char in code:
        if char not in _DTMF_CHARS:
            return False
    return True


def _identifier_key(uid):
    return "%s%010d" % (_IDENTIFIER_PREFIX, uid)


class Identifiers:
    """Access identifiers in the store under "i:<uid>"."""

    def __init__(self, store, limit):
        self._store = store
        self._limit = limit

    def scan(self, reverse=False):
        for _, value in self._store.scan(_IDENTIFIER_PREFIX, _IDENTIFIER_STOP, reverse=reverse):
            yield json.loads(value)

    def find_personal_code(self, code):
        for item in self.scan():
            if item["identifier_type"] == "personal_code" and item["identifier_number"] == code:
                return item
        return None

    def add(self, item):
        if self._store.count(_IDENTIFIER_PREFIX, _IDENTIFIER_STOP) >= self._limit:
            raise body_rules.range_error("identifier_number", "Identifier limit reached")
        last = 0
        for key in self._store.keys(_IDENTIFIER_PREFIX, _IDENTIFIER_STOP, reverse=True):
            last = int(key[len(_IDENTIFIER_PREFIX) :])
            break
        uid = last + 1
        item["identifier_uid"] = uid
        self._store.put(_identifier_key(uid), json.dumps(item).encode())
        return uid

    def delete_many(self, uids):
        changes = []
        for uid in uids:
            if uid >= 1 and self._store.get(_identifier_key(uid)) is not None:
                changes.append((_identifier_key(uid), None))
        # Not atomic in the contract: store-sized batches.
        self._store.write_in_batches(changes)


def validate_identifier(document):
    number = body_rules.require(document, "identifier_number", "str")
    kind = body_rules.require(document, "identifier_type", "str")
    owner = body_rules.optional(document, "identifier_owner", "dict", {"name": "", "type": ""})
    lock = body_rules.optional(document, "lock", "str", "all")
    valid = body_rules.optional(document, "valid", "dict", {})
    if not kind:
        raise body_rules.range_error("identifier_type", "personal_code, card, ...")
    if kind == "personal_code":
        if not 1 <= len(number) <= _PERSONAL_CODE_MAX or not number.isdigit():
            raise body_rules.range_error("identifier_number", "1..8 digits")
    elif not 1 <= len(number) <= _CARD_MAX:
        raise body_rules.range_error("identifier_number", "1..32 characters")
    for name in ("name", "type"):
        if not isinstance(owner.get(name, ""), str):
            raise body_rules.wrong_type("identifier_owner")
    if lock not in _LOCK_CHOICES:
        raise body_rules.range_error("lock", "first, second or all")
    return {
        "identifier_number": number,
        "identifier_type": kind,
        "identifier_owner": {"name": owner.get("name", ""), "type": owner.get("type", "")},
        "lock": lock,
        "valid": valid,
    }


def register(app, panel):
    settings = panel.settings

    async def dtmf_code(request, lock):
        number = max(1, _lock_number(lock, ("0", "1", "2")))  # 0 addresses lock 1
        current = lock_settings(settings, number)
        if request.method == "POST":
            document = read_object(request)
            code = body_rules.require(document, "dtmf_code", "str")
            if not dtmf_code_ok(code):
                raise ApiError(400, "Wrong DTMF value")
            other = lock_settings(settings, 3 - number)
            if other["dtmf_code"] == code:
                raise ApiError(400, "DTMF code is already in use")
            current["dtmf_code"] = code
            settings.put(LOCK_SETTINGS % number, current)
            return ok()
        return answer({"dtmf_code": current["dtmf_code"]})

    route(app, "/api/v1/access/general/lock/dtmf/<lock>", ["GET", "POST"])(dtmf_code)

    async def lock_timeout(request, lock):
        number = _lock_number(lock, ("1", "2"))
        current = lock_settings(settings, number)
        if request.method == "POST":
            document = read_object(request)
            seconds = body_rules.require(document, "lock_timeout", "int")
            if not 1 <= seconds <= 40:
                raise body_rules.range_error("lock_timeout", "1..40")
            current["lock_timeout"] = seconds
            settings.put(LOCK_SETTINGS % number, current)
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
            panel.open_lock(lock_number, unlock_seconds, "access_granted_by_api_call")
        return ok()

    route(app, "/api/v1/access/general/lock/open/remote/accepted/<lock>", ["GET", "POST"])(
        open_remote
    )

    identifiers = panel.identifiers

    async def add_identifier(request):
        item = validate_identifier(read_object(request))
        if (
            item["identifier_type"] == "personal_code"
            and identifiers.find_personal_code(item["identifier_number"]) is not None
        ):
            raise ApiError(400, "Identifier already exists")
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
