"""Write the OpenAPI 3.1 document of both HTTP contracts of the panel.

    .venv/bin/python tools/openapi.py          # rewrite the two outputs
    .venv/bin/python tools/openapi.py --check  # exit 1 if either is stale

Outputs (both committed; tests/host/test_openapi.py checks they are current):
- docs/openapi.json                     the readable document, for integrators
- firmware/panel/api/openapi.json.gz    the same, compact and gzipped: what the
                                        panel serves at /api/openapi.json
                                        (panel.api.openapi_document)

The document is written here, by hand, as Python data; the limits in it (body
sizes, string lengths, ranges, list sizes) are read from the firmware's own
declarations wherever the firmware names them, so a changed limit changes the
document. Sources: /work/shared/spec/basip-api.md, redirectrules-api.md, and
firmware/panel/api/ (the routes), services/settings.py (settings, ranges),
core/errors.py and api/common.py (the error shapes), services/accounts.py
(401/429).

Extensions used:
- x-contract: "basip" (BAS-IP family, errors {"error": text}) or
  "redirect-rules" (errors {"error_code", "error_message", "error_details"}).
- x-origin: "vendor" (BAS-IP API), "compat" (calls existing servers make,
  contract section 8), "panel" (this firmware's additions), "simulator"
  (host board only: the /sim/ routes, mounted by host/panel_process.py).
- x-marker: the contract's marker on the route ([COMPAT], [CHOICE], [D], [R]).
- x-also-at: other paths the same operations answer on (one trailing slash).
- x-additionalOperations: operations with a method OpenAPI 3.1 cannot name
  (LOOKUP, spec redirectrules 3.8), in the shape OpenAPI 3.2 gives
  `additionalOperations`.
"""

import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from panel.api import access as access_routes  # noqa: E402
from panel.api.common import REDIRECT_BODY_LIMIT_BYTES  # noqa: E402
from panel.core import redirects  # noqa: E402
from panel.core.body import MAX_INT64  # noqa: E402
from panel.core.incoming import ALLOW_MAX as INCOMING_ALLOW_MAX  # noqa: E402
from panel.core.incoming import ANSWER_AFTER_RANGE as INCOMING_ANSWER_AFTER_RANGE  # noqa: E402
from panel.services import access as access_service  # noqa: E402
from panel.services import accounts  # noqa: E402
from panel.services import settings as schema  # noqa: E402
from panel.services.forward_rules import MAX_QUEUE_LENGTH  # noqa: E402
from panel.services.system import API_VERSION, FIRMWARE_VERSION  # noqa: E402
from panel.wiring import DEFAULT_LIMITS  # noqa: E402

JSON_PATH = os.path.join(ROOT, "docs", "openapi.json")
GZIP_PATH = os.path.join(ROOT, "firmware", "panel", "api", "openapi.json.gz")

BASIP = "basip"
RULES = "redirect-rules"
JSON_TYPE = "application/json"


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def obj(properties, required=(), additional=True, description=None):
    schema_ = {"type": "object", "properties": properties}
    if required:
        schema_["required"] = list(required)
    if additional is not True:
        schema_["additionalProperties"] = additional
    if description:
        schema_["description"] = description
    return schema_


def integer(low=None, high=None, description=None, default=None):
    schema_ = {"type": "integer"}
    if low is not None:
        schema_["minimum"] = low
    if high is not None:
        schema_["maximum"] = high
    if default is not None:
        schema_["default"] = default
    if description:
        schema_["description"] = description
    return schema_


def string(low=None, high=None, enum=None, description=None, default=None):
    schema_ = {"type": "string"}
    if low is not None:
        schema_["minLength"] = low
    if high is not None:
        schema_["maxLength"] = high
    if enum is not None:
        schema_["enum"] = list(enum)
    if default is not None:
        schema_["default"] = default
    if description:
        schema_["description"] = description
    return schema_


BOOLEAN = {"type": "boolean"}
EMPTY = ref("Empty")


def json_content(schema_, example=None):
    content = {"schema": schema_}
    if example is not None:
        content["example"] = example
    return {JSON_TYPE: content}


def reply(description, schema_=None, headers=None, example=None):
    answer = {"description": description}
    if schema_ is not None:
        answer["content"] = json_content(schema_, example)
    if headers:
        answer["headers"] = headers
    return answer


def error_ref(contract, status):
    return {
        "$ref": "#/components/responses/%s%d" % ("Basip" if contract == BASIP else "Rules", status)
    }


# -- components --------------------------------------------------------------

BODY_BYTES = DEFAULT_LIMITS["body_bytes"]
SIP_FIELD_MAX = schema._SIP_FIELD_MAX
SIP_ADDRESS_MAX = schema._SIP_ADDRESS_MAX


