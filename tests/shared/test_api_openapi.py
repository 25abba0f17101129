# GET /api/openapi.json (panel.api.openapi_document): the gzipped document is
# on the panel's file system next to its module and the route is public, on
# both runtimes. (Its content and the HTTP answer are checked on the host:
# tests/host/test_openapi.py.)
from api_harness import Harness
from panel.api import auth, openapi_document


def test_the_document_file_is_next_to_the_module_and_gzipped():
    with open(openapi_document.document_file(), "rb") as handle:
        head = handle.read(3)
    # gzip magic and method 8 (deflate).
    assert head == b"\x1f\x8b\x08"


def test_the_document_route_is_public_and_answers_get_only():
    assert openapi_document.DOCUMENT_PATH in auth.PUBLIC_PATHS
    harness = Harness("openapi-route")
    try:
        methods = []
        for route_methods, pattern, _, _, _ in harness.app.url_map:
            if pattern.match(openapi_document.DOCUMENT_PATH) is not None:
                methods.extend(route_methods)
        assert methods == ["GET"]
    finally:
        harness.close()


async def test_other_methods_get_the_basip_405():
    harness = Harness("openapi-405")
    try:
        response = await harness.call("POST", openapi_document.DOCUMENT_PATH, auth=False)
        assert response.status_code == 405
        assert response.json == {"error": "Method not allowed"}
        assert response.headers["Allow"] == "GET"
    finally:
        harness.close()
