"""Contract section 3 over a real socket: forward rules, their errors and lists."""

import json
import urllib.parse

import pytest

ACCEPTED = [
    "101",
    "0",
    "sip:1@192.168.1.65",
    "sip:user_1@pbx.example.org",
    "sip:101@192.168.1.10:5060",
    "sip:192.168.1.65:5060",
    "sip:@host.com",
    "sip:192.168.1.65",
    "laskomex:10",
    "vizit:10",
    "sip:5588@sip.bas-ip.com",
]
REJECTED = [
    "sip:101@sip.example.com:5060",
    "sip:101@localhost",
    "sip:101@256.1.1.1",
    "SIP:101@host.com",
    "101a",
    "vizit:",
    "101\n",
    "\u0661\u0662",
    " 101",
]


def post_queue(panel, number, queue, **kwargs):
    return panel.request(
        "POST", "/api/v1/forward/item/%s" % number, body={"forward_entity_list": queue}, **kwargs
    )


@pytest.mark.parametrize("entry", ACCEPTED)
def test_each_destination_kind_is_accepted_and_read_back(panel, entry):
    assert post_queue(panel, 500, [entry]).json == {}
    reply = panel.request("GET", "/api/v1/forward/item/500")
    assert reply.json == {"forward_number": 500, "forward_entity_list": [entry]}


@pytest.mark.parametrize("entry", REJECTED)
def test_rejected_destinations(panel, entry):
    reply = post_queue(panel, 501, [entry])
    assert (reply.status, reply.json) == (400, {"error": "Wrong number"})


def test_queue_rules(panel):
    assert post_queue(panel, 502, []).json == {}
    assert panel.request("GET", "/api/v1/forward/item/502").json["forward_entity_list"] == []
    assert post_queue(panel, 503, [""]).json == {}
    assert panel.request("GET", "/api/v1/forward/item/503").json["forward_entity_list"] == [""]
    assert post_queue(panel, 504, [5588, "5588"]).json == {}
    assert panel.request("GET", "/api/v1/forward/item/504").json["forward_entity_list"] == [
        "5588",
        "5588",
    ]
    reply = post_queue(panel, 505, ["1"] * 9)
    assert reply.json == {
        "error": "Wrong JSON body: value forward_entity_list was wrong. (At most 8 numbers)"
    }
    assert post_queue(panel, 505, ["1"] * 8).json == {}
    # Writing an existing number replaces its queue; forward_number in the body is ignored.
    reply = panel.request(
        "POST",
        "/api/v1/forward/item/504",
        body={"forward_number": 9, "forward_entity_list": ["vizit:3"]},
    )
    assert reply.json == {}
    assert panel.request("GET", "/api/v1/forward/item/504").json == {
        "forward_number": 504,
        "forward_entity_list": ["vizit:3"],
    }


@pytest.mark.parametrize(
    "raw,text",
    [
        (b"", "Wrong JSON body"),
        (b"not json", "Wrong JSON body"),
        (b'{"forward_entity_list": }', "Wrong JSON body"),
        (b'{"forward_entity_list": ["1",]}', "Wrong JSON body"),
        (b'{"forward_entity_list": [01]}', "Wrong JSON body"),
        (b'["1"]', "Wrong JSON body"),
        (b"{}", "Wrong JSON body: no value for `forward_entity_list`"),
        (
            b'{"forward_entity_list": "101"}',
            "Wrong JSON body: value `forward_entity_list` was of the wrong type",
        ),
        (
            b'{"forward_entity_list": [true]}',
            "Wrong JSON body: value `forward_entity_list` was of the wrong type",
        ),
        (
            b'{"forward_entity_list": [1.5]}',
            "Wrong JSON body: value `forward_entity_list` was of the wrong type",
        ),
    ],
)
def test_body_errors(panel, raw, text):
    reply = panel.request(
        "POST",
        "/api/v1/forward/item/77",
        raw_body=raw,
        headers={"Content-Type": "application/json"},
    )
    assert (reply.status, reply.json) == (400, {"error": text})


@pytest.mark.parametrize("uid", ["0", "-1", "abc", "1.5", "99999999999999999999", "+5"])
def test_bad_forward_uid(panel, uid):
    for method in ("GET", "DELETE", "POST"):
        reply = panel.request(
            method, "/api/v1/forward/item/" + uid, body={"forward_entity_list": []}
        )
        assert (reply.status, reply.json) == (400, {"error": "Wrong forward-uid"})


