"""Redirect rules: the entity, its checks and the list machinery.

Contract: /work/shared/spec/redirectrules-api.md (sections 2, 3.2, 3.6, 3.8, 4).
Pure: random bytes, times and parsed JSON values come in as arguments; the
HTTP module (panel.api.redirectrules) does the I/O.

Public interface:
- RuleError(status, message, details): every client error, section 4.
- error_body(status, message=None, details=None) -> dict of section 4.
- format_id(random16) / normalize_id(text) / format_timestamp(unix_seconds).
- create_rule(body, random16, now) -> stored entity (dict).
- patch_rule(stored, body, now) -> (entity, changed).
- encode(value) -> compact JSON text, keys in the contract's order (the same
  bytes on both runtimes, whose dicts iterate in different orders).
- parse_list_query(args) -> ListQuery; parse_item_query(args) -> (mask, flat).
- ListQuery.matches(rule), ListQuery.sort_key(rule), project(rule, leaves, flat).
- lookup_matches(rule, key), default_sort_key(rule).

Error order (section 4): JSON parse, body shape, unknown fields, read-only /
immutable, required, types, values, then conflicts (the API). Each phase
walks the fields in the order of the table of 2.2; keys of one object are
visited in code-point order so both runtimes report the same first problem.
"""

from panel.compat import const, hexlify
from panel.core import numbers, schedule
from panel.core.body import JsonError, parse_json
from panel.core.errors import ApiError

# Limits of 2.2, each checked before the value is kept.
_FILTER_NUMBER_MAX = const(64)  # characters of filter_number / filter_fromnumber
_TRAN_NUMBER_MAX = const(128)  # characters of tran_number
_PRIORITY_MAX = const(65535)  # lowest priority value (highest number)
_DEFAULT_PRIORITY = const(100)
_PERIODS_MAX = const(16)  # periods of one rule
_TITLE_MAX = const(128)  # characters of opts.title
_COMMENT_MAX = const(1024)  # characters of opts.comment
# Query limits: bounded work for a bounded query string.
_FILTER_VALUES_MAX = const(64)  # elements of an "equals one of" array
_ORDER_ITEMS_MAX = const(16)  # items of `order` (12 sortable fields + repeats)
_NUMBER_DIGITS_MAX = const(9)  # digits of offset / limit: stays a small int

TYPES = ("absolute", "unregistered", "busy", "reject", "noanswer", "unavailable")

# Top-level fields in the order of the table of 2.2 (and of every output).
FIELDS = (
    "id",
    "type",
    "filter_number",
    "filter_fromnumber",
    "tran_number",
    "priority",
    "enabled",
    "schedule",
    "periods",
    "opts",
    "ext",
)
_OPTS_KEYS = ("title", "comment")

# Leaves of an entity in output order; names of `mask` map onto them.
_LEAVES = (
    "id",
    "type",
    "filter_number",
    "filter_fromnumber",
    "tran_number",
    "priority",
    "enabled",
    "schedule",
    "periods",
    "opts.title",
    "opts.comment",
    "ext.ct",
    "ext.lwt",
)
# A list without a mask (3.2): no periods, no opts.comment.
LIST_LEAVES = (
    "id",
    "type",
    "filter_number",
    "filter_fromnumber",
    "tran_number",
    "priority",
    "enabled",
    "schedule",
    "opts.title",
    "ext.ct",
    "ext.lwt",
)
ALL_LEAVES = _LEAVES

# Fields usable in `filter` and `order`, with their JSON type.
_QUERY_FIELDS = {
    "id": str,
    "type": str,
    "filter_number": str,
    "filter_fromnumber": str,
    "tran_number": str,
    "priority": int,
    "enabled": int,
    "schedule": str,
    "opts.title": str,
    "opts.comment": str,
    "ext.ct": str,
    "ext.lwt": str,
}
_COMPARISONS = ("ne", "lt", "le", "gt", "ge")

