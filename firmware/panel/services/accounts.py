# The admin account and its Bearer tokens (BAS-IP contract 2): the password
# check of md5 logins and Basic headers, token issue, expiry and revocation.
#
# Tokens live in RAM only (they must not survive a reboot), at most a named
# number of them, the oldest evicted first; each lasts a fixed two hours. The
# password's MD5 is a declared setting (services.settings.ACCOUNT).
from panel import compat
from panel.core.credentials import parse_basic
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


class Accounts:
    """The one admin account and the live tokens."""

    def __init__(self, settings, token_cap, ticks_ms=None):
        self._settings = settings
        self._token_cap = token_cap
        self._ticks_ms = ticks_ms or compat.ticks_ms
        self._tokens = []  # [token, issued_ticks], oldest first
        # (Basic credentials text, stored password MD5) of the last Basic
        # login that passed: a client sends the same header with every
        # request, and hashing it again each time is the dearest part of a
        # request on a board without hashlib.md5. A changed password changes
        # the stored MD5, so the pair no longer matches.
        self._basic_passed = None
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
        return username == ADMIN_USER and md5_hex(plain_password) == self.password_md5()

    def check_md5(self, username, password_md5):
        return username == ADMIN_USER and password_md5.lower() == self.password_md5()

    def set_password(self, plain_password):
        self._settings.write(ACCOUNT, {"password_md5": md5_hex(plain_password)})
        self._password_md5 = None

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
        """True when the request carries valid Bearer or Basic credentials."""
        header = request.headers.get("Authorization") or ""
        scheme, _, credentials = header.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            return self.token_valid(credentials)
        if scheme == "basic" and credentials:
            stored = self.password_md5()
            if self._basic_passed == (credentials, stored):
                return True
            pair = parse_basic(credentials)
            if pair is None or pair[0] != ADMIN_USER or md5_hex(pair[1]) != stored:
                return False
            self._basic_passed = (credentials, stored)
            return True
        return False


def bearer_token(request):
    header = request.headers.get("Authorization") or ""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return None
