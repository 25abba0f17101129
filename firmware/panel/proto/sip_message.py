# SIP messages (RFC 3261, section 7 and 20): parse one UDP datagram into a
# SipMessage, build one back into bytes. Sans-I/O: bytes in, objects out.
#
# Strict and bounded: a datagram from the network is garbage until proven
# otherwise. Every limit below is checked before anything is allocated for it,
# and every rejection is a RemoteError carrying the SIP status a server would
# answer (400 Bad Request, 513 Message Too Large, ...). Our own misuse (building
# a message that breaks a limit) is a LocalError: a bug, not a peer's fault.
from panel.compat import const, hexlify

# Largest datagram we accept or build. RFC 3261 18.1.1 asks for messages within
# the path MTU (1300 bytes is usual); 4096 leaves room for long Via chains and
# SDP while keeping one receive buffer small on a 100 KB heap.
MAX_DATAGRAM = const(4096)
# Header fields per message (after unfolding); real messages carry 10 to 25.
MAX_HEADERS = const(64)
# One header line (after unfolding continuation lines) or the start line.
MAX_LINE = const(1024)
# Header values split on commas (Via, Contact, Route): per header field.
MAX_LIST_ITEMS = const(16)
# URI and parameter limits: a SIP URI is short; parameters per URI or header.
MAX_URI = const(256)
MAX_PARAMETERS = const(16)
# Largest CSeq number allowed by RFC 3261 8.1.1.5 (below 2**31).
MAX_CSEQ = 2147483647
# Content-Length digits: more than 5 cannot fit a datagram anyway.
_MAX_LENGTH_DIGITS = const(5)

# Header names: compact form (RFC 3261 7.3.3 and later RFCs) to the full name.
COMPACT_FORMS = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
    "b": "referred-by",
    "x": "session-expires",
}

# How a header name is written when we build a message; anything else is
# written as word-capitalised from its lower-case key.
_DISPLAY_NAMES = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
}

# Characters of an RFC 3261 token (method names, header names, parameters).
_TOKEN_EXTRA = "-.!%*_+`'~"

# Reason phrases we put in responses we build.
REASONS = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    603: "Decline",
}

# The magic cookie that marks an RFC 3261 branch (RFC 3261 8.1.1.7).
BRANCH_COOKIE = "z9hG4bK"


class LocalError(Exception):
    """Our own misuse of the SIP code (a bug): fail loudly."""


class RemoteError(Exception):
    """A peer sent something we cannot accept; status is the SIP answer to give."""

    def __init__(self, text, status=400):
        super().__init__(text)
        self.text = text
        self.status = status


def is_token(text):
    """True when text is a non-empty RFC 3261 token."""
    if not text:
        return False
    for character in text:
        if not (character.isalpha() or character.isdigit() or character in _TOKEN_EXTRA):
            return False
        if ord(character) > 126:
            return False
    return True


def display_name(key):
    """How to write a lower-case header key in a message we build."""
    name = _DISPLAY_NAMES.get(key)
    if name:
        return name
    return "-".join(part[:1].upper() + part[1:] for part in key.split("-"))


def header_key(name):
    """Lower-case full header name from any form seen on the wire."""
    key = name.lower()
    return COMPACT_FORMS.get(key, key)


