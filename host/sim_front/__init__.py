"""The simulator's front panel page at /sim/ (host board only, no login, like
the rest of /sim/): a picture of the panel a developer uses instead of the
hardware. Self-contained (this package: the route module and page.html), so it
can move with the rest of the sim front.

GET  /sim/                        the page (page.html: HTML, CSS and script in one)
GET  /sim/adapter/state           the adapter emulator's GET /state, proxied
POST /sim/adapter/lines/<line>    {"action": "answer" | "hang_up" | "door_button"}:
                                  the emulator's POST /lines/<line>, proxied

Why a proxy and not CORS on the emulator: the page then talks to one origin
(the panel's port), needs no second address, works when the emulator's control
port is any free port (tests), and the emulator stays as section 11 of
docs/hybrid-adapter-protocol.md describes it (127.0.0.1 only, no browser
headers). Only the three handset actions a person at a handset can do pass;
the emulator's fault, noise, reset and unplug controls stay on its own port.
The proxy is plain asyncio streams (no thread, no blocking call in the loop).
Without an emulator (`--no-adapter`) these answer 503 {"error": ...}.
"""

import asyncio
import json
import os

from panel.core import body as body_rules

PAGE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html")
HANDSET_ACTIONS = ("answer", "hang_up", "door_button")
# Bound what is read back from the emulator (its /state lists every line).
_REPLY_LIMIT_BYTES = 1 << 20
_TIMEOUT_S = 5.0


def _error(status, text):
    return {"error": text}, status


def _valid_line(line):
    # "laskomex:23" / "vizit:7": the kind, a colon, digits.
    kind, _, number = line.partition(":")
    return kind in ("laskomex", "vizit") and number.isdigit() and len(number) <= 6


async def emulator_request(port, method, path, document=None):
    """(status, parsed JSON) from the emulator's control port."""
    body = b"" if document is None else json.dumps(document).encode()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), _TIMEOUT_S)
    try:
        head = "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % (
            method,
            path,
            len(body),
        )
        if document is not None:
            head += "Content-Type: application/json\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(_REPLY_LIMIT_BYTES), _TIMEOUT_S)
    finally:
        writer.close()
    header, _, payload = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, json.loads(payload or b"{}")


def register(app, adapter_control_port=None):
    """Mount the page and the proxy; adapter_control_port: the emulator's
    control port, or None when the panel runs without one."""
    with open(PAGE_PATH, "rb") as handle:
        page_bytes = handle.read()

    async def page(request):
        return page_bytes, 200, {"Content-Type": "text/html; charset=utf-8"}

    app.route("/sim/", methods=["GET"])(page)

    async def proxied(method, path, document=None):
        if adapter_control_port is None:
            return _error(503, "No adapter emulator")
        try:
            status, answer = await emulator_request(adapter_control_port, method, path, document)
        except (OSError, ValueError, IndexError, asyncio.TimeoutError):
            return _error(502, "Adapter emulator unreachable")
        return answer, status

    async def adapter_state(request):
        return await proxied("GET", "/state")

    app.route("/sim/adapter/state", methods=["GET"])(adapter_state)

    async def handset(request, line):
        if not _valid_line(line):
            return _error(404, "Unknown line")
        try:
            document = body_rules.parse_object(request.body or b"")
        except body_rules.BodyError as error:
            return _error(error.status, error.text)
        action = document.get("action")
        if action not in HANDSET_ACTIONS:
            return _error(400, "Wrong action")
        return await proxied("POST", "/lines/" + line, {"action": action})

    app.route("/sim/adapter/lines/<line>", methods=["POST"])(handset)
