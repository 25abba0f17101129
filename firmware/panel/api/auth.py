# Authentication routes of the BAS-IP API (contract section 2): md5 login
# issuing Bearer tokens, logout, password change. The account, its tokens and
# the brute-force limits are services.accounts; the check every protected
# route goes through is the wiring's before-request hook calling
# Accounts.authenticate.
from panel.api.common import ApiError, answer, ok, read_object, route
from panel.core import body as body_rules
from panel.services.accounts import bearer_token, source_of

# Routes that need no credentials (contract 2.2), the installer's web page
# (api/web_page.PAGE_PATHS: static, it holds no data; what it shows needs a
# token) and the API's own OpenAPI document (panel.api.openapi_document).
PUBLIC_PATHS = (
    "/api/info",
    "/api/v1/login",
    "/api/v1/sip/status",
    "/api/v1/device/sip/status",
    "/",
    "/index.html",
    "/api/openapi.json",
)


def register(app, services):
    accounts = services.accounts

    async def login(request):
        if request.method == "POST":
            document = read_object(request)
            username = document.get("username")
            password = document.get("password")
        else:
            username = request.args.get("username")
            password = request.args.get("password")
        if username is None or password is None:
            raise ApiError(400, "Required parameters missed")
        token = accounts.login(source_of(request), username, password)
        return answer({"token": token, "account_type": "admin"})

    route(app, "/api/v1/login", ["GET", "POST"])(login)

    async def logout(request):
        token = bearer_token(request)
        if token:
            accounts.revoke(token)
        return ok()

    route(app, "/api/v1/logout", ["GET"])(logout)

    async def change_password(request):
        # Query form (oldPassword/newPassword) or JSON (old_password/new_password).
        old = request.args.get("oldPassword")
        new = request.args.get("newPassword")
        if old is None and new is None:
            document = read_object(request)
            old = body_rules.require(document, "old_password", "str")
            new = body_rules.require(document, "new_password", "str")
        if old is None:
            raise ApiError(400, "Required parameters missed")
        if new is None:
            raise ApiError(400, "Required parameters missed")
        accounts.change_password(source_of(request), old, new)
        return ok()

    for path in ("/api/v1/security/password/admin", "/api/v1/security/password/web/admin"):
        route(app, path, ["POST"])(change_password)
