# Contract section 2 through microdot's test client, on both runtimes.
from api_harness import Harness
from panel.proto.md5 import md5_hex
from panel.services import accounts as auth

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"


async def test_no_credentials_is_401_log_in():
    harness = Harness("auth-none")
    try:
        response = await harness.call("GET", "/api/v1/forward/items", auth=False)
        assert response.status_code == 401
        assert response.json == {"error": "Log In"}
    finally:
        harness.close()


async def test_bad_basic_credentials():
    harness = Harness("auth-basic")
    try:
        for header in ("Basic YWRtaW46MTIzNDU3", "Basic ???", "Basic ", "Bearer", "Token x"):
            response = await harness.call(
                "GET", "/api/v1/forward/items", auth=False, headers={"Authorization": header}
            )
            assert response.status_code == 401, header
    finally:
        harness.close()


async def test_md5_login_in_both_cases_then_bearer():
    harness = Harness("auth-login")
    try:
        for password in (MD5_123456, MD5_123456.upper()):
            response = await harness.call(
                "GET", "/api/v1/login?username=admin&password=" + password, auth=False
            )
            assert response.status_code == 200
            token = response.json["token"]
            assert len(token) == 40
            assert response.json["account_type"] == "admin"
            bearer = {"Authorization": "Bearer " + token}
            response = await harness.call(
                "GET", "/api/v1/forward/items", auth=False, headers=bearer
            )
            assert response.status_code == 200
    finally:
        harness.close()


async def test_login_error_texts():
    harness = Harness("auth-errors")
    try:
        response = await harness.call("GET", "/api/v1/login?username=admin", auth=False)
        assert response.json == {"error": "Required parameters missed"}
        response = await harness.call("GET", "/api/v1/login?username=admin&password=00", auth=False)
        assert response.json == {"error": "Wrong login or password"}
        assert response.status_code == 400
    finally:
        harness.close()


async def test_logout_revokes_and_cap_evicts_oldest():
    harness = Harness("auth-tokens")
    try:
        tokens = []
        for _ in range(9):
            response = await harness.call(
                "GET", "/api/v1/login?username=admin&password=" + MD5_123456, auth=False
            )
            tokens.append({"Authorization": "Bearer " + response.json["token"]})
        response = await harness.call("GET", "/api/v1/forward/items", auth=False, headers=tokens[0])
        assert response.status_code == 401
        response = await harness.call("GET", "/api/v1/logout", auth=False, headers=tokens[1])
        assert response.json == {}
        response = await harness.call("GET", "/api/v1/forward/items", auth=False, headers=tokens[1])
        assert response.status_code == 401
        response = await harness.call("GET", "/api/v1/forward/items", auth=False, headers=tokens[2])
        assert response.status_code == 200
    finally:
        harness.close()


async def test_token_expires_after_two_hours():
    harness = Harness("auth-expiry")
    try:
        now = [1000]
        harness.services.accounts._ticks_ms = lambda: now[0]
        token = harness.services.accounts.issue_token()
        assert harness.services.accounts.token_valid(token)
        now[0] += 2 * 3600 * 1000 - 1
        assert harness.services.accounts.token_valid(token)
        now[0] += 1
        assert not harness.services.accounts.token_valid(token)
    finally:
        harness.close()


async def test_public_routes_need_no_credentials():
    harness = Harness("auth-public")
    try:
        for path in ("/api/info", "/api/v1/sip/status", "/api/v1/device/sip/status"):
            response = await harness.call("GET", path, auth=False)
            assert response.status_code == 200, path
    finally:
        harness.close()


async def test_password_change_by_json_body():
    harness = Harness("auth-password")
    try:
        response = await harness.call(
            "POST",
            "/api/v1/security/password/web/admin",
            body={"old_password": "123456", "new_password": "abc"},
        )
        assert response.json == {}
        response = await harness.call("GET", "/api/v1/forward/items")
        assert response.status_code == 401
        response = await harness.call(
            "GET",
            "/api/v1/forward/items",
            auth=False,
            headers={"Authorization": "Basic YWRtaW46YWJj"},
        )
        assert response.status_code == 200
    finally:
        harness.close()


def test_factory_password_md5_is_the_hash_of_the_factory_password():
    assert auth.FACTORY_PASSWORD_MD5 == md5_hex(auth.FACTORY_PASSWORD)


async def test_basic_login_passed_once_is_not_hashed_again_but_still_checked():
    harness = Harness("auth-basic-cache")
    try:
        response = await harness.call("GET", "/api/v1/forward/items")
        assert response.status_code == 200
        assert harness.services.accounts._basic_passed is not None
        # Another user with the same password, and the admin with a wrong
        # one, are checked afresh (the remembered pair is the whole header).
        for header in ("Basic dXNlcjoxMjM0NTY=", "Basic YWRtaW46MTIzNDU3"):
            response = await harness.call(
                "GET", "/api/v1/forward/items", auth=False, headers={"Authorization": header}
            )
            assert response.status_code == 401
        response = await harness.call("GET", "/api/v1/forward/items")
        assert response.status_code == 200
    finally:
        harness.close()