# Key order of every object we write: entity fields, nested keys, error keys,
# settings. Keys not listed come after, in code-point order.
_KEY_RANK = {}
for _index, _name in enumerate(
    (
        "id",
        "type",
        "filter_number",
        "filter_fromnumber",
        "tran_number",
        "priority",
        "enabled",
        "schedule",
        "periods",
        "opts",
        "opts.title",
        "opts.comment",
        "ext",
        "ext.ct",
        "ext.lwt",
        "title",
        "comment",
        "ct",
        "lwt",
        "daystart",
        "timestart",
        "daystop",
        "timestop",
        "error_code",
        "error_message",
        "error_details",
        "field",
        "parameter",
        "reason",
        "expected",
        "allowed",
        "min",
        "max",
        "min_length",
        "max_length",
        "max_items",
        "limit",
        "work_hours",
        "response_map",
        "ring_timeout_s",
    )
):
    _KEY_RANK[_name] = _index
del _index, _name

_MESSAGES = {
    400: "Invalid request body",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Identifier already exists",
    413: "Request body too large",
    414: "Request line too long",
    431: "Request header fields too large",
    415: "Unsupported media type",
    500: "Internal error",
    503: "Out of memory",  # [D] as the BAS-IP routes' (core.errors)
    507: "Rule storage full",
}
MSG_INVALID_JSON = "Invalid JSON"
MSG_INVALID_BODY = "Invalid request body"
MSG_UNKNOWN_FIELD = "Unknown field"
MSG_READ_ONLY = "Read-only field"
MSG_IMMUTABLE = "Field cannot be changed"
MSG_REQUIRED = "Missing required field"
MSG_INVALID_TYPE = "Invalid field type"
MSG_INVALID_VALUE = "Invalid field value"
MSG_INVALID_PARAMETER = "Invalid request parameter"
MSG_LOOKUP_FAILED = "Lookup failed"


# The exact Content-Type of this API's answers (spec section 1).
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class RuleError(ApiError):
    """A client error: HTTP status, fixed message, optional details dict.

    One of the API's error family (core.errors): the same handler answers it,
    in this contract's section 4 shape."""

    def __init__(self, status, message, details=None):
        super().__init__(status, message)
        self.message = message
        self.details = details

    def body(self):
        return error_body(self.status, self.message, self.details)

    def answer(self, headers=None):
        # Encoded here, not by microdot: the contract's key order and its
        # exact Content-Type text.
        answer_headers = dict(JSON_HEADERS)
        if headers:
            answer_headers.update(headers)
        return encode(self.body()), self.status, answer_headers


def error_body(status, message=None, details=None):
    """The section 4 body: error_code = 1000 + status, message, details."""
    body = {
        "error_code": 1000 + status,
        "error_message": message if message is not None else _MESSAGES.get(status, "Error"),
    }
    if details:
        body["error_details"] = details
    return body


# --- identifiers and timestamps ---------------------------------------------


def format_id(random16):
    """Lower-case 8-4-4-4-12 text of 16 random bytes (2.7)."""
    if len(random16) != 16:
        raise ValueError("an id needs 16 bytes")
    text = hexlify(random16)
    return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


def normalize_id(text):
    """Lower-case id when text has the 8-4-4-4-12 hex layout, else None."""
    if type(text) is not str or len(text) != 36:
        return None
    for index in range(36):
        char = text[index]
        if index in (8, 13, 18, 23):
            if char != "-":
                return None
        elif not ("0" <= char <= "9" or "a" <= char <= "f" or "A" <= char <= "F"):
            return None
    return text.lower()


def format_timestamp(unix_seconds):
    """ISO 8601 UTC with exactly two fractional digits and Z (2.7).

    unix_seconds: int or float; centiseconds are rounded to nearest.
    """
    whole = int(unix_seconds // 1)
    centis = int((unix_seconds - whole) * 100 + 0.5)
    if centis >= 100:
        whole += 1
        centis -= 100
    days = whole // 86400
    second_of_day = whole - days * 86400
    year, month, day = schedule.civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%02dZ" % (
        year,
        month,
        day,
        second_of_day // 3600,
        second_of_day // 60 % 60,
        second_of_day % 60,
        centis,
    )


