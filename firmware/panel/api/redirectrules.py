"""HTTP API of the redirect rules: /rest/v1/uc/redirectrules (spec section 3).

Also the panel settings the rules depend on, under the BAS-IP family:
GET|POST /api/v1/redirect/settings (errors `{"error": "<text>"}`, basip 1.2).

Routes only: each parses the request (body size, media type, JSON, query),
calls the service and formats the answer. The rules' storage, index, limit
and checks are panel.services.redirect_rules.RedirectRules
(services.redirect_rules); the settings are declared in services.settings
(REDIRECT) and read through services.redirect_settings.RedirectSettings.

Interface:
- register(app, services): the routes (collection and item, one trailing slash
  ignored, method LOOKUP included, and the settings route).
- error_body(status, message=None, details=None): the section 4 error dict
  (the app uses it for 401/404/405/413/500 under /rest/).
- BODY_LIMIT_BYTES: the 413 limit of this API's request bodies.
"""

from panel.api.common import REDIRECT_BODY_LIMIT_BYTES, route
from panel.core import redirects
from panel.core.body import JsonError, parse_json
from panel.core.errors import BASIP_HEADERS, ApiError
from panel.core.redirects import RuleError, error_body

COLLECTION_PATH = "/rest/v1/uc/redirectrules"
SETTINGS_PATH = "/api/v1/redirect/settings"

# Request bodies of this API above this size get 413 (spec 3.1); the app's
# general limit (16 KiB) is checked before the body is read.
_BODY_MAX = REDIRECT_BODY_LIMIT_BYTES
BODY_LIMIT_BYTES = _BODY_MAX
# Lists longer than this are written to the client rule by rule (a generator
# body) instead of being joined in RAM first.
_INLINE_LIST_MAX = 16

_JSON_TYPE = "application/json; charset=utf-8"


def _headers():
    return {"Content-Type": _JSON_TYPE}


def _answer(value, status=200):
    # Encoded here (not by microdot) for the contract's key order and the
    # exact Content-Type text.
    return redirects.encode(value), status, _headers()


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


def _list_body(rules, leaves, flat):
    """Chunks of the JSON array of the rules (an iterator, read one by one)."""
    yield "["
    first = True
    for rule in rules:
        text = redirects.encode(redirects.project(rule, leaves, flat))
        yield text if first else "," + text
        first = False
    yield "]"


def _create(rules, request):
    return _answer(rules.create(_read_json_body(request, "object")))


def _list(rules, request):
    query = redirects.parse_list_query(request.args)
    rule_ids = rules.select(query)
    chunks = _list_body(rules.read_many(rule_ids), query.leaves, query.flat)
    if len(rule_ids) <= _INLINE_LIST_MAX:
        return "".join(chunks), 200, _headers()
    return chunks, 200, _headers()


def _lookup(rules, request):
    key = _read_json_body(request, "string")
    if type(key) is not str:
        raise RuleError(
            400, redirects.MSG_INVALID_BODY, {"reason": "invalid_type", "expected": "string"}
        )
    found = rules.lookup(key)
    if not found:
        raise RuleError(404, redirects.MSG_LOOKUP_FAILED)
    return _answer(found)


def _read_one(rules, request, rule_id_text):
    rule = rules.get(rule_id_text)
    leaves, flat = redirects.parse_item_query(request.args)
    return _answer(redirects.project(rule, leaves, flat))


def _patch(rules, request, rule_id_text):
    # An unknown id is answered before the body is looked at (404 first).
    if not rules.exists(rule_id_text):
        raise RuleError(404, "Not found")
    return _answer(rules.patch(rule_id_text, _read_json_body(request, "object")))


def _delete(rules, rule_id_text):
    rules.delete(rule_id_text)
    return "", 204, {}


# --- routes -------------------------------------------------------------------------


def register(app, services):
    """Add the redirect-rules routes and the settings route to a microdot app.

    Errors raised inside are the API's error family (core.errors): RuleError
    answers in this contract's section 4 shape through common.route."""
    rules = services.redirect_rules
    settings = services.redirect_settings
    # Boot: the routing index is rebuilt once if missing or of another format.
    rules.ensure_index()

    async def collection(request):
        method = request.method
        if method == "POST":
            return _create(rules, request)
        if method == "LOOKUP":
            return _lookup(rules, request)
        return _list(rules, request)

    async def item(request, rule_id):
        method = request.method
        if method == "PATCH":
            return _patch(rules, request, rule_id)
        if method == "DELETE":
            return _delete(rules, rule_id)
        return _read_one(rules, request, rule_id)

    async def redirect_settings(request):
        try:
            if request.method == "POST":
                try:
                    document = parse_json(request.body or b"")
                except JsonError:
                    raise ApiError(400, "Wrong JSON body")
                settings.update(document)
                answer = {}
            else:
                answer = settings.load()
        except ApiError as error:
            # This route is of the BAS-IP family: {"error": text}, compact.
            body, status, headers = error.answer()
            return redirects.encode(body), status, headers
        return redirects.encode(answer), 200, BASIP_HEADERS

    collection_methods = ["GET", "POST", "LOOKUP"]
    item_methods = ["GET", "PATCH", "DELETE"]
    route(app, COLLECTION_PATH, collection_methods)(collection)
    route(app, COLLECTION_PATH + "/", collection_methods)(collection)
    route(app, COLLECTION_PATH + "/<rule_id>", item_methods)(item)
    route(app, COLLECTION_PATH + "/<rule_id>/", item_methods)(item)
    app.route(SETTINGS_PATH, methods=["GET", "POST"])(redirect_settings)


__all__ = ["register", "error_body", "BODY_LIMIT_BYTES", "COLLECTION_PATH", "SETTINGS_PATH"]
