# Shared pieces of the routes: JSON answers, reading request bodies strictly,
# and the route decorator that turns the API's error family into answers.
#
# Handlers raise core.errors.ApiError or one of its kinds (core.body.BodyError,
# core.redirects.RuleError) for anything wrong with the request; each carries
# its status and its contract's body shape, and `route` answers it through
# its `answer()`. Every handler is `async def`: microdot runs plain functions
# in a thread pool on CPython, and the firmware has one loop, no threads.
from panel.core import body as body_rules
from panel.core import redirects
from panel.core.errors import BASIP_HEADERS, ApiError, basip_error

# Paths of the redirect-rules contract: their errors have its section 4 shape.
REDIRECT_RULES_PREFIX = "/rest/"
# Request bodies of the redirect-rules API above this size get 413 (its spec
# 3.1); the app's general limit (the board's body_bytes) is checked first.
REDIRECT_BODY_LIMIT_BYTES = 8192

JSON_HEADERS = BASIP_HEADERS

__all__ = [
    "ApiError",
    "answer",
    "error_for",
    "error_for_path",
    "ok",
    "route",
    "read_object",
    "read_optional_object",
]


def answer(document, status=200):
    return document, status, JSON_HEADERS


# What microdot sends with a dict answered through answer(): for a body that
# is JSON text already, so the answer's bytes are the same.
_JSON_TEXT_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}


def answer_json_text(body, status=200):
    """An answer whose body is JSON text (bytes) made by the route itself."""
    return body, status, _JSON_TEXT_HEADERS


def ok():
    return answer({})


def route(app, path, methods):
    """Register an async handler for path on the panel's app (api.router's
    PanelApp, which answers an ApiError raised inside in its contract's shape
    and StoreFull as 507)."""
    return app.route(path, methods=methods)


def error_for(request, status):
    """The error the app itself answers (no route, no credentials, too large,
    unreadable, flash full, a bug), in the shape of the contract the path
    belongs to."""
    return error_for_path("" if request is None else request.path, status)


def error_for_path(path, status):
    """error_for by path (the HTTP server refuses some requests before there
    is a Request: 400, 414, 431)."""
    if path.startswith(REDIRECT_RULES_PREFIX):
        details = None
        if status == 413:
            details = {"limit": REDIRECT_BODY_LIMIT_BYTES}
        return redirects.RuleError(status, redirects.error_body(status)["error_message"], details)
    return basip_error(status)


def read_object(request):
    """The request body as a dict, or BodyError("Wrong JSON body")."""
    return body_rules.parse_object(request.body)


def read_optional_object(request):
    """For routes where a body is optional (query-parameter forms): {} when empty."""
    raw = request.body
    if not raw or not raw.strip():
        return {}
    return body_rules.parse_object(raw)