# --- JSON output --------------------------------------------------------------


def _rank(key):
    return (_KEY_RANK.get(key, 1000), key)


def _encode_string(text, parts):
    # Only ", \ and control characters need escaping; everything else goes out
    # as UTF-8 (CPython's json.dumps would write \uXXXX, MicroPython's not).
    plain = True
    for char in text:
        if char == '"' or char == "\\" or char < " ":
            plain = False
            break
    if plain:
        parts.append('"' + text + '"')
        return
    out = ['"']
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif char < " ":
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    out.append('"')
    parts.append("".join(out))


def _encode_into(value, parts):
    kind = type(value)
    if kind is str:
        _encode_string(value, parts)
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif value is None:
        parts.append("null")
    elif kind is int:
        parts.append(str(value))
    elif kind is float:
        parts.append(repr(value))
    elif kind is dict:
        parts.append("{")
        first = True
        for key in sorted(value, key=_rank):
            if not first:
                parts.append(",")
            first = False
            _encode_string(key, parts)
            parts.append(":")
            _encode_into(value[key], parts)
        parts.append("}")
    elif kind is list or kind is tuple:
        parts.append("[")
        for index in range(len(value)):
            if index:
                parts.append(",")
            _encode_into(value[index], parts)
        parts.append("]")
    else:
        raise TypeError("cannot encode %r" % (value,))


def encode(value):
    """Compact JSON text; object keys in the contract's order."""
    parts = []
    _encode_into(value, parts)
    return "".join(parts)


# --- entity checks ------------------------------------------------------------


def _err(message, details):
    return RuleError(400, message, details)


def _check_unknown(body):
    """Phase 'unknown fields': top level, then opts, then each period."""
    for key in sorted(body):
        if key not in FIELDS:
            raise _err(MSG_UNKNOWN_FIELD, {"field": key, "reason": "unknown_field"})
    opts = body.get("opts")
    if type(opts) is dict:
        for key in sorted(opts):
            if key not in _OPTS_KEYS:
                raise _err(MSG_UNKNOWN_FIELD, {"field": "opts." + key, "reason": "unknown_field"})
    periods = body.get("periods")
    if type(periods) is list:
        for index in range(len(periods)):
            period = periods[index]
            if type(period) is dict:
                for key in sorted(period):
                    if key not in schedule.PERIOD_KEYS:
                        raise _err(
                            MSG_UNKNOWN_FIELD,
                            {"field": "periods[%d].%s" % (index, key), "reason": "unknown_field"},
                        )


def _check_required(rule):
    """Phase 'required' on a full candidate (missing keys are absent)."""
    for key in ("type", "filter_number", "tran_number"):
        if key not in rule:
            raise _err(MSG_REQUIRED, {"field": key, "reason": "required"})
    periods = rule.get("periods")
    if type(periods) is list:
        for index in range(len(periods)):
            period = periods[index]
            if type(period) is dict:
                for key in schedule.PERIOD_KEYS:
                    if key not in period:
                        raise _err(
                            MSG_REQUIRED,
                            {"field": "periods[%d].%s" % (index, key), "reason": "required"},
                        )
    if rule.get("schedule") == "custom" and (periods is None or periods == []):
        raise _err(MSG_REQUIRED, {"field": "periods", "reason": "required"})


def _type_error(field, expected):
    return _err(MSG_INVALID_TYPE, {"field": field, "reason": "invalid_type", "expected": expected})