def components():
    list_option = obj(
        {
            "pagination": obj(
                {
                    "total_items": integer(0),
                    "items_limit": integer(1, 100),
                    "total_pages": integer(1),
                    "current_page": integer(1),
                },
                ["total_items", "items_limit", "total_pages", "current_page"],
            ),
            "filter": obj(
                {
                    "available_filtering": BOOLEAN,
                    "is_filtered": BOOLEAN,
                    "available_fields": {
                        "type": "array",
                        "items": obj(
                            {
                                "field_name": {"type": "string"},
                                "data_type": string(enum=["integer", "string"]),
                                "compare_operators": {"type": "array", "items": {"type": "string"}},
                            },
                            ["field_name", "data_type", "compare_operators"],
                        ),
                    },
                },
                ["available_filtering", "is_filtered", "available_fields"],
            ),
            "sort": obj(
                {
                    "field": {"type": "string"},
                    "asc": BOOLEAN,
                    "available_fields": {"type": "array", "items": {"type": "string"}},
                },
                ["field", "asc", "available_fields"],
            ),
        },
        ["pagination", "filter", "sort"],
        description="Paging, filter and sort of a BAS-IP list (contract 3.9).",
    )
    destination = {
        "oneOf": [
            {"type": "string", "maxLength": 255},
            {"type": "integer", "minimum": 0, "description": "stored as its decimal text"},
        ],
        "description": "A destination (contract 3.2): digits (`5588`), `sip:user@host`, "
        '`sip:<ipv4>[:port]`, `laskomex:N`, `vizit:N`, or `""` (stored, never dialled). '
        "Anything else: 400 `Wrong number`.",
    }
    forward_item = obj(
        {
            "forward_number": integer(1, MAX_INT64),
            "forward_entity_list": {
                "type": "array",
                "maxItems": MAX_QUEUE_LENGTH,
                "items": {"type": "string"},
            },
        },
        ["forward_number", "forward_entity_list"],
    )
    period = obj(
        {
            "daystart": integer(1, 7, "1 = Monday ... 7 = Sunday"),
            "timestart": integer(0, 1440, "minute of the day"),
            "daystop": integer(1, 7),
            "timestop": integer(0, 1440),
        },
        ["daystart", "timestart", "daystop", "timestop"],
        additional=False,
        description="One continuous stretch of the week (redirect rules 2.6); "
        "start = stop is rejected.",
    )
    rule_fields = {
        "id": string(
            36,
            36,
            description="8-4-4-4-12 hex groups, case-insensitive on input, lower case out",
        ),
        "type": string(enum=redirects.TYPES),
        "filter_number": string(1, redirects._FILTER_NUMBER_MAX, description="pattern (2.4)"),
        "filter_fromnumber": string(0, redirects._FILTER_NUMBER_MAX, description="pattern (2.4)"),
        "tran_number": string(1, redirects._TRAN_NUMBER_MAX, description="destination (2.5)"),
        "priority": integer(0, redirects._PRIORITY_MAX, "lower = higher priority"),
        "enabled": {
            "oneOf": [{"type": "integer", "enum": [0, 1]}, {"type": "boolean"}],
            "description": "0/1; true/false accepted on input, stored as 1/0",
        },
        "schedule": string(enum=["all", "work", "non-work", "custom"]),
        "periods": {"type": "array", "maxItems": redirects._PERIODS_MAX, "items": ref("Period")},
        "opts": obj(
            {
                "title": string(0, redirects._TITLE_MAX),
                "comment": string(0, redirects._COMMENT_MAX),
            },
            additional=False,
        ),
    }
    rule_out = dict(rule_fields)
    rule_out["enabled"] = {"type": "integer", "enum": [0, 1]}
    timestamp = string(description="UTC, two fractional digits and Z: 2019-08-27T09:15:49.61Z")
    rule_out["ext"] = obj({"ct": timestamp, "lwt": timestamp}, ["ct", "lwt"])
    rule_out["opts"] = obj(
        {"title": string(0, redirects._TITLE_MAX), "comment": string(0, redirects._COMMENT_MAX)}
    )
    # Answers may be masked (mask=...) or flattened (flat=true: "opts.title"
    # keys), so no field is required in the answer schema.
    rule_out["opts.title"] = string(0, redirects._TITLE_MAX)
    rule_out["opts.comment"] = string(0, redirects._COMMENT_MAX)
    rule_out["ext.ct"] = timestamp
    rule_out["ext.lwt"] = timestamp
    schemas = {
        "Empty": {
            "type": "object",
            "maxProperties": 0,
            "description": "A successful write: `{}` (contract 1, [CHOICE]).",
        },
        "BasipError": obj(
            {"error": {"type": "string"}},
            ["error"],
            additional=False,
            description="Every BAS-IP-family error (contract 1.2).",
        ),
        "RuleError": obj(
            {
                "error_code": integer(1400, 1599, "1000 + the HTTP status"),
                "error_message": {"type": "string"},
                "error_details": obj(
                    {
                        "field": {"type": "string"},
                        "parameter": {"type": "string"},
                        "reason": {"type": "string"},
                        "expected": {"type": "string"},
                        "allowed": {"type": "array"},
                        "min": {"type": "integer"},
                        "max": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "retry_after_s": {"type": "integer"},
                    }
                ),
            },
            ["error_code", "error_message"],
            additional=False,
            description="Every redirect-rules error (redirectrules-api.md 4).",
        ),
        "ListOption": list_option,
        "Destination": destination,
        "ForwardItem": forward_item,
        "ForwardList": obj(
            {
                "list_items": {"type": "array", "items": ref("ForwardItem")},
                "list_option": ref("ListOption"),
            },
            ["list_items", "list_option"],
        ),
        "LinkResults": obj(
            {
                "result": {
                    "type": "array",
                    "items": obj(
                        {
                            "link_id": integer(),
                            "success": BOOLEAN,
                            "extended_info": string(
                                enum=["created", "updated", "deleted", "entity_not_found"]
                            ),
                        },
                        ["link_id", "success", "extended_info"],
                    ),
                }
            },
            ["result"],
        ),
        "LogItem": obj(
            {
                "uid": integer(1),
                "timestamp": integer(0, description="milliseconds since 1970 [COMPAT]"),
                "name": obj(
                    {"key": {"type": "string"}, "text": {"type": "string"}}, ["key", "text"]
                ),
                "category": {"type": "string"},
                "info": {"type": "object"},
            },
            ["uid", "timestamp", "name", "category", "info"],
        ),
        "LogList": obj(
            {
                "list_items": {"type": "array", "items": ref("LogItem")},
                "list_option": ref("ListOption"),
            },
            ["list_items", "list_option"],
        ),
        "Identifier": obj(
            {
                "identifier_uid": integer(1),
                "identifier_number": string(1, access_service._CARD_MAX),
                "identifier_type": string(1),
                "identifier_owner": obj({"name": {"type": "string"}, "type": {"type": "string"}}),
                "lock": string(enum=access_service.LOCK_CHOICES),
                "valid": {"type": "object"},
            },
            ["identifier_uid", "identifier_number", "identifier_type", "lock"],
        ),
        "IdentifierList": obj(
            {
                "list_items": {"type": "array", "items": ref("Identifier")},
                "list_option": ref("ListOption"),
            },
            ["list_items", "list_option"],
        ),
        "Period": period,
        "RedirectRuleCreate": obj(
            rule_fields,
            ["type", "filter_number", "tran_number"],
            additional=False,
            description="A new rule (redirectrules 3.3): no `ext`; `id` optional "
            "(an existing one: 409). `schedule: custom` needs `periods`.",
        ),
        "RedirectRulePatch": obj(
            rule_fields,
            additional=False,
            description="Any subset of the writable fields (3.6); `opts` is merged, "
            "`periods` replaced; `id` only with its current value.",
        ),
        "RedirectRule": obj(
            rule_out,
            description="A stored rule (2.1); with `mask` only the named fields, "
            "with `flat` dotted keys.",
        ),
        "SipSettings": obj(
            {
                "proxy": string(1, SIP_ADDRESS_MAX, description="sip:host[:port]"),
                "realm": string(1, SIP_ADDRESS_MAX, description="host[:port]"),
                "user": string(1, SIP_FIELD_MAX),
                "password": string(
                    1, SIP_FIELD_MAX, description="GET shows `WebPass`; posting `WebPass` keeps it"
                ),
                "user_id": string(0, SIP_FIELD_MAX, default=""),
                "transport": string(enum=schema.SIP_TRANSPORTS, default="udp"),
                "registration_interval": integer(*schema.SIP_INTERVAL_RANGE, default=30),
                "outbound": string(0, SIP_ADDRESS_MAX, default=""),
                "stun": obj(
                    {"ip": string(0, SIP_ADDRESS_MAX), "port": integer(0, 65535)},
                ),
            },
            ["proxy", "realm", "user", "password", "stun"],
        ),
        "SipSettingsAnswer": obj(
            {
                "proxy": string(0, SIP_ADDRESS_MAX),
                "realm": string(0, SIP_ADDRESS_MAX),
                "user": string(0, SIP_FIELD_MAX),
                "password": string(0, SIP_FIELD_MAX, description="always `WebPass` (vendor rule)"),
                "user_id": string(0, SIP_FIELD_MAX),
                "transport": string(enum=schema.SIP_TRANSPORTS),
                "registration_interval": integer(*schema.SIP_INTERVAL_RANGE),
                "outbound": string(0, SIP_ADDRESS_MAX),
                "stun": obj(
                    {"ip": string(0, SIP_ADDRESS_MAX), "port": integer(0, 65535)}, ["ip", "port"]
                ),
            },
            list(schema.SIP_ACCOUNT.defaults),
            description='What GET answers: every field from the first boot on; `""` until set.',
        ),
        "SipStatus": obj(
            {
                "sip_status": string(enum=["OK", "ERROR", "OFFLINE"]),
                "register_last_attempt": {"type": ["integer", "null"]},
            },
            ["sip_status", "register_last_attempt"],
        ),
        "DeviceInfo": obj(
            {
                name: {"type": "string"}
                for name in (
                    "firmware_version",
                    "framework_version",
                    "frontend_version",
                    "api_version",
                    "device_name",
                    "device_type",
                    "device_model",
                    "device_serial_number",
                    "mcu_version",
                    "hybrid_version",
                    "commit",
                )
            }
            | {"hybrid_enable": BOOLEAN},
            [
                "firmware_version",
                "api_version",
                "device_type",
                "device_model",
                "device_serial_number",
                "mcu_version",
                "hybrid_enable",
            ],
        ),
        "RedirectSettings": obj(
            {
                "work_hours": {
                    "type": "array",
                    "maxItems": schema._WORK_PERIODS_MAX,
                    "items": ref("Period"),
                },
                "response_map": {
                    "type": "object",
                    "maxProperties": schema._RESPONSE_MAP_MAX,
                    "description": 'SIP final code ("486") or class ("4xx") -> outcome',
                    "additionalProperties": string(
                        enum=["busy", "reject", "noanswer", "unavailable"]
                    ),
                },
                "ring_timeout_s": integer(*schema.RING_TIMEOUT_RANGE),
            },
        ),
        "SimCall": obj(
            {"state": {"type": "string"}},
            ["state"],
            description="The call engine's state (calls.controller.describe).",
        ),
    }
    security = {
        "basicAuth": {
            "type": "http",
            "scheme": "basic",
            "description": "admin and its plain password (factory: 123456) [COMPAT]",
        },
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "a token from /api/v1/login: 40 hex digits, 2 hours, not "
            "refreshed, at most %d live" % DEFAULT_LIMITS["tokens"],
        },
    }
    retry_after = {
        "Retry-After": {"description": "seconds until the lockout ends", "schema": integer(1)}
    }
    allow = {"Allow": {"description": "the path's methods", "schema": {"type": "string"}}}
    basip_texts = {
        400: "Bad request: the body or a parameter (text per route; generic texts in "
        "contract 1.2: `Wrong JSON body`, `Wrong JSON body: no value for `param``, "
        "`Wrong JSON body: value `param` was of the wrong type`, "
        "`Wrong JSON body: value param was wrong. (reason)`)",
        401: "No credentials, bad Basic credentials, unknown or expired token: `Log In`",
        404: "`Not found` (or the route's own text)",
        405: "Known path, other method: `Method not allowed`",
        409: "The panel's state does not allow it now",
        413: "Body over the board's limit (%d bytes by default), refused before reading: "
        "`Payload too large`" % BODY_BYTES,
        429: "Too many wrong passwords or tokens from this address (%d free failures, then a "
        "lockout doubling from %d ms up to %d ms): `Too many attempts`"
        % (
            accounts.AUTH_FREE_FAILURES,
            accounts.AUTH_LOCKOUT_BASE_MS,
            accounts.AUTH_LOCKOUT_MAX_MS,
        ),
        507: "The flash is full; nothing was stored: `Storage full`",
        # The HTTP server's own refusals (panel.http_server), on any route.
        414: "Request line over http_request_line_bytes: `Request line too long`",
        431: "More than http_header_count header lines or http_header_bytes of "
        "headers: `Request header fields too large`",
        # The simulator's proxy to the adapter emulator (/sim/adapter/...).
        502: "The adapter emulator did not answer",
        503: "The heap could not take the request, on any route: `Out of memory` "
        "(Retry-After; on the simulator's /sim/adapter/ routes also: no adapter "
        "emulator, or the panel is not started)",
    }
    rules_texts = {
        400: "Invalid JSON, body shape, unknown/read-only/immutable field, missing field, "
        "wrong type or value, bad query parameter (error_details.reason says which)",
        401: "No valid credentials: error_code 1401",
        404: "Unknown or malformed id (`Not found`), or LOOKUP without match (`Lookup failed`)",
        405: "Other method: error_code 1405, `Allow` header set",
        409: "POST with an existing id: error_code 1409",
        413: "Body over %d bytes: error_code 1413, error_details.limit" % REDIRECT_BODY_LIMIT_BYTES,
        415: "Content-Type other than application/json: error_code 1415",
        429: "Brute-force lockout (as the BAS-IP family): error_code 1429, "
        "error_details.retry_after_s",
        507: "One rule past limits.redirect_rules (%d by default) or the flash is full: "
        "error_code 1507" % DEFAULT_LIMITS["redirect_rules"],
        414: "Request line too long (panel.http_server): error_code 1414",
        431: "Too many or too large request headers (panel.http_server): error_code 1431",
        503: "The heap could not take the request: error_code 1503, `Out of memory` (Retry-After)",
    }
    responses = {}
    for status, text in basip_texts.items():
        headers = retry_after if status in (429, 503) else allow if status == 405 else None
        responses["Basip%d" % status] = reply(text, ref("BasipError"), headers)
    for status, text in rules_texts.items():
        headers = retry_after if status in (429, 503) else allow if status == 405 else None
        responses["Rules%d" % status] = reply(text, ref("RuleError"), headers)
    return {"schemas": schemas, "securitySchemes": security, "responses": responses}


