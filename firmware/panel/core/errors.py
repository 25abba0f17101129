# The one error family of the panel's HTTP API: a client error carrying its
# status and the body shape of the contract it belongs to.
#
#   ApiError(status, text)            BAS-IP family: `status {"error": text}`
#                                     (spec basip-api.md 1.2)
#   core.body.BodyError(text, status) the same shape, raised by body checks
#   core.redirects.RuleError(status, message, details)
#                                     redirect rules: `{"error_code": 1000 +
#                                     status, "error_message", "error_details"}`
#                                     (spec redirectrules-api.md 4)
#
# Every handler raises one of them; one function, `answer()`, turns any of them
# into microdot's (body, status, headers), so both contracts' errors leave the
# panel through the same place. Pure: no I/O, importable by core and services.

# The BAS-IP family answers with this exact Content-Type (microdot would
# write its own for a dict without it).
BASIP_HEADERS = {"Content-Type": "application/json"}


class ApiError(Exception):
    """A client error of the BAS-IP family: `status {"error": text}`."""

    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text

    def body(self):
        return {"error": self.text}

    def answer(self, headers=None):
        """(body, status, headers) for microdot; headers are added (e.g. Allow)."""
        answer_headers = dict(BASIP_HEADERS)
        if headers:
            answer_headers.update(headers)
        return self.body(), self.status, answer_headers


# The texts of the errors the app itself raises (no route reached, or the
# request could not be read), per contract. The BAS-IP texts are [COMPAT],
# but for 414 and 431 (panel.http_server's limits; ours, [CHOICE]); the
# redirect-rules ones come from spec section 4.
_BASIP_TEXTS = {
    400: "Bad request",
    401: "Log In",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    414: "Request line too long",
    431: "Request header fields too large",
    500: "Internal error",
    # [D] the heap could not take the request (a board's heap is a few
    # hundred KB, and fragmented): try again; Retry-After says when.
    503: "Out of memory",
    # [D] the flash is full: the change was not stored (deletes still work).
    507: "Storage full",
}


def basip_error(status):
    return ApiError(status, _BASIP_TEXTS.get(status, "Error"))