class SipMessage:
    """One SIP request (method, uri) or response (status, reason).

    Headers are kept in order as [key, value] pairs, key lower-case and in full
    form; values are text with surrounding whitespace removed. body is bytes.
    """

    def __init__(self, method=None, uri=None, status=None, reason=None, body=b""):
        self.method = method
        self.uri = uri
        self.status = status
        self.reason = reason
        self.headers = []
        self.body = body

    @property
    def is_request(self):
        return self.method is not None

    def get(self, name, default=None):
        """First value of a header (any name form), or default."""
        key = header_key(name)
        for header in self.headers:
            if header[0] == key:
                return header[1]
        return default

    def get_all(self, name):
        """Every value of a header, in order, comma lists split (Via, Route...)."""
        key = header_key(name)
        values = []
        for header in self.headers:
            if header[0] == key:
                for item in split_list(header[1]):
                    values.append(item)
        return values

    def add(self, name, value):
        self.headers.append([header_key(name), str(value)])

    def set(self, name, value):
        """Replace every value of a header by one (appended if absent)."""
        key = header_key(name)
        kept = []
        placed = False
        for header in self.headers:
            if header[0] == key:
                if not placed:
                    kept.append([key, str(value)])
                    placed = True
            else:
                kept.append(header)
        if not placed:
            kept.append([key, str(value)])
        self.headers = kept

    def remove(self, name):
        key = header_key(name)
        self.headers = [header for header in self.headers if header[0] != key]

    def cseq(self):
        """(number, method) of the CSeq header."""
        return parse_cseq(self.get("cseq", ""))

    def top_via(self):
        vias = self.get_all("via")
        if not vias:
            raise RemoteError("Missing Via")
        return parse_via(vias[0])

    def to_bytes(self):
        """The datagram: start line, headers, Content-Length, blank line, body."""
        if self.is_request:
            if not is_token(self.method) or not self.uri or " " in self.uri:
                raise LocalError("bad request line")
            lines = ["%s %s SIP/2.0" % (self.method, self.uri)]
        else:
            if not isinstance(self.status, int) or not 100 <= self.status <= 699:
                raise LocalError("bad status %r" % (self.status,))
            reason = self.reason or REASONS.get(self.status, "Unknown")
            lines = ["SIP/2.0 %d %s" % (self.status, reason)]
        for key, value in self.headers:
            if key == "content-length":
                continue
            if "\r" in value or "\n" in value:
                raise LocalError("line break in header %s" % key)
            lines.append("%s: %s" % (display_name(key), value))
        body = self.body or b""
        lines.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        if len(data) > MAX_DATAGRAM:
            raise LocalError("message of %d bytes exceeds MAX_DATAGRAM" % len(data))
        return data


def split_list(value):
    """Split a header value on commas outside quotes and angle brackets."""
    items = []
    start = 0
    quoted = False
    angle = False
    index = 0
    length = len(value)
    while index < length:
        character = value[index]
        if quoted:
            if character == "\\":
                index += 1
            elif character == '"':
                quoted = False
        elif character == '"':
            quoted = True
        elif character == "<":
            angle = True
        elif character == ">":
            angle = False
        elif character == "," and not angle:
            items.append(value[start:index].strip())
            start = index + 1
            if len(items) >= MAX_LIST_ITEMS:
                raise RemoteError("Too many items in a header list")
        index += 1
    last = value[start:].strip()
    if last or items:
        items.append(last)
    return [item for item in items if item]


def _check_text(line):
    """Header and start lines: printable text, tabs allowed, no controls."""
    for character in line:
        code = ord(character)
        if (code < 32 and code != 9) or code == 127:
            raise RemoteError("Control character in header")


def parse(data):
    """One datagram into a SipMessage, or RemoteError with a status hint."""
    if len(data) > MAX_DATAGRAM:
        raise RemoteError("Datagram exceeds %d bytes" % MAX_DATAGRAM, 513)
    data = bytes(data)
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise RemoteError("No end of headers")
    try:
        head = data[:end].decode()
    except UnicodeError:
        raise RemoteError("Headers are not UTF-8")
    body = data[end + 4 :]
    raw_lines = head.split("\r\n")
    if len(raw_lines) > MAX_HEADERS * 2 + 1:
        raise RemoteError("Too many header lines")
    start_line = raw_lines[0]
    if len(start_line) > MAX_LINE:
        raise RemoteError("Start line too long")
    _check_text(start_line)
    message = _parse_start_line(start_line)
    # Unfold continuation lines (RFC 3261 7.3.1) while counting and bounding.
    for raw in raw_lines[1:]:
        if not raw:
            raise RemoteError("Empty header line")
        if len(raw) > MAX_LINE:
            raise RemoteError("Header line too long")
        _check_text(raw)
        if raw[0] in " \t":
            if not message.headers:
                raise RemoteError("Continuation before any header")
            folded = message.headers[-1][1] + " " + raw.strip()
            if len(folded) > MAX_LINE:
                raise RemoteError("Header line too long")
            message.headers[-1][1] = folded
            continue
        colon = raw.find(":")
        if colon <= 0:
            raise RemoteError("Header without colon")
        name = raw[:colon].rstrip(" \t")
        if not is_token(name):
            raise RemoteError("Bad header name")
        if len(message.headers) >= MAX_HEADERS:
            raise RemoteError("Too many headers")
        message.headers.append([header_key(name), raw[colon + 1 :].strip()])
    message.body = _take_body(message, body)
    _check_mandatory(message)
    return message


