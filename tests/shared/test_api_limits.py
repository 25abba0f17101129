# Brute-force limits, token revocation and the 4xx of oversize values through
# the wired panel's app (microdot's test client), on both runtimes. The brute-
# force windows run on a fake ticks clock the tests move (no sleeping).
from fake_clock import FakeClock

from api_harness import Harness
from panel.services import accounts as accounts_module
from panel.services.forward_rules import MAX_QUEUE_BYTES, queue_stored_bytes

MD5_123456 = "e10adc3949ba59abbe56e057f20f883e"
WRONG_MD5 = "0" * 32
LOGIN = "/api/v1/login?username=admin&password="
TOO_MANY = {"error": "Too many attempts"}
WRONG_BASIC = {"Authorization": "Basic YWRtaW46MTIzNDU3"}  # admin:123457


def limited_harness(name):
    return Harness(name, call_clock=FakeClock(start=5000))


async def login(harness, password):
    return await harness.call("GET", LOGIN + password, auth=False)


async def test_wrong_logins_lock_the_source_out_then_the_window_ends():
    harness = limited_harness("limits-login")
    try:
        for _ in range(accounts_module.AUTH_FREE_FAILURES):
            response = await login(harness, WRONG_MD5)
            assert (response.status_code, response.json) == (
                400,
                {"error": "Wrong login or password"},
            )
        # Locked: even the right password is refused unchecked, and so is
        # Basic on a protected route.
        response = await login(harness, MD5_123456)
        assert (response.status_code, response.json) == (429, TOO_MANY)
        assert response.headers["Retry-After"] == "1"
        response = await harness.call("GET", "/api/v1/forward/items")
        assert (response.status_code, response.json) == (429, TOO_MANY)
        # The redirect-rules contract answers in its own shape.
        response = await harness.call("GET", "/rest/v1/uc/redirectrules")
        assert response.status_code == 429
        assert response.json["error_code"] == 1429
        assert response.json["error_details"] == {"retry_after_s": 1}
        # No credentials at all: the plain 401, not a failure.
        response = await harness.call("GET", "/api/v1/forward/items", auth=False)
        assert response.status_code == 401
        # Another source is not caught by this source's window.
        token = harness.services.accounts.login("192.0.2.9", "admin", MD5_123456)
        assert len(token) == 40
        harness.call_clock.advance(accounts_module.AUTH_LOCKOUT_BASE_MS)
        response = await login(harness, MD5_123456)
        assert response.status_code == 200
        # The right password forgot the source: four free failures again.
        for _ in range(accounts_module.AUTH_FREE_FAILURES - 1):
            assert (await login(harness, WRONG_MD5)).status_code == 400
        assert (await harness.call("GET", "/api/v1/forward/items")).status_code == 200
    finally:
        harness.close()


async def test_wrong_basic_and_bearer_count_and_the_window_doubles():
    harness = limited_harness("limits-basic")
    try:
        bearer = {"Authorization": "Bearer " + "0" * 40}
        for index in range(accounts_module.AUTH_FREE_FAILURES):
            headers = WRONG_BASIC if index % 2 else bearer
            response = await harness.call(
                "GET", "/api/v1/forward/items", auth=False, headers=headers
            )
            assert response.status_code == 401
        response = await harness.call("GET", "/api/v1/forward/items")
        assert response.status_code == 429
        harness.call_clock.advance(1000)
        response = await harness.call(
            "GET", "/api/v1/forward/items", auth=False, headers=WRONG_BASIC
        )
        assert response.status_code == 401
        response = await harness.call("GET", "/api/v1/forward/items")
        assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
        harness.call_clock.advance(2000)
        assert (await harness.call("GET", "/api/v1/forward/items")).status_code == 200
    finally:
        harness.close()