# -- operations ----------------------------------------------------------------


class Doc:
    def __init__(self):
        self.paths = {}

    def add(
        self,
        path,
        method,
        summary,
        tag,
        ok,
        contract=BASIP,
        body=None,
        body_required=True,
        params=(),
        public=False,
        errors=(400,),
        origin="vendor",
        marker=None,
        description=None,
        writes=False,
        extra_responses=None,
        also_at=None,
    ):
        operation = {
            "tags": [tag],
            "summary": summary,
            "operationId": (method + path)
            .replace("/", "_")
            .replace("{", "")
            .replace("}", "")
            .replace(".", "_")
            .replace("-", "_")
            .strip("_"),
            "x-contract": contract,
            "x-origin": origin,
        }
        if marker:
            operation["x-marker"] = marker
        if description:
            operation["description"] = description
        parameters = list(params)
        for name in _path_names(path):
            parameters.insert(0, PATH_PARAMETERS[name])
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            operation["requestBody"] = {"required": body_required, "content": json_content(body)}
        if public:
            operation["security"] = []
        responses = {}
        status_ok, answer = ok
        responses[str(status_ok)] = answer
        for status, answer in (extra_responses or {}).items():
            responses[str(status)] = answer
        codes = set(errors)
        if not public or path.endswith("/login"):
            codes.add(429)
        if not public:
            codes.add(401)
        if _path_names(path):
            codes.add(404)
        if body is not None or method in ("post", "delete", "patch"):
            codes.add(413)
        if contract == RULES and body is not None:
            codes.add(415)
        if writes:
            codes.add(507)
        codes.add(405)
        # The HTTP server refuses an over-long request line or too many
        # header bytes before any route (panel.http_server).
        codes.add(414)
        codes.add(431)
        # A heap that cannot take the request (api.router.out_of_memory).
        codes.add(503)
        for status in sorted(codes):
            if str(status) not in responses:
                responses[str(status)] = error_ref(contract, status)
        operation["responses"] = dict(sorted(responses.items()))
        entry = self.paths.setdefault(path, {})
        if method == "lookup":
            entry.setdefault("x-additionalOperations", {})["LOOKUP"] = operation
        else:
            entry[method] = operation
        if also_at:
            entry["x-also-at"] = also_at