def test_unknown_rule_and_route_and_method(panel):
    reply = panel.request("GET", "/api/v1/forward/item/987654")
    assert (reply.status, reply.json) == (404, {"error": "Forward rule not found"})
    reply = panel.request("DELETE", "/api/v1/forward/item/987654")
    assert (reply.status, reply.json) == (404, {"error": "Forward rule not found"})
    reply = panel.request("GET", "/api/v1/no/such/route")
    assert (reply.status, reply.json) == (404, {"error": "Not found"})
    reply = panel.request("PUT", "/api/v1/forward/item/1", body={})
    assert (reply.status, reply.json) == (405, {"error": "Method not allowed"})
    assert set(reply.headers["Allow"].split(", ")) == {"GET", "POST", "DELETE"}


def test_payload_too_large(panel):
    raw = json.dumps({"forward_entity_list": ["1"], "pad": "x" * 20000}).encode()
    reply = panel.request(
        "POST", "/api/v1/forward/item/1", raw_body=raw, headers={"Content-Type": "application/json"}
    )
    assert (reply.status, reply.json) == (413, {"error": "Payload too large"})


def test_order_of_checks_route_then_auth_then_path_then_body(panel):
    assert panel.request("GET", "/api/v1/nowhere", auth=None).status == 404
    assert panel.request("POST", "/api/v1/forward/item/abc", auth=None, raw_body=b"x").status == 401
    assert panel.request("POST", "/api/v1/forward/item/abc", raw_body=b"x").json == {
        "error": "Wrong forward-uid"
    }


def test_delete_many_skips_unknown_numbers(fresh_panel):
    panel = fresh_panel
    for number in (11, 12, 13):
        post_queue(panel, number, ["1%d" % number])
    reply = panel.request("DELETE", "/api/v1/forward/items", body={"uid_items": [11, 13, 999]})
    assert reply.json == {}
    numbers = [
        item["forward_number"]
        for item in panel.request("GET", "/api/v1/forward/items").json["list_items"]
    ]
    assert numbers == [12]
    reply = panel.request("DELETE", "/api/v1/forward/items", body={"uid_items": ["12"]})
    assert reply.json == {"error": "Wrong JSON body: value `uid_items` was of the wrong type"}
    reply = panel.request("DELETE", "/api/v1/forward/items", body={})
    assert reply.json == {"error": "Wrong JSON body: no value for `uid_items`"}


def test_link_calls(fresh_panel):
    panel = fresh_panel
    post_queue(panel, 101, ["1"])
    reply = panel.request(
        "POST",
        "/api/v1/forward/items/link",
        body={
            "list_items": [
                {"forward_number": 101, "forward_entity_list": ["sip:101@10.0.0.5", "vizit:101"]},
                {"link_id": 102, "forward_entity_list": ["5588"]},
            ]
        },
    )
    assert reply.json == {
        "result": [
            {"link_id": 101, "success": True, "extended_info": "updated"},
            {"link_id": 102, "success": True, "extended_info": "created"},
        ]
    }
    # Atomic: one bad item stores nothing.
    reply = panel.request(
        "POST",
        "/api/v1/forward/items/link",
        body={
            "list_items": [
                {"forward_number": 103, "forward_entity_list": ["1"]},
                {"forward_number": 104, "forward_entity_list": ["bad!"]},
            ]
        },
    )
    assert (reply.status, reply.json) == (400, {"error": "Wrong number"})
    assert panel.request("GET", "/api/v1/forward/item/103").status == 404
    listing = panel.request("GET", "/api/v1/forward/items/link").json
    assert [item["forward_number"] for item in listing["list_items"]] == [101, 102]
    reply = panel.request("DELETE", "/api/v1/forward/items/link", body={"link_ids": [102, 555]})
    assert reply.json == {
        "result": [
            {"link_id": 102, "success": True, "extended_info": "deleted"},
            {"link_id": 555, "success": False, "extended_info": "entity_not_found"},
        ]
    }


def test_forward_mode(fresh_panel):
    panel = fresh_panel
    assert panel.request("GET", "/api/v1/forward/mode").json == {"forward_mode": "all_at_once"}
    assert (
        panel.request("POST", "/api/v1/forward/mode", body={"forward_mode": "one_by_one"}).json
        == {}
    )
    assert panel.request("GET", "/api/v1/forward/mode").json == {"forward_mode": "one_by_one"}
    reply = panel.request("POST", "/api/v1/forward/mode", body={"forward_mode": "random"})
    assert reply.json == {
        "error": "Wrong JSON body: value forward_mode was wrong. (all_at_once or one_by_one)"
    }
    assert panel.request("POST", "/api/v1/forward/mode", body={"forward_mode": 1}).json == {
        "error": "Wrong JSON body: value `forward_mode` was of the wrong type"
    }
    assert panel.request("POST", "/api/v1/forward/mode", body={}).json == {
        "error": "Wrong JSON body: no value for `forward_mode`"
    }