def _parse_start_line(line):
    if line.startswith("SIP/"):
        parts = line.split(" ", 2)
        if parts[0] != "SIP/2.0":
            raise RemoteError("Unsupported SIP version", 505)
        if len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit():
            raise RemoteError("Bad status code")
        status = int(parts[1])
        if not 100 <= status <= 699:
            raise RemoteError("Status code out of range")
        reason = parts[2] if len(parts) == 3 else ""
        return SipMessage(status=status, reason=reason)
    parts = line.split(" ")
    if len(parts) != 3:
        raise RemoteError("Bad request line")
    method, uri, version = parts
    if not is_token(method):
        raise RemoteError("Bad method")
    if version != "SIP/2.0":
        raise RemoteError("Unsupported SIP version", 505)
    if not uri or len(uri) > MAX_URI or ":" not in uri:
        raise RemoteError("Bad Request-URI")
    return SipMessage(method=method, uri=uri)


def _take_body(message, rest):
    """Body per Content-Length (RFC 3261 18.3); absent means the rest (UDP)."""
    text = message.get("content-length")
    if text is None:
        return rest
    if not text.isdigit() or len(text) > _MAX_LENGTH_DIGITS:
        raise RemoteError("Bad Content-Length")
    length = int(text)
    if length > len(rest):
        raise RemoteError("Body shorter than Content-Length")
    # Extra bytes after the declared length are ignored, as 18.3 says.
    return rest[:length]


def _check_mandatory(message):
    for name in ("via", "from", "to", "call-id", "cseq"):
        if message.get(name) is None:
            raise RemoteError("Missing %s" % display_name(name))
    number, method = parse_cseq(message.get("cseq"))
    if message.is_request and method != message.method:
        raise RemoteError("CSeq method differs from request method")
    parse_via(message.get_all("via")[0])
    from_address = parse_name_address(message.get("from"))
    to_address = parse_name_address(message.get("to"))
    call_id = message.get("call-id")
    if not call_id or " " in call_id:
        raise RemoteError("Bad Call-ID")
    return number, from_address, to_address


def parse_cseq(value):
    """'314159 INVITE' -> (314159, 'INVITE')."""
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10:
        raise RemoteError("Bad CSeq")
    number = int(parts[0])
    if number > MAX_CSEQ or not is_token(parts[1]):
        raise RemoteError("Bad CSeq")
    return number, parts[1]


def parse_parameters(text):
    """';a=1;b;c="x"' (leading ';' optional) -> dict, names lower-case."""
    parameters = {}
    if not text:
        return parameters
    if text[0] == ";":
        text = text[1:]
    for item in text.split(";"):
        item = item.strip()
        if not item:
            raise RemoteError("Empty parameter")
        if len(parameters) >= MAX_PARAMETERS:
            raise RemoteError("Too many parameters")
        equals = item.find("=")
        if equals < 0:
            name, value = item, ""
        else:
            name, value = item[:equals].strip(), item[equals + 1 :].strip()
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
        if not is_token(name):
            raise RemoteError("Bad parameter name")
        parameters[name.lower()] = value
    return parameters


def format_parameters(parameters):
    text = ""
    for name in parameters:
        value = parameters[name]
        text += ";" + name if value == "" or value is None else ";%s=%s" % (name, value)
    return text


class SipUri:
    """sip:user@host:port;params (the parts a panel needs)."""

    def __init__(self, scheme="sip", user=None, host="", port=None, parameters=None):
        self.scheme = scheme
        self.user = user
        self.host = host
        self.port = port
        self.parameters = parameters or {}

    def host_port(self):
        return self.host if self.port is None else "%s:%d" % (self.host, self.port)

    def __str__(self):
        user = "" if self.user is None else self.user + "@"
        return "%s:%s%s%s" % (
            self.scheme,
            user,
            self.host_port(),
            format_parameters(self.parameters),
        )


def parse_host_port(text):
    """'host' or 'host:port' (IPv6 in brackets) -> (host, port or None)."""
    if not text:
        raise RemoteError("Empty host")
    if text[0] == "[":
        close = text.find("]")
        if close < 0:
            raise RemoteError("Bad IPv6 host")
        host, rest = text[: close + 1], text[close + 1 :]
        if rest and rest[0] != ":":
            raise RemoteError("Bad host")
        port_text = rest[1:] if rest else None
    else:
        colon = text.find(":")
        if colon < 0:
            host, port_text = text, None
        else:
            host, port_text = text[:colon], text[colon + 1 :]
        for character in host:
            if not (character.isalpha() or character.isdigit() or character in ".-_"):
                raise RemoteError("Bad host")
    if not host:
        raise RemoteError("Empty host")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) < 65536:
            raise RemoteError("Bad port")
        port = int(port_text)
    return host, port