def _check_types(rule):
    """Phase 'types', in the field order of 2.2."""
    for key in ("id", "type", "filter_number", "filter_fromnumber", "tran_number"):
        if key in rule and type(rule[key]) is not str:
            raise _type_error(key, "string")
    if "priority" in rule and type(rule["priority"]) is not int:
        raise _type_error("priority", "int")
    if "enabled" in rule:
        enabled = rule["enabled"]
        if type(enabled) is not int and enabled is not True and enabled is not False:
            raise _type_error("enabled", "intbool")
    if "schedule" in rule and type(rule["schedule"]) is not str:
        raise _type_error("schedule", "string")
    if "periods" in rule:
        periods = rule["periods"]
        if type(periods) is not list:
            raise _type_error("periods", "array")
        for index in range(len(periods)):
            period = periods[index]
            if type(period) is not dict:
                raise _type_error("periods[%d]" % index, "object")
            for key in schedule.PERIOD_KEYS:
                if type(period[key]) is not int:
                    raise _type_error("periods[%d].%s" % (index, key), "int")
    if "opts" in rule:
        opts = rule["opts"]
        if type(opts) is not dict:
            raise _type_error("opts", "object")
        for key in _OPTS_KEYS:
            if key in opts and type(opts[key]) is not str:
                raise _type_error("opts." + key, "string")


def _length_error(field, low, high):
    return _err(
        MSG_INVALID_VALUE,
        {"field": field, "reason": "invalid_value", "min_length": low, "max_length": high},
    )


def _check_pattern(field, value, low):
    if len(value) < low or len(value) > _FILTER_NUMBER_MAX:
        raise _length_error(field, low, _FILTER_NUMBER_MAX)
    if numbers.dial_pattern_error(value) is not None:
        raise _err(MSG_INVALID_VALUE, {"field": field, "reason": "invalid_pattern"})


def _check_values(rule):
    """Phase 'values', in the field order of 2.2. Types are already right."""
    if "id" in rule and normalize_id(rule["id"]) is None:
        raise _err(MSG_INVALID_VALUE, {"field": "id", "reason": "invalid_value"})
    if rule["type"] not in TYPES:
        raise _err(
            MSG_INVALID_VALUE, {"field": "type", "reason": "invalid_value", "allowed": list(TYPES)}
        )
    _check_pattern("filter_number", rule["filter_number"], 1)
    if "filter_fromnumber" in rule:
        _check_pattern("filter_fromnumber", rule["filter_fromnumber"], 0)
    destination = rule["tran_number"]
    if len(destination) < 1 or len(destination) > _TRAN_NUMBER_MAX:
        raise _length_error("tran_number", 1, _TRAN_NUMBER_MAX)
    if numbers.destination_form(destination) is None:
        raise _err(MSG_INVALID_VALUE, {"field": "tran_number", "reason": "invalid_value"})
    if "priority" in rule:
        priority = rule["priority"]
        if priority < 0 or priority > _PRIORITY_MAX:
            raise _err(
                MSG_INVALID_VALUE,
                {"field": "priority", "reason": "out_of_range", "min": 0, "max": _PRIORITY_MAX},
            )
    if "enabled" in rule and type(rule["enabled"]) is int and rule["enabled"] not in (0, 1):
        raise _err(
            MSG_INVALID_VALUE, {"field": "enabled", "reason": "invalid_value", "allowed": [0, 1]}
        )
    if "schedule" in rule and rule["schedule"] not in schedule.SCHEDULES:
        raise _err(
            MSG_INVALID_VALUE,
            {"field": "schedule", "reason": "invalid_value", "allowed": list(schedule.SCHEDULES)},
        )
    if "periods" in rule:
        periods = rule["periods"]
        if len(periods) > _PERIODS_MAX:
            raise _err(
                MSG_INVALID_VALUE,
                {"field": "periods", "reason": "invalid_value", "max_items": _PERIODS_MAX},
            )
        for index in range(len(periods)):
            problem = schedule.period_value_problem(periods[index])
            if problem is not None:
                key, details = problem
                field = "periods[%d]" % index
                if key:
                    field += "." + key
                found = {"field": field}
                found.update(details)
                raise _err(MSG_INVALID_VALUE, found)
    opts = rule.get("opts", {})
    if len(opts.get("title", "")) > _TITLE_MAX:
        raise _length_error("opts.title", 0, _TITLE_MAX)
    if len(opts.get("comment", "")) > _COMMENT_MAX:
        raise _length_error("opts.comment", 0, _COMMENT_MAX)


