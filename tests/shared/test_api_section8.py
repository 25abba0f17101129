# Every row of BAS-IP contract section 8, with the bodies SmartYard's BAS-IP
# driver posts (its provisioning run), read back through GET where the row
# has one and from the stored setting where it is POST only, on both runtimes.
from api_harness import Harness
from panel.services import settings as schema


def stored(harness, path):
    """What a POST-only echo row stored (section 8: "stored only")."""
    for row_path, name, _, fields in schema.ECHO_SETTINGS:
        if row_path == path:
            return harness.services.settings.read_stored(schema.echo_setting(name, fields))
    raise KeyError(path)


async def post_ok(harness, path, body=None):
    response = await harness.call("POST", path, body=body)
    assert (response.status_code, response.json) == (200, {}), (path, response.json)


async def get(harness, path):
    response = await harness.call("GET", path)
    assert response.status_code == 200, (path, response.json)
    return response.json


async def test_stored_only_rows_keep_what_the_server_posted():
    harness = Harness("s8-stored")
    try:
        rows = [
            (
                "/api/v1/device/call/concierge",
                {"number_enable": True, "number_url": "sip:9999@10.0.0.1:5060"},
            ),
            ("/api/v1/device/settings/video", {"fps": 25, "video_resolution": "1280x720"}),
            ("/api/v1/device/settings/payload", {"payload_codec_h264": 102}),
            (
                "/api/v1/device/settings/rtsp",
                {"username": "admin", "password": "n3w", "is_audio_enabled": False},
            ),
            (
                "/api/v1/access/door/sensor",
                {
                    "enable": True,
                    "mode": "door_sensor",
                    "opening_delay": 86400,
                    "repeating_message_delay": 60,
                    "repeating_message_enabled": False,
                },
            ),
            (
                "/api/v1/access/general/wiegand/type",
                {"identifier_representation": "hex", "type": "wiegand_58"},
            ),
            ("/api/v1/web/ssl", {"is_enabled": False}),
        ]
        for path, body in rows:
            await post_ok(harness, path, body)
        assert stored(harness, "/api/v1/device/call/concierge") == rows[0][1]
        assert stored(harness, "/api/v1/device/settings/video") == rows[1][1]
        assert stored(harness, "/api/v1/device/settings/payload") == {"payload_codec_h264": 102}
        assert stored(harness, "/api/v1/device/settings/rtsp") == rows[3][1]
        # Fields beyond the row's list are ignored (1: liberal in what it accepts).
        assert stored(harness, "/api/v1/access/door/sensor") == {
            "enable": True,
            "mode": "door_sensor",
            "opening_delay": 86400,
        }
        assert stored(harness, "/api/v1/access/general/wiegand/type") == rows[5][1]
        assert stored(harness, "/api/v1/web/ssl") == {"is_enabled": False}
        response = await harness.call(
            "POST", "/api/v1/device/settings/payload", body={"payload_codec_h264": "x"}
        )
        assert response.status_code == 400
        assert response.json == {
            "error": "Wrong JSON body: value `payload_codec_h264` was of the wrong type"
        }
        response = await harness.call("GET", "/api/v1/device/settings/rtsp")
        assert response.status_code == 405
    finally:
        harness.close()


async def test_get_rows_read_back_the_last_post():
    harness = Harness("s8-echo")
    try:
        await post_ok(harness, "/api/v1/device/settings/volume", {"volume_level": 7})
        await post_ok(harness, "/api/v1/device/settings/mic", {"mic_gain_level": 3})
        assert await get(harness, "/api/v1/device/settings/volume") == {"volume_level": 7}
        assert await get(harness, "/api/v1/device/settings/mic") == {"mic_gain_level": 3}
        assert await get(harness, "/api/v1/access/freeaccess") == {"enable": False, "days": []}
        await post_ok(harness, "/api/v1/access/freeaccess", {"enable": True, "days": [1, 2]})
        assert await get(harness, "/api/v1/access/freeaccess") == {"enable": True, "days": [1, 2]}
        ntp = {"custom_server": "ntp.example.org", "enabled": True, "use_default": False}
        await post_ok(harness, "/api/v1/network/ntp", ntp)
        assert await get(harness, "/api/v1/network/ntp") == ntp
        await post_ok(harness, "/api/v1/network/timezone", {"timezone": "UTC+03:00"})
        assert await get(harness, "/api/v1/network/timezone") == {
            "timezone": "UTC+03:00",
            "current_timezone": "UTC+03:00",
        }
        await post_ok(harness, "/api/v1/network/timezone", {"current_timezone": "UTC+00:00"})
        assert (await get(harness, "/api/v1/network/timezone"))["timezone"] == "UTC\u00b100:00"
        syslog = {
            "enabled": True,
            "server": {"port": 45450, "server": "10.0.0.3", "severity": 6},
            "tag": "",
        }
        await post_ok(harness, "/api/v1/syslog/settings", syslog)
        read = await get(harness, "/api/v1/syslog/settings")
        assert read == {
            "enabled": True,
            "server": {"server": "10.0.0.3", "port": 45450, "severity": 6},
            "tag": "",
            "transport": "http",
        }
        await post_ok(harness, "/api/v1/syslog/settings", {"transport": "udp"})
        assert (await get(harness, "/api/v1/syslog/settings"))["transport"] == "udp"
        assert (await get(harness, "/api/v1/syslog/status"))["enabled"] is True
    finally:
        harness.close()


