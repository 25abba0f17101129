"""HTTP API of the redirect rules: /rest/v1/uc/redirectrules (spec section 3).

Also the panel settings the rules depend on, under the BAS-IP family:
GET|POST /api/v1/redirect/settings (errors `{"error": "<text>"}`, basip 1.2).

Interface:
- register(app, panel): the routes (collection and item, one trailing slash
  ignored, method LOOKUP included, and the settings route).
- error_body(status, message=None, details=None): the section 4 error dict
  (the app uses it for 401/404/405/413/500 under /rest/).
- load_settings(panel) -> {"work_hours", "response_map", "ring_timeout_s"}.
- minute_of_week(panel) -> local minute of the week, or None (clock unset).
- iter_rules(store): every stored rule as a dict, streamed in key order.
- candidate_rules(store, called_number): routing records of the rules that
  may apply to that number, from the index (panel.services.redirect_index), for
  CallRouting.next_step.

Rules are stored one per key `r:<id>` as compact JSON; nothing keeps them in
RAM between requests. Each write also writes the rule's routing record
(panel.services.redirect_index) in the same atomic store batch. Writes are durable
(the store fsyncs) before answering.
"""

import json

from panel import compat
from panel.core import redirects, routing, schedule
from panel.core.body import JsonError, parse_json
from panel.core.redirects import RuleError, error_body
from panel.services import redirect_index
from panel.store import MAX_VALUE_BYTES

COLLECTION_PATH = "/rest/v1/uc/redirectrules"
SETTINGS_PATH = "/api/v1/redirect/settings"
SETTINGS_NAME = "redirect"
_KEY_PREFIX = "r:"
_KEY_STOP = "r;"  # the character after ":": a scan of every r:<id> key
# Further parts of a rule too big for one store value (see _records).
_PART_PREFIX = "r~"
# The store's value limit (panel.store.MAX_VALUE_BYTES) and the part size that
# leaves room for the "~<parts>~" header of the first part.
_VALUE_MAX = MAX_VALUE_BYTES
_PART_BYTES = MAX_VALUE_BYTES - 8
# errno of a full file system (the same number on LittleFS and POSIX).
_ENOSPC = 28
# Worst case of a checked rule is about 9 KB: 5 parts of 2 KB; 8 bounds it.
_MAX_PARTS = 8

# Request bodies of this API above this size get 413 (spec 3.1); the app's
# general limit (16 KiB) is checked before the body is read.
_BODY_MAX = 8192
BODY_LIMIT_BYTES = _BODY_MAX
# Default of limits.redirect_rules when the board does not say (spec 3.1).
_DEFAULT_RULE_LIMIT = 1024
# Lists longer than this are written to the client rule by rule (a generator
# body) instead of being joined in RAM first.
_INLINE_LIST_MAX = 16

# Settings limits (basip-style errors).
_WORK_PERIODS_MAX = 16
_RESPONSE_MAP_MAX = 64
_RING_TIMEOUT_MIN = 5
_RING_TIMEOUT_MAX = 120
DEFAULT_RING_TIMEOUT_S = 30

_JSON_TYPE = "application/json; charset=utf-8"


def _headers():
    return {"Content-Type": _JSON_TYPE}


def _answer(value, status=200):
    # Encoded here (not by microdot) for the contract's key order and the
    # exact Content-Type text.
    return redirects.encode(value), status, _headers()


def _error_answer(error):
    return _answer(error.body(), error.status)


def _key(rule_id):
    return _KEY_PREFIX + rule_id


def _part_key(rule_id, index):
    return "%s%s.%d" % (_PART_PREFIX, rule_id, index)


def _part_count(raw):
    """Number of store values a rule record spans (1 unless split)."""
    if raw[:1] != b"~":
        return 1
    return int(raw[1 : raw.index(b"~", 1)])


def _decode(store, rule_id, raw):
    """The rule dict of a main record, its parts fetched when it was split."""
    if raw[:1] != b"~":
        return json.loads(raw)
    end = raw.index(b"~", 1)
    pieces = [raw[end + 1 :]]
    for index in range(1, int(raw[1:end])):
        pieces.append(store.get(_part_key(rule_id, index)) or b"")
    return json.loads(b"".join(pieces))


