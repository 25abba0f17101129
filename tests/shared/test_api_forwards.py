# Contract section 3 through microdot's test client, on both runtimes.
import json

from api_harness import TEST_BOARD, Harness
from panel.api.forwards import LIST_FIELDS
from panel.core import query as list_query


async def post_queue(harness, number, queue):
    return await harness.call(
        "POST", "/api/v1/forward/item/%s" % number, body={"forward_entity_list": queue}
    )


async def test_every_destination_kind_round_trips():
    harness = Harness("fwd-kinds")
    try:
        queue = [
            "101",
            "sip:101@192.168.1.10:5060",
            "sip:192.168.1.65",
            "laskomex:10",
            "vizit:10",
            "sip:user_1@pbx.example.org",
            "",
            "sip:@host.com",
        ]
        response = await post_queue(harness, 223, queue)
        assert response.json == {}
        response = await harness.call("GET", "/api/v1/forward/item/223")
        assert response.json == {"forward_number": 223, "forward_entity_list": queue}
    finally:
        harness.close()


async def test_wrong_numbers():
    harness = Harness("fwd-wrong")
    try:
        for entry in (
            "sip:101@sip.example.com:5060",
            "sip:101@localhost",
            "SIP:1@a.b",
            "101a",
            "vizit:",
            "101\n",
            "laskomex:-1",
        ):
            response = await post_queue(harness, 1, [entry])
            assert response.status_code == 400
            assert response.json == {"error": "Wrong number"}, entry
    finally:
        harness.close()


async def test_lax_json_is_wrong_json_body_on_both_runtimes():
    harness = Harness("fwd-json")
    try:
        for raw in (
            b'{"forward_entity_list": }',
            b'{"forward_entity_list": ["1",]}',
            b'{"forward_entity_list": [01]}',
            b"[1]",
            b"",
            b"nul",
        ):
            response = await harness.call("POST", "/api/v1/forward/item/5", raw=raw)
            assert response.json == {"error": "Wrong JSON body"}, raw
        response = await harness.call("GET", "/api/v1/forward/item/5")
        assert response.status_code == 404
    finally:
        harness.close()


async def test_missing_and_wrong_type_texts():
    harness = Harness("fwd-types")
    try:
        response = await harness.call("POST", "/api/v1/forward/item/5", body={})
        assert response.json == {"error": "Wrong JSON body: no value for `forward_entity_list`"}
        for value in ("1", 1, None, {"a": 1}, [True], [[1]]):
            response = await harness.call(
                "POST", "/api/v1/forward/item/5", body={"forward_entity_list": value}
            )
            assert response.json == {
                "error": "Wrong JSON body: value `forward_entity_list` was of the wrong type"
            }
    finally:
        harness.close()


async def test_integer_entries_and_eight_entry_cap():
    harness = Harness("fwd-cap")
    try:
        assert (await post_queue(harness, 9, [5588])).json == {}
        response = await harness.call("GET", "/api/v1/forward/item/9")
        assert response.json["forward_entity_list"] == ["5588"]
        response = await post_queue(harness, 9, [str(n) for n in range(9)])
        assert response.json == {
            "error": "Wrong JSON body: value forward_entity_list was wrong. (At most 8 numbers)"
        }
    finally:
        harness.close()


async def test_rule_limit_reached():
    harness = Harness("fwd-limit")
    try:
        items = [{"forward_number": n, "forward_entity_list": ["1"]} for n in range(1, 51)]
        response = await harness.call(
            "POST", "/api/v1/forward/items/link", body={"list_items": items}
        )
        assert len(response.json["result"]) == 50
        response = await post_queue(harness, 51, ["1"])
        assert response.json == {
            "error": "Wrong JSON body: value forward_number was wrong. (Rule limit reached)"
        }
        # Replacing an existing rule is still possible at the limit.
        assert (await post_queue(harness, 50, ["2"])).json == {}
    finally:
        harness.close()


async def test_path_parameter_errors():
    harness = Harness("fwd-path")
    try:
        for uid in ("0", "x", "-3", "1e3", "9223372036854775808"):
            response = await harness.call("GET", "/api/v1/forward/item/" + uid)
            assert response.json == {"error": "Wrong forward-uid"}, uid
        response = await harness.call("GET", "/api/v1/forward/item/9223372036854775807")
        assert response.json == {"error": "Forward rule not found"}
    finally:
        harness.close()


