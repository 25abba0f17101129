"""The redirect-rule index gives the same routing answers as a scan of every rule.

CPython only (hypothesis). Generated rule sets go through the real API
(panel.wiring.build_panel + microdot TestClient, real store in a temporary directory): creates,
PATCHes (filter_number moving a rule between x:/w:/v: keys, other fields),
DELETEs and index rebuilds, in any order. After each sequence, for generated
called numbers, services.redirect_rules.candidates() (from the index) must name
exactly the rules whose filter_number matches, and CallRouting.next_step must pick the same
rule and destination from the candidates as from all rules, for every
outcome, at several times and for two callers.
"""

import asyncio
import json
import shutil
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from microdot.test_client import TestClient

from panel.clock import Clock
from panel.core import numbers, routing
from panel.drivers.pins import RecordingPin
from panel.services import redirect_index
from panel.store import Store
from panel.wiring import BoardParts, build_panel

BASE = "/rest/v1/uc/redirectrules"
AUTH = {"Authorization": "Basic YWRtaW46MTIzNDU2"}
BOARD = {
    "name": "test",
    "device_model": "TEST-PANEL",
    "mcu_version": "test MCU",
    "device_serial_number": "00000000-0000-4000-8000-000000000001",
    "limits": {
        "forward_rules": 50,
        "redirect_rules": 1024,
        "tokens": 8,
        "call_log_entries": 20,
        "identifiers": 10,
        "body_bytes": 16384,
    },
}
SETTINGS = settings(max_examples=200, deadline=None, database=None)
OUTCOMES = ("absolute", "busy", "noanswer", "unavailable", "unregistered", "reject")
MINUTES = (600, 5 * 1440 + 720, None)

# Pattern tokens: literals (several spellings of one digit), classes, sets,
# the empty set, and the variable-length tokens.
tokens = st.sampled_from(
    ["1", "1", "2", "2", "0", "[1]", "[12]", "X", "N", "Z", "?", "[0-4]", "[]", "*", ".", "#", "+"]
)
patterns = st.lists(tokens, min_size=1, max_size=4).map("".join)
called_numbers = st.text(alphabet="0129#+", min_size=0, max_size=5)
destinations = st.sampled_from(
    ["900", "9XX", "X", "sip:1@10.0.0.1", "laskomex:3", "vizit:7", "12", "210", "XXXXXXX"]
)


@st.composite
def rule_bodies(draw):
    body = {
        "type": draw(st.sampled_from(OUTCOMES)),
        "filter_number": draw(patterns),
        "tran_number": draw(destinations),
        "priority": draw(st.integers(0, 3)),
        "enabled": draw(st.sampled_from([0, 1, 1])),
        "schedule": draw(st.sampled_from(["all", "all", "work", "non-work"])),
    }
    if draw(st.booleans()):
        body["filter_fromnumber"] = draw(st.sampled_from(["", "*", "555", "5XX"]))
    return body


operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), rule_bodies()),
        st.tuples(
            st.just("patch"),
            st.integers(0, 50),
            st.fixed_dictionaries(
                {},
                optional={
                    "filter_number": patterns,
                    "tran_number": destinations,
                    "priority": st.integers(0, 3),
                    "enabled": st.sampled_from([0, 1]),
                },
            ),
        ),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("rebuild")),
    ),
    min_size=1,
    max_size=25,
)


def first_steps(rules_for, called, caller, minute):
    answers = []
    for outcome in OUTCOMES:
        state = routing.CallRouting(called, caller, minute)
        step = state.next_step(rules_for(called), outcome)
        answers.append(None if step is None else (step.rule["id"], step.destination, step.kind))
    return answers


async def run(directory, script, probes):
    store = Store(directory + "/store")
    store.open()
    parts = BoardParts(
        store=store, clock=Clock(assume_set=True), relay_pins=[RecordingPin(1), RecordingPin(2)]
    )
    panel = build_panel(json.loads(json.dumps(BOARD)), parts)
    client = TestClient(panel.app)
    ids = []
    try:
        for operation in script:
            kind = operation[0]
            if kind == "create":
                response = await client.request("POST", BASE, headers=dict(AUTH), body=operation[1])
                assert response.status_code == 200, response.text
                ids.append(json.loads(response.text)["id"])
            elif kind == "patch" and ids:
                rule_id = ids[operation[1] % len(ids)]
                response = await client.request(
                    "PATCH", BASE + "/" + rule_id, headers=dict(AUTH), body=operation[2]
                )
                assert response.status_code == 200, response.text
            elif kind == "delete" and ids:
                rule_id = ids.pop(operation[1] % len(ids))
                response = await client.request("DELETE", BASE + "/" + rule_id, headers=dict(AUTH))
                assert response.status_code == 204
            elif kind == "rebuild":
                store.delete(redirect_index.VERSION_KEY)
                assert panel.services.redirect_rules.ensure_index()
        all_rules = list(panel.services.redirect_rules.iter_rules())
        assert sorted(rule["id"] for rule in all_rules) == sorted(ids)

        def scanned(called):
            return all_rules

        def indexed(called):
            return list(panel.services.redirect_rules.candidates(called))

        names = [rule["filter_number"] for rule in all_rules] + list(probes)
        for called in names:
            found = sorted(rule["id"] for rule in indexed(called))
            expected = sorted(
                rule["id"]
                for rule in all_rules
                if numbers.dial_pattern_matches(rule["filter_number"], called)
            )
            assert found == expected, (called, found, expected)
            for minute in MINUTES:
                for caller in ("panel", "555"):
                    assert first_steps(indexed, called, caller, minute) == first_steps(
                        scanned, called, caller, minute
                    ), (called, caller, minute)
        # No index key without its rule, none twice.
        keys = []
        for start, stop in (("x:", "x;"), ("w:", "w;"), ("v:", "v;")):
            keys.extend(store.keys(start, stop))
        assert sorted(key[-36:] for key in keys) == sorted(ids)
        # The o: keys list the rules in the default order (priority, ct, id).
        order = [key[-36:] for key in store.keys("o:", "o;")]
        assert order == [
            key[2]
            for key in sorted(
                (rule["priority"], rule["ext"]["ct"], rule["id"]) for rule in all_rules
            )
        ]
    finally:
        panel.stop()
        store.close()


@SETTINGS
@given(operations, st.lists(called_numbers, min_size=1, max_size=6))
def test_index_routes_like_a_full_scan(script, probes):
    directory = tempfile.mkdtemp(prefix="panel-scale-index-")
    try:
        asyncio.run(run(directory, script, probes))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