def _records(rule):
    """The store values of a rule: its JSON, split when over one value.

    A legal rule reaches about 9 KB in the worst case (1,024-character comment
    of escaped control characters, 16 periods), beyond the store's value limit:
    the first part goes under r:<id> with a "~<parts>~" header, the others
    under r~<id>.<n>, outside the r: range that lists and counts scan.
    """
    data = redirects.encode(rule).encode()
    if len(data) <= _VALUE_MAX:
        return [data]
    pieces = [data[start : start + _PART_BYTES] for start in range(0, len(data), _PART_BYTES)]
    if len(pieces) > _MAX_PARTS:
        raise RuleError(500, "Internal error")  # cannot happen for a checked rule
    pieces[0] = ("~%d~" % len(pieces)).encode() + pieces[0]
    return pieces


def _write(store, rule, old_parts=0, old_rule=None):
    """Store a rule durably with its routing record, in one atomic batch.

    old_rule: the rule as stored before (PATCH), so that its index key is
    deleted in the same batch when filter_number moved it (redirect_index).
    """
    pieces = _records(rule)
    rule_id = rule["id"]
    try:
        changes = [(_key(rule_id), pieces[0])]
        for index in range(1, len(pieces)):
            changes.append((_part_key(rule_id, index), pieces[index]))
        for index in range(len(pieces), old_parts):
            changes.append((_part_key(rule_id, index), None))
        changes.extend(redirect_index.record_changes(store, rule, old_rule))
        store.write_batch(changes)
    except OSError as error:
        # The flash itself is full before the rule limit was reached: 507.
        # Any other I/O failure is a 500 (the app's handler answers it).
        number = getattr(error, "errno", None)
        if number is None and error.args:
            number = error.args[0]
        if number == _ENOSPC:
            raise RuleError(507, "Rule storage full")
        raise


def _remove(store, rule_id):
    """Delete a rule, its parts and its routing record; False when it did not exist."""
    raw = store.get(_key(rule_id))
    if raw is None:
        return False
    parts = _part_count(raw)
    changes = [(_key(rule_id), None)]
    for index in range(1, parts):
        changes.append((_part_key(rule_id, index), None))
    changes.extend(redirect_index.record_changes(store, None, _decode(store, rule_id, raw)))
    store.write_batch(changes)
    return True


def iter_rules(store):
    """Every stored rule (dict), in key (id) order, one at a time."""
    for key, raw in store.scan(_KEY_PREFIX, _KEY_STOP):
        yield _decode(store, key[len(_KEY_PREFIX) :], raw)


def _rule_limit(panel):
    try:
        return panel.board["limits"]["redirect_rules"]
    except (KeyError, TypeError):
        return _DEFAULT_RULE_LIMIT


def _now(panel):
    # Rules created while the clock is unset get the epoch as their time: they
    # still sort, and a later edit gives them a real lwt.
    now = panel.clock.now()
    return 0 if now is None else now


def _read_json_body(request, expected):
    """The parsed body, after the size, media-type and parse checks."""
    body = request.body or b""
    if request.content_length > _BODY_MAX or len(body) > _BODY_MAX:
        raise RuleError(413, "Request body too large", {"limit": _BODY_MAX})
    content_type = request.headers.get("Content-Type")
    if content_type is not None:
        media_type = content_type.split(";")[0].strip().lower()
        if media_type != "application/json":
            raise RuleError(415, "Unsupported media type")
    if not body:
        raise RuleError(
            400, redirects.MSG_INVALID_BODY, {"reason": "invalid_type", "expected": expected}
        )
    try:
        return parse_json(body)
    except JsonError:
        raise RuleError(400, redirects.MSG_INVALID_JSON, {"reason": "invalid_json"})


def _load(store, rule_id_text):
    """(rule, parts) of an existing rule, or RuleError 404 (unknown or malformed)."""
    rule_id = redirects.normalize_id(rule_id_text)
    if rule_id is None:
        raise RuleError(404, "Not found")
    raw = store.get(_key(rule_id))
    if raw is None:
        raise RuleError(404, "Not found")
    return _decode(store, rule_id, raw), _part_count(raw)