def list_query(panel, **params):
    return panel.request("GET", "/api/v1/forward/items?" + urllib.parse.urlencode(params)).json


def test_paging_and_sorting(fresh_panel):
    panel = fresh_panel
    for number in range(1, 13):
        post_queue(panel, number, [str(number)])
    first = list_query(panel)
    assert [item["forward_number"] for item in first["list_items"]] == list(range(1, 11))
    assert first["list_option"]["pagination"] == {
        "total_items": 12,
        "items_limit": 10,
        "total_pages": 2,
        "current_page": 1,
    }
    assert first["list_option"]["sort"] == {
        "field": "forward_number",
        "asc": True,
        "available_fields": ["forward_number"],
    }
    assert first["list_option"]["filter"]["available_filtering"] is True
    assert first["list_option"]["filter"]["is_filtered"] is False
    second = list_query(panel, page_number=2)
    assert [item["forward_number"] for item in second["list_items"]] == [11, 12]
    past = list_query(panel, page_number=3)
    assert past["list_items"] == []
    assert past["list_option"]["pagination"]["current_page"] == 3
    assert list_query(panel, limit=1000)["list_option"]["pagination"]["items_limit"] == 100
    assert list_query(panel, limit="x")["list_option"]["pagination"]["items_limit"] == 10
    assert list_query(panel, limit=0)["list_option"]["pagination"]["items_limit"] == 10
    assert list_query(panel, page_number=-4)["list_option"]["pagination"]["current_page"] == 1
    descending = list_query(panel, order_by="forward_number desc", limit=3)
    assert [item["forward_number"] for item in descending["list_items"]] == [12, 11, 10]
    android = list_query(
        panel, sort_field="forward_number", sort_type="desc", limit=2, page_number=2
    )
    assert [item["forward_number"] for item in android["list_items"]] == [10, 9]
    unknown = list_query(panel, sort_field="colour", sort_type="desc", limit=2)
    assert [item["forward_number"] for item in unknown["list_items"]] == [1, 2]


@pytest.mark.parametrize(
    "expression,expected",
    [
        ("forward_number eq 5", [5]),
        ("forward_number le 10 and forward_number gt 7", [8, 9, 10]),
        ("not forward_number le 10", [11, 12]),
        ("(forward_number eq 1 or forward_number eq 12) and forward_number gt 1", [12]),
        ("forward_number eq '3'", [3]),
        ("forward_number eq 'abc'", []),
        ("FORWARD_NUMBER EQ 4", None),
        ("forward_number   ge 12", [12]),
        ("apartment_number eq '7'", [7]),
        ("forward_number nq 1 and not (forward_number lt 11)", [11, 12]),
    ],
)
def test_filter_grammar(fresh_panel, expression, expected):
    panel = fresh_panel
    for number in range(1, 13):
        post_queue(panel, number, [str(number)])
    reply = panel.request(
        "GET", "/api/v1/forward/items?limit=100&filter=" + urllib.parse.quote(expression)
    )
    if expected is None:
        # Field names are [a-z_]+; keywords and operators are case-insensitive.
        assert reply.status in (200, 400)
        return
    assert reply.status == 200, reply
    assert [item["forward_number"] for item in reply.json["list_items"]] == expected
    assert reply.json["list_option"]["filter"]["is_filtered"] is True
    assert reply.json["list_option"]["pagination"]["total_items"] == len(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "colour eq 1",
        "forward_number like 1",
        "(forward_number eq 1",
        "forward_number eq 1)",
        "forward_number eq",
        "and",
        "forward_number eq 'x",
        " or ".join(["forward_number eq 1"] * 20),
        "(" * 9 + "forward_number eq 1" + ")" * 9,
        "apartment_number gt '5'",
    ],
)
def test_wrong_filter_expressions(panel, expression):
    reply = panel.request("GET", "/api/v1/forward/items?filter=" + urllib.parse.quote(expression))
    assert (reply.status, reply.json) == (400, {"error": "Wrong filter expression"})


def test_older_filter_form(fresh_panel):
    panel = fresh_panel
    for number in range(1, 6):
        post_queue(panel, number, [str(number)])
    reply = list_query(
        panel,
        filter_field="forward_number",
        filter_type="more",
        filter_format="integer",
        filter_value="3",
    )
    assert [item["forward_number"] for item in reply["list_items"]] == [4, 5]
