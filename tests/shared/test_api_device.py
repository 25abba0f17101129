# Contract sections 4, 5, 7 and 8 through microdot's test client, on both runtimes.
from api_harness import Harness

SIP = {
    "outbound": "",
    "password": "s3cret",
    "proxy": "sip:10.0.0.1:5060",
    "realm": "10.0.0.1:5060",
    "registration_interval": 900,
    "transport": "udp",
    "user": "100001",
    "user_id": "100001",
    "stun": {"ip": "127.0.0.1", "port": 3478},
}


def with_changes(document, **changes):
    result = {}
    for key in document:
        result[key] = document[key]
    for key in changes:
        result[key] = changes[key]
    return result


async def test_info_comes_from_the_board():
    harness = Harness("dev-info")
    try:
        info = (await harness.call("GET", "/api/info", auth=False)).json
        assert info["device_model"] == "TEST-PANEL"
        assert info["mcu_version"] == "test MCU"
        assert info["device_serial_number"] == "00000000-0000-4000-8000-000000000001"
        assert info["firmware_version"] and info["api_version"] == "2.15.0"
        assert info["device_type"] == "panel"
        assert info["hybrid_enable"] is False
    finally:
        harness.close()


async def test_dial_and_talk_timeouts():
    harness = Harness("dev-timing")
    try:
        path = "/api/v1/device/call/dial/timeout"
        assert (await harness.call("GET", path)).json == {
            "dial_timeout": 45,
            "forwarding_timeout": 20,
        }
        assert (await harness.call("POST", path, body={"forwarding_timeout": 25})).json == {}
        assert (await harness.call("GET", path)).json == {
            "dial_timeout": 45,
            "forwarding_timeout": 25,
        }
        assert (await harness.call("POST", path, body={})).json == {"error": "Wrong JSON body"}
        response = await harness.call("POST", path, body={"dial_timeout": 121})
        assert response.json == {"error": "Wrong JSON body: value dial_timeout was wrong. (5..120)"}
        response = await harness.call(
            "POST", path, body={"dial_timeout": 30, "forwarding_timeout": 61}
        )
        assert response.status_code == 400
        # Nothing stored when a later field fails.
        assert (await harness.call("GET", path)).json["dial_timeout"] == 45
        talk = "/api/v1/device/call/talk/timeout"
        assert (await harness.call("POST", talk, body={"talk_timeout": 10})).json == {}
        assert (await harness.call("GET", talk)).json == {"talk_timeout": 10}
        response = await harness.call("POST", talk, body={"talk_timeout": 9})
        assert response.json == {
            "error": "Wrong JSON body: value talk_timeout was wrong. (10..600)"
        }
    finally:
        harness.close()


async def test_sip_settings_round_trip_with_placeholder_password():
    harness = Harness("dev-sip")
    try:
        path = "/api/v1/device/sip/settings"
        assert (await harness.call("POST", path, body=SIP)).json == {}
        assert (await harness.call("GET", path)).json == with_changes(SIP, password="WebPass")
        assert (
            await harness.call("POST", path, body=with_changes(SIP, password="WebPass"))
        ).json == {}
        stored = harness.services.settings.sip_account()
        assert stored["password"] == "s3cret"
    finally:
        harness.close()


async def test_sip_settings_errors_in_field_order():
    harness = Harness("dev-sip-errors")
    try:
        path = "/api/v1/device/sip/settings"
        cases = [
            (
                {"proxy": "", "realm": ""},
                "Wrong JSON body: value proxy was wrong. (1..63 characters)",
            ),
            (
                {"proxy": "sip:a b"},
                "Wrong JSON body: value proxy was wrong. (sip:host or sip:host:port)",
            ),
            (
                {"realm": "10.0.0.1:70000"},
                "Wrong JSON body: value realm was wrong. (host or host:port)",
            ),
            ({"password": ""}, "Wrong JSON body: value password was wrong. (1..31 characters)"),
            ({"user_id": "u" * 32}, "Wrong JSON body: value user_id was wrong. (0..31 characters)"),
            (
                {"registration_interval": 901},
                "Wrong JSON body: value registration_interval was wrong. (30..900)",
            ),
            (
                {"registration_interval": 60.5},
                "Wrong JSON body: value `registration_interval` was of the wrong type",
            ),
            (
                {"stun": {"ip": "127.0.0.1", "port": 70000}},
                "Wrong JSON body: value stun was wrong. (port: 0..65535)",
            ),
        ]
        for change, text in cases:
            response = await harness.call("POST", path, body=with_changes(SIP, **change))
            assert response.json == {"error": text}, change
        response = await harness.call("GET", path)
        assert response.json["proxy"] == ""
    finally:
        harness.close()


class RecordingAgent:
    """The part of the SIP user agent the SIP account drives, recorded."""

    def __init__(self):
        self.calls = []

    def register(self, account):
        self.calls.append("register")

    def unregister(self):
        self.calls.append("unregister")

    def status(self):
        return {"sip_status": "OFFLINE", "register_last_attempt": None}