def _insert_bounded(selected, entry, capacity):
    """Insert into a sorted list, keeping at most `capacity` smallest entries."""
    low = 0
    high = len(selected)
    while low < high:
        middle = (low + high) // 2
        if selected[middle] < entry:
            low = middle + 1
        else:
            high = middle
    if capacity is not None and low >= capacity:
        return
    selected.insert(low, entry)
    if capacity is not None and len(selected) > capacity:
        selected.pop()


def _list_body(store, rule_ids, leaves, flat):
    """Chunks of the JSON array of the selected rules (re-read one by one)."""
    yield "["
    first = True
    for rule_id in rule_ids:
        raw = store.get(_key(rule_id))
        if raw is None:
            continue  # deleted since the scan: leave it out
        rule = _decode(store, rule_id, raw)
        text = redirects.encode(redirects.project(rule, leaves, flat))
        yield text if first else "," + text
        first = False
    yield "]"


def _create(panel, request):
    body = _read_json_body(request, "object")
    store = panel.store
    rule = redirects.create_rule(body, compat.urandom(16), _now(panel))
    if store.get(_key(rule["id"])) is not None:
        if "id" in body:
            raise RuleError(
                409, "Identifier already exists", {"field": "id", "reason": "duplicate"}
            )
        # A generated id that collides (2**-128): draw again once.
        rule["id"] = redirects.format_id(compat.urandom(16))
        if store.get(_key(rule["id"])) is not None:
            raise RuleError(500, "Internal error")
    limit = _rule_limit(panel)
    if store.count(_KEY_PREFIX, _KEY_STOP) >= limit:
        raise RuleError(507, "Rule storage full", {"limit": limit})
    _write(store, rule)
    return _answer(rule)


def _selection_source(store, query):
    """What a list selects from: the small routing records (redirect_index)
    when every filter and order field is one they hold, else the full rules.
    The page itself is always re-read from the full rules (_list_body)."""
    for condition in query.conditions:
        if condition[0] not in redirect_index.ROUTING_FIELDS:
            return iter_rules(store)
    for field, _ in query.order:
        if field not in redirect_index.ROUTING_FIELDS:
            return iter_rules(store)
    if not redirect_index.is_current(store):
        return iter_rules(store)
    return redirect_index.records(store)


def candidate_rules(store, called_number):
    """The routing records of the rules that may apply to called_number
    (redirect_index.candidates): what CallRouting.next_step consumes,
    without reading every rule."""
    return redirect_index.candidates(store, called_number)


def _list(panel, request):
    query = redirects.parse_list_query(request.args)
    if query.limit == 0:
        return _answer([])
    if not query.conditions and not query.order and redirect_index.is_current(panel.store):
        # The default order without a filter: the page's ids straight from
        # the index's o: keys, nothing decoded but the page itself.
        rule_ids = redirect_index.ordered_ids(panel.store, query.offset, query.limit)
        return _page_answer(panel.store, rule_ids, query)
    capacity = None if query.limit is None else query.offset + query.limit
    selected = []
    for rule in _selection_source(panel.store, query):
        if query.matches(rule):
            # The sort key ends with the id: unique, and it names the rule.
            _insert_bounded(selected, query.sort_key(rule), capacity)
    page = selected[query.offset :]
    rule_ids = [key[-1] for key in page]
    del selected, page
    return _page_answer(panel.store, rule_ids, query)


def _page_answer(store, rule_ids, query):
    chunks = _list_body(store, rule_ids, query.leaves, query.flat)
    if len(rule_ids) <= _INLINE_LIST_MAX:
        return "".join(chunks), 200, _headers()
    return chunks, 200, _headers()