def _path_names(path):
    names = []
    for part in path.split("/"):
        if part.startswith("{"):
            names.append(part[1:-1])
    return names


PATH_PARAMETERS = {
    "forwardUid": {
        "name": "forwardUid",
        "in": "path",
        "required": True,
        "description": "the forward number, int64 >= 1; otherwise 400 `Wrong forward-uid`",
        "schema": integer(1, MAX_INT64),
    },
    "lockNumber": {
        "name": "lockNumber",
        "in": "path",
        "required": True,
        "description": "lock 1 or 2 (0: see the route); otherwise 400 `Wrong lock-number`",
        "schema": string(enum=["0", "1", "2"]),
    },
    "line": {
        "name": "line",
        "in": "path",
        "required": True,
        "description": "a hybrid-adapter line, `laskomex:N` or `vizit:N`; otherwise 400 "
        "`Wrong number`",
        "schema": {"type": "string"},
    },
    "ruleId": {
        "name": "ruleId",
        "in": "path",
        "required": True,
        "description": "a rule id (36 characters); unknown or malformed: 404",
        "schema": {"type": "string"},
    },
}


def query(name, schema_, description=None):
    parameter = {"name": name, "in": "query", "required": False, "schema": schema_}
    if description:
        parameter["description"] = description
    return parameter


LIST_PARAMETERS = [
    query("limit", integer(1, 100), "1..100; larger: 100; unparseable or < 1: 10 (default)"),
    query("page_number", integer(1), "default 1; unparseable or < 1: 1"),
    query("order_by", {"type": "string"}, "`<field> asc|desc` (Camdroid form)"),
    query("sort_field", {"type": "string"}),
    query("sort_type", string(enum=["asc", "desc"])),
    query(
        "filter",
        {"type": "string"},
        "expression (contract 3.10), e.g. `forward_number ge 100 and forward_number lt 200`; "
        "bad: 400 `Wrong filter expression`",
    ),
    query("filter_field", {"type": "string"}),
    query("filter_type", string(enum=["equal", "less", "more"])),
    query("filter_format", string(enum=["string", "integer"])),
    query("filter_value", {"type": "string"}),
]


def ok_empty(description="Done, durable"):
    return 200, reply(description, EMPTY, example={})


def ok_json(schema_, description="OK", example=None):
    return 200, reply(description, schema_, example=example)


def echo_schema(fields):
    kinds = {
        "bool": BOOLEAN,
        "int": {"type": "integer"},
        "str": {"type": "string"},
        "text": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "list": {"type": "array"},
        "dict": {"type": "object"},
    }
    properties = {}
    for field in fields:
        kind, _ = fields[field]
        properties[field] = kinds[kind]
    return obj(properties)


def echo_answer(fields):
    kinds = {"text": "str"}
    properties = {}
    required = []
    for field in fields:
        kind, default = fields[field]
        kind = kinds.get(kind, kind)
        properties[field] = {
            "bool": BOOLEAN,
            "int": {"type": "integer"},
            "str": {"type": "string"},
            "list": {"type": "array"},
            "dict": {"type": "object"},
        }[kind]
        if default is not None:
            required.append(field)
    return obj(properties, required)