def _normalized(rule, ext):
    """The stored form: every field present, canonical values."""
    opts = rule.get("opts", {})
    enabled = rule.get("enabled", 1)
    return {
        "id": normalize_id(rule["id"]),
        "type": rule["type"],
        "filter_number": rule["filter_number"],
        "filter_fromnumber": rule.get("filter_fromnumber", ""),
        "tran_number": rule["tran_number"],
        "priority": rule.get("priority", _DEFAULT_PRIORITY),
        "enabled": 1 if (enabled is True or enabled == 1) else 0,
        "schedule": rule.get("schedule", "all"),
        "periods": [
            {
                "daystart": period["daystart"],
                "timestart": period["timestart"],
                "daystop": period["daystop"],
                "timestop": period["timestop"],
            }
            for period in rule.get("periods", [])
        ],
        "opts": {"title": opts.get("title", ""), "comment": opts.get("comment", "")},
        "ext": ext,
    }


def _check_body_shape(body):
    if type(body) is not dict:
        raise _err(MSG_INVALID_BODY, {"reason": "invalid_type", "expected": "object"})


def create_rule(body, random16, now):
    """Check a POST body (parsed JSON) and return the entity to store.

    random16: 16 random bytes, used only when the body has no id.
    now: unix seconds for ext.ct and ext.lwt. Raises RuleError.
    """
    _check_body_shape(body)
    _check_unknown(body)
    if "ext" in body:
        raise _err(MSG_READ_ONLY, {"field": "ext", "reason": "read_only"})
    _check_required(body)
    _check_types(body)
    _check_values(body)
    candidate = body
    if "id" not in body:
        candidate = dict(body)
        candidate["id"] = format_id(random16)
    stamp = format_timestamp(now)
    return _normalized(candidate, {"ct": stamp, "lwt": stamp})


def patch_rule(stored, body, now):
    """Apply a PATCH body to a stored entity: (entity, changed).

    Top-level values replace, opts merges key by key, periods is replaced
    whole; the merged rule is checked as a whole. When nothing changes the
    stored entity comes back unchanged (lwt included). Raises RuleError.
    """
    _check_body_shape(body)
    _check_unknown(body)
    if "ext" in body:
        raise _err(MSG_READ_ONLY, {"field": "ext", "reason": "read_only"})
    if "id" in body and normalize_id(body["id"]) != stored["id"]:
        raise _err(MSG_IMMUTABLE, {"field": "id", "reason": "immutable"})
    merged = {}
    for key in FIELDS:
        if key != "ext":
            merged[key] = stored[key]
    for key in body:
        if key == "opts" and type(body[key]) is dict:
            opts = dict(stored["opts"])
            opts.update(body[key])
            merged["opts"] = opts
        elif key != "id":
            merged[key] = body[key]
    _check_required(merged)
    _check_types(merged)
    _check_values(merged)
    updated = _normalized(merged, stored["ext"])
    changed = False
    for key in FIELDS:
        if key != "ext" and updated[key] != stored[key]:
            changed = True
            break
    if not changed:
        return stored, False
    updated["ext"] = {"ct": stored["ext"]["ct"], "lwt": format_timestamp(now)}
    return updated, True


# --- field access, masks, lookup ----------------------------------------------


def field_value(rule, name):
    """Value of a leaf such as "priority" or "opts.title" (None if absent)."""
    dot = name.find(".")
    if dot < 0:
        return rule.get(name)
    inner = rule.get(name[:dot])
    if type(inner) is not dict:
        return None
    return inner.get(name[dot + 1 :])


