"""Brute-force limits, token revocation and oversize values over real sockets:
what a management server (or an attacker on the LAN) sees. Different clients
are different loopback addresses (127.0.0.2, 127.0.0.3, ...): the panel's
limits are per client IP."""

import base64
import hashlib
import os
import time

# AUTH_FREE_FAILURES, FAILED_LOGIN_LOG_LIMIT, MAX_LOGGED_USERNAME_CHARS: read
# from the firmware, so a changed limit shows here.
from panel.services import accounts

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"
WRONG_MD5 = "0" * 32
LOGIN = "/api/v1/login?username=admin&password="
TOO_MANY = {"error": "Too many attempts"}


def log_items(panel, limit=100):
    return panel.request("GET", "/api/v1/log/items?limit=%d" % limit).json["list_items"]


def log_count(panel):
    return panel.request("GET", "/api/v1/log/items?limit=1").json["list_option"]["pagination"][
        "total_items"
    ]


def store_bytes(panel):
    total = 0
    for directory, _, files in os.walk(os.path.join(panel.data_dir, "store")):
        for name in files:
            total += os.path.getsize(os.path.join(directory, name))
    return total


def test_one_source_is_locked_out_another_still_logs_in_and_the_window_ends(fresh_panel):
    panel = fresh_panel
    attacker = "127.0.0.2"
    for _ in range(accounts.AUTH_FREE_FAILURES):
        reply = panel.request("GET", LOGIN + WRONG_MD5, auth=None, source=attacker)
        assert (reply.status, reply.json) == (400, {"error": "Wrong login or password"})
    # The locked source: refused unchecked, the right password too, and its
    # Basic requests as well.
    reply = panel.request("GET", LOGIN + MD5_123456, auth=None, source=attacker)
    assert (reply.status, reply.json) == (429, TOO_MANY)
    retry_after = int(reply.headers["Retry-After"])
    assert retry_after >= 1
    assert panel.request("GET", "/api/v1/forward/items", source=attacker).status == 429
    # Another client is not caught by the attacker's window.
    server = "127.0.0.3"
    reply = panel.request("GET", LOGIN + MD5_123456, auth=None, source=server)
    assert reply.status == 200
    bearer = "Bearer " + reply.json["token"]
    assert panel.request("GET", "/api/v1/forward/items", auth=bearer, source=server).status == 200
    assert panel.request("GET", "/api/v1/forward/items", source=server).status == 200
    # After the window the attacker's address may try again (and a right
    # password forgets it).
    time.sleep(retry_after + 0.2)
    reply = panel.request("GET", LOGIN + MD5_123456, auth=None, source=attacker)
    assert reply.status == 200


def test_wrong_basic_headers_lock_out_their_source(fresh_panel):
    panel = fresh_panel
    wrong = "Basic " + base64.b64encode(b"admin:654321").decode()
    for _ in range(accounts.AUTH_FREE_FAILURES):
        assert (
            panel.request("GET", "/api/v1/forward/items", auth=wrong, source="127.0.0.4").status
            == 401
        )
    assert panel.request("GET", "/api/v1/forward/items", source="127.0.0.4").status == 429
    assert panel.request("GET", "/api/v1/forward/items", source="127.0.0.5").status == 200


