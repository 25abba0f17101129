# The admin account and its Bearer tokens (BAS-IP contract 2): the password
# check of md5 logins and Basic headers, token issue, expiry and revocation,
# and the brute-force limits on all of them.
#
# Tokens live in RAM only (they must not survive a reboot), at most a named
# number of them, the oldest evicted first; each lasts a fixed two hours. The
# password's MD5 is a declared setting (services.settings.ACCOUNT).
#
# [D] Brute-force limits (core.attempts.AttemptLimiter), per source = the
# client's IP address (microdot's request.client_addr[0]): every wrong
# password (md5 login, Basic header, old password of a password change) and
# every unknown or expired Bearer token counts as one failure. After
# AUTH_FREE_FAILURES failures in a row the source is refused for
# AUTH_LOCKOUT_BASE_MS, each further failure doubles the window up to
# AUTH_LOCKOUT_MAX_MS. While its window is open every request of that source
# that carries credentials (and every login) is answered
# `429 {"error": "Too many attempts"}` with `Retry-After: <s>`, unchecked: a
# right password from the locked source is refused too, so the window cannot be
# used to keep guessing; another source is not affected. A right password or
# token forgets the source; so does AUTH_FORGET_MS without a failure. At most
# MAX_TRACKED_SOURCES sources are remembered, the one with the oldest failure
# forgotten first. Requests without credentials are not failures (they get the
# plain 401).
#
# [D] Failed-login log entries (incorrect_login_api_call, contract 2.1 and
# 7.2) are at most FAILED_LOGIN_LOG_LIMIT per FAILED_LOGIN_LOG_WINDOW_MS,
# all sources together, and hold at most MAX_LOGGED_USERNAME_CHARS of the
# username: unauthenticated requests can neither wipe the log ring nor fill
# the flash. An entry after suppressed ones says how many in "unlogged".
#
# Tokens are revoked on a password change (the request that changed it
# included) and on a factory reset.
from panel import compat
from panel.core import body as body_rules
from panel.core.attempts import AttemptLimiter, LogThrottle
from panel.core.credentials import parse_basic
from panel.core.errors import ApiError
from panel.proto.md5 import md5_hex
from panel.services.settings import ACCOUNT

# Contract 2.1: fixed two-hour lifetime, no refresh.
TOKEN_LIFETIME_MS = 2 * 60 * 60 * 1000
_TOKEN_BYTES = compat.const(20)  # 40 hex characters
ADMIN_USER = "admin"
FACTORY_PASSWORD = "123456"
# md5_hex(FACTORY_PASSWORD), written out: a board without hashlib.md5 hashes
# in pure Python, tens of KB of garbage per hash (tests pin the value).
FACTORY_PASSWORD_MD5 = "e10adc3949ba59abbe56e057f20f883e"

# Brute-force limits of the HTTP API ([D] above).
AUTH_FREE_FAILURES = compat.const(5)
AUTH_LOCKOUT_BASE_MS = compat.const(1000)
AUTH_LOCKOUT_MAX_MS = compat.const(300000)  # 5 minutes
AUTH_FORGET_MS = compat.const(900000)  # 15 minutes
# Sources remembered at once (each a few dozen bytes of RAM).
MAX_TRACKED_SOURCES = compat.const(16)
# Failed-login log entries ([D] above).
FAILED_LOGIN_LOG_LIMIT = compat.const(10)
FAILED_LOGIN_LOG_WINDOW_MS = compat.const(60000)
MAX_LOGGED_USERNAME_CHARS = compat.const(32)
# Longest login username and password looked at: the admin's name is 5
# characters, an md5 password 32 hex digits, a plain one at most 64 (the
# password change's limit). Longer ones are wrong logins, never hashed.
MAX_USERNAME_CHARS = compat.const(64)
MAX_PASSWORD_CHARS = compat.const(64)

TOO_MANY_ATTEMPTS = "Too many attempts"
# The limiter's key of a source's old-password guesses (password change).
_PASSWORD_GUESS = "password change "
WRONG_LOGIN = "Wrong login or password"


class TooManyAttempts(ApiError):
    """429: the source is in a lockout window; retry_after_s until it ends."""

    def __init__(self, retry_after_ms):
        super().__init__(429, TOO_MANY_ATTEMPTS)
        self.retry_after_s = (retry_after_ms + 999) // 1000

    def headers(self):
        return {"Retry-After": str(self.retry_after_s)}

    def answer(self, headers=None):
        all_headers = self.headers()
        if headers:
            all_headers.update(headers)
        return ApiError.answer(self, all_headers)


def source_of(request):
    """The brute-force limiter's source of a request: the client's IP."""
    address = getattr(request, "client_addr", None)
    if isinstance(address, (tuple, list)) and address:
        return str(address[0])
    return "?"


