# The redirect-rule index (panel.services.redirect_index) through the real app and
# store, on both runtimes: the candidates of a called number give the same
# routing answers as a scan of every rule, after creates, PATCHes that move a
# rule between index keys, DELETEs, oversized (split) rules and a rebuild.
import json

from api_harness import Harness
from panel.core import numbers, routing
from panel.services import redirect_index

BASE = "/rest/v1/uc/redirectrules"
BOARD = {
    "name": "test",
    "device_model": "TEST-PANEL",
    "mcu_version": "test MCU",
    "device_serial_number": "00000000-0000-4000-8000-000000000001",
    "limits": {
        "forward_rules": 50,
        "redirect_rules": 64,
        "tokens": 8,
        "call_log_entries": 20,
        "identifiers": 10,
        "body_bytes": 16384,
    },
}

# Called numbers probed after every change: exact hits, mask hits, lengths
# with and without fixed-length masks, a number no rule names.
NUMBERS = (
    "112",
    "113",
    "1",
    "12",
    "120",
    "199",
    "200",
    "2",
    "2999",
    "9",
    "+15551",
    "#7",
    "3000",
    "",
)
OUTCOMES = ("absolute", "busy", "noanswer", "unavailable", "unregistered", "reject")
# Monday 10:00 (work hours), Saturday 12:00, clock unset.
MINUTES = (600, 5 * 1440 + 720, None)
CALLERS = ("panel", "555")

RULES = [
    {
        "type": "absolute",
        "filter_number": "112",
        "tran_number": "sip:112@192.168.1.50",
        "priority": 10,
        "schedule": "custom",
        "periods": [{"daystart": 6, "timestart": 0, "daystop": 7, "timestop": 1440}],
    },
    {"type": "busy", "filter_number": "1XX", "tran_number": "9XX", "priority": 50},
    {
        "type": "noanswer",
        "filter_number": "1XX",
        "tran_number": "900",
        "priority": 120,
        "schedule": "work",
    },
    {"type": "busy", "filter_number": "112", "tran_number": "113", "priority": 60},
    {"type": "busy", "filter_number": "[1]1[2]", "tran_number": "114", "priority": 50},
    {"type": "unavailable", "filter_number": "2*", "tran_number": "laskomex:4"},
    {"type": "unavailable", "filter_number": "*", "tran_number": "700", "priority": 900},
    {"type": "noanswer", "filter_number": "9.", "tran_number": "vizit:12"},
    {"type": "busy", "filter_number": "[]113", "tran_number": "115", "enabled": 0},
    {"type": "reject", "filter_number": "1?", "tran_number": "12", "filter_fromnumber": "555"},
    {"type": "absolute", "filter_number": "+15551", "tran_number": "116", "schedule": "non-work"},
    {"type": "busy", "filter_number": "#7", "tran_number": "117"},
    {"type": "unregistered", "filter_number": "N", "tran_number": "118"},
    {"type": "busy", "filter_number": "2[0-4]X", "tran_number": "119"},
]


def plan(rules_for, called, caller, minute):
    """Every first step (rule id, destination) for called, one per outcome."""
    answers = []
    for outcome in OUTCOMES:
        state = routing.CallRouting(called, caller, minute)
        step = state.next_step(rules_for(called), outcome)
        answers.append(None if step is None else (step.rule["id"], step.destination, step.kind))
    return answers


def check_same_as_scan(harness):
    store = harness.store
    rules = harness.services.redirect_rules

    # Read once per check (nothing changes the store meanwhile): every rule
    # by a full scan, and the index's candidates once per number.
    all_rules = list(rules.iter_rules())
    candidates = {}

    def scanned(called):
        return all_rules

    def indexed(called):
        # What the call engine asks (CallEnvironment.rules).
        if called not in candidates:
            candidates[called] = list(rules.candidates(called))
        return candidates[called]

    # The o: keys: one per rule, in the default list order.
    order_ids = [key[-36:] for key in store.keys("o:", "o;")]
    keys = sorted(
        [(rule["priority"], rule["ext"]["ct"], rule["id"]) for rule in rules.iter_rules()]
    )
    assert order_ids == [key[2] for key in keys]
    for called in NUMBERS:
        from_index = indexed(called)
        ids = sorted([rule["id"] for rule in from_index])
        # Exactly the rules whose pattern matches the number, each once.
        expected = sorted(
            [
                rule["id"]
                for rule in scanned(called)
                if numbers.dial_pattern_matches(rule["filter_number"], called)
            ]
        )
        assert ids == expected, (called, ids, expected)
        for minute in MINUTES:
            for caller in CALLERS:
                assert plan(indexed, called, caller, minute) == plan(
                    scanned, called, caller, minute
                ), (called, caller, minute)


