# Routes under /sim/ that only the simulator boards mount: the simulated hardware a
# developer (and the tests) can see and touch. No authentication: they stand for
# the panel's physical front, not its management API.
#
# GET  /sim/locks              the simulated lock relays
# POST /sim/keypad             {"keys": "223#"} or {"key": "2"}: press keys in order
#                              (panel.drivers.keypad): digits then "#" dial the
#                              apartment; "*" on an empty buffer starts personal
#                              code entry ("*1234#"); "*" after digits clears.
#                              -> {"results": [...], "keypad": {...}, "call": {...}}
#                              400 {"error": "Wrong key"} for anything but 0-9 * #
# GET  /sim/call               the call: state, apartment, targets and their states,
#                              who answered, door openings, redirects, last call
# POST /sim/call/hangup        the visitor hangs up -> the call; 409 when idle
# GET  /sim/sip                the SIP user agent's counters: {"ua": {...},
#                              "stream": the account connection's or null,
#                              "listener": the TCP listener's or null}
# GET  /sim/sip                the SIP user agent's counters, its TCP/TLS
#                              stream's (with keepalive_ms) and its TCP
#                              listener's (with listening); 503 without SIP
# GET  /sim/heap               the interpreter's heap after a collection, bytes:
#                              {"alloc", "free", "peak"} (peak: the highest
#                              alloc sampled since /sim/heap/reset); zeros on
#                              CPython (no gc.mem_alloc)
# POST /sim/heap/reset         peak := alloc now, and from now on the live heap
#                              is sampled every HEAP_SAMPLE_MS -> the heap
# GET  /sim/heap/boot          {"alloc": heap after a collection once the panel
#                              first listened, before any request (what booting
#                              with this store holds), "modules": the modules
#                              imported by then} (0 and [] on CPython)
import gc
import sys

from panel.calls.controller import MAX_KEYS_PER_PRESS
from panel.compat import sleep_ms
from panel.core import body as body_rules
from panel.drivers.keypad import valid_keys

# Every route here is under this prefix, served without credentials.
PREFIX = "/sim/"
# How often the heap probe collects and samples (only once /sim/heap/reset ran).
HEAP_SAMPLE_MS = 20


def _error(status, text):
    return {"error": text}, status


def register(app, panel, relay_pins):
    """Mount the routes on the wired panel's app (panel: panel.wiring.Panel)."""

    async def locks(request):
        return {"locks": [pin.describe() for pin in relay_pins]}

    app.route("/sim/locks", methods=["GET"])(locks)

    def controller():
        return panel.calls

    async def keypad(request):
        calls = controller()
        if calls is None:
            return _error(503, "Panel not started")
        # The panel's strict parser (core.body: nesting depth and integer
        # length bounded, the same answer on both runtimes), not json.loads.
        try:
            document = body_rules.parse_object(request.body or b"")
        except body_rules.BodyError as error:
            return _error(error.status, error.text)
        keys = document.get("keys", document.get("key"))
        if not isinstance(keys, str) or not valid_keys(keys) or len(keys) > MAX_KEYS_PER_PRESS:
            return _error(400, "Wrong key")
        results = calls.press(keys)
        return {
            "results": results,
            "keypad": calls.keypad.describe(),
            "call": {"state": calls.machine.state},
        }

    app.route("/sim/keypad", methods=["POST"])(keypad)

    async def call_state(request):
        calls = controller()
        if calls is None:
            return _error(503, "Panel not started")
        return calls.describe()

    app.route("/sim/call", methods=["GET"])(call_state)

    async def hangup(request):
        calls = controller()
        if calls is None:
            return _error(503, "Panel not started")
        if not calls.hangup():
            return _error(409, "No call")
        return calls.describe()

    app.route("/sim/call/hangup", methods=["POST"])(hangup)

    async def sip_state(request):
        agent = panel.sip_user_agent
        if agent is None:
            return _error(503, "No SIP user agent")
        return agent.transports()

    app.route("/sim/sip", methods=["GET"])(sip_state)

    heap = {"peak": 0, "task": None}

    def heap_now():
        gc.collect()
        alloc = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        free = gc.mem_free() if hasattr(gc, "mem_free") else 0
        if alloc > heap["peak"]:
            heap["peak"] = alloc
        return {"alloc": alloc, "free": free, "peak": heap["peak"]}

    async def sample():
        # Live heap (after a collection) every SAMPLE_MS while the probe runs.
        while True:
            heap_now()
            await sleep_ms(HEAP_SAMPLE_MS)

    async def heap_state(request):
        return heap_now()

    app.route("/sim/heap", methods=["GET"])(heap_state)

    async def heap_reset(request):
        import asyncio

        heap["peak"] = 0
        if heap["task"] is None:
            heap["task"] = asyncio.create_task(sample())
        return heap_now()

    app.route("/sim/heap/reset", methods=["POST"])(heap_reset)

    boot = {"alloc": 0, "modules": []}

    def note_boot():
        # Taken as the server starts listening, before it accepts anyone: a
        # request's own buffers and streams would be live during it.
        gc.collect()
        if hasattr(gc, "mem_alloc") and not boot["alloc"]:
            boot["alloc"] = gc.mem_alloc()
            boot["modules"] = sorted(sys.modules)

    panel.http_server.on_listening.append(note_boot)

    async def heap_boot(request):
        return boot

    app.route("/sim/heap/boot", methods=["GET"])(heap_boot)
