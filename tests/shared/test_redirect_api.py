# /rest/v1/uc/redirectrules through the real app (panel.wiring.build_panel) and the
# real store, with microdot's TestClient, on both runtimes (spec sections 3, 4).
from microdot.test_client import TestClient

from checks import temp_dir
from panel.store import Store
from panel.wiring import BoardParts, build_panel

BASE = "/rest/v1/uc/redirectrules"
AUTH = "Basic YWRtaW46MTIzNDU2"  # admin:123456, the factory account
JSON_TYPE = "application/json; charset=utf-8"
R1_ID = "0c9e2f61-77aa-4b5e-a0c3-5d1e8b7f4a20"
R2_ID = "a41d0c3e-2f88-4b70-b6e5-93c2d17f0a6b"
R3_ID = "7b0e52d4-9a61-4c3f-8d20-11f0c6a4e9b2"

R1 = (
    '{"id":"%s","type":"absolute","filter_number":"112","filter_fromnumber":"",'
    '"tran_number":"sip:112@192.168.1.50","priority":10,"enabled":1,"schedule":"custom",'
    '"periods":[{"daystart":6,"timestart":0,"daystop":7,"timestop":1440}],'
    '"opts":{"title":"Flat 112 monitor at weekends","comment":""}}' % R1_ID
)
R2 = (
    '{"id":"%s","type":"busy","filter_number":"1XX","tran_number":"9XX","priority":50,'
    '"opts":{"title":"Busy to mobile app"}}' % R2_ID
)
R3 = (
    '{"type":"noanswer","filter_number":"1XX","tran_number":"900","priority":120,'
    '"schedule":"work","opts":{"title":"No answer to concierge"}}'
)


class FixedClock:
    def __init__(self, value):
        self.value = value

    def now(self):
        return self.value


class Rig:
    """A panel on a fresh store, its app and a client."""

    def __init__(self, name, limit=1024):
        self.directory = temp_dir(name)
        self.store = Store(self.directory)
        self.store.open()
        self.clock = FixedClock(1741072325.31)
        board = {"limits": {"redirect_rules": limit}}
        self.panel = build_panel(board, BoardParts(store=self.store, clock=self.clock))
        self.client = TestClient(self.panel.app)

    async def call(self, method, path, body=None, content_type="application/json", authorized=True):
        headers = {}
        if authorized:
            headers["Authorization"] = AUTH
        if body is not None and content_type is not None:
            headers["Content-Type"] = content_type
        return await self.client.request(method, path, headers=headers, body=body)

    async def create_examples(self):
        ids = []
        for body, when in ((R1, 1741072325.31), (R2, 1741072400), (R3, 1741072811.08)):
            self.clock.value = when
            response = await self.call("POST", BASE, body)
            assert response.status_code == 200, response.text
            ids.append(response.json["id"])
        return ids

    def close(self):
        self.store.close()


def quote(text):
    """Percent-encode a query value (microdot decodes %XX and turns + into space)."""
    out = []
    for char in text:
        if ("a" <= char <= "z") or ("A" <= char <= "Z") or ("0" <= char <= "9") or char in "-_.,":
            out.append(char)
        else:
            out.append("".join("%%%02X" % byte for byte in char.encode()))
    return "".join(out)


def check_error(response, status, message, details=None, central=False):
    assert response.status_code == status, (response.status_code, response.text)
    # Central answers (panel.wiring: 401, 404, 405, 413) and the module's own
    # carry the spec's exact text.
    assert response.headers["Content-Type"] == JSON_TYPE
    expected = {"error_code": 1000 + status, "error_message": message}
    if details is not None:
        expected["error_details"] = details
    assert response.json == expected, response.json