def parse_uri(text):
    """A sip: or sips: URI into a SipUri (headers after '?' are dropped)."""
    if len(text) > MAX_URI:
        raise RemoteError("URI too long")
    colon = text.find(":")
    scheme = text[:colon].lower() if colon > 0 else ""
    if scheme not in ("sip", "sips"):
        raise RemoteError("Unsupported URI scheme", 416)
    rest = text[colon + 1 :]
    question = rest.find("?")
    if question >= 0:
        rest = rest[:question]
    semicolon = rest.find(";")
    parameters = {}
    if semicolon >= 0:
        parameters = parse_parameters(rest[semicolon:])
        rest = rest[:semicolon]
    user = None
    at = rest.rfind("@")
    if at >= 0:
        user = rest[:at]
        rest = rest[at + 1 :]
        # A password part (user:password@) is deprecated; keep only the user.
        colon = user.find(":")
        if colon >= 0:
            user = user[:colon]
    host, port = parse_host_port(rest)
    return SipUri(scheme, user, host, port, parameters)


class NameAddress:
    """From/To/Contact value: optional display name, URI text, header parameters."""

    def __init__(self, uri, display=None, parameters=None):
        self.uri = uri
        self.display = display
        self.parameters = parameters or {}

    @property
    def tag(self):
        return self.parameters.get("tag")

    def __str__(self):
        display = '"%s" ' % self.display if self.display else ""
        return "%s<%s>%s" % (display, self.uri, format_parameters(self.parameters))


def parse_name_address(value):
    """'"Name" <sip:a@b>;tag=x' or 'sip:a@b;tag=x' or '*' (Contact) -> NameAddress."""
    value = value.strip()
    if value == "*":
        return NameAddress("*")
    display = None
    less = value.find("<")
    if less >= 0:
        greater = value.find(">", less)
        if greater < 0:
            raise RemoteError("Unclosed '<' in address")
        display = value[:less].strip()
        if len(display) >= 2 and display[0] == '"' and display[-1] == '"':
            display = display[1:-1]
        uri = value[less + 1 : greater].strip()
        parameters = parse_parameters(value[greater + 1 :].strip())
    else:
        # Bare URI: parameters after it belong to the header (RFC 3261 20.10).
        semicolon = value.find(";")
        uri = value if semicolon < 0 else value[:semicolon]
        parameters = parse_parameters(value[semicolon:]) if semicolon >= 0 else {}
        uri = uri.strip()
    if not uri or ":" not in uri or len(uri) > MAX_URI or " " in uri:
        raise RemoteError("Bad URI in address")
    return NameAddress(uri, display or None, parameters)


class Via:
    """One Via value: SIP/2.0/UDP host:port;branch=...;rport;received=..."""

    def __init__(self, transport, host, port=None, parameters=None):
        self.transport = transport
        self.host = host
        self.port = port
        self.parameters = parameters or {}

    @property
    def branch(self):
        return self.parameters.get("branch")

    def __str__(self):
        port = "" if self.port is None else ":%d" % self.port
        return "SIP/2.0/%s %s%s%s" % (
            self.transport,
            self.host,
            port,
            format_parameters(self.parameters),
        )


def parse_via(value):
    parts = value.split(None, 1)
    if len(parts) != 2:
        raise RemoteError("Bad Via")
    protocol = parts[0].split("/")
    if len(protocol) != 3 or protocol[0].upper() != "SIP" or protocol[1] != "2.0":
        raise RemoteError("Bad Via protocol")
    rest = parts[1].strip()
    semicolon = rest.find(";")
    sent_by = rest if semicolon < 0 else rest[:semicolon]
    parameters = parse_parameters(rest[semicolon:]) if semicolon >= 0 else {}
    host, port = parse_host_port(sent_by.strip())
    return Via(protocol[2].upper(), host, port, parameters)


