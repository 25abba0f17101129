# Shared pieces of the BAS-IP routes: JSON answers, the error exception the
# handlers raise, and reading request bodies strictly.
#
# Handlers raise ApiError (or core.body.BodyError) for anything wrong with the
# request; the app's error handlers turn both into `{"error": "<text>"}` with
# the contract's status. Every handler is `async def`: microdot runs plain
# functions in a thread pool on CPython, and the firmware has one loop, no threads.
from panel.core import body as body_rules

JSON_HEADERS = {"Content-Type": "application/json"}


class ApiError(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


def answer(document, status=200):
    return document, status, JSON_HEADERS


def ok():
    return answer({})


def error_answer(status, text):
    return answer({"error": text}, status)


def route(app, path, methods):
    """Register an async handler for path; ApiError and BodyError raised inside
    become the contract's JSON answer here (microdot would print a traceback
    for every such expected error before calling an error handler)."""

    def decorate(handler):
        async def guarded(request, *args, **kwargs):
            try:
                return await handler(request, *args, **kwargs)
            except ApiError as exc:
                return error_answer(exc.status, exc.text)
            except body_rules.BodyError as exc:
                return error_answer(exc.status, exc.text)

        app.route(path, methods=methods)(guarded)
        return handler

    return decorate


def read_object(request):
    """The request body as a dict, or BodyError("Wrong JSON body")."""
    return body_rules.parse_object(request.body)


def read_optional_object(request):
    """For routes where a body is optional (query-parameter forms): {} when empty."""
    raw = request.body
    if not raw or not raw.strip():
        return {}
    return body_rules.parse_object(raw)


def query_value(request, name, default=None):
    value = request.args.get(name)
    if value is None:
        return default
    return value
