"""The OpenAPI document (docs/openapi.json, written by tools/openapi.py) against
the code: it is current, it names exactly the routes the app has (both
contracts, the panel's additions and the host's /sim/ routes), and the panel
serves it, gzipped and without a login, at /api/openapi.json."""

import gzip
import json
import os
import re

from host.panel_process import host_routes
from host.simulated_relay import SimulatedRelayPin
from panel.clock import Clock
from panel.store import Store
from panel.wiring import BoardParts, build_panel
from support.panel_process import ROOT
from tools import openapi

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_document():
    with open(os.path.join(ROOT, "docs", "openapi.json"), encoding="utf-8") as handle:
        return json.load(handle)


def documented_operations(document):
    """{(path with {} for each parameter, METHOD)} of the document."""
    operations = set()
    for path, item in document["paths"].items():
        paths = [path] + item.get("x-also-at", [])
        methods = [method.upper() for method in item if method in METHODS]
        methods += list(item.get("x-additionalOperations", {}))
        for each in paths:
            for method in methods:
                operations.add((re.sub(r"\{[^}]*\}", "{}", each), method))
    return operations


def app_operations(tmp_path):
    """{(path with {} for each parameter, METHOD)} of the host panel's app, as
    host/panel_process.py wires it (test board, /sim/ routes mounted)."""
    store = Store(str(tmp_path / "store"))
    store.open()
    pins = [SimulatedRelayPin(number, str(tmp_path / "relay.log")) for number in (1, 2)]
    parts = BoardParts(store=store, clock=Clock(assume_set=True), relay_pins=pins)
    parts.extra_routes = host_routes(pins)
    panel = build_panel({"name": "test"}, parts)
    operations = set()
    for methods, pattern, _, _, _ in panel.app.url_map:
        path = re.sub(r"<[^>]*>", "{}", pattern.url_pattern)
        for method in methods:
            operations.add((path, method))
    panel.stop()
    store.close()
    return operations


def test_the_committed_document_is_what_the_generator_writes():
    text, packed = openapi.render()
    with open(openapi.JSON_PATH, encoding="utf-8") as handle:
        assert handle.read() == text, "docs/openapi.json is stale: run tools/openapi.py"
    with open(openapi.GZIP_PATH, "rb") as handle:
        assert handle.read() == packed, "openapi.json.gz is stale: run tools/openapi.py"
    assert json.loads(gzip.decompress(packed)) == json.loads(text)


def test_every_route_of_the_app_is_documented_and_nothing_more(tmp_path):
    in_app = app_operations(tmp_path)
    in_document = documented_operations(load_document())
    # Sanity: both contracts and the simulator are in the walk.
    assert ("/rest/v1/uc/redirectrules", "LOOKUP") in in_app
    assert ("/api/v1/forward/item/{}", "DELETE") in in_app
    assert ("/sim/keypad", "POST") in in_app
    assert sorted(in_app - in_document) == [], "routes missing from docs/openapi.json"
    assert sorted(in_document - in_app) == [], "documented routes the app does not have"


def test_the_document_is_openapi_3_1_and_every_operation_is_tagged_and_marked():
    from schemathesis.specs.openapi import definitions

    document = load_document()
    assert document["openapi"] == "3.1.0"
    validator = definitions.OPENAPI_31_VALIDATOR
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == []
    tags = {tag["name"] for tag in document["tags"]}
    for path, item in document["paths"].items():
        operations = [item[method] for method in item if method in METHODS]
        operations += list(item.get("x-additionalOperations", {}).values())
        for operation in operations:
            assert operation["tags"][0] in tags, path
            assert operation["x-contract"] == (
                "redirect-rules" if path.startswith("/rest/") else "basip"
            )
            assert operation["x-origin"] in ("vendor", "compat", "panel", "simulator")
            assert (operation["x-origin"] == "simulator") == path.startswith("/sim/")
            public = operation.get("security") == []
            assert public == ("401" not in operation["responses"]), path


def test_the_panel_serves_the_document_gzipped_without_login(panel):
    reply = panel.request("GET", "/api/openapi.json", auth=None)
    assert reply.status == 200
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.headers["Content-Type"].startswith("application/json")
    assert json.loads(gzip.decompress(reply.raw)) == load_document()