def _lookup(panel, request):
    key = _read_json_body(request, "string")
    if type(key) is not str:
        raise RuleError(
            400, redirects.MSG_INVALID_BODY, {"reason": "invalid_type", "expected": "string"}
        )
    found = []
    # LOOKUP reads filter_number and id only: the routing records hold both.
    source = (
        redirect_index.records(panel.store)
        if redirect_index.is_current(panel.store)
        else iter_rules(panel.store)
    )
    for rule in source:
        if redirects.lookup_matches(rule, key):
            _insert_bounded(found, redirects.default_sort_key(rule), None)
    if not found:
        raise RuleError(404, redirects.MSG_LOOKUP_FAILED)
    return _answer([entry[-1] for entry in found])


def _read_one(panel, request, rule_id_text):
    rule, _ = _load(panel.store, rule_id_text)
    leaves, flat = redirects.parse_item_query(request.args)
    return _answer(redirects.project(rule, leaves, flat))


def _patch(panel, request, rule_id_text):
    stored, parts = _load(panel.store, rule_id_text)
    body = _read_json_body(request, "object")
    rule, changed = redirects.patch_rule(stored, body, _now(panel))
    if changed:
        _write(panel.store, rule, parts, stored)
    return _answer(rule)


def _delete(panel, rule_id_text):
    rule_id = redirects.normalize_id(rule_id_text)
    if rule_id is None or not _remove(panel.store, rule_id):
        raise RuleError(404, "Not found")
    return "", 204, {}


# --- settings ---------------------------------------------------------------------


def default_settings():
    """Factory settings of the redirect rules (fresh objects on every call).

    response_map: keys are SIP final codes as three-digit strings ("486") or
    classes "4xx", "5xx", "6xx"; an exact code wins over its class; codes in
    neither give "unavailable". Values: busy, reject, noanswer, unavailable.
    """
    response_map = {}
    for code in routing.DEFAULT_RESPONSE_MAP:
        response_map[code] = routing.DEFAULT_RESPONSE_MAP[code]
    return {
        "work_hours": schedule.default_work_hours(),
        "response_map": response_map,
        "ring_timeout_s": DEFAULT_RING_TIMEOUT_S,
    }


def load_settings(panel):
    """The current settings, every field present."""
    settings = default_settings()
    stored = panel.settings.get(SETTINGS_NAME, {})
    for key in settings:
        if key in stored:
            settings[key] = stored[key]
    return settings


def minute_of_week(panel):
    """Local minute of the week from the panel clock and timezone, or None."""
    now = panel.clock.now()
    if now is None:
        return None
    text = panel.settings.get("timezone", {"timezone": "UTC\u00b100:00"}).get("timezone")
    offset = schedule.parse_utc_offset(text)
    return schedule.local_minute_of_week(now, offset or 0)


