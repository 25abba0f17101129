# List parameters of the redirect rules (spec 3.2, 3.5, 3.8): filter, mask,
# offset/limit, order, flat, projection and lookup, on both runtimes.
from checks import raises
from panel.core import redirects
from panel.core.redirects import RuleError

R1_ID = "0c9e2f61-77aa-4b5e-a0c3-5d1e8b7f4a20"
R2_ID = "a41d0c3e-2f88-4b70-b6e5-93c2d17f0a6b"
R3_ID = "7b0e52d4-9a61-4c3f-8d20-11f0c6a4e9b2"


def example_rules():
    """R1-R3 of section 5.4, as stored."""
    r1 = redirects.create_rule(
        {
            "id": R1_ID,
            "type": "absolute",
            "filter_number": "112",
            "tran_number": "sip:112@192.168.1.50",
            "priority": 10,
            "schedule": "custom",
            "periods": [{"daystart": 6, "timestart": 0, "daystop": 7, "timestop": 1440}],
            "opts": {"title": "Flat 112 monitor at weekends"},
        },
        None,
        1741072325.31,
    )
    r2 = redirects.create_rule(
        {
            "id": R2_ID,
            "type": "busy",
            "filter_number": "1XX",
            "tran_number": "9XX",
            "priority": 50,
            "opts": {"title": "Busy to mobile app"},
        },
        None,
        1741072400,
    )
    r3 = redirects.create_rule(
        {
            "id": R3_ID,
            "type": "noanswer",
            "filter_number": "1XX",
            "tran_number": "900",
            "priority": 120,
            "schedule": "work",
            "opts": {"title": "No answer to concierge"},
        },
        None,
        1741072811.08,
    )
    return [r3, r1, r2]


def run_list(args):
    """What the API's list does, without HTTP: filter, order, page, project."""
    query = redirects.parse_list_query(args)
    rules = [rule for rule in example_rules() if query.matches(rule)]
    rules.sort(key=query.sort_key)
    rules = rules[query.offset :]
    if query.limit is not None:
        rules = rules[: query.limit]
    return [redirects.project(rule, query.leaves, query.flat) for rule in rules]


def parameter_error(args):
    error = raises(RuleError, redirects.parse_list_query, args)
    assert error.status == 400
    return error.message, error.details


def test_list_example_of_3_4():
    args = {
        "filter": '{"enabled":1,"filter_number":{"match":"112"}}',
        "mask": "id,type,tran_number,priority,opts.title",
        "order": '[{"priority":"asc"}]',
        "offset": "0",
        "limit": "2",
        "flat": "true",
    }
    assert run_list(args) == [
        {
            "id": R1_ID,
            "type": "absolute",
            "tran_number": "sip:112@192.168.1.50",
            "priority": 10,
            "opts.title": "Flat 112 monitor at weekends",
        },
        {
            "id": R2_ID,
            "type": "busy",
            "tran_number": "9XX",
            "priority": 50,
            "opts.title": "Busy to mobile app",
        },
    ]


def test_default_list_fields_and_order():
    listed = run_list({})
    assert [item["id"] for item in listed] == [R1_ID, R2_ID, R3_ID]
    assert sorted(listed[0]) == sorted(redirects.LIST_LEAVES[:8] + ("opts", "ext"))
    assert listed[0]["opts"] == {"title": "Flat 112 monitor at weekends"}
    assert "periods" not in listed[0]


def test_item_mask_of_3_5():
    rule = example_rules()[0]
    leaves, flat = redirects.parse_item_query({"mask": "type,tran_number,opts"})
    assert redirects.project(rule, leaves, flat) == {
        "type": "noanswer",
        "tran_number": "900",
        "opts": {"title": "No answer to concierge", "comment": ""},
    }
    leaves, flat = redirects.parse_item_query({})
    assert redirects.project(rule, leaves, flat) == rule
    leaves, flat = redirects.parse_item_query({"mask": " ext , ext,periods", "flat": "1"})
    assert redirects.project(rule, leaves, flat) == {
        "periods": [],
        "ext.ct": rule["ext"]["ct"],
        "ext.lwt": rule["ext"]["lwt"],
    }
    leaves, flat = redirects.parse_item_query({"mask": ""})
    assert leaves == redirects.ALL_LEAVES


def test_filters():
    def ids(filter_text, order=None):
        args = {"filter": filter_text}
        if order:
            args["order"] = order
        return [item["id"] for item in run_list(args)]

    assert ids('{"type":["busy","noanswer"]}') == [R2_ID, R3_ID]
    assert ids('{"filter_number":{"match":"112"},"type":["busy","noanswer"]}') == [R2_ID, R3_ID]
    assert ids('{"filter_number":{"match":"250"}}') == []
    assert ids('{"filter_fromnumber":{"match":"5000"}}') == [R1_ID, R2_ID, R3_ID]
    assert ids('{"priority":{"ge":50}}') == [R2_ID, R3_ID]
    assert ids('{"priority":{"lt":50}}') == [R1_ID]
    assert ids('{"priority":{"ne":50}}') == [R1_ID, R3_ID]
    assert ids('{"opts.title":{"gt":"C"}}') == [R1_ID, R3_ID]
    assert ids('{"schedule":"work","enabled":1}') == [R3_ID]
    assert ids('{"filter_number":"1xx"}') == []  # exact and case-sensitive
    assert ids('{"ext.ct":{"le":"2025-03-04T07:13:20.00Z"}}') == [R1_ID, R2_ID]
    assert ids('{"id":"%s"}' % R2_ID) == [R2_ID]
    assert ids('{"type":[]}') == []