def project(rule, leaves, flat):
    """The output object of a rule with only `leaves` (names of _LEAVES)."""
    out = {}
    for leaf in leaves:
        value = field_value(rule, leaf)
        dot = leaf.find(".")
        if dot < 0 or flat:
            out[leaf] = value
        else:
            group = leaf[:dot]
            if group not in out:
                out[group] = {}
            out[group][leaf[dot + 1 :]] = value
    return out


def default_sort_key(rule):
    """Default order (3.2, 5.1): priority, ext.ct, id, all ascending."""
    return (rule["priority"], rule["ext"]["ct"], rule["id"])


def lookup_matches(rule, key):
    """LOOKUP (3.8): exact stored text of filter_number, or the id (any case)."""
    return rule["filter_number"] == key or rule["id"] == key.lower()


# --- query parameters -----------------------------------------------------------


def _parameter_error(parameter, reason="invalid_value", extra=None):
    details = {"parameter": parameter, "reason": reason}
    if extra:
        details.update(extra)
    return _err(MSG_INVALID_PARAMETER, details)


def _parse_json_parameter(name, text):
    try:
        return parse_json(text)
    except JsonError:
        raise _err(MSG_INVALID_JSON, {"reason": "invalid_json", "parameter": name})


class _Descending:
    """Sort-key wrapper reversing the order of one value (ints or strings)."""

    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return other.value < self.value

    def __gt__(self, other):
        return self.value < other.value

    def __eq__(self, other):
        return self.value == other.value


def _comparable(value):
    # Rules stored by this code always have every leaf; None only guards
    # against hand-edited stores and sorts first.
    return (0, 0) if value is None else (1, value)


def _check_filter_operand(field, value):
    expected = _QUERY_FIELDS[field]
    if type(value) is not expected:
        raise _parameter_error(
            "filter",
            "invalid_type",
            {"field": field, "expected": "string" if expected is str else "int"},
        )


def _caller_pattern_matches(pattern, number):
    # "" and "*" both mean any caller (2.2); dial_pattern_matches("") would
    # only match the empty number.
    if pattern == "" or pattern == "*":
        return True
    return numbers.dial_pattern_matches(pattern, number)


class ListQuery:
    """Parsed list parameters (3.2): conditions, leaves, paging, order, flat."""

    def __init__(self):
        self.conditions = []  # (field, operator, operand)
        self.leaves = LIST_LEAVES
        self.offset = 0
        self.limit = None
        self.order = []  # (field, descending)
        self.flat = False

    def matches(self, rule):
        for field, operator, operand in self.conditions:
            value = field_value(rule, field)
            if operator == "eq":
                if value != operand:
                    return False
            elif operator == "in":
                if value not in operand:
                    return False
            elif operator == "match":
                if field == "filter_fromnumber":
                    if not _caller_pattern_matches(value, operand):
                        return False
                elif not numbers.dial_pattern_matches(value, operand):
                    return False
            else:
                if type(value) is not type(operand):
                    return False
                if operator == "ne":
                    result = value != operand
                elif operator == "lt":
                    result = value < operand
                elif operator == "le":
                    result = value <= operand
                elif operator == "gt":
                    result = value > operand
                else:
                    result = value >= operand
                if not result:
                    return False
        return True

    def sort_key(self, rule):
        """A total order: the requested fields, then id ascending."""
        key = []
        for field, descending in self.order:
            value = _comparable(field_value(rule, field))
            key.append(_Descending(value) if descending else value)
        if not self.order:
            key.append(rule["priority"])
            key.append(rule["ext"]["ct"])
        key.append(rule["id"])
        return tuple(key)