async def test_sip_enable_and_status_offline_while_disabled():
    harness = Harness("dev-sip-enable")
    try:
        status = (await harness.call("GET", "/api/v1/sip/status", auth=False)).json
        assert status == {"sip_status": "OFFLINE", "register_last_attempt": None}
        agent = RecordingAgent()
        harness.services.sip.attach(agent)
        assert agent.calls == ["unregister"]  # disabled: nothing to register
        assert (
            await harness.call("POST", "/api/v1/device/sip/enable", body={"sip_enable": True})
        ).json == {}
        assert agent.calls == ["unregister", "unregister"]  # enabled, but no account yet
        assert (await harness.call("GET", "/api/v1/device/sip/enable")).json == {"sip_enable": True}
        status = (await harness.call("GET", "/api/v1/device/sip/status", auth=False)).json
        assert status["sip_status"] == "ERROR"
        response = await harness.call("POST", "/api/v1/device/sip/enable", body={})
        assert response.json == {"error": "Wrong JSON body: no value for `sip_enable`"}
    finally:
        harness.close()


async def test_section_8_defaults_on_a_fresh_panel():
    harness = Harness("dev-defaults")
    try:
        expected = [
            (
                "/api/v1/syslog/settings",
                {
                    "enabled": False,
                    "server": {"server": "", "port": 514, "severity": 6},
                    "tag": "",
                    "transport": "http",
                },
            ),
            (
                "/api/v1/network/timezone",
                {"timezone": "UTC\u00b100:00", "current_timezone": "UTC\u00b100:00"},
            ),
            ("/api/v1/network/ntp", {"custom_server": "", "enabled": False, "use_default": True}),
            ("/api/v1/access/freeaccess", {"enable": False, "days": []}),
            ("/api/v1/device/mode/current", {"current_panel_mode": "Unit"}),
        ]
        for path, document in expected:
            assert (await harness.call("GET", path)).json == document, path
    finally:
        harness.close()


async def test_echo_settings_store_and_type_check():
    harness = Harness("dev-echo")
    try:
        path = "/api/v1/access/freeaccess"
        assert (await harness.call("POST", path, body={"enable": True, "days": [1, 2]})).json == {}
        assert (await harness.call("GET", path)).json == {"enable": True, "days": [1, 2]}
        response = await harness.call("POST", path, body={"enable": "true"})
        assert response.json == {"error": "Wrong JSON body: value `enable` was of the wrong type"}
        assert (await harness.call("GET", path)).json["enable"] is True
        response = await harness.call("POST", "/api/v1/device/mode/wall")
        assert response.json == {}
        assert (await harness.call("GET", "/api/v1/device/mode/current")).json == {
            "current_panel_mode": "Wall"
        }
    finally:
        harness.close()


async def test_timezone_forms():
    harness = Harness("dev-tz")
    try:
        path = "/api/v1/network/timezone"
        assert (await harness.call("POST", path, body={"current_timezone": "UTC-05:30"})).json == {}
        assert (await harness.call("GET", path)).json == {
            "timezone": "UTC-05:30",
            "current_timezone": "UTC-05:30",
        }
        assert (await harness.call("POST", path, body={"timezone": "UTC\u00b100:00"})).json == {}
        for bad in ("UTC+3", "GMT+03:00", "UTC+24:00", "UTC+03:60", ""):
            response = await harness.call("POST", path, body={"timezone": bad})
            assert response.status_code == 400, bad
    finally:
        harness.close()


async def test_factory_reset_clears_rules_and_settings():
    harness = Harness("dev-reset")
    try:
        await harness.call("POST", "/api/v1/forward/item/5", body={"forward_entity_list": ["5"]})
        await harness.call("POST", "/api/v1/device/sip/settings", body=SIP)
        assert (await harness.call("POST", "/api/v1/system/settings/default")).json == {}
        assert (await harness.call("GET", "/api/v1/forward/item/5")).status_code == 404
        assert (await harness.call("GET", "/api/v1/device/sip/settings")).json["proxy"] == ""
        listing = (await harness.call("GET", "/api/v1/forward/items")).json
        assert listing["list_option"]["pagination"]["total_items"] == 0
    finally:
        harness.close()


async def test_photo_has_no_camera():
    harness = Harness("dev-photo")
    try:
        response = await harness.call("GET", "/api/v1/photo/file")
        assert (response.status_code, response.json) == (404, {"error": "No camera"})
    finally:
        harness.close()


async def test_hybrid_routes_without_an_adapter():
    harness = Harness("dev-hybrid")
    try:
        response = await harness.call("GET", "/api/v1/hybrid/state")
        assert response.json["present"] is False and response.json["configured"] is False
        response = await harness.call("POST", "/api/v1/hybrid/lines/laskomex:10/ring")
        assert (response.status_code, response.json) == (
            409,
            {"error": "Hybrid adapter unavailable"},
        )
        response = await harness.call("POST", "/api/v1/hybrid/lines/sip:1@a.b/stop")
        assert (response.status_code, response.json) == (400, {"error": "Wrong number"})
    finally:
        harness.close()