def test_orders():
    def ids(order):
        return [item["id"] for item in run_list({"order": order})]

    assert ids("priority") == [R1_ID, R2_ID, R3_ID]
    assert ids('[{"priority":"desc"}]') == [R3_ID, R2_ID, R1_ID]
    assert ids('["type"]') == [R1_ID, R2_ID, R3_ID]
    assert ids('[{"opts.title":"desc"}]') == [R3_ID, R1_ID, R2_ID]
    # enabled is the same everywhere: id ascending breaks the tie.
    assert ids('["enabled"]') == sorted([R1_ID, R2_ID, R3_ID])
    # "1XX" > "112" by code point; the two 1XX rules tie and go by id.
    assert ids('["enabled",{"filter_number":"desc"}]') == [R3_ID, R2_ID, R1_ID]
    assert ids("[]") == [R1_ID, R2_ID, R3_ID]  # an empty order is the default


def test_paging():
    assert [item["id"] for item in run_list({"offset": "1"})] == [R2_ID, R3_ID]
    assert [item["id"] for item in run_list({"offset": "1", "limit": "1"})] == [R2_ID]
    assert run_list({"offset": "5"}) == []
    assert run_list({"limit": "0"}) == []


def test_parameter_errors():
    invalid_json = "Invalid JSON"
    invalid = "Invalid request parameter"
    rows = (
        ({"filter": "{"}, invalid_json, {"reason": "invalid_json", "parameter": "filter"}),
        ({"filter": '{"a":1,}'}, invalid_json, {"reason": "invalid_json", "parameter": "filter"}),
        (
            {"filter": "[1]"},
            invalid,
            {"parameter": "filter", "reason": "invalid_type", "expected": "object"},
        ),
        (
            {"filter": '{"periods":[]}'},
            invalid,
            {"parameter": "filter", "reason": "unknown_field", "field": "periods"},
        ),
        (
            {"filter": '{"enabled":"1"}'},
            invalid,
            {
                "parameter": "filter",
                "reason": "invalid_type",
                "field": "enabled",
                "expected": "int",
            },
        ),
        (
            {"filter": '{"enabled":true}'},
            invalid,
            {
                "parameter": "filter",
                "reason": "invalid_type",
                "field": "enabled",
                "expected": "int",
            },
        ),
        (
            {"filter": '{"type":["busy",1]}'},
            invalid,
            {
                "parameter": "filter",
                "reason": "invalid_type",
                "field": "type",
                "expected": "string",
            },
        ),
        (
            {"filter": '{"type":{"match":"1"}}'},
            invalid,
            {"parameter": "filter", "reason": "invalid_value", "field": "type"},
        ),
        (
            {"filter": '{"priority":{"eq":1}}'},
            invalid,
            {"parameter": "filter", "reason": "invalid_value", "field": "priority"},
        ),
        (
            {"filter": '{"priority":{"lt":1,"gt":0}}'},
            invalid,
            {"parameter": "filter", "reason": "invalid_value", "field": "priority"},
        ),
        (
            {"filter": '{"filter_number":{"match":5}}'},
            invalid,
            {
                "parameter": "filter",
                "reason": "invalid_type",
                "field": "filter_number",
                "expected": "string",
            },
        ),
        (
            {"mask": "id,colour"},
            invalid,
            {"parameter": "mask", "reason": "unknown_field", "field": "colour"},
        ),
        ({"offset": "-1"}, invalid, {"parameter": "offset", "reason": "invalid_value"}),
        ({"offset": ""}, invalid, {"parameter": "offset", "reason": "invalid_value"}),
        ({"limit": "1.5"}, invalid, {"parameter": "limit", "reason": "invalid_value"}),
        ({"limit": "9999999999"}, invalid, {"parameter": "limit", "reason": "invalid_value"}),
        ({"order": "colour"}, invalid, {"parameter": "order", "reason": "invalid_value"}),
        ({"order": '["priority"'}, invalid_json, {"reason": "invalid_json", "parameter": "order"}),
        (
            {"order": '["periods"]'},
            invalid,
            {"parameter": "order", "reason": "unknown_field", "field": "periods"},
        ),
        (
            {"order": '[{"priority":"up"}]'},
            invalid,
            {"parameter": "order", "reason": "invalid_value", "field": "priority"},
        ),
        (
            {"order": '{"priority":"asc"}'},
            invalid,
            {"parameter": "order", "reason": "invalid_value"},
        ),
        ({"order": "[5]"}, invalid, {"parameter": "order", "reason": "invalid_value"}),
        ({"flat": "yes"}, invalid, {"parameter": "flat", "reason": "invalid_value"}),
        ({"flat": ""}, invalid, {"parameter": "flat", "reason": "invalid_value"}),
    )
    for args, message, details in rows:
        found = parameter_error(args)
        assert found == (message, details), (args, found)
    # Checked in the order filter, mask, offset, limit, order, flat.
    assert parameter_error({"flat": "x", "mask": "x", "limit": "x"})[1]["parameter"] == "mask"


def test_lookup_semantics():
    rules = example_rules()
    assert [rule["id"] for rule in rules if redirects.lookup_matches(rule, "1XX")] == [R3_ID, R2_ID]
    assert (
        sorted(
            [
                redirects.default_sort_key(rule)
                for rule in rules
                if redirects.lookup_matches(rule, "1XX")
            ]
        )[0][-1]
        == R2_ID
    )
    assert [rule["id"] for rule in rules if redirects.lookup_matches(rule, R1_ID.upper())] == [
        R1_ID
    ]
    assert not [rule for rule in rules if redirects.lookup_matches(rule, "1xx")]
    assert not [rule for rule in rules if redirects.lookup_matches(rule, "777")]