def index_keys(store):
    keys = []
    for start, stop in (("x:", "x;"), ("w:", "w;"), ("v:", "v;")):
        keys.extend(store.keys(start, stop))
    return keys


async def create_all(harness):
    ids = []
    for rule in RULES:
        response = await harness.call("POST", BASE, body=rule)
        assert response.status_code == 200, response.text
        ids.append(json.loads(response.text)["id"])
    return ids


async def test_index_answers_like_a_scan_after_creates():
    harness = Harness("redirect-index-create", BOARD)
    try:
        ids = await create_all(harness)
        assert len(index_keys(harness.store)) == len(ids)
        assert redirect_index.is_current(harness.store)
        check_same_as_scan(harness)
        # The routing records carry what routing reads, as in the full rule.
        full = {}
        for rule in harness.services.redirect_rules.iter_rules():
            full[rule["id"]] = rule
        for record in redirect_index.records(harness.store):
            rule = full[record["id"]]
            for field in (
                "type",
                "filter_number",
                "filter_fromnumber",
                "tran_number",
                "priority",
                "enabled",
                "schedule",
                "periods",
            ):
                assert record[field] == rule[field], field
            assert record["ext"]["ct"] == rule["ext"]["ct"]
    finally:
        harness.close()


def test_index_keys_by_pattern_kind():
    rule = {"id": "0c9e2f61-77aa-4b5e-a0c3-5d1e8b7f4a20"}
    cases = (
        ("112", "x:112:"),
        ("[1]1[2]", "x:112:"),
        ("[]9", "x:9:"),
        ("+15551", "x:+15551:"),
        ("1XX", "w:003:"),
        ("2[0-4]X", "w:003:"),
        ("N", "w:001:"),
        ("1?", "w:002:"),
        ("2*", "v:"),
        ("9.", "v:"),
        ("*", "v:"),
        # A literal too long for an x: key falls back to its length bucket.
        ("1" * 30, "w:030:"),
    )
    for pattern, prefix in cases:
        rule["filter_number"] = pattern
        assert redirect_index.index_key(rule) == prefix + rule["id"], pattern


async def test_patch_moving_filter_number_and_delete():
    harness = Harness("redirect-index-patch", BOARD)
    try:
        ids = await create_all(harness)
        store = harness.store
        # Exact -> mask: x:112:<id> goes, w:003:<id> comes, in the same batch.
        response = await harness.call("PATCH", BASE + "/" + ids[3], body={"filter_number": "1X2"})
        assert response.status_code == 200
        assert store.get("x:112:" + ids[3]) is None
        assert store.get("w:003:" + ids[3]) is not None
        check_same_as_scan(harness)
        # Mask -> variable, then variable -> exact.
        response = await harness.call("PATCH", BASE + "/" + ids[1], body={"filter_number": "1*"})
        assert response.status_code == 200
        assert store.get("w:003:" + ids[1]) is None and store.get("v:" + ids[1]) is not None
        response = await harness.call(
            "PATCH", BASE + "/" + ids[5], body={"filter_number": "113", "priority": 1}
        )
        assert response.status_code == 200
        assert store.get("v:" + ids[5]) is None and store.get("x:113:" + ids[5]) is not None
        check_same_as_scan(harness)
        # A PATCH of other fields rewrites the record in place (same key).
        response = await harness.call(
            "PATCH", BASE + "/" + ids[0], body={"schedule": "all", "tran_number": "sip:1@10.0.0.1"}
        )
        assert response.status_code == 200
        record = list(redirect_index.candidates(store, "112"))
        assert [r["tran_number"] for r in record if r["id"] == ids[0]] == ["sip:1@10.0.0.1"]
        check_same_as_scan(harness)
        # DELETE removes the record with the rule.
        for rule_id in (ids[0], ids[1], ids[6]):
            response = await harness.call("DELETE", BASE + "/" + rule_id)
            assert response.status_code == 204
        assert len(index_keys(store)) == len(ids) - 3
        for key in index_keys(store):
            assert not key.endswith(ids[0]) and not key.endswith(ids[1])
        check_same_as_scan(harness)
    finally:
        harness.close()


