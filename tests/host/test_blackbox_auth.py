"""Contract section 2 over a real socket: login, Basic, Bearer, logout, tokens."""

import base64
import hashlib

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"


def test_protected_route_needs_credentials(panel):
    reply = panel.request("GET", "/api/v1/forward/items", auth=None)
    assert reply.status == 401
    assert reply.json == {"error": "Log In"}
    assert reply.headers["Content-Type"].startswith("application/json")


def test_bad_basic_and_unknown_bearer_are_refused(panel):
    wrong = "Basic " + base64.b64encode(b"admin:654321").decode()
    assert panel.request("GET", "/api/v1/forward/items", auth=wrong).status == 401
    assert panel.request("GET", "/api/v1/forward/items", auth="Basic !!!").status == 401
    assert panel.request("GET", "/api/v1/forward/items", auth="Bearer " + "0" * 40).status == 401
    assert panel.request("GET", "/api/v1/forward/items", auth="Digest abc").status == 401


def test_public_routes(panel):
    assert panel.request("GET", "/api/info", auth=None).status == 200
    assert panel.request("GET", "/api/v1/sip/status", auth=None).status == 200
    assert panel.request("GET", "/api/v1/device/sip/status", auth=None).status == 200


def test_login_with_md5_in_either_case_gives_a_working_token(panel):
    for password in (MD5_123456, MD5_123456.upper()):
        reply = panel.request("GET", "/api/v1/login?username=admin&password=" + password, auth=None)
        assert reply.status == 200
        token = reply.json["token"]
        assert reply.json["account_type"] == "admin"
        assert len(token) == 40 and all(c in "0123456789abcdef" for c in token)
        bearer = "Bearer " + token
        assert panel.request("GET", "/api/v1/forward/items", auth=bearer).status == 200


def test_login_errors(panel):
    reply = panel.request("GET", "/api/v1/login?username=admin", auth=None)
    assert (reply.status, reply.json) == (400, {"error": "Required parameters missed"})
    reply = panel.request("GET", "/api/v1/login?password=" + MD5_123456, auth=None)
    assert (reply.status, reply.json) == (400, {"error": "Required parameters missed"})
    reply = panel.request("GET", "/api/v1/login?username=admin&password=123456", auth=None)
    assert (reply.status, reply.json) == (400, {"error": "Wrong login or password"})
    reply = panel.request("GET", "/api/v1/login?username=root&password=" + MD5_123456, auth=None)
    assert (reply.status, reply.json) == (400, {"error": "Wrong login or password"})


def test_login_by_post_and_logout_revokes_the_token(panel):
    reply = panel.request(
        "POST", "/api/v1/login", body={"username": "admin", "password": MD5_123456}, auth=None
    )
    assert reply.status == 200
    bearer = "Bearer " + reply.json["token"]
    assert panel.request("GET", "/api/v1/logout", auth=bearer).json == {}
    assert panel.request("GET", "/api/v1/forward/items", auth=bearer).status == 401
    # Logout with Basic is a no-op that still answers 200 {}.
    assert panel.request("GET", "/api/v1/logout").json == {}


def test_token_cap_evicts_the_oldest(panel):
    tokens = []
    for _ in range(9):
        reply = panel.request(
            "GET", "/api/v1/login?username=admin&password=" + MD5_123456, auth=None
        )
        tokens.append("Bearer " + reply.json["token"])
    assert panel.request("GET", "/api/v1/forward/items", auth=tokens[0]).status == 401
    for token in tokens[1:]:
        assert panel.request("GET", "/api/v1/forward/items", auth=token).status == 200


def test_logins_are_logged(panel):
    panel.request("GET", "/api/v1/login?username=admin&password=bad", auth=None)
    panel.request("GET", "/api/v1/login?username=admin&password=" + MD5_123456, auth=None)
    keys = [
        item["name"]["key"]
        for item in panel.request("GET", "/api/v1/log/items?limit=100").json["list_items"]
    ]
    assert "incorrect_login_api_call" in keys
    assert "successful_login_api_call" in keys


def test_password_change_then_factory_reset_restores_123456(fresh_panel):
    panel = fresh_panel
    reply = panel.request(
        "POST", "/api/v1/security/password/admin?oldPassword=wrong&newPassword=x1"
    )
    assert (reply.status, reply.json) == (400, {"error": "Wrong login or password"})
    reply = panel.request(
        "POST", "/api/v1/security/password/admin?oldPassword=123456&newPassword=n3w"
    )
    assert reply.json == {}
    assert panel.request("GET", "/api/v1/forward/items").status == 401
    new_basic = "Basic " + base64.b64encode(b"admin:n3w").decode()
    assert panel.request("GET", "/api/v1/forward/items", auth=new_basic).status == 200
    md5_new = hashlib.md5(b"n3w").hexdigest()
    assert (
        panel.request("GET", "/api/v1/login?username=admin&password=" + md5_new, auth=None).status
        == 200
    )
    assert panel.request("POST", "/api/v1/system/settings/default", auth=new_basic).json == {}
    assert panel.request("GET", "/api/v1/forward/items").status == 200