def basip_operations(doc):
    # -- 2. authentication
    login_answer = obj(
        {"token": string(40, 40), "account_type": string(enum=["admin"])},
        ["token", "account_type"],
    )
    login_errors = {
        400: reply("`Required parameters missed` or `Wrong login or password`", ref("BasipError"))
    }
    doc.add(
        "/api/v1/login",
        "get",
        "Log in with the MD5 of the password; a Bearer token for 2 hours",
        "Authentication",
        ok_json(login_answer, example={"token": "5f1c0e9a" * 5, "account_type": "admin"}),
        params=[
            {
                "name": "username",
                "in": "query",
                "required": True,
                "schema": string(0, accounts.MAX_USERNAME_CHARS),
            },
            {
                "name": "password",
                "in": "query",
                "required": True,
                "description": "MD5 of the password, 32 hex digits, any case",
                "schema": string(0, accounts.MAX_PASSWORD_CHARS),
            },
        ],
        public=True,
        extra_responses=login_errors,
    )
    doc.add(
        "/api/v1/login",
        "post",
        "Log in with a JSON body",
        "Authentication",
        ok_json(login_answer),
        body=obj({"username": {"type": "string"}, "password": {"type": "string"}}),
        public=True,
        marker="[CHOICE]",
        extra_responses=login_errors,
    )
    doc.add(
        "/api/v1/logout",
        "get",
        "Revoke the Bearer token used (no-op with Basic)",
        "Authentication",
        ok_empty(),
        errors=(),
    )
    password_body = obj(
        {
            "old_password": {"type": "string"},
            "new_password": string(1, accounts.MAX_PASSWORD_CHARS),
        },
        ["old_password", "new_password"],
    )
    for path in ("/api/v1/security/password/admin", "/api/v1/security/password/web/admin"):
        doc.add(
            path,
            "post",
            "Change the admin password (query oldPassword/newPassword or JSON)",
            "Authentication",
            ok_empty("Changed; every token is revoked"),
            body=password_body,
            body_required=False,
            params=[query("oldPassword", {"type": "string"}), query("newPassword", string(1, 64))],
            origin="compat",
            writes=True,
            marker="[CHOICE]",
        )
    # -- 3. call forwarding
    doc.add(
        "/api/v1/forward/item/{forwardUid}",
        "get",
        "Read one forward rule",
        "Call forwarding",
        ok_json(ref("ForwardItem")),
        marker="[CHOICE]",
    )
    doc.add(
        "/api/v1/forward/item/{forwardUid}",
        "post",
        "Create or replace one forward rule",
        "Call forwarding",
        ok_empty(),
        body=obj(
            {
                "forward_entity_list": {
                    "type": "array",
                    "maxItems": MAX_QUEUE_LENGTH,
                    "items": ref("Destination"),
                }
            },
            ["forward_entity_list"],
        ),
        writes=True,
        description="Errors: generic texts for `forward_entity_list`; `Wrong number`; "
        "`... (At most 8 numbers)`; `Wrong JSON body: value forward_number was wrong. "
        "(Rule limit reached)` past the board's %d rules." % DEFAULT_LIMITS["forward_rules"],
    )
    doc.add(
        "/api/v1/forward/item/{forwardUid}",
        "delete",
        "Delete one forward rule (404 `Forward rule not found` if absent)",
        "Call forwarding",
        ok_empty(),
        errors=(400,),
    )
    doc.add(
        "/api/v1/forward/items",
        "get",
        "List forward rules (paged, filtered, sorted)",
        "Call forwarding",
        ok_json(ref("ForwardList")),
        params=LIST_PARAMETERS,
    )
    uid_body = obj({"uid_items": {"type": "array", "items": {"type": "integer"}}}, ["uid_items"])
    doc.add(
        "/api/v1/forward/items",
        "delete",
        "Delete many forward rules; unknown numbers skipped [COMPAT]",
        "Call forwarding",
        ok_empty(),
        body=uid_body,
    )
    doc.add(
        "/api/v1/forward/items/link",
        "get",
        "List forward rules (Link server form, as /forward/items)",
        "Call forwarding",
        ok_json(ref("ForwardList")),
        params=LIST_PARAMETERS,
        marker="[CHOICE]",
    )
    doc.add(
        "/api/v1/forward/items/link",
        "post",
        "Create or replace many rules at once (atomic)",
        "Call forwarding",
        ok_json(ref("LinkResults")),
        body=obj(
            {
                "list_items": {
                    "type": "array",
                    "items": obj(
                        {
                            "forward_number": integer(1, MAX_INT64),
                            "link_id": integer(1, MAX_INT64),
                            "forward_entity_list": {
                                "type": "array",
                                "maxItems": MAX_QUEUE_LENGTH,
                                "items": ref("Destination"),
                            },
                        },
                        ["forward_entity_list"],
                    ),
                }
            },
            ["list_items"],
        ),
        writes=True,
    )
    doc.add(
        "/api/v1/forward/items/link",
        "delete",
        "Delete many rules, one result per link_id",
        "Call forwarding",
        ok_json(ref("LinkResults")),
        body=obj({"link_ids": {"type": "array", "items": {"type": "integer"}}}, ["link_ids"]),
    )
    mode = obj({"forward_mode": string(enum=schema.FORWARD_MODES)}, ["forward_mode"])
    doc.add(
        "/api/v1/forward/mode",
        "get",
        "The forwarding mode",
        "Call forwarding",
        ok_json(mode),
        errors=(),
        marker="[CHOICE]",
    )
    doc.add(
        "/api/v1/forward/mode",
        "post",
        "Set the forwarding mode",
        "Call forwarding",
        ok_empty(),
        body=mode,
        writes=True,
        marker="[CHOICE]",
    )
    # -- 4. call timing
    dial = obj(
        {
            "dial_timeout": integer(*schema.DIAL_TIMEOUT_RANGE, default=45),
            "forwarding_timeout": integer(*schema.FORWARDING_TIMEOUT_RANGE, default=20),
        }
    )
    doc.add(
        "/api/v1/device/call/dial/timeout",
        "get",
        "Ring times, seconds",
        "Call timing",
        ok_json(obj(dial["properties"], ["dial_timeout", "forwarding_timeout"])),
        errors=(),
    )
    doc.add(
        "/api/v1/device/call/dial/timeout",
        "post",
        "Set ring times (at least one field)",
        "Call timing",
        ok_empty(),
        body=dial,
        writes=True,
    )
    talk = obj({"talk_timeout": integer(*schema.TALK_TIMEOUT_RANGE, default=90)}, ["talk_timeout"])
    doc.add(
        "/api/v1/device/call/talk/timeout",
        "get",
        "Longest answered call, seconds",
        "Call timing",
        ok_json(talk),
        errors=(),
    )
    doc.add(
        "/api/v1/device/call/talk/timeout",
        "post",
        "Set the longest answered call",
        "Call timing",
        ok_empty(),
        body=talk,
        writes=True,
    )
    # -- 5. SIP
    doc.add(
        "/api/v1/device/sip/settings",
        "get",
        "The SIP account (password shown as WebPass)",
        "SIP",
        ok_json(ref("SipSettingsAnswer")),
        errors=(),
    )
    doc.add(
        "/api/v1/device/sip/settings",
        "post",
        "Set the SIP account",
        "SIP",
        ok_empty(),
        body=ref("SipSettings"),
        writes=True,
    )
    enable = obj(
        {"sip_enable": BOOLEAN, "is_reregister": BOOLEAN, "reregister_time": {"type": "integer"}},
        ["sip_enable"],
    )
    doc.add(
        "/api/v1/device/sip/enable",
        "get",
        "Whether SIP is enabled",
        "SIP",
        ok_json(obj({"sip_enable": BOOLEAN}, ["sip_enable"])),
        errors=(),
    )
    doc.add(
        "/api/v1/device/sip/enable",
        "post",
        "Enable or disable SIP",
        "SIP",
        ok_empty(),
        body=enable,
        writes=True,
    )
    for path, origin in (("/api/v1/sip/status", "vendor"), ("/api/v1/device/sip/status", "panel")):
        doc.add(
            path,
            "get",
            "Registration state (no login)",
            "SIP",
            ok_json(ref("SipStatus")),
            public=True,
            errors=(),
            origin=origin,
            marker="[CHOICE]",
        )
    # -- 6. door locks
    doc.add(
        "/api/v1/access/general/lock/dtmf/{lockNumber}",
        "get",
        "A lock's DTMF code (lock 0 = lock 1)",
        "Door locks",
        ok_json(obj({"dtmf_code": string(1, 4)}, ["dtmf_code"])),
    )
    doc.add(
        "/api/v1/access/general/lock/dtmf/{lockNumber}",
        "post",
        "Set a lock's DTMF code: 1..4 of 0-9 * # A-D, not the other lock's",
        "Door locks",
        ok_empty(),
        body=obj({"dtmf_code": string(1, 4)}, ["dtmf_code"]),
        writes=True,
    )
    timeout = obj(
        {"lock_timeout": integer(*schema.LOCK_TIMEOUT_RANGE, default=5)}, ["lock_timeout"]
    )
    doc.add(
        "/api/v1/access/general/lock/timeout/{lockNumber}",
        "get",
        "A lock's open time, seconds (lock 1 or 2)",
        "Door locks",
        ok_json(timeout),
    )
    doc.add(
        "/api/v1/access/general/lock/timeout/{lockNumber}",
        "post",
        "Set a lock's open time",
        "Door locks",
        ok_empty(),
        body=timeout,
        writes=True,
    )
    unlock = [
        query(
            "unlockTime",
            integer(0, access_routes._MAX_UNLOCK_SECONDS),
            "seconds; 0 or absent: the lock's lock_timeout",
        )
    ]
    for method, marker in (("get", "[COMPAT]"), ("post", "[CHOICE]")):
        doc.add(
            "/api/v1/access/general/lock/open/remote/accepted/{lockNumber}",
            method,
            "Open a lock now (0: both)",
            "Door locks",
            ok_empty("Opened"),
            params=unlock,
            marker=marker,
        )
    # -- 8.1 identifiers
    doc.add(
        "/api/v1/access/identifier",
        "post",
        "Store a personal code or card",
        "Access identifiers",
        ok_json(obj({"uid": integer(1)}, ["uid"])),
        body=obj(
            {
                "identifier_number": string(
                    1,
                    access_service._CARD_MAX,
                    description="personal_code: 1..%d digits; other types: 1..%d characters"
                    % (access_service._PERSONAL_CODE_MAX, access_service._CARD_MAX),
                ),
                "identifier_type": string(1, description="personal_code, card, ..."),
                "identifier_owner": obj({"name": {"type": "string"}, "type": {"type": "string"}}),
                "lock": string(enum=access_service.LOCK_CHOICES, default="all"),
                "valid": {"type": "object"},
            },
            ["identifier_number", "identifier_type"],
        ),
        writes=True,
        origin="compat",
        description="`Identifier already exists` for a personal code in use; "
        "`... (Identifier limit reached)` past %d." % DEFAULT_LIMITS["identifiers"],
    )
    identifier_fields = ", ".join(field[0] for field in access_routes.IDENTIFIER_FIELDS)
    doc.add(
        "/api/v1/access/identifier/items",
        "get",
        "List identifiers (filter fields: %s)" % identifier_fields,
        "Access identifiers",
        ok_json(ref("IdentifierList")),
        params=LIST_PARAMETERS,
        origin="compat",
    )
    doc.add(
        "/api/v1/access/identifier/items",
        "delete",
        "Delete identifiers; unknown uids skipped",
        "Access identifiers",
        ok_empty(),
        body=uid_body,
        origin="compat",
    )
    # -- 7. device and history
    doc.add(
        "/api/info",
        "get",
        "Device summary (no login)",
        "Device",
        ok_json(ref("DeviceInfo")),
        public=True,
        errors=(),
    )
    doc.add(
        "/api/v1/log/items",
        "get",
        "Call and event log, newest first",
        "Device",
        ok_json(ref("LogList")),
        params=[
            query("locale", {"type": "string"}),
            query("from", integer(0), "Unix seconds, inclusive"),
            query("to", integer(0), "Unix seconds, inclusive"),
        ]
        + LIST_PARAMETERS,
    )
    doc.add(
        "/api/v1/system/reboot/run",
        "get",
        "Reboot after the answer",
        "Device",
        ok_empty("Rebooting"),
        errors=(),
        origin="compat",
    )
    doc.add(
        "/api/v1/system/settings/default",
        "post",
        "Factory reset: rules, SIP, password, settings",
        "Device",
        ok_empty("Reset"),
        errors=(),
        origin="compat",
    )
    doc.add(
        "/api/v1/system/health",
        "get",
        "The panel's health: stores, account, SIP, adapter",
        "Device",
        ok_json(
            obj(
                {
                    "store": {"type": "object"},
                    "account": {"type": "string"},
                    "call_log_dropped": integer(0),
                    "sip": ref("SipStatus"),
                    "adapter": obj(
                        {
                            "configured": BOOLEAN,
                            "present": BOOLEAN,
                            "version": {"type": ["string", "null"]},
                        },
                        ["configured", "present", "version"],
                    ),
                    "account_store": {"type": "object"},
                },
                ["store", "account", "call_log_dropped", "sip", "adapter"],
            )
        ),
        errors=(),
        origin="panel",
    )
    doc.add(
        "/api/v1/photo/file",
        "get",
        "Camera snapshot: the panel has none (404 `No camera`)",
        "Device",
        (404, reply("`No camera`", ref("BasipError"), example={"error": "No camera"})),
        errors=(),
        origin="compat",
        marker="[CHOICE]",
    )
    # -- 8. stored settings
    for path, _name, get_allowed, fields in schema.ECHO_SETTINGS:
        tag = "Events" if "syslog" in path else "Stored settings"
        summary = "Store these fields (echoed by GET)" if get_allowed else "Store these fields"
        if get_allowed:
            doc.add(
                path,
                "get",
                "The stored fields, defaults filled in",
                tag,
                ok_json(echo_answer(fields)),
                errors=(),
                origin="compat",
                marker="[COMPAT]",
            )
        doc.add(
            path,
            "post",
            summary,
            tag,
            ok_empty(),
            body=echo_schema(fields),
            writes=True,
            origin="compat",
            marker="[COMPAT]",
            description="Fields are checked for their JSON type only; absent fields keep "
            "their stored value.",
        )
    zone = string(description="UTC+HH:MM / UTC-HH:MM; zero is written UTC\u00b100:00")
    doc.add(
        "/api/v1/network/timezone",
        "get",
        "The timezone, under both keys",
        "Stored settings",
        ok_json(
            obj({"timezone": zone, "current_timezone": zone}, ["timezone", "current_timezone"])
        ),
        errors=(),
        origin="compat",
        marker="[COMPAT]",
    )
    doc.add(
        "/api/v1/network/timezone",
        "post",
        "Set the timezone (timezone or current_timezone)",
        "Stored settings",
        ok_empty(),
        body=obj({"timezone": zone, "current_timezone": zone}),
        writes=True,
        origin="compat",
        marker="[COMPAT]",
    )
    doc.add(
        "/api/v1/device/language",
        "post",
        "Store the language (query `language`, or JSON)",
        "Stored settings",
        ok_empty(),
        params=[query("language", {"type": "string"})],
        body=obj({"language": {"type": "string"}}),
        body_required=False,
        writes=True,
        origin="compat",
    )
    doc.add(
        "/api/v1/device/mode/current",
        "get",
        "The panel mode",
        "Stored settings",
        ok_json(
            obj({"current_panel_mode": string(enum=schema.PANEL_MODES)}, ["current_panel_mode"])
        ),
        errors=(),
        origin="compat",
    )
    for mode_path, mode_name in (("wall", "Wall"), ("unit", "Unit")):
        doc.add(
            "/api/v1/device/mode/" + mode_path,
            "post",
            "Set the panel mode to %s" % mode_name,
            "Stored settings",
            ok_empty(),
            errors=(),
            writes=True,
            origin="compat",
        )
    doc.add(
        "/api/v1/syslog/status",
        "get",
        "The event queue of contract 10.1",
        "Events",
        ok_json(
            obj(
                {
                    "enabled": BOOLEAN,
                    "queued": integer(0),
                    "capacity": integer(1),
                    "events_dropped": integer(0),
                    "events_dropped_unreported": integer(0),
                    "sent": integer(0),
                    "failed": integer(0),
                    "last_error": {"type": ["string", "null"]},
                },
                ["enabled", "queued", "capacity", "events_dropped", "sent", "failed"],
            )
        ),
        errors=(),
        origin="panel",
        marker="[CHOICE]",
    )
    # -- hybrid adapter (panel additions)
    doc.add(
        "/api/v1/hybrid/state",
        "get",
        "The hybrid adapter: presence, version, lines",
        "Hybrid adapter",
        ok_json(
            obj(
                {
                    "present": BOOLEAN,
                    "configured": BOOLEAN,
                    "version": {"type": ["string", "null"]},
                    "capabilities": {"type": ["object", "null"]},
                    "lines": {"type": "array", "items": {"type": "object"}},
                },
                ["present", "configured", "version", "capabilities", "lines"],
            )
        ),
        errors=(),
        origin="panel",
    )
    for action, summary in (("ring", "Ring an analog handset"), ("stop", "Stop ringing it")):
        doc.add(
            "/api/v1/hybrid/lines/{line}/" + action,
            "post",
            summary,
            "Hybrid adapter",
            ok_empty(),
            errors=(400, 409),
            origin="panel",
            description="409 `Hybrid adapter unavailable` or `Hybrid adapter did not acknowledge`.",
        )
    # -- redirect settings (BAS-IP family, redirect rules' panel settings)
    doc.add(
        "/api/v1/redirect/settings",
        "get",
        "Work hours, SIP reply map and ring time of the redirect rules",
        "Redirect settings",
        ok_json(ref("RedirectSettings")),
        errors=(),
        origin="panel",
        marker="[D]",
    )
    doc.add(
        "/api/v1/redirect/settings",
        "post",
        "Change any of them",
        "Redirect settings",
        ok_empty(),
        body=ref("RedirectSettings"),
        writes=True,
        origin="panel",
        marker="[D]",
    )