class Accounts:
    """The one admin account, the live tokens and the attempt limits."""

    def __init__(self, settings, token_cap, ticks_ms=None, call_log=None):
        self._settings = settings
        self._token_cap = token_cap
        self._ticks_ms = ticks_ms or compat.ticks_ms
        self._call_log = call_log
        self._tokens = []  # [token, issued_ticks], oldest first
        # (Basic credentials text, stored password MD5) of the last Basic
        # login that passed: a client sends the same header with every
        # request, and hashing it again each time is the dearest part of a
        # request on a board without hashlib.md5. A changed password changes
        # the stored MD5, so the pair no longer matches.
        self._basic_passed = None
        self.attempts = AttemptLimiter(
            AUTH_FREE_FAILURES,
            AUTH_LOCKOUT_BASE_MS,
            AUTH_LOCKOUT_MAX_MS,
            AUTH_FORGET_MS,
            MAX_TRACKED_SOURCES,
        )
        self.failed_login_log = LogThrottle(FAILED_LOGIN_LOG_LIMIT, FAILED_LOGIN_LOG_WINDOW_MS)
        # The stored password MD5, read once per change rather than from the
        # store for every authenticated request (a settings read was a tenth
        # of a 20-item list request; tools/benchmarks/bench_http.py).
        self._password_md5 = None

    def password_md5(self):
        if self._password_md5 is None:
            self._password_md5 = self._settings.password_md5() or FACTORY_PASSWORD_MD5
        return self._password_md5

    def forget_password(self):
        """Read the password from the store again (after a factory reset
        cleared the store underneath)."""
        self._password_md5 = None

    def check_password(self, username, plain_password):
        if len(plain_password) > MAX_PASSWORD_CHARS:
            return False
        return username == ADMIN_USER and md5_hex(plain_password) == self.password_md5()

    def check_md5(self, username, password_md5):
        return username == ADMIN_USER and password_md5.lower() == self.password_md5()

    def set_password(self, plain_password):
        self._settings.write(ACCOUNT, {"password_md5": md5_hex(plain_password)})
        self._password_md5 = None
        # Whoever held a token got it with the old password.
        self.revoke_all()

    # -- brute-force limits ---------------------------------------------------

    def _check_not_locked(self, source):
        left = self.attempts.blocked_ms(source, self._ticks_ms())
        if left > 0:
            raise TooManyAttempts(left)

    def _failed(self, source):
        self.attempts.failed(source, self._ticks_ms())

    def _passed(self, source):
        self.attempts.succeeded(source)

    # -- the routes' operations -------------------------------------------------

    def login(self, source, username, password_md5):
        """Contract 2.1: a new token for the admin's md5 password; raises
        TooManyAttempts (429) or ApiError(400, "Wrong login or password")."""
        self._check_not_locked(source)
        if (
            not isinstance(username, str)
            or not isinstance(password_md5, str)
            or len(username) > MAX_USERNAME_CHARS
            or len(password_md5) > MAX_PASSWORD_CHARS
            or not self.check_md5(username, password_md5)
        ):
            self._failed(source)
            self._log_failed_login(username)
            raise ApiError(400, WRONG_LOGIN)
        self._passed(source)
        self._log("successful_login_api_call", {"username": username})
        return self.issue_token()

    def change_password(self, source, old_password, new_password):
        """Section 8: the admin password, if old_password is the current one.
        Its wrong guesses are counted under their own key: the request's own
        credentials passed (and forgot `source`), so they must not reset it."""
        guesses = _PASSWORD_GUESS + source
        self._check_not_locked(source)
        self._check_not_locked(guesses)
        if not self.check_password(ADMIN_USER, old_password):
            self._failed(guesses)
            raise ApiError(400, WRONG_LOGIN)
        self._passed(guesses)
        if not new_password or len(new_password) > MAX_PASSWORD_CHARS:
            raise body_rules.range_error("new_password", "1..64 characters")
        self.set_password(new_password)

    def _log(self, event, info):
        if self._call_log is not None:
            self._call_log.add(event, info)

    def _log_failed_login(self, username):
        if not self.failed_login_log.allow(self._ticks_ms()):
            return
        text = username if isinstance(username, str) else str(type(username).__name__)
        info = {"username": text[:MAX_LOGGED_USERNAME_CHARS]}
        unlogged = self.failed_login_log.take_suppressed()
        if unlogged:
            info["unlogged"] = unlogged
        self._log("incorrect_login_api_call", info)

    # -- tokens -----------------------------------------------------------------

    def issue_token(self):
        token = compat.hexlify(compat.urandom(_TOKEN_BYTES))
        self._drop_expired()
        while len(self._tokens) >= self._token_cap:
            self._tokens.pop(0)
        self._tokens.append([token, self._ticks_ms()])
        return token

    def revoke(self, token):
        self._tokens = [entry for entry in self._tokens if entry[0] != token]

    def revoke_all(self):
        self._tokens = []
        self._basic_passed = None

    def token_valid(self, token):
        self._drop_expired()
        for entry in self._tokens:
            if entry[0] == token:
                return True
        return False

    def _drop_expired(self):
        now = self._ticks_ms()
        self._tokens = [
            entry for entry in self._tokens if compat.ticks_diff(now, entry[1]) < TOKEN_LIFETIME_MS
        ]

    def authenticate(self, request):
        """True when the request carries valid Bearer or Basic credentials,
        False when it carries none or wrong ones (401); raises
        TooManyAttempts while its source is locked out (429)."""
        header = request.headers.get("Authorization") or ""
        scheme, _, credentials = header.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if not credentials or scheme not in ("bearer", "basic"):
            return False
        source = source_of(request)
        self._check_not_locked(source)
        if scheme == "bearer":
            passed = self.token_valid(credentials)
        else:
            passed = self._basic_valid(credentials)
        if passed:
            self._passed(source)
        else:
            self._failed(source)
        return passed

    def _basic_valid(self, credentials):
        stored = self.password_md5()
        if self._basic_passed == (credentials, stored):
            return True
        pair = parse_basic(credentials)
        if pair is None or pair[0] != ADMIN_USER or len(pair[1]) > MAX_PASSWORD_CHARS:
            return False
        if md5_hex(pair[1]) != stored:
            return False
        self._basic_passed = (credentials, stored)
        return True


def bearer_token(request):
    header = request.headers.get("Authorization") or ""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return None
