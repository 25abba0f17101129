"""Every request example of redirectrules-api.md section 3 over a real socket
against the simulator, and the rules survive a restart (issue 3)."""

import json
import urllib.parse

from support.panel_process import PanelProcess

JSON = {"Content-Type": "application/json"}
JSON_TYPE = "application/json; charset=utf-8"
R1_ID = "0c9e2f61-77aa-4b5e-a0c3-5d1e8b7f4a20"
R2_ID = "a41d0c3e-2f88-4b70-b6e5-93c2d17f0a6b"
R3_ID = "7b0e52d4-9a61-4c3f-8d20-11f0c6a4e9b2"
R1 = {
    "id": R1_ID,
    "type": "absolute",
    "filter_number": "112",
    "filter_fromnumber": "",
    "tran_number": "sip:112@192.168.1.50",
    "priority": 10,
    "enabled": 1,
    "schedule": "custom",
    "periods": [{"daystart": 6, "timestart": 0, "daystop": 7, "timestop": 1440}],
    "opts": {"title": "Flat 112 monitor at weekends", "comment": ""},
}
R2 = {
    "id": R2_ID,
    "type": "busy",
    "filter_number": "1XX",
    "tran_number": "9XX",
    "priority": 50,
    "opts": {"title": "Busy to mobile app"},
}
R3 = {
    "id": R3_ID,
    "type": "noanswer",
    "filter_number": "1XX",
    "tran_number": "900",
    "priority": 120,
    "schedule": "work",
    "opts": {"title": "No answer to concierge"},
}
BASE = "/rest/v1/uc/redirectrules"


def call(panel, method, path, body=None):
    raw = None if body is None else json.dumps(body).encode()
    return panel.request(method, path, raw_body=raw, headers=JSON)


def without_ext(rule):
    return {key: value for key, value in rule.items() if key != "ext"}


def test_spec_examples_then_restart(tmp_path, runtime):
    panel = PanelProcess(tmp_path, runtime=runtime).start()
    try:
        # 3.3 create (R1 with its id from 2.1, R2 and R3 as in 5.4)
        created = call(panel, "POST", BASE, R1)
        assert created.status == 200
        assert created.headers["Content-Type"] == JSON_TYPE
        assert without_ext(created.json) == R1
        assert created.json["ext"]["ct"] == created.json["ext"]["lwt"]
        assert created.json["ext"]["ct"].endswith("Z") and len(created.json["ext"]["ct"]) == 23
        assert call(panel, "POST", BASE, R2).status == 200
        reply = call(panel, "POST", BASE, {key: value for key, value in R3.items() if key != "id"})
        assert reply.status == 200
        assert without_ext(reply.json) == {
            "id": reply.json["id"],
            "type": "noanswer",
            "filter_number": "1XX",
            "filter_fromnumber": "",
            "tran_number": "900",
            "priority": 120,
            "enabled": 1,
            "schedule": "work",
            "periods": [],
            "opts": {"title": "No answer to concierge", "comment": ""},
        }
        r3_id = reply.json["id"]
        assert call(panel, "POST", BASE, R1).status == 409

        # 3.4 list with filter, mask, order, offset, limit, flat
        query = urllib.parse.urlencode(
            {
                "filter": '{"enabled":1,"filter_number":{"match":"112"}}',
                "mask": "id,type,tran_number,priority,opts.title",
                "order": '[{"priority":"asc"}]',
                "offset": "0",
                "limit": "2",
                "flat": "true",
            }
        )
        reply = panel.request("GET", BASE + "?" + query)
        assert reply.status == 200
        assert reply.json == [
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

        # 3.5 one rule with a mask
        reply = panel.request("GET", BASE + "/" + r3_id + "?mask=type,tran_number,opts")
        assert reply.json == {
            "type": "noanswer",
            "tran_number": "900",
            "opts": {"title": "No answer to concierge", "comment": ""},
        }

        # 3.6 PATCH
        reply = call(
            panel,
            "PATCH",
            BASE + "/" + R1_ID,
            {
                "periods": [{"daystart": 5, "timestart": 1080, "daystop": 1, "timestop": 480}],
                "opts": {"comment": "Friday 18:00 to Monday 08:00"},
            },
        )
        assert reply.status == 200
        patched = reply.json
        assert patched["periods"] == [
            {"daystart": 5, "timestart": 1080, "daystop": 1, "timestop": 480}
        ]
        assert patched["opts"] == {
            "title": "Flat 112 monitor at weekends",
            "comment": "Friday 18:00 to Monday 08:00",
        }
        assert patched["ext"]["ct"] == created.json["ext"]["ct"]

        # 3.8 LOOKUP
        reply = panel.request("LOOKUP", BASE, raw_body=b'"1XX"', headers=JSON)
        assert reply.json == [R2_ID, r3_id]
        reply = panel.request("LOOKUP", BASE, raw_body=b'"777"', headers=JSON)
        assert (reply.status, reply.json) == (
            404,
            {"error_code": 1404, "error_message": "Lookup failed"},
        )

        # 3.7 DELETE, then again
        reply = panel.request("DELETE", BASE + "/" + r3_id)
        assert (reply.status, reply.raw) == (204, b"")
        reply = panel.request("DELETE", BASE + "/" + r3_id)
        assert (reply.status, reply.json) == (
            404,
            {"error_code": 1404, "error_message": "Not found"},
        )
        # Section 4 error example and authentication in this API's format
        reply = call(panel, "POST", BASE, dict(R2, id=None, opts={"colour": "red"}))
        assert reply.status == 400
        reply = call(
            panel,
            "POST",
            BASE,
            {"type": "busy", "filter_number": "1", "tran_number": "2", "opts": {"colour": "red"}},
        )
        assert reply.json == {
            "error_code": 1400,
            "error_message": "Unknown field",
            "error_details": {"field": "opts.colour", "reason": "unknown_field"},
        }
        reply = panel.request("GET", BASE, auth=None)
        assert (reply.status, reply.json) == (
            401,
            {"error_code": 1401, "error_message": "Unauthorized"},
        )
    finally:
        panel.stop()

    panel = PanelProcess(tmp_path, port=panel.port, runtime=runtime).start()
    try:
        rules = panel.request("GET", BASE).json
        assert [rule["id"] for rule in rules] == [R1_ID, R2_ID]
        reply = panel.request("GET", BASE + "/" + R1_ID)
        assert reply.json == patched
    finally:
        panel.stop()