async def test_input_code_language_and_mode():
    harness = Harness("s8-misc")
    try:
        # SmartYard posts input_code_number as a JSON number: stored as text.
        await post_ok(
            harness,
            "/api/v1/access/general/unlock/input/code",
            {"input_code_enable": True, "input_code_number": 12345},
        )
        assert stored(harness, "/api/v1/access/general/unlock/input/code") == {
            "input_code_enable": True,
            "input_code_number": "12345",
        }
        await post_ok(
            harness,
            "/api/v1/access/general/unlock/input/code",
            {"input_code_enable": False, "input_code_number": "0"},
        )
        assert (
            stored(harness, "/api/v1/access/general/unlock/input/code")["input_code_number"] == "0"
        )
        response = await harness.call(
            "POST", "/api/v1/access/general/unlock/input/code", body={"input_code_number": True}
        )
        assert response.status_code == 400
        await post_ok(harness, "/api/v1/device/language?language=English")
        assert harness.services.settings.read(schema.LANGUAGE) == {"language": "English"}
        assert await get(harness, "/api/v1/device/mode/current") == {"current_panel_mode": "Unit"}
        await post_ok(harness, "/api/v1/device/mode/wall")
        assert await get(harness, "/api/v1/device/mode/current") == {"current_panel_mode": "Wall"}
        await post_ok(harness, "/api/v1/device/mode/unit")
        assert await get(harness, "/api/v1/device/mode/current") == {"current_panel_mode": "Unit"}
        response = await harness.call("GET", "/api/v1/photo/file")
        assert (response.status_code, response.json) == (404, {"error": "No camera"})
    finally:
        harness.close()


async def test_identifiers_rows():
    harness = Harness("s8-identifiers")
    try:
        body = {
            "identifier_number": "00-00-00-1A-2B-3C-4D",
            "identifier_owner": {"name": "0000001A2B3C4D", "type": "owner"},
            "identifier_type": "card",
            "lock": "first",
            "valid": {"time": {"is_permanent": True}},
        }
        response = await harness.call("POST", "/api/v1/access/identifier", body=body)
        assert response.status_code == 200
        uid = response.json["uid"]
        assert type(uid) is int and uid > 0
        items = (await get(harness, "/api/v1/access/identifier/items?limit=50&page_number=1"))[
            "list_items"
        ]
        assert items[0]["identifier_uid"] == uid
        assert items[0]["identifier_number"] == "00-00-00-1A-2B-3C-4D"
        assert items[0]["valid"] == {"time": {"is_permanent": True}}
        response = await harness.call(
            "DELETE", "/api/v1/access/identifier/items", body={"uid_items": [uid, 999]}
        )
        assert (response.status_code, response.json) == (200, {})
        assert (await get(harness, "/api/v1/access/identifier/items"))["list_items"] == []
    finally:
        harness.close()


async def test_password_reboot_and_factory_reset_rows():
    harness = Harness("s8-system")
    try:
        await post_ok(harness, "/api/v1/device/settings/volume", {"volume_level": 9})
        response = await harness.call(
            "POST", "/api/v1/security/password/admin?oldPassword=wrong&newPassword=x1"
        )
        assert (response.status_code, response.json) == (
            400,
            {"error": "Wrong login or password"},
        )
        await post_ok(
            harness, "/api/v1/security/password/web/admin?oldPassword=123456&newPassword=n3w"
        )
        assert (await harness.call("GET", "/api/v1/device/settings/volume")).status_code == 401
        new_basic = {"Authorization": "Basic YWRtaW46bjN3"}  # admin:n3w
        response = await harness.call(
            "POST",
            "/api/v1/security/password/admin",
            body={"old_password": "n3w", "new_password": "123456"},
            headers=new_basic,
        )
        assert response.status_code == 200
        assert (await get(harness, "/api/v1/system/reboot/run")) == {}
        await post_ok(harness, "/api/v1/system/settings/default")
        assert await get(harness, "/api/v1/device/settings/volume") == {"volume_level": 5}
    finally:
        harness.close()