class _SettingsError(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.text = text


def _wrong_type(name):
    return _SettingsError("Wrong JSON body: value `%s` was of the wrong type" % name)


def _wrong_value(name, reason):
    return _SettingsError("Wrong JSON body: value %s was wrong. (%s)" % (name, reason))


def _check_work_hours(value):
    if type(value) is not list:
        raise _wrong_type("work_hours")
    if len(value) > _WORK_PERIODS_MAX:
        raise _wrong_value("work_hours", "At most %d periods" % _WORK_PERIODS_MAX)
    periods = []
    for index in range(len(value)):
        period = value[index]
        name = "work_hours[%d]" % index
        if type(period) is not dict:
            raise _wrong_type(name)
        for key in schedule.PERIOD_KEYS:
            if key not in period:
                raise _SettingsError("Wrong JSON body: no value for `%s.%s`" % (name, key))
            if type(period[key]) is not int:
                raise _wrong_type(name + "." + key)
        problem = schedule.period_value_problem(period)
        if problem is not None:
            key, details = problem
            if key:
                raise _wrong_value(name + "." + key, "%d..%d" % (details["min"], details["max"]))
            raise _wrong_value(name, "Empty period")
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
        raise _wrong_type("response_map")
    if len(value) > _RESPONSE_MAP_MAX:
        raise _wrong_value("response_map", "At most %d entries" % _RESPONSE_MAP_MAX)
    checked = {}
    for key in sorted(value):
        if not _is_response_key(key):
            raise _wrong_value("response_map", "Unknown SIP code %s" % key)
        outcome = value[key]
        if type(outcome) is not str:
            raise _wrong_type("response_map." + key)
        if outcome not in routing.OUTCOMES:
            raise _wrong_value("response_map." + key, "busy, reject, noanswer or unavailable")
        checked[key] = outcome
    return checked


def _check_ring_timeout(value):
    if type(value) is not int:
        raise _wrong_type("ring_timeout_s")
    if value < _RING_TIMEOUT_MIN or value > _RING_TIMEOUT_MAX:
        raise _wrong_value("ring_timeout_s", "%d..%d" % (_RING_TIMEOUT_MIN, _RING_TIMEOUT_MAX))
    return value


def _post_settings(panel, request):
    try:
        document = parse_json(request.body or b"")
    except JsonError:
        raise _SettingsError("Wrong JSON body")
    if type(document) is not dict:
        raise _SettingsError("Wrong JSON body")
    settings = load_settings(panel)
    known = 0
    # Unknown fields are ignored (basip 1: "liberal in what you accept").
    if "work_hours" in document:
        settings["work_hours"] = _check_work_hours(document["work_hours"])
        known += 1
    if "response_map" in document:
        settings["response_map"] = _check_response_map(document["response_map"])
        known += 1
    if "ring_timeout_s" in document:
        settings["ring_timeout_s"] = _check_ring_timeout(document["ring_timeout_s"])
        known += 1
    if not known:
        raise _SettingsError("Wrong JSON body")
    panel.settings.put(SETTINGS_NAME, settings)
    return {}


# --- routes -------------------------------------------------------------------------

# The handlers are module-level coroutine functions on purpose: on MicroPython
# a nested `async def` that captures a variable is a closure object, which
# inspect.iscoroutinefunction() does not recognise, so microdot would try to
# run it in a thread pool and fail. The panel is found through the app instead.
_PANEL_ATTRIBUTE = "redirect_rules_panel"


def _panel_of(request):
    panel = getattr(request.app, _PANEL_ATTRIBUTE, None)
    if panel is None and request.subapp is not None:
        panel = getattr(request.subapp, _PANEL_ATTRIBUTE, None)
    return panel


async def _collection(request):
    panel = _panel_of(request)
    try:
        method = request.method
        if method == "POST":
            return _create(panel, request)
        if method == "LOOKUP":
            return _lookup(panel, request)
        return _list(panel, request)
    except RuleError as error:
        return _error_answer(error)


async def _item(request, rule_id):
    panel = _panel_of(request)
    try:
        method = request.method
        if method == "PATCH":
            return _patch(panel, request, rule_id)
        if method == "DELETE":
            return _delete(panel, rule_id)
        return _read_one(panel, request, rule_id)
    except RuleError as error:
        return _error_answer(error)


async def _redirect_settings(request):
    panel = _panel_of(request)
    try:
        if request.method == "POST":
            document = _post_settings(panel, request)
        else:
            document = load_settings(panel)
    except _SettingsError as error:
        return redirects.encode({"error": error.text}), 400, {"Content-Type": "application/json"}
    return redirects.encode(document), 200, {"Content-Type": "application/json"}


def register(app, panel):
    """Add the redirect-rules routes and the settings route to a microdot app."""
    setattr(app, _PANEL_ATTRIBUTE, panel)
    # Boot: the routing index is rebuilt once if missing or of another format.
    redirect_index.ensure(panel.store, lambda: iter_rules(panel.store))
    collection_methods = ["GET", "POST", "LOOKUP"]
    item_methods = ["GET", "PATCH", "DELETE"]
    app.route(COLLECTION_PATH, methods=collection_methods)(_collection)
    app.route(COLLECTION_PATH + "/", methods=collection_methods)(_collection)
    app.route(COLLECTION_PATH + "/<rule_id>", methods=item_methods)(_item)
    app.route(COLLECTION_PATH + "/<rule_id>/", methods=item_methods)(_item)
    app.route(SETTINGS_PATH, methods=["GET", "POST"])(_redirect_settings)


__all__ = [
    "register",
    "error_body",
    "load_settings",
    "minute_of_week",
    "iter_rules",
    "default_settings",
    "candidate_rules",
]