def _parse_filter(text, query):
    value = _parse_json_parameter("filter", text)
    if type(value) is not dict:
        raise _parameter_error("filter", "invalid_type", {"expected": "object"})
    for field in sorted(value):
        if field not in _QUERY_FIELDS:
            raise _parameter_error("filter", "unknown_field", {"field": field})
    for field in sorted(value):
        operand = value[field]
        if type(operand) is list:
            if len(operand) > _FILTER_VALUES_MAX:
                raise _parameter_error(
                    "filter", "invalid_value", {"field": field, "max_items": _FILTER_VALUES_MAX}
                )
            for item in operand:
                _check_filter_operand(field, item)
            query.conditions.append((field, "in", operand))
        elif type(operand) is dict:
            if len(operand) != 1:
                raise _parameter_error("filter", "invalid_value", {"field": field})
            operator = list(operand)[0]
            argument = operand[operator]
            if operator == "match":
                if field != "filter_number" and field != "filter_fromnumber":
                    raise _parameter_error("filter", "invalid_value", {"field": field})
                if type(argument) is not str:
                    raise _parameter_error(
                        "filter", "invalid_type", {"field": field, "expected": "string"}
                    )
            elif operator in _COMPARISONS:
                _check_filter_operand(field, argument)
            else:
                raise _parameter_error("filter", "invalid_value", {"field": field})
            query.conditions.append((field, operator, argument))
        else:
            _check_filter_operand(field, operand)
            query.conditions.append((field, "eq", operand))


def parse_mask(text):
    """Leaves named by a mask, in output order; None for no (or an empty) mask."""
    if text is None:
        return None
    wanted = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        if name == "opts" or name == "ext":
            for leaf in _LEAVES:
                if leaf.startswith(name + ".") and leaf not in wanted:
                    wanted.append(leaf)
        elif name in _LEAVES:
            if name not in wanted:
                wanted.append(name)
        else:
            raise _parameter_error("mask", "unknown_field", {"field": name})
    if not wanted:
        return None
    return tuple(leaf for leaf in _LEAVES if leaf in wanted)


def _parse_count(name, text):
    if not text or len(text) > _NUMBER_DIGITS_MAX:
        raise _parameter_error(name)
    for char in text:
        if char < "0" or char > "9":
            raise _parameter_error(name)
    return int(text)


def _parse_order(text, query):
    try:
        value = parse_json(text)
    except JsonError:
        if text in _QUERY_FIELDS:
            query.order.append((text, False))
            return
        stripped = text.strip()
        if stripped[:1] in ("[", "{", '"'):
            raise _err(MSG_INVALID_JSON, {"reason": "invalid_json", "parameter": "order"})
        raise _parameter_error("order")
    if type(value) is not list or len(value) > _ORDER_ITEMS_MAX:
        raise _parameter_error("order")
    for item in value:
        if type(item) is str:
            field, descending = item, False
        elif type(item) is dict and len(item) == 1:
            field = list(item)[0]
            direction = item[field]
            if direction == "asc":
                descending = False
            elif direction == "desc":
                descending = True
            else:
                raise _parameter_error("order", "invalid_value", {"field": field})
        else:
            raise _parameter_error("order")
        if field not in _QUERY_FIELDS:
            raise _parameter_error("order", "unknown_field", {"field": field})
        query.order.append((field, descending))


def _parse_flat(text):
    if text is None:
        return False
    if text == "true" or text == "1":
        return True
    if text == "false" or text == "0":
        return False
    raise _parameter_error("flat")


def parse_list_query(args):
    """ListQuery from query arguments (a dict-like of str), or RuleError.

    Checked in the order filter, mask, offset, limit, order, flat.
    """
    query = ListQuery()
    text = args.get("filter")
    if text is not None:
        _parse_filter(text, query)
    leaves = parse_mask(args.get("mask"))
    if leaves is not None:
        query.leaves = leaves
    text = args.get("offset")
    if text is not None:
        query.offset = _parse_count("offset", text)
    text = args.get("limit")
    if text is not None:
        query.limit = _parse_count("limit", text)
    text = args.get("order")
    if text is not None:
        _parse_order(text, query)
    query.flat = _parse_flat(args.get("flat"))
    return query


def parse_item_query(args):
    """(leaves, flat) for GET of one rule: the whole entity without a mask."""
    leaves = parse_mask(args.get("mask"))
    flat = _parse_flat(args.get("flat"))
    return (leaves if leaves is not None else ALL_LEAVES), flat
