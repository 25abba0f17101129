"""schemathesis runs every operation of docs/openapi.json against the panel
process (`make run`'s host.run, tests/support/panel_process.py), logged in as
admin:123456: valid requests and requests that break the document's schemas
(schemathesis' positive and negative modes), a bounded number of each. Every
answer must be one the document lists for the operation, of the listed
Content-Type, with the listed headers, matching its schema; no 5xx but the
documented 507.

Not fuzzed here: the reboot route (the panel restarts; the docs examples test
calls it once), and the login and password routes run against a panel of
their own (their wrong passwords lock the address out for minutes: 429).
LOOKUP (x-additionalOperations: OpenAPI 3.1 has no custom methods) is checked
by hand against the document's schemas at the end."""

import json
import os

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from support.panel_process import BASIC, ROOT, PanelProcess

# Examples per operation and generation mode: ~80 operations x 2 modes.
EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "12"))
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
REBOOT = ("GET", "/api/v1/system/reboot/run")
# host/sim_front: the CPython simulator's page and its proxy to the adapter
# emulator (the unix MicroPython board mounts the rest of /sim/).
HOST_FRONT_ONLY = ("/sim/", "/sim/adapter/state", "/sim/adapter/lines/{line}")
OWN_PANEL = {
    ("GET", "/api/v1/login"),
    ("POST", "/api/v1/login"),
    ("POST", "/api/v1/security/password/admin"),
    ("POST", "/api/v1/security/password/web/admin"),
}


def load_document():
    with open(os.path.join(ROOT, "docs", "openapi.json"), encoding="utf-8") as handle:
        return json.load(handle)


DOCUMENT = load_document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


def operations():
    found = []
    for result in SCHEMA.get_all_operations():
        operation = result.ok()
        found.append(operation)
    return found


OPERATIONS = operations()


def key_of(operation):
    return (operation.method.upper(), operation.path)


def strategy_of(operation):
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # noqa: BLE001 - an operation with nothing to negate
            continue
    return st.one_of(strategies)


def run_operation(panel, operation):
    base_url = "http://127.0.0.1:%d" % panel.port
    statuses = []
    # 507: the flash is full (any write). The simulator's proxy to the adapter
    # emulator answers 503 when there is none (this panel runs without one)
    # and 502 when it does not answer: documented, and not the panel's own.
    allowed_5xx = (507,)
    if operation.path.startswith("/sim/adapter/"):
        allowed_5xx = (502, 503, 507)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy_of(operation))
    def check(case):
        response = case.call(base_url=base_url, headers={"Authorization": BASIC}, timeout=10)
        statuses.append(response.status_code)
        assert response.status_code < 500 or response.status_code in allowed_5xx, (
            case.as_curl_command(),
            response.status_code,
            response.text[:300],
        )
        case.validate_response(response, checks=CHECKS)

    check()
    # The run reached the panel (not a strategy that generated nothing).
    assert statuses


@pytest.mark.parametrize(
    "operation",
    [op for op in OPERATIONS if key_of(op) != REBOOT and key_of(op) not in OWN_PANEL],
    ids=lambda operation: "%s %s" % key_of(operation),
)
def test_operation_answers_as_documented(panel, operation, runtime):
    if runtime == "micropython" and key_of(operation)[1] in HOST_FRONT_ONLY:
        pytest.skip("the simulator's front page and its emulator proxy are the host's only")
    run_operation(panel, operation)


@pytest.fixture(scope="module")
def login_panel(tmp_path_factory):
    process = PanelProcess(tmp_path_factory.mktemp("login-panel")).start()
    yield process
    process.stop()


@pytest.mark.parametrize(
    "operation",
    [op for op in OPERATIONS if key_of(op) in OWN_PANEL],
    ids=lambda operation: "%s %s" % key_of(operation),
)
def test_login_and_password_operations_answer_as_documented(login_panel, operation):
    run_operation(login_panel, operation)


def _validator(reference):
    # The component schema with the document's components beside it, so its
    # $refs resolve.
    schema = {"$ref": reference, "components": DOCUMENT["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def test_lookup_answers_as_documented(panel):
    lookup = DOCUMENT["paths"]["/rest/v1/uc/redirectrules"]["x-additionalOperations"]["LOOKUP"]
    created = panel.request(
        "POST",
        "/rest/v1/uc/redirectrules",
        body={"type": "busy", "filter_number": "1XX", "tran_number": "9XX"},
    )
    assert created.status == 200
    rule_id = created.json["id"]
    cases = [
        (json.dumps("1XX").encode(), 200),
        (json.dumps("no such key").encode(), 404),
        (b"42", 400),
        (b"{", 400),
    ]
    for raw, status in cases:
        reply = panel.request(
            "LOOKUP",
            "/rest/v1/uc/redirectrules",
            raw_body=raw,
            headers={"Content-Type": "application/json"},
        )
        assert reply.status == status, (raw, reply)
        documented = lookup["responses"][str(status)]
        if "$ref" in documented:
            name = documented["$ref"].rsplit("/", 1)[1]
            documented = DOCUMENT["components"]["responses"][name]
        schema = documented["content"]["application/json"]["schema"]
        reference = schema.get("$ref")
        validator = (
            _validator(reference) if reference else jsonschema_rs.Draft202012Validator(schema)
        )
        assert validator.is_valid(reply.json), (raw, reply.json)
        if status == 200:
            assert rule_id in reply.json
    panel.request("DELETE", "/rest/v1/uc/redirectrules/" + rule_id)