def rules_operations(doc):
    collection = "/rest/v1/uc/redirectrules"
    item = collection + "/{ruleId}"
    rule_json = {JSON_TYPE: {"schema": ref("RedirectRule")}}
    list_params = [
        query("filter", {"type": "string"}, "JSON object (3.2), percent-encoded"),
        query("mask", {"type": "string"}, "comma-separated output fields"),
        query("offset", integer(0)),
        query("limit", integer(0)),
        query("order", {"type": "string"}, 'JSON array, e.g. ["enabled",{"priority":"desc"}]'),
        query("flat", string(enum=["true", "false", "1", "0"])),
    ]
    item_params = [list_params[1], list_params[5]]
    doc.add(
        collection,
        "post",
        "Create a redirect rule",
        "Redirect rules",
        (200, {"description": "The stored rule", "content": rule_json}),
        contract=RULES,
        body=ref("RedirectRuleCreate"),
        errors=(400, 409),
        writes=True,
        origin="vendor",
        marker="[R]",
        also_at=[collection + "/"],
    )
    doc.add(
        collection,
        "get",
        "List redirect rules",
        "Redirect rules",
        ok_json({"type": "array", "items": ref("RedirectRule")}),
        contract=RULES,
        params=list_params,
        errors=(400,),
        marker="[R]",
    )
    doc.add(
        collection,
        "lookup",
        "Ids of the rules whose id or filter_number is the key (method LOOKUP)",
        "Redirect rules",
        ok_json({"type": "array", "items": string(36, 36)}),
        contract=RULES,
        body={"type": "string"},
        errors=(400,),
        marker="[R]",
        extra_responses={
            404: reply(
                "`Lookup failed`",
                ref("RuleError"),
                example={"error_code": 1404, "error_message": "Lookup failed"},
            )
        },
    )
    doc.add(
        item,
        "get",
        "Read one rule (the whole entity unless masked)",
        "Redirect rules",
        (200, {"description": "The rule", "content": rule_json}),
        contract=RULES,
        params=item_params,
        errors=(400,),
        marker="[R]",
        also_at=[item + "/"],
    )
    doc.add(
        item,
        "patch",
        "Change some fields of a rule",
        "Redirect rules",
        (200, {"description": "The stored rule", "content": rule_json}),
        contract=RULES,
        body=ref("RedirectRulePatch"),
        errors=(400,),
        writes=True,
        marker="[D]",
    )
    doc.add(
        item,
        "delete",
        "Delete a rule",
        "Redirect rules",
        (204, {"description": "Deleted, no body"}),
        contract=RULES,
        errors=(),
        marker="[R]",
    )


