# The panel's route table (panel.api.router): microdot's routing answers with
# less heap. Each test checks an answer microdot's own table gives (same order
# rules, 404/405, HEAD as GET, <name> segments), and the app-wide guard that
# turns ApiError and StoreFull into the contract's answers. Both runtimes.
import microdot.microdot as microdot_core
from microdot.test_client import TestClient

from panel.api.router import PanelApp, PathPattern
from panel.compat import run_handlers_in_loop
from panel.core.errors import ApiError
from panel.store import StoreFull


def _app():
    run_handlers_in_loop(microdot_core)
    return PanelApp()


def test_static_and_named_patterns_match_like_microdot():
    static = PathPattern("/api/v1/forward/items")
    assert static.match("/api/v1/forward/items") == {}
    assert static.match("/api/v1/forward/items/") is None
    assert static.match("/api/v1/forward/item") is None
    named = PathPattern("/api/v1/forward/item/<uid>")
    assert named.match("/api/v1/forward/item/55") == {"uid": "55"}
    # One non-empty segment, as microdot's default "string" type.
    assert named.match("/api/v1/forward/item/") is None
    assert named.match("/api/v1/forward/item/5/6") is None
    assert named.match("/api/v1/forward/other/5") is None
    two = PathPattern("/rest/<kind>/x/<id>/")
    assert two.match("/rest/a/x/b/") == {"kind": "a", "id": "b"}
    assert two.match("/rest/a/x/b") is None


def test_static_routes_are_not_regular_expressions():
    # microdot compiled "/api/openapi.json" to a regex whose "." matched any
    # character; a static path here is itself.
    pattern = PathPattern("/api/openapi.json")
    assert pattern.match("/api/openapi.json") == {}
    assert pattern.match("/api/openapiXjson") is None


async def test_the_first_route_that_matches_with_the_method_wins():
    app = _app()

    async def named(request, rule_id):
        return {"named": rule_id}

    async def static(request):
        return {"static": True}

    # A pattern registered before a static path it also matches is tried
    # first, and one registered after it second, as in microdot's list.
    app.route("/rules/<rule_id>", methods=["GET"])(named)
    app.route("/rules/all", methods=["GET", "POST"])(static)
    app.route("/rules/<rule_id>", methods=["DELETE"])(named)
    client = TestClient(app)
    response = await client.get("/rules/all")
    assert response.json == {"named": "all"}
    response = await client.post("/rules/all")
    assert response.json == {"static": True}
    response = await client.delete("/rules/all")
    assert response.json == {"named": "all"}
    response = await client.get("/rules/7")
    assert response.json == {"named": "7"}


async def test_not_found_method_not_allowed_and_head():
    app = _app()

    async def items(request):
        return {"items": []}

    app.route("/items", methods=["GET"])(items)
    client = TestClient(app)
    assert (await client.get("/nothing")).status_code == 404
    assert (await client.post("/items")).status_code == 405
    assert app.allowed_methods("/items") == ["GET"]
    assert app.allowed_methods("/nothing") == []
    response = await client.request("HEAD", "/items")
    assert response.status_code == 200


async def test_api_error_and_store_full_answer_in_the_contract_shape():
    app = _app()

    async def refused(request):
        raise ApiError(409, "Already exists")

    async def full(request):
        raise StoreFull("no space")

    app.route("/api/v1/refused", methods=["POST"])(refused)
    app.route("/api/v1/full", methods=["POST"])(full)
    client = TestClient(app)
    response = await client.post("/api/v1/refused")
    assert (response.status_code, response.json) == (409, {"error": "Already exists"})
    response = await client.post("/api/v1/full")
    assert response.status_code == 507
    assert response.json == {"error": "Storage full"}


def test_routes_share_their_method_tuples():
    app = _app()

    def handler(request):
        return ""

    app.route("/a", methods=["GET", "POST"])(handler)
    app.route("/b", methods=["GET", "POST"])(handler)
    first, second = list(app.url_map)
    assert first[0] == ("GET", "POST")
    assert first[0] is second[0]
    assert (first[1].url_pattern, first[2]) == ("/a", handler)


async def test_memory_error_answers_503_in_the_contract_shape():
    app = _app()

    async def starved(request):
        raise MemoryError("memory allocation failed, allocating 4453 bytes")

    app.route("/api/v1/forward/items", methods=["GET"])(starved)
    app.route("/rest/v1/uc/redirectrules", methods=["GET"])(starved)
    client = TestClient(app)
    response = await client.get("/api/v1/forward/items")
    assert (response.status_code, response.json) == (503, {"error": "Out of memory"})
    assert response.headers["Retry-After"] == "1"
    response = await client.get("/rest/v1/uc/redirectrules")
    assert response.status_code == 503
    assert response.json == {"error_code": 1503, "error_message": "Out of memory"}


async def test_a_sealed_table_still_routes_and_takes_more_routes():
    app = _app()

    async def first(request):
        return {"route": 1}

    async def second(request, uid):
        return {"route": 2, "uid": uid}

    app.route("/one", methods=["GET"])(first)
    app.url_map.seal()
    assert isinstance(app.url_map.handlers, tuple) and len(app.url_map) == 1
    client = TestClient(app)
    assert (await client.get("/one")).json == {"route": 1}
    # A route added after the seal (a board's extra routes) makes it a list again.
    app.route("/two/<uid>", methods=["GET"])(second)
    assert (await client.get("/two/5")).json == {"route": 2, "uid": "5"}
    assert (await client.get("/one")).json == {"route": 1}
    assert [route[0] for route in app.url_map] == [("GET",), ("GET",)]