async def test_failed_login_entries_are_throttled_and_short():
    harness = limited_harness("limits-log")
    try:
        accounts = harness.services.accounts
        call_log = harness.services.call_log
        before = call_log.count()
        long_name = "x" * 2000
        # Many sources (none locked out), 40 wrong logins with a long name.
        for index in range(40):
            source = "198.51.100.%d" % (index // 4)
            error = None
            try:
                accounts.login(source, long_name, WRONG_MD5)
            except Exception as exc:
                error = exc
            assert error.status == 400
        entries = [
            item for item in call_log.items() if item["name"]["key"] == "incorrect_login_api_call"
        ]
        assert len(entries) == accounts_module.FAILED_LOGIN_LOG_LIMIT
        assert call_log.count() - before == accounts_module.FAILED_LOGIN_LOG_LIMIT
        for item in entries:
            assert item["info"]["username"] == "x" * accounts_module.MAX_LOGGED_USERNAME_CHARS
        # The next window's first entry says how many were left out.
        harness.call_clock.advance(accounts_module.FAILED_LOGIN_LOG_WINDOW_MS)
        response = await login(harness, WRONG_MD5)
        assert response.status_code == 400
        newest = next(call_log.items())
        assert newest["info"] == {"username": "admin", "unlogged": 30}
    finally:
        harness.close()


async def test_overlong_login_fields_are_a_400_not_a_500():
    harness = limited_harness("limits-login-length")
    try:
        for name, password in (("a" * 1876, MD5_123456), ("admin", "e" * 5000)):
            response = await harness.call(
                "POST", "/api/v1/login", body={"username": name, "password": password}, auth=False
            )
            assert (response.status_code, response.json) == (
                400,
                {"error": "Wrong login or password"},
            )
        newest = next(harness.services.call_log.items())
        assert len(newest["info"]["username"]) <= accounts_module.MAX_LOGGED_USERNAME_CHARS
        # Non-string fields are wrong logins too, logged by their type's name.
        response = await harness.call(
            "POST", "/api/v1/login", body={"username": [1] * 100, "password": "x"}, auth=False
        )
        assert response.status_code == 400
        assert next(harness.services.call_log.items())["info"]["username"] == "list"
    finally:
        harness.close()


async def test_tokens_die_with_a_password_change_and_a_factory_reset():
    harness = limited_harness("limits-revoke")
    try:
        token = (await login(harness, MD5_123456)).json["token"]
        bearer = {"Authorization": "Bearer " + token}
        assert (
            await harness.call("GET", "/api/v1/forward/items", auth=False, headers=bearer)
        ).status_code == 200
        response = await harness.call(
            "POST", "/api/v1/security/password/admin?oldPassword=123456&newPassword=n3w"
        )
        assert response.json == {}
        response = await harness.call("GET", "/api/v1/forward/items", auth=False, headers=bearer)
        assert response.status_code == 401
        new_basic = {"Authorization": "Basic YWRtaW46bjN3"}  # admin:n3w
        token = harness.services.accounts.issue_token()
        bearer = {"Authorization": "Bearer " + token}
        response = await harness.call(
            "POST", "/api/v1/system/settings/default", auth=False, headers=new_basic
        )
        assert response.json == {}
        response = await harness.call("GET", "/api/v1/forward/items", auth=False, headers=bearer)
        assert response.status_code == 401
        assert (await harness.call("GET", "/api/v1/forward/items")).status_code == 200
    finally:
        harness.close()


async def test_wrong_old_password_counts_as_a_failure():
    harness = limited_harness("limits-password")
    try:
        for _ in range(accounts_module.AUTH_FREE_FAILURES):
            response = await harness.call(
                "POST", "/api/v1/security/password/admin?oldPassword=guess&newPassword=x"
            )
            assert response.json == {"error": "Wrong login or password"}
        response = await harness.call(
            "POST", "/api/v1/security/password/admin?oldPassword=123456&newPassword=x"
        )
        assert response.status_code == 429
    finally:
        harness.close()


def sip_uri(length):
    """A valid full SIP URI of exactly `length` characters."""
    head = "sip:1@h"
    tail = ".example.org"
    return head + "o" * (length - len(head) - len(tail)) + tail


async def test_forward_queues_over_the_store_value_limit_are_400_and_store_nothing():
    harness = limited_harness("limits-queue")
    range_error = {
        "error": "Wrong JSON body: value forward_entity_list was wrong. (At most %d bytes stored)"
        % MAX_QUEUE_BYTES
    }
    try:
        # The largest one-entry queue that fits is stored; one digit more is not.
        fits = "1" * (MAX_QUEUE_BYTES - 4)
        assert queue_stored_bytes([fits]) == MAX_QUEUE_BYTES
        response = await harness.call(
            "POST", "/api/v1/forward/item/5", body={"forward_entity_list": [fits]}
        )
        assert response.json == {}
        for queue in ([fits + "1"], ["1" * 2045], [sip_uri(260)] * 8):
            response = await harness.call(
                "POST", "/api/v1/forward/item/6", body={"forward_entity_list": queue}
            )
            assert (response.status_code, response.json) == (400, range_error)
        assert (await harness.call("GET", "/api/v1/forward/item/6")).status_code == 404
        # The Link call is atomic: a good item with a bad one stores neither.
        body = {
            "list_items": [
                {"forward_number": 7, "forward_entity_list": ["101"]},
                {"forward_number": 8, "forward_entity_list": [sip_uri(300)] * 8},
            ]
        }
        response = await harness.call("POST", "/api/v1/forward/items/link", body=body)
        assert (response.status_code, response.json) == (400, range_error)
        for number in (7, 8):
            assert (
                await harness.call("GET", "/api/v1/forward/item/%d" % number)
            ).status_code == 404
        assert harness.services.forward_rules.count() == 1
    finally:
        harness.close()


async def test_hybrid_lines_above_65535_are_wrong_numbers():
    harness = limited_harness("limits-lines")
    try:
        for entry in ("vizit:70000", "laskomex:65536", "vizit:" + "9" * 3000):
            response = await harness.call(
                "POST", "/api/v1/forward/item/9", body={"forward_entity_list": [entry]}
            )
            assert (response.status_code, response.json) == (400, {"error": "Wrong number"}), entry
        for entry in ("vizit:70000", "laskomex:65536", "vizit:" + "9" * 100):
            response = await harness.call("POST", "/api/v1/hybrid/lines/%s/ring" % entry)
            assert (response.status_code, response.json) == (400, {"error": "Wrong number"}), entry
        assert (await harness.call("GET", "/api/v1/forward/item/9")).status_code == 404
        response = await harness.call(
            "POST",
            "/api/v1/forward/item/9",
            body={"forward_entity_list": ["vizit:65535", "laskomex:007"]},
        )
        assert response.json == {}
    finally:
        harness.close()


async def test_deep_json_is_a_400_on_every_body_route():
    harness = limited_harness("limits-depth")
    try:
        deep = "[" * 5000 + "]" * 5000
        deep_object = '{"a":' * 2000 + "1" + "}" * 2000
        for path in ("/api/v1/login", "/api/v1/forward/item/3", "/api/v1/forward/items/link"):
            for raw in (deep, deep_object):
                response = await harness.call("POST", path, raw=raw, auth=path != "/api/v1/login")
                assert (response.status_code, response.json) == (
                    400,
                    {"error": "Wrong JSON body"},
                ), path
        # The redirect-rules body limit is smaller: just past the depth limit.
        response = await harness.call(
            "POST", "/rest/v1/uc/redirectrules", raw='{"a":' * 40 + "1" + "}" * 40
        )
        assert response.status_code == 400
        assert response.json["error_code"] == 1400
    finally:
        harness.close()


async def test_a_memory_error_in_the_credentials_check_is_503_not_500():
    harness = limited_harness("limits-heap")
    try:
        accounts = harness.services.accounts

        def starved(request):
            raise MemoryError("memory allocation failed")

        real = accounts.authenticate
        accounts.authenticate = starved
        response = await harness.call("GET", "/api/v1/forward/items")
        assert (response.status_code, response.json) == (503, {"error": "Out of memory"})
        accounts.authenticate = real
        response = await harness.call("GET", "/api/v1/forward/items")
        assert response.status_code == 200
    finally:
        harness.close()
