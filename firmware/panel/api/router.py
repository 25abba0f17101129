# The panel's route table: microdot's app with a lighter one.
#
# microdot keeps, per route, a URLPattern with a list of per-segment dicts, a
# list of upper-cased method names and, from the first request on, a compiled
# regular expression; and it finds a route by trying every pattern in order.
# On the 64-bit unix port that is about 300 bytes per route before the first
# request and about 500 after it, for the panel's 60-odd routes. Here a route
# is one tuple and one small pattern (no regex), a static path is found by a
# dict lookup, and only the few patterns with <name> segments are tried.
#
# Every handler also answers ApiError in its contract's shape and StoreFull as
# 507 (one guard for the app, instead of a wrapper closure per route): microdot
# would print a traceback for each such expected error before its handler.
from microdot import Microdot

from panel.api.common import error_for
from panel.core.errors import ApiError
from panel.store import StoreFull


class PathPattern:
    """A route's URL pattern ("/api/v1/forward/item/<uid>"): static segments,
    and <name> segments that each match one non-empty path segment (microdot's
    default segment type, the only one the panel uses)."""

    def __init__(self, url_pattern):
        self.url_pattern = url_pattern
        # None for a static path (matched by equality).
        self.segments = tuple(url_pattern.split("/")) if "<" in url_pattern else None

    def match(self, path):
        """{name: segment} when path matches, else None (microdot's API)."""
        segments = self.segments
        if segments is None:
            return {} if path == self.url_pattern else None
        parts = path.split("/")
        if len(parts) != len(segments):
            return None
        args = {}
        for index in range(len(segments)):
            wanted = segments[index]
            given = parts[index]
            if wanted[:1] == "<":
                if not given:
                    return None
                args[wanted[1:-1]] = given
            elif wanted != given:
                return None
        return args


class PanelApp(Microdot):
    """microdot's app, routes kept in a static-path dict and a short list of
    patterns. url_map keeps microdot's tuples (methods, pattern, handler, "",
    None) in registration order, for the tools that list the routes."""

    def __init__(self):
        super().__init__()
        # static path -> the url_map indexes that can match it (its own routes
        # and the patterns that match it too, in registration order): one int
        # when it is one route, as most are, else a list.
        self._static = {}
        self._patterned = []  # url_map indexes of patterns with <name> segments
        self._method_sets = {}  # one shared tuple per distinct method list
        self._guard = self._guarded  # one bound method, not one per request

    def route(self, url_pattern, methods=None):
        def decorated(handler):
            index = len(self.url_map)
            pattern = PathPattern(url_pattern)
            allowed = tuple(methods) if methods else ("GET",)
            allowed = self._method_sets.setdefault(allowed, allowed)
            self.url_map.append((allowed, pattern, handler, "", None))
            if pattern.segments is None:
                self._add_static(url_pattern, index)
            else:
                self._patterned.append(index)
                for path in self._static:
                    if pattern.match(path) is not None:
                        self._add_static(path, index)
            return handler

        return decorated

    def _add_static(self, path, index):
        known = self._static.get(path)
        if known is None:
            earlier = [i for i in self._patterned if self.url_map[i][1].match(path) is not None]
            known = earlier if earlier else None
        if known is None:
            self._static[path] = index
        elif isinstance(known, int):
            self._static[path] = [known, index]
        else:
            known.append(index)
            self._static[path] = known

    def candidates(self, path):
        """url_map indexes that may match path, in registration order (the
        first route that matches with the method wins, as in microdot)."""
        static = self._static.get(path)
        if static is None:
            return self._patterned
        return (static,) if isinstance(static, int) else static

    def find_route(self, request):
        method = request.method.upper()
        if method == "OPTIONS" and self.options_handler:
            return self.options_handler(request), "", None
        if method == "HEAD":
            method = "GET"
        found = 404
        path = request.path
        for index in self.candidates(path):
            methods, pattern, handler, _, _ = self.url_map[index]
            args = pattern.match(path)
            if args is None:
                continue
            request.url_args = args
            if method in methods:
                request.route_handler = handler
                return self._guard, "", None
            found = 405
        return found, "", None

    async def _guarded(self, request, **url_args):
        try:
            result = request.route_handler(request, **url_args)
            if hasattr(result, "send"):
                result = await result
            return result
        except ApiError as exc:
            return exc.answer()
        except StoreFull:
            # Nothing of the change was stored (the store's promise): the
            # client is told so, never with a 5xx that hides a write.
            return error_for(request, 507).answer()