def response_address(via, default_port=5060):
    """Where a response to this Via goes (RFC 3261 18.2.2 with RFC 3581 rport)."""
    host = via.parameters.get("received") or via.host
    rport = via.parameters.get("rport")
    if rport:
        return host, int(rport)
    return host, via.port or default_port


def stamp_via(message, source_host, source_port):
    """Server side: add received/rport to the top Via (RFC 3261 18.2.1, RFC 3581)."""
    for index in range(len(message.headers)):
        header = message.headers[index]
        if header[0] != "via":
            continue
        items = split_list(header[1])
        via = parse_via(items[0])
        if "rport" in via.parameters:
            via.parameters["rport"] = str(source_port)
            via.parameters["received"] = source_host
        elif via.host != source_host:
            via.parameters["received"] = source_host
        items[0] = str(via)
        header[1] = ", ".join(items)
        return


def make_response(request, status, reason=None, to_tag=None):
    """A response to request with Via, From, To (+ tag), Call-ID, CSeq copied."""
    response = SipMessage(status=status, reason=reason or REASONS.get(status, "Unknown"))
    for header in request.headers:
        if header[0] in ("via", "record-route") and (status < 300 or header[0] == "via"):
            response.headers.append([header[0], header[1]])
    response.add("from", request.get("from"))
    to_value = request.get("to")
    if to_tag and status > 100 and parse_name_address(to_value).tag is None:
        to_value = to_value + ";tag=" + to_tag
    response.add("to", to_value)
    response.add("call-id", request.get("call-id"))
    response.add("cseq", request.get("cseq"))
    return response


def mirrored_request(invite, method, to_value):
    """CANCEL (RFC 3261 9.1) or the ACK of a non-2xx answer (17.1.1.3): the
    INVITE's Request-URI, top Via, From, Call-ID, CSeq number and Route set,
    with this method; To as given (the INVITE's, or the response's with its tag)."""
    request = SipMessage(method=method, uri=invite.uri)
    request.add("via", invite.get_all("via")[0])
    request.add("max-forwards", "70")
    request.add("from", invite.get("from"))
    request.add("to", to_value)
    request.add("call-id", invite.get("call-id"))
    request.add("cseq", "%d %s" % (invite.cseq()[0], method))
    for route in invite.get_all("route"):
        request.add("route", route)
    return request


def new_branch(random_bytes):
    """An RFC 3261 branch from 8 or more random bytes."""
    return BRANCH_COOKIE + hexlify(random_bytes)


def new_token(random_bytes):
    """Tags and Call-IDs: hex of random bytes."""
    return hexlify(random_bytes)


def scan_for_error_response(data):
    """From a datagram parse() rejected, the raw headers needed to answer it.

    Returns a SipMessage request carrying only Via, From, To, Call-ID and CSeq
    when the datagram is a request whose headers are readable enough, else None.
    Bounded like parse(): only the first MAX_DATAGRAM bytes are looked at.
    """
    data = bytes(data[:MAX_DATAGRAM])
    try:
        text = data.decode()
    except UnicodeError:
        return None
    lines = text.split("\r\n", MAX_HEADERS * 2)
    first = lines[0].split(" ")
    if len(first) != 3 or first[2] != "SIP/2.0" or not is_token(first[0]):
        return None
    if first[0] == "ACK":
        return None  # never answer an ACK
    request = SipMessage(method=first[0], uri=first[1][:MAX_URI])
    wanted = ("via", "from", "to", "call-id", "cseq")
    for line in lines[1:]:
        if not line or len(line) > MAX_LINE:
            break
        colon = line.find(":")
        if colon <= 0:
            continue
        key = header_key(line[:colon].strip())
        if key in wanted and request.get(key) is None:
            try:
                _check_text(line)
            except RemoteError:
                return None
            request.headers.append([key, line[colon + 1 :].strip()])
    for key in wanted:
        if request.get(key) is None:
            return None
    try:
        parse_via(request.get_all("via")[0])
        parse_name_address(request.get("from"))
        parse_name_address(request.get("to"))
        parse_cseq(request.get("cseq"))
    except RemoteError:
        return None
    return request