async def test_oversized_rule_is_indexed_and_removed():
    harness = Harness("redirect-index-split", BOARD)
    try:
        # Escaped control characters make the stored JSON several store values.
        big = {
            "type": "busy",
            "filter_number": "112",
            "tran_number": "120",
            "opts": {"title": "big", "comment": "\u0001" * 1000},
        }
        response = await harness.call("POST", BASE, body=big)
        assert response.status_code == 200
        rule_id = json.loads(response.text)["id"]
        assert harness.store.get("r~%s.1" % rule_id) is not None  # really split
        assert [r["id"] for r in redirect_index.candidates(harness.store, "112")] == [rule_id]
        response = await harness.call("PATCH", BASE + "/" + rule_id, body={"filter_number": "11X"})
        assert response.status_code == 200
        assert list(redirect_index.candidates(harness.store, "112"))[0]["filter_number"] == "11X"
        response = await harness.call("DELETE", BASE + "/" + rule_id)
        assert response.status_code == 204
        assert index_keys(harness.store) == []
    finally:
        harness.close()


async def test_rebuild_when_missing_or_stale():
    harness = Harness("redirect-index-rebuild", BOARD)
    try:
        ids = await create_all(harness)
        store = harness.store
        # A store written without the index (older firmware): no records, no version.
        store.write_batch([(key, None) for key in index_keys(store)])
        store.delete(redirect_index.VERSION_KEY)
        # Plus a stale record of a rule that no longer exists.
        store.put("w:003:00000000-0000-4000-8000-00000000dead", b'["x"]')
        assert not redirect_index.is_current(store)
        assert harness.services.redirect_rules.ensure_index() is True
        assert redirect_index.is_current(store)
        assert len(index_keys(store)) == len(ids)
        check_same_as_scan(harness)
        assert harness.services.redirect_rules.ensure_index() is False  # once only
        # Another format version also rebuilds; building the app does it at boot.
        store.put(redirect_index.VERSION_KEY, b"0")
        from panel.wiring import build_app

        build_app(harness.services)
        assert redirect_index.is_current(store)
        check_same_as_scan(harness)
    finally:
        harness.close()


async def test_factory_reset_then_first_rule_marks_index_current():
    harness = Harness("redirect-index-reset", BOARD)
    try:
        await create_all(harness)
        harness.store.clear()
        assert not redirect_index.is_current(harness.store)
        response = await harness.call("POST", BASE, body=RULES[1])
        assert response.status_code == 200
        assert redirect_index.is_current(harness.store)
        assert len(index_keys(harness.store)) == 1
        check_same_as_scan(harness)
    finally:
        harness.close()


async def test_list_and_lookup_from_the_index_match_the_rules():
    harness = Harness("redirect-index-list", BOARD)
    try:
        ids = await create_all(harness)
        response = await harness.call("GET", BASE + "?limit=5&offset=2")
        assert response.status_code == 200
        page = json.loads(response.text)
        everything = json.loads((await harness.call("GET", BASE)).text)
        assert len(everything) == len(ids)
        assert page == everything[2:7]
        # Ordered by priority then ct then id (the default order).
        keys = [(rule["priority"], rule["ext"]["ct"], rule["id"]) for rule in everything]
        assert keys == sorted(keys)
        # A filter on opts (not in the index) selects from the full rules:
        # the same page as the o: keys give.
        response = await harness.call(
            "GET",
            BASE + "?limit=5&offset=2&filter=%7B%22opts.title%22%3A%7B%22ne%22%3A%22z%22%7D%7D",
        )
        assert response.status_code == 200
        assert json.loads(response.text) == page
        # A filter on routing fields selects from the routing records.
        response = await harness.call("GET", BASE + "?filter=%7B%22type%22%3A%22busy%22%7D")
        assert response.status_code == 200
        busy = [rule for rule in everything if rule["type"] == "busy"]
        assert json.loads(response.text) == busy and len(busy) == 6
        # A PATCH of the priority moves the rule in the default order.
        response = await harness.call("PATCH", BASE + "/" + ids[6], body={"priority": 0})
        assert response.status_code == 200
        first = json.loads((await harness.call("GET", BASE + "?limit=1")).text)
        assert first[0]["id"] == ids[6]
        assert len(list(harness.store.keys("o:", "o;"))) == len(ids)
        response = await harness.call("LOOKUP", BASE, raw='"1XX"')
        assert response.status_code == 200
        assert sorted(json.loads(response.text)) == sorted([ids[1], ids[2]])
    finally:
        harness.close()
