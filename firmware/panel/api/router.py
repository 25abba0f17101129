# The panel's route table: microdot's app with a lighter one.
#
# microdot keeps, per route, a URLPattern with a list of per-segment dicts, a
# list of upper-cased method names and, from the first request on, a compiled
# regular expression; and it finds a route by trying every pattern in order.
# On the 64-bit unix port that is about 300 bytes per route before the first
# request and about 500 after it, for the panel's 60-odd routes. Here a route
# is an entry in each of three lists, sealed into tuples once the panel is
# wired (and a small pattern object, no regex, for the few with <name>
# segments), a static path is found by a dict lookup, and only those few
# patterns are tried.
#
# Every handler also answers ApiError in its contract's shape, StoreFull as
# 507 and MemoryError as 503 (one guard for the app, instead of a wrapper
# closure per route): microdot would print a traceback for each such expected
# error before its handler, and answer a MemoryError 500.
import gc

import microdot.microdot as microdot_core
from microdot import Microdot

from panel.api.common import error_for, error_for_path
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


class RouteTable:
    """The routes in registration order, in three parallel lists (methods,
    url patterns, handlers): no object per route, as a tuple each would be.
    Iterating it gives microdot's url_map tuples (methods, pattern, handler,
    "", None), made on demand, for the tools and tests that list the routes."""

    def __init__(self):
        self.methods = []
        self.url_patterns = []
        self.handlers = []

    def __len__(self):
        return len(self.handlers)

    def __iter__(self):
        for index in range(len(self.handlers)):
            pattern = PathPattern(self.url_patterns[index])
            yield self.methods[index], pattern, self.handlers[index], "", None

    def add(self, methods, url_pattern, handler):
        """Append a route; returns its index."""
        if isinstance(self.handlers, tuple):
            self.methods = list(self.methods)
            self.url_patterns = list(self.url_patterns)
            self.handlers = list(self.handlers)
        self.methods.append(methods)
        self.url_patterns.append(url_pattern)
        self.handlers.append(handler)
        return len(self.handlers) - 1

    def seal(self):
        """The lists as tuples of their exact length, once every route is
        registered: a grown list keeps up to half its room unused (a route
        added later makes them lists again)."""
        self.methods = tuple(self.methods)
        self.url_patterns = tuple(self.url_patterns)
        self.handlers = tuple(self.handlers)


class PanelApp(Microdot):
    """microdot's app with the routes in a RouteTable (its url_map), static
    paths found in a dict and only the patterns with <name> segments tried."""

    def __init__(self):
        super().__init__()
        self.url_map = RouteTable()
        # static path -> the route indexes that can match it (its own routes
        # and the patterns that match it too, in registration order): one int
        # when it is one route, as most are, else a list.
        self._static = {}
        self._patterns = []  # (route index, PathPattern) of <name> patterns
        self._method_sets = {}  # one shared tuple per distinct method list
        self._guard = self._guarded  # one bound method, not one per request

    def route(self, url_pattern, methods=None):
        def decorated(handler):
            allowed = tuple(methods) if methods else ("GET",)
            allowed = self._method_sets.setdefault(allowed, allowed)
            index = self.url_map.add(allowed, url_pattern, handler)
            pattern = PathPattern(url_pattern)
            if pattern.segments is None:
                self._add_static(url_pattern, index)
            else:
                self._patterns.append((index, pattern))
                for path in self._static:
                    if pattern.match(path) is not None:
                        self._add_static(path, index)
            return handler

        return decorated

    def _add_static(self, path, index):
        known = self._static.get(path)
        if known is None:
            earlier = [i for i, pattern in self._patterns if pattern.match(path) is not None]
            known = earlier if earlier else None
        if known is None:
            self._static[path] = index
        elif isinstance(known, int):
            self._static[path] = [known, index]
        else:
            known.append(index)
            self._static[path] = known  # new when it is the earlier patterns

    def _matches(self, path):
        """(route index, url args) of the routes matching path, in
        registration order (the first with the method wins, as in microdot)."""
        static = self._static.get(path)
        if static is None:
            for index, pattern in self._patterns:
                args = pattern.match(path)
                if args is not None:
                    yield index, args
        elif isinstance(static, int):
            yield static, {}
        else:
            for index in static:
                args = {}
                for known, pattern in self._patterns:
                    if known == index:
                        args = pattern.match(path)
                yield index, args

    def find_route(self, request):
        method = request.method.upper()
        if method == "OPTIONS" and self.options_handler:
            return self.options_handler(request), "", None
        if method == "HEAD":
            method = "GET"
        found = 404
        routes = self.url_map
        for index, args in self._matches(request.path):
            request.url_args = args
            if method in routes.methods[index]:
                request.route_handler = routes.handlers[index]
                return self._guard, "", None
            found = 405
        return found, "", None

    def allowed_methods(self, path):
        """Every method some route of path takes (a 405's Allow header)."""
        allowed = []
        for index, _ in self._matches(path):
            for method in self.url_map.methods[index]:
                if method not in allowed:
                    allowed.append(method)
        return allowed

    async def _guarded(self, request, **url_args):
        try:
            # microdot's own way of calling a handler (compat.run_handlers_in_loop's).
            return await microdot_core.invoke_handler(request.route_handler, request, **url_args)
        except ApiError as exc:
            return exc.answer()
        except StoreFull:
            # Nothing of the change was stored (the store's promise): the
            # client is told so, never with a 5xx that hides a write.
            return error_for(request, 507).answer()
        except MemoryError:
            return out_of_memory(request)


# How long a client waits before it asks again after a 503 (s).
RETRY_AFTER_S = "1"


def out_of_memory(request):
    """The 503 of a request the heap could not take, in its contract's shape.
    The store rebuilds its RAM state from its files at its next call when a
    write met the MemoryError (store.Store._guarded_apply)."""
    gc.collect()
    return out_of_memory_answer("" if request is None else request.path)


def out_of_memory_answer(path):
    """(body, status, headers) of that 503 for path: also what the HTTP
    server answers when the heap ran out outside a route (wiring.error_answer)."""
    return error_for_path(path, 503).answer({"Retry-After": RETRY_AFTER_S})