async def test_not_found_and_method_not_allowed():
    harness = Harness("fwd-404")
    try:
        response = await harness.call("GET", "/api/v1/nothing/here")
        assert (response.status_code, response.json) == (404, {"error": "Not found"})
        response = await harness.call("PATCH", "/api/v1/forward/mode", body={})
        assert (response.status_code, response.json) == (405, {"error": "Method not allowed"})
        assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]
    finally:
        harness.close()


async def test_list_paging_sorting_and_filter():
    harness = Harness("fwd-list")
    try:
        items = [{"forward_number": n, "forward_entity_list": [str(n)]} for n in range(1, 13)]
        await harness.call("POST", "/api/v1/forward/items/link", body={"list_items": items})
        response = await harness.call("GET", "/api/v1/forward/items?page_number=2")
        assert [item["forward_number"] for item in response.json["list_items"]] == [11, 12]
        assert response.json["list_option"]["pagination"] == {
            "total_items": 12,
            "items_limit": 10,
            "total_pages": 2,
            "current_page": 2,
        }
        response = await harness.call("GET", "/api/v1/forward/items?page_number=5")
        assert response.json["list_items"] == []
        response = await harness.call(
            "GET", "/api/v1/forward/items?limit=3&order_by=forward_number%20desc"
        )
        assert [item["forward_number"] for item in response.json["list_items"]] == [12, 11, 10]
        response = await harness.call(
            "GET", "/api/v1/forward/items?filter=not%20forward_number%20le%2010"
        )
        assert [item["forward_number"] for item in response.json["list_items"]] == [11, 12]
        response = await harness.call("GET", "/api/v1/forward/items?filter=colour%20eq%201")
        assert response.json == {"error": "Wrong filter expression"}
    finally:
        harness.close()


async def test_delete_one_many_and_linked():
    harness = Harness("fwd-delete")
    try:
        for number in (1, 2, 3):
            await post_queue(harness, number, ["1"])
        assert (await harness.call("DELETE", "/api/v1/forward/item/1")).json == {}
        response = await harness.call("DELETE", "/api/v1/forward/item/1")
        assert response.json == {"error": "Forward rule not found"}
        response = await harness.call(
            "DELETE", "/api/v1/forward/items", body={"uid_items": [2, 77]}
        )
        assert response.json == {}
        response = await harness.call(
            "DELETE", "/api/v1/forward/items/link", body={"link_ids": [3, 2]}
        )
        assert response.json == {
            "result": [
                {"link_id": 3, "success": True, "extended_info": "deleted"},
                {"link_id": 2, "success": False, "extended_info": "entity_not_found"},
            ]
        }
    finally:
        harness.close()


async def test_forward_mode_round_trip():
    harness = Harness("fwd-mode")
    try:
        response = await harness.call(
            "POST", "/api/v1/forward/mode", body={"forward_mode": "one_by_one"}
        )
        assert response.json == {}
        response = await harness.call("GET", "/api/v1/forward/mode")
        assert response.json == {"forward_mode": "one_by_one"}
    finally:
        harness.close()


async def test_rules_survive_reopening_the_store():
    harness = Harness("fwd-reopen")
    try:
        await post_queue(harness, 42, ["sip:42@10.0.0.42"])
        harness.store.close()
        harness.store.open()
        response = await harness.call("GET", "/api/v1/forward/item/42")
        assert response.json["forward_entity_list"] == ["sip:42@10.0.0.42"]
    finally:
        harness.close()


async def test_long_lists_stay_within_one_store_batch():
    board = {"limits": {"forward_rules": 2000}}
    harness = Harness("fwd-batch", board=board)
    try:
        # 300 small items fit the 16 KiB body but not one store batch (256).
        raw = '{"list_items":[%s]}' % ",".join(
            '{"link_id":%d,"forward_entity_list":[]}' % n for n in range(1, 301)
        )
        assert len(raw) < 16384
        response = await harness.call("POST", "/api/v1/forward/items/link", raw=raw)
        assert response.json == {
            "error": "Wrong JSON body: value list_items was wrong. (Too many items in one request)"
        }
        for start in (1, 151):
            chunk = [
                {"forward_number": n, "forward_entity_list": [str(n)]}
                for n in range(start, start + 150)
            ]
            response = await harness.call(
                "POST", "/api/v1/forward/items/link", body={"list_items": chunk}
            )
            assert len(response.json["result"]) == 150
        response = await harness.call(
            "DELETE", "/api/v1/forward/items", body={"uid_items": list(range(1, 1001))}
        )
        assert response.json == {}
        listing = (await harness.call("GET", "/api/v1/forward/items")).json
        assert listing["list_option"]["pagination"]["total_items"] == 0
    finally:
        harness.close()