async def test_create_example_of_3_3():
    rig = Rig("redirect-api-create")
    rig.clock.value = 1741072811.08
    response = await rig.call("POST", BASE, R3)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    created = response.json
    rule_id = created["id"]
    assert len(rule_id) == 36 and rule_id == rule_id.lower()
    assert created == {
        "id": rule_id,
        "type": "noanswer",
        "filter_number": "1XX",
        "filter_fromnumber": "",
        "tran_number": "900",
        "priority": 120,
        "enabled": 1,
        "schedule": "work",
        "periods": [],
        "opts": {"title": "No answer to concierge", "comment": ""},
        "ext": {"ct": "2025-03-04T07:20:11.08Z", "lwt": "2025-03-04T07:20:11.08Z"},
    }
    # Durable and read back: also after the store is closed and opened again.
    rig.store.close()
    rig.store.open()
    again = await rig.call("GET", BASE + "/" + rule_id.upper() + "/")
    assert again.status_code == 200 and again.json == created
    rig.close()


async def test_list_item_and_lookup_examples():
    rig = Rig("redirect-api-list")
    r1, r2, r3 = await rig.create_examples()
    assert (r1, r2) == (R1_ID, R2_ID)
    query = "filter=%s&mask=%s&order=%s&offset=0&limit=2&flat=true" % (
        quote('{"enabled":1,"filter_number":{"match":"112"}}'),
        quote("id,type,tran_number,priority,opts.title"),
        quote('[{"priority":"asc"}]'),
    )
    response = await rig.call("GET", BASE + "?" + query)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json == [
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
    response = await rig.call("GET", BASE + "/?filter=" + quote('{"type":"reject"}'))
    assert response.status_code == 200 and response.json == []
    listed = (await rig.call("GET", BASE)).json
    assert [item["id"] for item in listed] == [r1, r2, r3]
    assert "periods" not in listed[0] and listed[0]["opts"] == {
        "title": "Flat 112 monitor at weekends"
    }
    response = await rig.call("GET", BASE + "/" + r3 + "?mask=type,tran_number,opts")
    assert response.json == {
        "type": "noanswer",
        "tran_number": "900",
        "opts": {"title": "No answer to concierge", "comment": ""},
    }
    response = await rig.call("LOOKUP", BASE, '"1XX"')
    assert response.status_code == 200 and response.json == [r2, r3]
    assert response.headers["Content-Type"] == JSON_TYPE
    assert (await rig.call("LOOKUP", BASE + "/", '"%s"' % r1.upper())).json == [r1]
    check_error(await rig.call("LOOKUP", BASE, '"777"'), 404, "Lookup failed")
    for body in ("5", '{"key":"1XX"}', ""):
        check_error(
            await rig.call("LOOKUP", BASE, body),
            400,
            "Invalid request body",
            {"reason": "invalid_type", "expected": "string"},
        )
    check_error(
        await rig.call("GET", BASE + "?limit=-1"),
        400,
        "Invalid request parameter",
        {"parameter": "limit", "reason": "invalid_value"},
    )
    check_error(
        await rig.call("GET", BASE + "?filter=" + quote("{")),
        400,
        "Invalid JSON",
        {"reason": "invalid_json", "parameter": "filter"},
    )
    check_error(
        await rig.call("GET", BASE + "/" + r1 + "?mask=colour"),
        400,
        "Invalid request parameter",
        {"parameter": "mask", "reason": "unknown_field", "field": "colour"},
    )
    rig.close()


async def test_patch_and_delete():
    rig = Rig("redirect-api-patch")
    await rig.create_examples()
    rig.clock.value = 1741075367.9
    body = (
        '{"periods":[{"daystart":5,"timestart":1080,"daystop":1,"timestop":480}],'
        '"opts":{"comment":"Friday 18:00 to Monday 08:00"}}'
    )
    response = await rig.call("PATCH", BASE + "/" + R1_ID, body)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json == {
        "id": R1_ID,
        "type": "absolute",
        "filter_number": "112",
        "filter_fromnumber": "",
        "tran_number": "sip:112@192.168.1.50",
        "priority": 10,
        "enabled": 1,
        "schedule": "custom",
        "periods": [{"daystart": 5, "timestart": 1080, "daystop": 1, "timestop": 480}],
        "opts": {
            "title": "Flat 112 monitor at weekends",
            "comment": "Friday 18:00 to Monday 08:00",
        },
        "ext": {"ct": "2025-03-04T07:12:05.31Z", "lwt": "2025-03-04T08:02:47.90Z"},
    }
    patched = response.json
    rig.clock.value = 1741080000
    response = await rig.call("PATCH", BASE + "/" + R1_ID + "/", "{}")
    assert response.status_code == 200 and response.json == patched
    # A failing PATCH stores nothing, whichever field fails.
    for bad, field in (
        ('{"priority":5,"schedule":"custom","periods":[]}', "periods"),
        (
            '{"type":"busy","periods":[{"daystart":1,"timestart":5,"daystop":1,"timestart":9}]}',
            "periods[0].timestop",
        ),
    ):
        check_error(
            await rig.call("PATCH", BASE + "/" + R1_ID, bad),
            400,
            "Missing required field",
            {"field": field, "reason": "required"},
        )
    check_error(
        await rig.call("PATCH", BASE + "/" + R1_ID, '{"id":"%s"}' % R2_ID),
        400,
        "Field cannot be changed",
        {"field": "id", "reason": "immutable"},
    )
    check_error(
        await rig.call("PATCH", BASE + "/" + R1_ID, '{"ext":{}}'),
        400,
        "Read-only field",
        {"field": "ext", "reason": "read_only"},
    )
    assert (await rig.call("GET", BASE + "/" + R1_ID)).json == patched
    check_error(await rig.call("PATCH", BASE + "/" + R1_ID[:-1] + "x", "{}"), 404, "Not found")
    response = await rig.call("DELETE", BASE + "/" + R3_ID)
    assert response.status_code == 404  # R3's id was generated
    r3 = (await rig.call("LOOKUP", BASE, '"1XX"')).json[1]
    response = await rig.call("DELETE", BASE + "/" + r3)
    assert response.status_code == 204 and response.body == b""
    check_error(await rig.call("DELETE", BASE + "/" + r3), 404, "Not found")
    check_error(await rig.call("GET", BASE + "/" + r3), 404, "Not found")
    check_error(await rig.call("GET", BASE + "/not-an-id"), 404, "Not found")
    rig.close()


async def test_body_errors_conflicts_and_limit():
    rig = Rig("redirect-api-errors", limit=2)
    check_error(
        await rig.call("POST", BASE, '{"type":"busy",}'),
        400,
        "Invalid JSON",
        {"reason": "invalid_json"},
    )
    check_error(
        await rig.call("POST", BASE, "[1]"),
        400,
        "Invalid request body",
        {"reason": "invalid_type", "expected": "object"},
    )
    check_error(await rig.call("POST", BASE, R2, "text/plain"), 415, "Unsupported media type")
    response = await rig.call("POST", BASE, R2, "Application/JSON; charset=UTF-8")
    assert response.status_code == 200
    check_error(
        await rig.call("POST", BASE, R2, None),
        409,
        "Identifier already exists",
        {"field": "id", "reason": "duplicate"},
    )
    big = '{"type":"busy","filter_number":"1","tran_number":"2","opts":{"comment":"%s"}}' % (
        "x" * 8200
    )
    check_error(await rig.call("POST", BASE, big), 413, "Request body too large", {"limit": 8192})
    assert (await rig.call("POST", BASE, R3)).status_code == 200
    check_error(await rig.call("POST", BASE, R1), 507, "Rule storage full", {"limit": 2})
    assert len((await rig.call("GET", BASE)).json) == 2
    # Central answers of the app, in this API's format.
    check_error(await rig.call("GET", BASE, authorized=False), 401, "Unauthorized", central=True)
    response = await rig.call("PUT", BASE, "{}")
    check_error(response, 405, "Method not allowed", central=True)
    assert "LOOKUP" in response.headers["Allow"]
    # Past the app's 16 KiB limit microdot refuses before reading the body.
    huge = big.replace("x" * 8200, "x" * 17000)
    check_error(
        await rig.call("POST", BASE, huge),
        413,
        "Request body too large",
        {"limit": 8192},
        central=True,
    )
    check_error(await rig.call("GET", BASE + "/nope/deeper"), 404, "Not found", central=True)
    rig.close()


async def test_long_comment_spans_several_store_values():
    rig = Rig("redirect-api-long")
    comment = "\u0416" * 1000 + "\u0001" * 24  # ~2.1 KB of UTF-8, escapes
    body = (
        '{"type":"busy","filter_number":"2XX","tran_number":"9XX",'
        '"opts":{"title":"%s","comment":"%s"}}' % ("\u00e9" * 128, comment)
    )
    created = await rig.call("POST", BASE, body.replace("\u0001", "\\u0001").encode())
    assert created.status_code == 200, created.text
    rule_id = created.json["id"]
    assert created.json["opts"]["comment"] == comment
    assert (await rig.call("GET", BASE + "/" + rule_id)).json == created.json
    assert (await rig.call("GET", BASE + "?mask=opts.comment")).json == [
        {"opts": {"comment": comment}}
    ]
    patched = await rig.call("PATCH", BASE + "/" + rule_id, '{"opts":{"comment":"short"}}')
    assert patched.json["opts"]["comment"] == "short"
    assert rig.store.count("r", "s") == 1  # the extra parts are gone
    assert (await rig.call("DELETE", BASE + "/" + rule_id)).status_code == 204
    assert rig.store.count("r", "s") == 0
    rig.close()


async def test_long_lists_are_streamed_in_order():
    rig = Rig("redirect-api-stream")
    for index in range(20):
        body = '{"type":"busy","filter_number":"%d","tran_number":"9","priority":%d}' % (
            index,
            100 - index,
        )
        assert (await rig.call("POST", BASE, body)).status_code == 200
    listed = (await rig.call("GET", BASE + "?mask=filter_number")).json
    assert listed == [{"filter_number": str(index)} for index in range(19, -1, -1)]
    page = (
        await rig.call(
            "GET", BASE + "?mask=priority&offset=3&limit=2&order=" + quote('[{"priority":"desc"}]')
        )
    ).json
    assert page == [{"priority": 97}, {"priority": 96}]
    rig.close()


async def test_redirect_settings():
    rig = Rig("redirect-api-settings")
    path = "/api/v1/redirect/settings"
    response = await rig.call("GET", path)
    assert response.status_code == 200
    settings = response.json
    assert settings["ring_timeout_s"] == 30
    assert settings["response_map"]["486"] == "busy"
    assert settings["response_map"]["603"] == "reject"
    assert len(settings["work_hours"]) == 5
    body = (
        '{"work_hours":[{"daystart":1,"timestart":480,"daystop":5,"timestop":1200}],'
        '"response_map":{"486":"busy","5xx":"noanswer"},"ring_timeout_s":45,"other":1}'
    )
    response = await rig.call("POST", path, body)
    assert response.status_code == 200 and response.json == {}
    assert (await rig.call("GET", path)).json == {
        "work_hours": [{"daystart": 1, "timestart": 480, "daystop": 5, "timestop": 1200}],
        "response_map": {"486": "busy", "5xx": "noanswer"},
        "ring_timeout_s": 45,
    }
    rows = (
        ("{}", "Wrong JSON body"),
        ('{"ring_timeout_s":30,}', "Wrong JSON body"),
        (
            '{"ring_timeout_s":"30"}',
            "Wrong JSON body: value `ring_timeout_s` was of the wrong type",
        ),
        ('{"ring_timeout_s":3}', "Wrong JSON body: value ring_timeout_s was wrong. (5..120)"),
        ('{"work_hours":{}}', "Wrong JSON body: value `work_hours` was of the wrong type"),
        (
            '{"work_hours":[{"daystart":1,"timestart":0,"daystop":1}]}',
            "Wrong JSON body: no value for `work_hours[0].timestop`",
        ),
        (
            '{"work_hours":[{"daystart":9,"timestart":0,"daystop":1,"timestop":5}]}',
            "Wrong JSON body: value work_hours[0].daystart was wrong. (1..7)",
        ),
        (
            '{"response_map":{"486":"maybe"}}',
            "Wrong JSON body: value response_map.486 was wrong. (busy, reject, noanswer or "
            "unavailable)",
        ),
        (
            '{"response_map":{"200":"busy"}}',
            "Wrong JSON body: value response_map was wrong. (Unknown SIP code 200)",
        ),
    )
    for body, text in rows:
        response = await rig.call("POST", path, body)
        assert response.status_code == 400, body
        assert response.json == {"error": text}, (body, response.json)
    assert (await rig.call("GET", path)).json["ring_timeout_s"] == 45
    rig.close()
