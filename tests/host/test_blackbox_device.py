"""Contract sections 4 to 8 over a real socket."""

import time

import pytest

SIP_EXAMPLE = {
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


def test_fresh_panel_defaults(fresh_panel):
    panel = fresh_panel
    expected = {
        "/api/v1/device/sip/settings": {
            "proxy": "",
            "realm": "",
            "user": "",
            "password": "WebPass",
            "user_id": "",
            "transport": "udp",
            "registration_interval": 30,
            "outbound": "",
            "stun": {"ip": "", "port": 3478},
        },
        "/api/v1/syslog/settings": {
            "enabled": False,
            "server": {"server": "", "port": 514, "severity": 6},
            "tag": "",
            "transport": "http",
        },
        "/api/v1/network/timezone": {
            "timezone": "UTC\u00b100:00",
            "current_timezone": "UTC\u00b100:00",
        },
        "/api/v1/network/ntp": {"custom_server": "", "enabled": False, "use_default": True},
        "/api/v1/access/freeaccess": {"enable": False, "days": []},
        "/api/v1/access/general/lock/dtmf/1": {"dtmf_code": "1"},
        "/api/v1/access/general/lock/dtmf/2": {"dtmf_code": "2"},
        "/api/v1/device/call/dial/timeout": {"dial_timeout": 45, "forwarding_timeout": 20},
        "/api/v1/device/call/talk/timeout": {"talk_timeout": 90},
        "/api/v1/device/sip/enable": {"sip_enable": False},
        "/api/v1/device/mode/current": {"current_panel_mode": "Unit"},
        "/api/v1/access/general/lock/timeout/1": {"lock_timeout": 5},
    }
    for path, document in expected.items():
        reply = panel.request("GET", path)
        assert (path, reply.status, reply.json) == (path, 200, document)
    status = panel.request("GET", "/api/v1/sip/status", auth=None).json
    assert status == {"sip_status": "OFFLINE", "register_last_attempt": None}


def test_info(panel):
    info = panel.request("GET", "/api/info", auth=None).json
    for field in ("device_serial_number", "device_model", "mcu_version", "firmware_version"):
        assert isinstance(info[field], str) and info[field]
    assert info["device_type"] == "panel"
    assert info["api_version"] == "2.15.0"
    assert isinstance(info["hybrid_enable"], bool)
    for field in (
        "framework_version",
        "frontend_version",
        "device_name",
        "hybrid_version",
        "commit",
    ):
        assert isinstance(info[field], str)


def test_boot_heap_is_measured_before_any_request(fresh_panel, runtime):
    # bench_mpyunix's mpyunix_data_heap_bytes: the heap the booted panel
    # holds and the modules it imported, taken once it listens.
    boot = fresh_panel.request("GET", "/sim/heap/boot", auth=None).json
    if runtime == "cpython":
        assert boot == {"alloc": 0, "modules": []}
        return
    assert boot["alloc"] > 0
    assert "panel.wiring" in boot["modules"] and "panel.api.router" in boot["modules"]
    live = fresh_panel.request("GET", "/sim/heap", auth=None).json
    assert live["alloc"] > 0
    assert fresh_panel.request("GET", "/sim/heap/boot", auth=None).json == boot


def test_call_timing(fresh_panel):
    panel = fresh_panel
    path = "/api/v1/device/call/dial/timeout"
    assert (
        panel.request("POST", path, body={"dial_timeout": 60, "forwarding_timeout": 25}).json == {}
    )
    assert panel.request("GET", path).json == {"dial_timeout": 60, "forwarding_timeout": 25}
    assert panel.request("POST", path, body={"forwarding_timeout": 30}).json == {}
    assert panel.request("GET", path).json == {"dial_timeout": 60, "forwarding_timeout": 30}
    assert panel.request("POST", path, body={}).json == {"error": "Wrong JSON body"}
    assert panel.request("POST", path, body={"dial_timeout": 4}).json == {
        "error": "Wrong JSON body: value dial_timeout was wrong. (5..120)"
    }
    assert panel.request("POST", path, body={"forwarding_timeout": "20"}).json == {
        "error": "Wrong JSON body: value `forwarding_timeout` was of the wrong type"
    }
    talk = "/api/v1/device/call/talk/timeout"
    assert panel.request("POST", talk, body={"talk_timeout": 600}).json == {}
    assert panel.request("GET", talk).json == {"talk_timeout": 600}
    assert panel.request("POST", talk, body={"talk_timeout": 601}).status == 400
    assert panel.request("POST", talk, body={"talk_timeout": True}).json == {
        "error": "Wrong JSON body: value `talk_timeout` was of the wrong type"
    }


def test_sip_settings(fresh_panel):
    panel = fresh_panel
    path = "/api/v1/device/sip/settings"
    assert panel.request("POST", path, body=SIP_EXAMPLE).json == {}
    stored = panel.request("GET", path).json
    expected = dict(SIP_EXAMPLE, password="WebPass")
    assert stored == expected
    # Posting the placeholder back keeps the stored password (the UA still has it).
    again = dict(SIP_EXAMPLE, password="WebPass", user="100002")
    assert panel.request("POST", path, body=again).json == {}
    assert panel.request("GET", path).json["user"] == "100002"
    for change, text in [
        (
            {"proxy": "10.0.0.1"},
            "Wrong JSON body: value proxy was wrong. (sip:host or sip:host:port)",
        ),
        ({"realm": ""}, "Wrong JSON body: value realm was wrong. (1..63 characters)"),
        ({"user": "x" * 32}, "Wrong JSON body: value user was wrong. (1..31 characters)"),
        (
            {"registration_interval": 29},
            "Wrong JSON body: value registration_interval was wrong. (30..900)",
        ),
        ({"transport": "sctp"}, "Wrong JSON body: value transport was wrong. (udp, tcp or tls)"),
        ({"stun": "x"}, "Wrong JSON body: value `stun` was of the wrong type"),
        ({"user": 5}, "Wrong JSON body: value `user` was of the wrong type"),
    ]:
        reply = panel.request("POST", path, body=dict(SIP_EXAMPLE, **change))
        assert (change, reply.status, reply.json) == (change, 400, {"error": text})
    missing = dict(SIP_EXAMPLE)
    del missing["stun"]
    assert panel.request("POST", path, body=missing).json == {
        "error": "Wrong JSON body: no value for `stun`"
    }
    assert panel.request("GET", path).json["user"] == "100002"


def test_sip_enable_and_status(fresh_panel):
    panel = fresh_panel
    path = "/api/v1/device/sip/enable"
    assert (
        panel.request(
            "POST", path, body={"sip_enable": True, "is_reregister": True, "reregister_time": 60}
        ).json
        == {}
    )
    assert panel.request("GET", path).json == {"sip_enable": True}
    status = panel.request("GET", "/api/v1/sip/status", auth=None).json
    assert status["sip_status"] in ("OK", "ERROR")
    assert panel.request("POST", path, body={"sip_enable": "yes"}).json == {
        "error": "Wrong JSON body: value `sip_enable` was of the wrong type"
    }
    assert panel.request("POST", path, body={"sip_enable": False}).json == {}
    assert panel.request("GET", "/api/v1/sip/status", auth=None).json["sip_status"] == "OFFLINE"


def test_locks(fresh_panel):
    panel = fresh_panel
    base = "/api/v1/access/general/lock/dtmf/"
    assert panel.request("POST", base + "1", body={"dtmf_code": "2"}).json == {
        "error": "DTMF code is already in use"
    }
    assert panel.request("POST", base + "1", body={"dtmf_code": "12#"}).json == {}
    assert panel.request("GET", base + "0").json == {"dtmf_code": "12#"}
    assert panel.request("POST", base + "2", body={"dtmf_code": "2"}).json == {}
    for bad in ("", "12345", "E", "1 2"):
        assert panel.request("POST", base + "2", body={"dtmf_code": bad}).json == {
            "error": "Wrong DTMF value"
        }
    assert panel.request("POST", base + "2", body={"dtmf_code": 2}).json == {
        "error": "Wrong JSON body: value `dtmf_code` was of the wrong type"
    }
    assert panel.request("GET", base + "3").json == {"error": "Wrong lock-number"}
    timeout = "/api/v1/access/general/lock/timeout/"
    assert panel.request("POST", timeout + "2", body={"lock_timeout": 40}).json == {}
    assert panel.request("GET", timeout + "2").json == {"lock_timeout": 40}
    assert panel.request("POST", timeout + "2", body={"lock_timeout": 41}).status == 400
    assert panel.request("GET", timeout + "0").json == {"error": "Wrong lock-number"}


def test_remote_open_drives_the_relay_and_logs(fresh_panel):
    panel = fresh_panel
    path = "/api/v1/access/general/lock/open/remote/accepted/"
    assert panel.request("GET", path + "1?unlockTime=1").json == {}
    locks = panel.request("GET", "/sim/locks", auth=None).json["locks"]
    assert locks[0]["state"] == "open" and locks[0]["openings"] == 1
    assert locks[1]["openings"] == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if panel.request("GET", "/sim/locks", auth=None).json["locks"][0]["state"] == "closed":
            break
        time.sleep(0.1)
    assert panel.request("GET", "/sim/locks", auth=None).json["locks"][0]["state"] == "closed"
    assert panel.request("POST", path + "0").json == {}
    locks = panel.request("GET", "/sim/locks", auth=None).json["locks"]
    assert [lock["openings"] for lock in locks] == [2, 1]
    assert panel.request("GET", path + "3").json == {"error": "Wrong lock-number"}
    assert panel.request("GET", path + "1?unlockTime=604801").status == 400
    log = panel.request(
        "GET",
        "/api/v1/log/items?limit=100&filter=" + "name%20eq%20%27access_granted_by_api_call%27",
    ).json
    assert len(log["list_items"]) == 3
    assert log["list_items"][0]["category"] == "access"


def test_call_log_shape_and_window(fresh_panel):
    panel = fresh_panel
    items = panel.request("GET", "/api/v1/log/items").json["list_items"]
    booted = [item for item in items if item["name"]["key"] == "device_booted"]
    assert booted and booted[0]["category"] == "info"
    assert booted[0]["name"]["text"]
    assert isinstance(booted[0]["uid"], int)
    assert abs(booted[0]["timestamp"] / 1000 - time.time()) < 120
    future = int(time.time()) + 3600
    assert panel.request("GET", "/api/v1/log/items?from=%d" % future).json["list_items"] == []
    assert panel.request("GET", "/api/v1/log/items?to=1").json["list_items"] == []
    panel.request("GET", "/api/v1/access/general/lock/open/remote/accepted/1")
    newest = panel.request("GET", "/api/v1/log/items").json["list_items"][0]
    assert newest["name"]["key"] == "access_granted_by_api_call"


def test_stored_settings_echo(fresh_panel):
    panel = fresh_panel
    writes = [
        ("/api/v1/device/settings/volume", {"volume_level": 7}),
        ("/api/v1/device/settings/mic", {"mic_gain_level": 3}),
        ("/api/v1/access/freeaccess", {"enable": True, "days": ["mon"]}),
        (
            "/api/v1/network/ntp",
            {"custom_server": "pool.ntp.org", "enabled": True, "use_default": False},
        ),
        (
            "/api/v1/syslog/settings",
            {"enabled": True, "server": {"server": "10.0.0.9"}, "tag": "panel"},
        ),
    ]
    for path, document in writes:
        assert panel.request("POST", path, body=document).json == {}
    assert panel.request("GET", "/api/v1/device/settings/volume").json == {"volume_level": 7}
    assert panel.request("GET", "/api/v1/syslog/settings").json == {
        "enabled": True,
        "server": {"server": "10.0.0.9", "port": 514, "severity": 6},
        "tag": "panel",
        "transport": "http",
    }
    for path in (
        "/api/v1/device/call/concierge",
        "/api/v1/device/settings/video",
        "/api/v1/access/door/sensor",
        "/api/v1/access/general/wiegand/type",
        "/api/v1/web/ssl",
        "/api/v1/access/general/unlock/input/code",
    ):
        assert panel.request("POST", path, body={}).json == {}
    assert panel.request("POST", "/api/v1/device/language?language=English").json == {}
    assert panel.request("POST", "/api/v1/device/mode/wall").json == {}
    assert panel.request("GET", "/api/v1/device/mode/current").json == {
        "current_panel_mode": "Wall"
    }
    assert panel.request(
        "POST", "/api/v1/device/settings/volume", body={"volume_level": "loud"}
    ).json == {"error": "Wrong JSON body: value `volume_level` was of the wrong type"}
    reply = panel.request("GET", "/api/v1/photo/file")
    assert (reply.status, reply.json) == (404, {"error": "No camera"})


@pytest.mark.parametrize("key", ["timezone", "current_timezone"])
def test_timezone(fresh_panel, key):
    panel = fresh_panel
    path = "/api/v1/network/timezone"
    assert panel.request("POST", path, body={key: "UTC+03:00"}).json == {}
    assert panel.request("GET", path).json == {
        "timezone": "UTC+03:00",
        "current_timezone": "UTC+03:00",
    }
    assert panel.request("POST", path, body={key: "UTC+00:00"}).json == {}
    assert panel.request("GET", path).json["timezone"] == "UTC\u00b100:00"
    assert panel.request("POST", path, body={key: "Europe/Moscow"}).status == 400


def test_identifiers(fresh_panel):
    panel = fresh_panel
    code = {
        "identifier_number": "1234",
        "identifier_type": "personal_code",
        "identifier_owner": {"name": "Flat 12", "type": "owner"},
        "lock": "first",
        "valid": {"is_permanent": True},
    }
    first = panel.request("POST", "/api/v1/access/identifier", body=code).json["uid"]
    assert first >= 1
    assert panel.request("POST", "/api/v1/access/identifier", body=code).json == {
        "error": "Identifier already exists"
    }
    card = dict(code, identifier_number="00A1B2C3", identifier_type="card")
    second = panel.request("POST", "/api/v1/access/identifier", body=card).json["uid"]
    assert second > first
    items = panel.request("GET", "/api/v1/access/identifier/items").json
    assert items["list_option"]["pagination"]["total_items"] == 2
    assert items["list_items"][0] == dict(code, identifier_uid=first)
    filtered = panel.request(
        "GET", "/api/v1/access/identifier/items?filter=" + "identifier_type%20eq%20%27card%27"
    ).json["list_items"]
    assert [item["identifier_uid"] for item in filtered] == [second]
    assert (
        panel.request(
            "DELETE", "/api/v1/access/identifier/items", body={"uid_items": [first, 999]}
        ).json
        == {}
    )
    items = panel.request("GET", "/api/v1/access/identifier/items").json["list_items"]
    assert [item["identifier_uid"] for item in items] == [second]
    assert panel.request(
        "POST", "/api/v1/access/identifier", body={"identifier_type": "card"}
    ).json == {"error": "Wrong JSON body: no value for `identifier_number`"}


def test_malformed_http_never_gives_500(panel):
    import socket

    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET /api/info?%zz HTTP/1.1\r\n\r\n",
        b"GET /api/v1/forward/items HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"\x00\xff\xfe\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", panel.port), timeout=5) as connection:
            connection.sendall(raw)
            answer = connection.recv(65536)
        if answer:
            assert not answer.startswith(b"HTTP/1.0 500") and not answer.startswith(b"HTTP/1.1 500")
    assert panel.request("GET", "/api/info", auth=None).status == 200