def sim_operations(doc):
    def front(path, method, summary, ok, **more):
        # The simulator front's routes (firmware/sim): public, and tagged
        # and marked as the simulator's.
        doc.add(path, method, summary, "Simulator", ok, public=True, origin="simulator", **more)

    described = ref("SimCall")
    front(
        "/sim/locks",
        "get",
        "The simulated lock relays",
        ok_json(obj({"locks": {"type": "array", "items": {"type": "object"}}}, ["locks"])),
        errors=(),
    )
    front(
        "/sim/keypad",
        "post",
        "Press keys on the panel's keypad (0-9 * #)",
        ok_json(
            obj(
                {
                    "results": {"type": "array"},
                    "keypad": obj({"buffer": {"type": "string"}, "mode": {"type": "string"}}),
                    "call": described,
                },
                ["results", "keypad", "call"],
            )
        ),
        body=obj({"keys": string(1, 64), "key": string(1, 1)}),
    )
    front(
        "/sim/call",
        "get",
        "The call engine's state",
        ok_json(described),
        errors=(),
    )
    front(
        "/sim/call/hangup",
        "post",
        "The visitor hangs up (409 `No call` when idle)",
        ok_json(described),
        errors=(409,),
    )
    lock = integer(1, 2, default=1)
    front(
        "/sim/exit-button",
        "post",
        "Press the inside exit button of a lock",
        ok_json(obj({"opened": BOOLEAN}, ["opened"])),
        body=obj({"lock": lock}),
    )
    front(
        "/sim/door-sensor",
        "post",
        "Set a door's reed contact",
        ok_json(obj({"lock": lock, "state": string(enum=["open", "closed"])}, ["lock", "state"])),
        body=obj({"lock": lock, "state": string(enum=["open", "closed"])}, ["state"]),
    )
    front(
        "/sim/card",
        "post",
        "Show a card to a reader",
        ok_json(
            obj(
                {"granted": BOOLEAN, "locks": {"type": "array", "items": {"type": "integer"}}},
                ["granted", "locks"],
            )
        ),
        body=obj({"card": string(1, 32), "reader": integer(1, 2, default=1)}, ["card"]),
    )


def incoming_operations(doc):
    """Incoming calls (docs/incoming-calls.md) and the SIP TLS trust store."""
    incoming = obj(
        {
            "enabled": BOOLEAN,
            "allow": {
                "type": "array",
                "maxItems": INCOMING_ALLOW_MAX,
                "items": {"type": "string"},
                "description": "IPv4 addresses, sip:user@host or user names",
            },
            "answer_after_s": integer(*INCOMING_ANSWER_AFTER_RANGE),
        }
    )
    doc.add(
        "/api/v1/device/call/incoming",
        "get",
        "Who may call the panel, and after how long it answers",
        "Incoming calls",
        ok_json(incoming),
        errors=(),
        origin="panel",
    )
    doc.add(
        "/api/v1/device/call/incoming",
        "post",
        "Set the incoming-call allow-list (at least one field)",
        "Incoming calls",
        ok_empty(),
        body=incoming,
        writes=True,
        origin="panel",
    )
    tls = obj({"ca_file": string(0, 127), "verify": BOOLEAN})
    doc.add(
        "/api/v1/device/sip/tls",
        "get",
        "The CA file SIP over TLS checks the proxy against",
        "SIP",
        ok_json(tls),
        errors=(),
        origin="panel",
    )
    doc.add(
        "/api/v1/device/sip/tls",
        "post",
        "Set the SIP TLS trust (at least one field)",
        "SIP",
        ok_empty(),
        body=tls,
        writes=True,
        origin="panel",
    )