def test_a_thousand_failed_logins_neither_wipe_the_log_nor_fill_the_flash(fresh_panel):
    panel = fresh_panel
    booted = [item for item in log_items(panel) if item["name"]["key"] == "device_booted"]
    assert len(booted) == 1
    count_before = log_count(panel)
    bytes_before = store_bytes(panel)
    statuses = {}
    long_name = "u" * 1804
    for index in range(1000):
        # 250 clients, 4 tries each (none locked out: all are checked), with
        # the probe's 1,804-character usernames.
        client = index % 250
        source = "127.0.%d.%d" % (1 + client // 200, 10 + client % 200)
        reply = panel.request(
            "POST",
            "/api/v1/login",
            body={"username": long_name, "password": WRONG_MD5},
            auth=None,
            source=source,
        )
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
    assert statuses == {400: 1000}
    added = log_count(panel) - count_before
    assert added == accounts.FAILED_LOGIN_LOG_LIMIT
    items = log_items(panel)
    # The boot entry is still there: the ring was not replaced.
    assert booted[0]["uid"] in [item["uid"] for item in items]
    for item in items:
        if item["name"]["key"] == "incorrect_login_api_call":
            assert len(item["info"]["username"]) <= accounts.MAX_LOGGED_USERNAME_CHARS
    # Ten short entries: a few KB at most, not the 2 MB the probe saw.
    grown = store_bytes(panel) - bytes_before
    assert grown < 16 * 1024, grown


def test_tokens_are_refused_after_a_password_change_and_a_factory_reset(fresh_panel):
    panel = fresh_panel
    token = panel.request("GET", LOGIN + MD5_123456, auth=None).json["token"]
    bearer = "Bearer " + token
    assert panel.request("GET", "/api/v1/forward/items", auth=bearer).status == 200
    reply = panel.request(
        "POST", "/api/v1/security/password/admin?oldPassword=123456&newPassword=n3w"
    )
    assert reply.json == {}
    assert panel.request("GET", "/api/v1/forward/items", auth=bearer).status == 401
    md5_new = hashlib.md5(b"n3w").hexdigest()
    token = panel.request("GET", LOGIN + md5_new, auth=None).json["token"]
    bearer = "Bearer " + token
    assert panel.request("GET", "/api/v1/forward/items", auth=bearer).status == 200
    assert panel.request("POST", "/api/v1/system/settings/default", auth=bearer).json == {}
    assert panel.request("GET", "/api/v1/forward/items", auth=bearer).status == 401
    assert panel.request("GET", "/api/v1/forward/items").status == 200


def test_oversize_values_are_4xx_and_store_nothing(fresh_panel):
    panel = fresh_panel
    range_error = {
        "error": "Wrong JSON body: value forward_entity_list was wrong. (At most 2048 bytes stored)"
    }
    long_uri = "sip:1@h" + "o" * 300 + ".example.org"
    for queue in (["1" * 2045], [long_uri] * 8):
        reply = panel.request(
            "POST", "/api/v1/forward/item/41", body={"forward_entity_list": queue}
        )
        assert (reply.status, reply.json) == (400, range_error)
    link = {"list_items": [{"forward_number": 42, "forward_entity_list": [long_uri] * 8}]}
    reply = panel.request("POST", "/api/v1/forward/items/link", body=link)
    assert (reply.status, reply.json) == (400, range_error)
    reply = panel.request(
        "POST", "/api/v1/forward/item/43", body={"forward_entity_list": ["vizit:70000"]}
    )
    assert (reply.status, reply.json) == (400, {"error": "Wrong number"})
    for number in (41, 42, 43):
        assert panel.request("GET", "/api/v1/forward/item/%d" % number).status == 404
    assert panel.request("GET", "/api/v1/forward/items").json["list_items"] == []
    reply = panel.request("POST", "/api/v1/hybrid/lines/vizit:70000/ring")
    assert (reply.status, reply.json) == (400, {"error": "Wrong number"})
    # A 1,876-character username (no credentials needed): a 400, logged short.
    reply = panel.request(
        "POST", "/api/v1/login", body={"username": "a" * 1876, "password": MD5_123456}, auth=None
    )
    assert (reply.status, reply.json) == (400, {"error": "Wrong login or password"})
    newest = log_items(panel, 1)[0]
    assert newest["name"]["key"] == "incorrect_login_api_call"
    assert newest["info"]["username"] == "a" * accounts.MAX_LOGGED_USERNAME_CHARS
    # Deep JSON to the simulator's keypad: the panel's strict parser's 400.
    for raw in (b'{"keys": ' + b"[" * 40 + b"]" * 40 + b"}", b"[" * 8000 + b"]" * 8000):
        reply = panel.request("POST", "/sim/keypad", raw_body=raw, auth=None)
        assert (reply.status, reply.json) == (400, {"error": "Wrong JSON body"})
    assert panel.request("GET", "/sim/call", auth=None).json["keypad"]["buffer"] == ""


def test_keypad_locks_after_five_wrong_codes_and_logs_the_lockout_once(fresh_panel):
    panel = fresh_panel
    reply = panel.request(
        "POST",
        "/api/v1/access/identifier",
        body={"identifier_number": "4321", "identifier_type": "personal_code", "lock": "first"},
    )
    assert reply.status == 200
    results = []
    for _ in range(8):
        reply = panel.request("POST", "/sim/keypad", body={"keys": "*1234#"}, auth=None)
        assert reply.status == 200
        results.append(reply.json["results"][-1])
    assert [result["granted"] for result in results] == [False] * 8
    assert ["reason" in result for result in results] == [False] * 4 + [True] * 4
    assert results[4]["reason"] == "locked" and results[4]["retry_after_s"] >= 1
    # The right code is refused while locked, and the door stays shut.
    reply = panel.request("POST", "/sim/keypad", body={"keys": "*4321#"}, auth=None)
    assert reply.json["results"][-1]["reason"] == "locked"
    locks = panel.request("GET", "/sim/locks", auth=None).json["locks"]
    assert all(lock["state"] == "closed" for lock in locks)
    denied = [item for item in log_items(panel) if item["name"]["key"] == "access_denied"]
    assert len(denied) == 5
    lockouts = [item for item in denied if "locked_s" in item["info"]]
    assert len(lockouts) == 1
    assert [
        item
        for item in log_items(panel)
        if item["name"]["key"] == "access_granted_by_personal_code"
    ] == []
