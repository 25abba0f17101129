# GET|POST /api/v1/device/call/incoming and /api/v1/device/sip/tls
# (docs/incoming-calls.md) through microdot's test client, on both runtimes:
# checked, stored, read back; bad input a 400 in the BAS-IP shape.
from api_harness import Harness

PATH = "/api/v1/device/call/incoming"


async def test_incoming_settings_round_trip_and_errors():
    harness = Harness("incoming-api")
    try:
        assert (await harness.call("GET", PATH)).json == {
            "enabled": False,
            "allow": [],
            "answer_after_s": 3,
        }
        document = {
            "enabled": True,
            "allow": ["10.0.0.9", "sip:101@pbx.example.org", "monitor", "10.0.0.9"],
            "answer_after_s": 0,
        }
        assert (await harness.call("POST", PATH, body=document)).json == {}
        assert (await harness.call("GET", PATH)).json == {
            "enabled": True,
            "allow": ["10.0.0.9", "sip:101@pbx.example.org", "monitor"],  # duplicates once
            "answer_after_s": 0,
        }
        # A partial POST keeps the other fields.
        assert (await harness.call("POST", PATH, body={"answer_after_s": 5})).json == {}
        stored = (await harness.call("GET", PATH)).json
        assert stored["answer_after_s"] == 5 and stored["enabled"] is True
        cases = (
            ({}, "Wrong JSON body"),
            ({"enabled": "yes"}, "Wrong JSON body: value `enabled` was of the wrong type"),
            ({"allow": "10.0.0.9"}, "Wrong JSON body: value `allow` was of the wrong type"),
            ({"allow": [7]}, "Wrong JSON body: value `allow[0]` was of the wrong type"),
            (
                {"allow": ["ok", "256.0.0.1"]},
                "Wrong JSON body: value allow[1] was wrong. "
                "(an IPv4 address, sip:user@host or a user name)",
            ),
            (
                {"allow": ["u%d" % index for index in range(33)]},
                "Wrong JSON body: value allow was wrong. (At most 32 entries)",
            ),
            ({"answer_after_s": 61}, "Wrong JSON body: value answer_after_s was wrong. (0..60)"),
            (
                {"answer_after_s": None},
                "Wrong JSON body: value `answer_after_s` was of the wrong type",
            ),
        )
        for body, error in cases:
            response = await harness.call("POST", PATH, body=body)
            assert response.status_code == 400, body
            assert response.json == {"error": error}, body
        response = await harness.call("POST", PATH, raw=b"[1,")
        assert response.status_code == 400
        assert (await harness.call("GET", PATH)).json == stored  # nothing changed
        assert (await harness.call("GET", PATH, auth=False)).status_code == 401
    finally:
        harness.close()


async def test_sip_tls_settings_round_trip():
    harness = Harness("sip-tls-api")
    try:
        path = "/api/v1/device/sip/tls"
        assert (await harness.call("GET", path)).json == {"ca_file": "", "verify": True}
        body = {"ca_file": "/flash/ca.pem"}
        assert (await harness.call("POST", path, body=body)).json == {}
        assert (await harness.call("GET", path)).json == {
            "ca_file": "/flash/ca.pem",
            "verify": True,
        }
        response = await harness.call("POST", path, body={"verify": 1})
        assert response.json == {"error": "Wrong JSON body: value `verify` was of the wrong type"}
        response = await harness.call("POST", path, body={"ca_file": "x" * 128})
        assert response.json == {
            "error": "Wrong JSON body: value ca_file was wrong. (0..127 characters)"
        }
    finally:
        harness.close()