class Dialog:
    """The state of one dialog (RFC 3261 12): ids, sequence numbers, target, routes."""

    def __init__(
        self,
        call_id,
        local_tag,
        remote_tag,
        local_uri,
        remote_uri,
        remote_target,
        local_sequence,
        remote_sequence=None,
        route_set=None,
    ):
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.local_sequence = local_sequence
        self.remote_sequence = remote_sequence
        self.route_set = route_set or []

    @staticmethod
    def from_uac_response(request, response):
        """The dialog a 2xx (or tagged 1xx) to our INVITE creates (12.1.2)."""
        from_address = parse_name_address(request.get("from"))
        to_address = parse_name_address(response.get("to"))
        contacts = response.get_all("contact")
        target = parse_name_address(contacts[0]).uri if contacts else request.uri
        routes = response.get_all("record-route")
        routes.reverse()
        number = request.cseq()[0]
        return Dialog(
            request.get("call-id"),
            from_address.tag,
            to_address.tag,
            from_address.uri,
            to_address.uri,
            target,
            number,
            None,
            routes,
        )

    @staticmethod
    def from_uas_request(request, local_tag):
        """The dialog we create when answering a request with a tagged 2xx (12.1.1)."""
        from_address = parse_name_address(request.get("from"))
        to_address = parse_name_address(request.get("to"))
        contacts = request.get_all("contact")
        target = parse_name_address(contacts[0]).uri if contacts else from_address.uri
        return Dialog(
            request.get("call-id"),
            local_tag,
            from_address.tag,
            to_address.uri,
            from_address.uri,
            target,
            0,
            request.cseq()[0],
            request.get_all("record-route"),
        )

    def matches(self, message):
        """True when a request from the peer belongs to this dialog."""
        if message.get("call-id") != self.call_id:
            return False
        from_tag = parse_name_address(message.get("from")).tag
        to_tag = parse_name_address(message.get("to")).tag
        return from_tag == self.remote_tag and to_tag == self.local_tag

    def accept_remote_sequence(self, message):
        """Check the peer's CSeq grows (12.2.2); False for an old or repeated one."""
        number = message.cseq()[0]
        if self.remote_sequence is not None and number <= self.remote_sequence:
            return False
        self.remote_sequence = number
        return True

    def request(self, method, via, contact=None, sequence=None):
        """A new in-dialog request (BYE, INFO; ACK for a 2xx passes sequence)."""
        if sequence is None:
            self.local_sequence += 1
            sequence = self.local_sequence
        uri = self.remote_target
        routes = list(self.route_set)
        # Strict routers (no ;lr on the first route) put that route in the
        # Request-URI (RFC 3261 12.2.1.1); panels meet loose routers nearly always.
        if routes and ";lr" not in routes[0]:
            uri = parse_name_address(routes[0]).uri
            routes = routes[1:] + ["<%s>" % self.remote_target]
        message = SipMessage(method=method, uri=uri)
        message.add("via", str(via))
        message.add("max-forwards", "70")
        message.add("from", str(NameAddress(self.local_uri, None, {"tag": self.local_tag})))
        remote = {"tag": self.remote_tag} if self.remote_tag else {}
        message.add("to", str(NameAddress(self.remote_uri, None, remote)))
        message.add("call-id", self.call_id)
        message.add("cseq", "%d %s" % (sequence, method))
        for route in routes:
            message.add("route", route)
        if contact:
            message.add("contact", contact)
        return message


def _content_length(head):
    """Content-Length (or its compact form l) of a message head, 0 when absent."""
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name = name.strip().lower()
        if name == b"content-length" or name == b"l":
            value = value.strip()
            if not value or value.strip(b"0123456789"):
                raise RemoteError("Bad Content-Length", 400)
            return int(value)
    return 0


def split_stream(buffer):
    """Messages framed by Content-Length on a stream (RFC 3261 18.3).

    buffer: bytes received so far. Returns (messages, rest): whole messages as
    bytes, and what is left for the next read. CRLFs between messages (RFC
    5626 keep-alive pings and pongs) are skipped. RemoteError when the stream
    cannot be framed (a head or message beyond MAX_DATAGRAM, a bad length):
    the connection must be dropped."""
    messages = []
    start = 0
    while True:
        while buffer[start : start + 2] == b"\r\n":
            start += 2
        end = buffer.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buffer) - start > MAX_DATAGRAM:
                raise RemoteError("Message head too large", 513)
            return messages, buffer[start:]
        length = _content_length(buffer[start:end])
        stop = end + 4 + length
        if stop - start > MAX_DATAGRAM:
            raise RemoteError("Message too large", 513)
        if len(buffer) < stop:
            return messages, buffer[start:]
        messages.append(buffer[start:stop])
        start = stop