async def test_unfiltered_pages_agree_with_the_filtered_walk():
    # Without a filter the list takes its total from the kept count and reads
    # only its page (store skip); a filter that matches everything walks
    # every key. Over several partitions, with deletes and rewrites in their
    # journals, both must give the same pages in both directions.
    board = json.loads(json.dumps(TEST_BOARD))
    board["limits"]["forward_rules"] = 1000
    harness = Harness("fwd-pages", board)
    try:
        for first in range(1, 400, 100):
            items = [
                {"forward_number": n * 7, "forward_entity_list": ["sip:%d@10.0.0.1" % n]}
                for n in range(first, first + 100)
            ]
            response = await harness.call(
                "POST", "/api/v1/forward/items/link", body={"list_items": items}
            )
            assert response.status_code == 200
        await harness.call(
            "DELETE", "/api/v1/forward/items", body={"uid_items": [n * 7 for n in range(1, 400, 9)]}
        )
        await harness.call("POST", "/api/v1/forward/item/70", body={"forward_entity_list": ["99"]})
        assert len(harness.store._ids) > 2
        for order in ("", "&order_by=forward_number%20desc"):
            for page in (1, 2, 7, 8, 9):
                path = "/api/v1/forward/items?limit=50&page_number=%d%s" % (page, order)
                plain = await harness.call("GET", path)
                walked = await harness.call("GET", path + "&filter=forward_number%20ge%200")
                assert plain.status_code == 200
                assert plain.json["list_items"] == walked.json["list_items"]
                assert (
                    plain.json["list_option"]["pagination"]
                    == walked.json["list_option"]["pagination"]
                )
        # 400 created, 45 deleted, 70 (= 7 * 10, deleted) created again.
        assert plain.json["list_option"]["pagination"]["total_items"] == 400 - 45 + 1
    finally:
        harness.close()


async def test_list_pages_are_what_json_dumps_writes():
    # The ascending unfiltered page is spliced from the stored queues' bytes
    # (ForwardRules.page_json): it must be exactly the runtime's json.dumps of
    # the document, also for queues stored in another form (other spacing,
    # an escape), which are decoded and encoded instead.
    harness = Harness("fwd-json-text")
    try:
        for number, queue in ((1, ["101", "sip:1@10.0.0.2"]), (2, [""]), (3, []), (4, [7, "8"])):
            assert (await post_queue(harness, number, queue)).status_code == 200
        harness.store.put("f:%020d" % 5, b'["1","2"]')
        harness.store.put("f:%020d" % 6, b'["sip:\\u0041@10.0.0.1", "3"]')
        harness.store.put("f:%020d" % 7, b'[ "9" ]')
        harness.services.forward_rules.forget_count()
        rules = harness.services.forward_rules
        for limit, page in ((10, 1), (3, 1), (3, 2), (3, 9)):
            path = "/api/v1/forward/items?limit=%d&page_number=%d" % (limit, page)
            response = await harness.call("GET", path)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
            # What the route answered before: json.dumps of the documents
            # (key order included: MicroPython's dicts have their own).
            document = {
                "list_items": [
                    {"forward_number": number, "forward_entity_list": queue}
                    for number, queue in rules.page((page - 1) * limit, limit)
                ],
                "list_option": list_query.list_option(
                    7, limit, page, LIST_FIELDS, False, "forward_number", True, ["forward_number"]
                ),
            }
            assert response.body == json.dumps(document).encode(), response.body
        listed = (await harness.call("GET", "/api/v1/forward/items")).json["list_items"]
        assert [item["forward_entity_list"] for item in listed] == [
            ["101", "sip:1@10.0.0.2"],
            [""],
            [],
            ["7", "8"],
            ["1", "2"],
            ["sip:A@10.0.0.1", "3"],
            ["9"],
        ]
        assert listed[0] == {"forward_number": 1, "forward_entity_list": ["101", "sip:1@10.0.0.2"]}
    finally:
        harness.close()
