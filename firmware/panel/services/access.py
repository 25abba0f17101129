# Access identifiers (BAS-IP contract 8.1): personal codes and cards, kept in
# the store under "i:<uid>", and the rules of what a valid identifier is.
#
# The keypad's personal codes and the API's identifier routes both go through
# this service; the lock each identifier opens is part of the identifier.
import json

from panel.core import body as body_rules

_PREFIX = "i:"
_STOP = "i;"
# Longest personal code the keypad takes, and longest card number (vendor UI).
_PERSONAL_CODE_MAX = 8
_CARD_MAX = 32
LOCK_CHOICES = ("first", "second", "all")
# The locks an identifier's "lock" field opens.
_LOCKS_OF = {"first": (1,), "second": (2,), "all": (1, 2)}

PERSONAL_CODE = "personal_code"


def _key(uid):
    return "%s%010d" % (_PREFIX, uid)


def check_identifier(document):
    """The identifier to store, from a request body, or BodyError."""
    number = body_rules.require(document, "identifier_number", "str")
    kind = body_rules.require(document, "identifier_type", "str")
    owner = body_rules.optional(document, "identifier_owner", "dict", {"name": "", "type": ""})
    lock = body_rules.optional(document, "lock", "str", "all")
    valid = body_rules.optional(document, "valid", "dict", {})
    if not kind:
        raise body_rules.range_error("identifier_type", "personal_code, card, ...")
    if kind == PERSONAL_CODE:
        if not 1 <= len(number) <= _PERSONAL_CODE_MAX or not number.isdigit():
            raise body_rules.range_error("identifier_number", "1..8 digits")
    elif not 1 <= len(number) <= _CARD_MAX:
        raise body_rules.range_error("identifier_number", "1..32 characters")
    for name in ("name", "type"):
        if not isinstance(owner.get(name, ""), str):
            raise body_rules.wrong_type("identifier_owner")
    if lock not in LOCK_CHOICES:
        raise body_rules.range_error("lock", "first, second or all")
    return {
        "identifier_number": number,
        "identifier_type": kind,
        "identifier_owner": {"name": owner.get("name", ""), "type": owner.get("type", "")},
        "lock": lock,
        "valid": valid,
    }


def locks_of(item):
    """The lock numbers an identifier opens."""
    return _LOCKS_OF.get(item.get("lock"), (1, 2))


class Identifiers:
    """Access identifiers in the store, at most `limit` of them."""

    def __init__(self, store, limit):
        self._store = store
        self._limit = limit

    def scan(self, reverse=False):
        for _, value in self._store.scan(_PREFIX, _STOP, reverse=reverse):
            yield json.loads(value)

    def get(self, uid):
        """The identifier stored under `uid`, or None."""
        if type(uid) is not int or uid < 1:
            return None
        raw = self._store.get(_key(uid))
        return json.loads(raw) if raw is not None else None

    def find(self, identifier_type, number):
        """The first identifier of that type and number, or None."""
        for item in self.scan():
            if item["identifier_type"] == identifier_type and item["identifier_number"] == number:
                return item
        return None

    def find_personal_code(self, code):
        for item in self.scan():
            if item["identifier_type"] == PERSONAL_CODE and item["identifier_number"] == code:
                return item
        return None

    def add(self, item):
        """Store a checked identifier (check_identifier); returns its new uid."""
        if (
            item["identifier_type"] == PERSONAL_CODE
            and self.find_personal_code(item["identifier_number"]) is not None
        ):
            raise body_rules.BodyError("Identifier already exists")
        if self._store.count(_PREFIX, _STOP) >= self._limit:
            raise body_rules.range_error("identifier_number", "Identifier limit reached")
        last = 0
        for key in self._store.keys(_PREFIX, _STOP, reverse=True):
            last = int(key[len(_PREFIX) :])
            break
        uid = last + 1
        item["identifier_uid"] = uid
        self._store.put(_key(uid), json.dumps(item).encode())
        return uid

    def delete_many(self, uids):
        changes = []
        for uid in uids:
            if uid >= 1 and self._store.get(_key(uid)) is not None:
                changes.append((_key(uid), None))
        # Not atomic in the contract: store-sized batches.
        self._store.write_in_batches(changes)