def _page(description):
    # The page is sent gzipped (Content-Encoding: gzip) with an ETag.
    return 200, {
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {"text/html": {"schema": {"type": "string"}}},
    }


def web_operations(doc):
    """The installer's web page and the simulator's front panel page."""
    not_modified = {304: {"description": "Not modified (If-None-Match matched the ETag)"}}
    for path in ("/", "/index.html"):
        doc.add(
            path,
            "get",
            "The installer's web page (gzipped, ETag; 304 on If-None-Match)",
            "Web page",
            _page("The page; everything it shows comes from this API with a token"),
            public=True,
            errors=(404,),
            origin="panel",
            extra_responses=not_modified,
        )
    doc.add(
        "/sim/",
        "get",
        "The simulator's front panel page",
        "Simulator",
        (200, {"description": "The page", "content": {"text/html": {"schema": {}}}}),
        public=True,
        errors=(),
        origin="simulator",
    )
    doc.add(
        "/sim/adapter/state",
        "get",
        "The adapter emulator's handsets (proxied; 503 without an emulator)",
        "Simulator",
        ok_json({"type": "object"}),
        public=True,
        errors=(502, 503),
        origin="simulator",
    )
    doc.add(
        "/sim/adapter/lines/{line}",
        "post",
        "A handset action on the emulator: answer, hang_up, door_button (proxied)",
        "Simulator",
        ok_json({"type": "object"}),
        body=obj({"action": string(enum=["answer", "hang_up", "door_button"])}, ["action"]),
        public=True,
        errors=(400, 502, 503),
        origin="simulator",
    )
    doc.add(
        "/sim/sip",
        "get",
        "The SIP user agent's counters, its TCP/TLS stream's and its TCP listener's",
        "Simulator",
        ok_json(obj({"ua": {"type": "object"}, "stream": {}, "listener": {}})),
        public=True,
        errors=(503,),
        origin="simulator",
    )
    heap = obj({"peak": integer(0), "alloc": integer(0), "free": integer(0)})
    doc.add(
        "/sim/heap",
        "get",
        "The interpreter's heap after a collection (zeros on CPython)",
        "Simulator",
        ok_json(heap),
        public=True,
        errors=(),
        origin="simulator",
    )
    doc.add(
        "/sim/heap/reset",
        "post",
        "Start sampling the heap's peak from now",
        "Simulator",
        ok_json(heap),
        public=True,
        errors=(),
        origin="simulator",
    )
    doc.add(
        "/sim/heap/boot",
        "get",
        "The heap once the panel first listened, before any request, and the "
        "modules imported by then (0 and [] on CPython)",
        "Simulator",
        ok_json(obj({"alloc": integer(0), "modules": {"type": "array", "items": string()}})),
        public=True,
        errors=(),
        origin="simulator",
    )


def document():
    doc = Doc()
    basip_operations(doc)
    rules_operations(doc)
    sim_operations(doc)
    incoming_operations(doc)
    web_operations(doc)
    doc.add(
        "/api/openapi.json",
        "get",
        "This document (gzipped)",
        "Device",
        ok_json({"type": "object"}, "The OpenAPI document, Content-Encoding: gzip"),
        public=True,
        errors=(),
        origin="panel",
    )
    tags = [
        ("Authentication", BASIP, "Login, logout, password (contract 2)"),
        ("Call forwarding", BASIP, "Forward rules and mode (contract 3)"),
        ("Call timing", BASIP, "Ring and talk times (contract 4)"),
        ("SIP", BASIP, "The SIP account (contract 5)"),
        ("Door locks", BASIP, "DTMF codes, open times, remote opening (contract 6)"),
        ("Access identifiers", BASIP, "Personal codes and cards (contract 8.1)"),
        ("Device", BASIP, "Device info, log, reboot, reset (contract 7, 8)"),
        ("Stored settings", BASIP, "Provisioning calls that are stored and echoed (contract 8)"),
        ("Events", BASIP, "Where event lines go, and their queue (contract 10)"),
        ("Hybrid adapter", BASIP, "The analog lines' adapter (panel addition)"),
        ("Incoming calls", BASIP, "Calls to the panel from an allow-list (docs/incoming-calls.md)"),
        ("Web page", BASIP, "The installer's web page served by the panel"),
        ("Redirect settings", BASIP, "Settings the redirect rules use (redirect rules 2.3, 2.6)"),
        ("Redirect rules", RULES, "The redirect rules collection (redirectrules-api.md)"),
        ("Simulator", BASIP, "Host simulator only (`make run`): the panel's front, no login"),
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "intercom-panel HTTP API",
            "version": FIRMWARE_VERSION,
            "description": "Both HTTP contracts of the entrance panel: the BAS-IP-compatible API "
            '(`/api/`, BAS-IP API level %s; errors `{"error": text}`) and the redirect rules '
            '(`/rest/v1/uc/redirectrules`; errors `{"error_code", "error_message", '
            '"error_details"}`). Routes tagged Simulator exist on the host simulator only. '
            "Guides: docs/api-basip.md, docs/api-redirect-rules.md." % API_VERSION,
            "x-body-limit-bytes": BODY_BYTES,
            "x-redirect-body-limit-bytes": REDIRECT_BODY_LIMIT_BYTES,
        },
        "servers": [{"url": "http://127.0.0.1:8080", "description": "make run"}],
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "tags": [
            {"name": name, "description": text, "x-contract": contract}
            for name, contract, text in tags
        ],
        "paths": doc.paths,
        "components": components(),
    }


def render():
    """(readable JSON text, gzip bytes) of the document."""
    value = document()
    text = json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    # mtime=0 and no file name: the same bytes on every run.
    packed = gzip.compress(compact, compresslevel=9, mtime=0)
    return text, packed


def main(argv):
    text, packed = render()
    if "--check" in argv:
        stale = []
        for path, wanted in ((JSON_PATH, text.encode()), (GZIP_PATH, packed)):
            try:
                with open(path, "rb") as handle:
                    if handle.read() != wanted:
                        stale.append(path)
            except OSError:
                stale.append(path)
        for path in stale:
            print("stale: %s (run tools/openapi.py)" % os.path.relpath(path, ROOT))
        return 1 if stale else 0
    with open(JSON_PATH, "w", encoding="utf-8") as handle:
        handle.write(text)
    with open(GZIP_PATH, "wb") as handle:
        handle.write(packed)
    print("%s: %d bytes; %s: %d bytes" % (JSON_PATH, len(text), GZIP_PATH, len(packed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
