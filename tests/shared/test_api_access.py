# Contract sections 6, 7.2 and 8.1 through microdot's test client, on both runtimes.
from api_harness import Harness


async def test_dtmf_codes_defaults_clash_and_values():
    harness = Harness("acc-dtmf")
    try:
        base = "/api/v1/access/general/lock/dtmf/"
        assert (await harness.call("GET", base + "1")).json == {"dtmf_code": "1"}
        assert (await harness.call("GET", base + "2")).json == {"dtmf_code": "2"}
        assert (await harness.call("POST", base + "1", body={"dtmf_code": "2"})).json == {
            "error": "DTMF code is already in use"
        }
        assert (await harness.call("POST", base + "0", body={"dtmf_code": "*9A#"})).json == {}
        assert (await harness.call("GET", base + "1")).json == {"dtmf_code": "*9A#"}
        for bad in ("", "12345", "a", "E", "1-2"):
            response = await harness.call("POST", base + "2", body={"dtmf_code": bad})
            assert response.json == {"error": "Wrong DTMF value"}, bad
        for lock in ("3", "-1", "x", "01"):
            response = await harness.call("GET", base + lock)
            assert response.json == {"error": "Wrong lock-number"}, lock
    finally:
        harness.close()


async def test_lock_timeout():
    harness = Harness("acc-timeout")
    try:
        base = "/api/v1/access/general/lock/timeout/"
        assert (await harness.call("GET", base + "2")).json == {"lock_timeout": 5}
        assert (await harness.call("POST", base + "2", body={"lock_timeout": 1})).json == {}
        assert (await harness.call("GET", base + "2")).json == {"lock_timeout": 1}
        response = await harness.call("POST", base + "1", body={"lock_timeout": 0})
        assert response.json == {"error": "Wrong JSON body: value lock_timeout was wrong. (1..40)"}
        assert (await harness.call("GET", base + "0")).json == {"error": "Wrong lock-number"}
    finally:
        harness.close()


async def test_remote_open_drives_relays_and_logs():
    harness = Harness("acc-open")
    try:
        base = "/api/v1/access/general/lock/open/remote/accepted/"
        assert (await harness.call("GET", base + "2")).json == {}
        assert [pin.state for pin in harness.pins] == [0, 1]
        assert (await harness.call("POST", base + "0?unlockTime=3")).json == {}
        assert [pin.state for pin in harness.pins] == [1, 1]
        assert harness.services.doors.relay(1).openings == 1
        assert harness.services.doors.relay(2).openings == 2
        response = await harness.call("GET", base + "1?unlockTime=-1")
        assert response.status_code == 400
        log = (await harness.call("GET", "/api/v1/log/items?limit=3")).json["list_items"]
        assert [item["name"]["key"] for item in log] == ["access_granted_by_api_call"] * 3
        assert log[0]["info"]["lock"] in (1, 2)
    finally:
        harness.close()


async def test_call_log_ring_keeps_the_newest():
    harness = Harness("acc-ring")
    try:
        for _ in range(25):
            harness.services.call_log.add("outgoing_call", {"forward_number": 1})
        assert harness.services.call_log.count() == 20
        listing = (await harness.call("GET", "/api/v1/log/items?limit=100")).json
        uids = [item["uid"] for item in listing["list_items"]]
        assert len(uids) == 20 and uids == sorted(uids, reverse=True)
        assert uids[0] == 25  # uids start at 1; the 5 oldest were dropped
        ascending = (await harness.call("GET", "/api/v1/log/items?sort_type=asc&limit=2")).json
        assert [item["uid"] for item in ascending["list_items"]] == [6, 7]
        filtered = (
            await harness.call("GET", "/api/v1/log/items?filter=name%20nq%20%27outgoing_call%27")
        ).json
        assert filtered["list_items"] == []
    finally:
        harness.close()


async def test_identifiers_round_trip_and_duplicate_code():
    harness = Harness("acc-ids")
    try:
        code = {
            "identifier_number": "4321",
            "identifier_type": "personal_code",
            "identifier_owner": {"name": "Flat 3", "type": "owner"},
            "lock": "all",
            "valid": {},
        }
        uid = (await harness.call("POST", "/api/v1/access/identifier", body=code)).json["uid"]
        response = await harness.call("POST", "/api/v1/access/identifier", body=code)
        assert response.json == {"error": "Identifier already exists"}
        items = (await harness.call("GET", "/api/v1/access/identifier/items")).json["list_items"]
        expected = {}
        for key in code:
            expected[key] = code[key]
        expected["identifier_uid"] = uid
        assert items == [expected]
        filtered = (
            await harness.call(
                "GET",
                "/api/v1/access/identifier/items?filter=identifier_owner.name%20eq%20%27Flat%203%27",
            )
        ).json["list_items"]
        assert len(filtered) == 1
        bad = await harness.call(
            "POST",
            "/api/v1/access/identifier",
            body={"identifier_number": "12a", "identifier_type": "personal_code"},
        )
        assert bad.json == {
            "error": "Wrong JSON body: value identifier_number was wrong. (1..8 digits)"
        }
        assert (
            await harness.call(
                "DELETE", "/api/v1/access/identifier/items", body={"uid_items": [uid, 5]}
            )
        ).json == {}
        items = (await harness.call("GET", "/api/v1/access/identifier/items")).json["list_items"]
        assert items == []
    finally:
        harness.close()
