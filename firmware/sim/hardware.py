"""The panel's front hardware besides the keypad, under /sim/ (simulator boards
only: the host and the unix MicroPython board; no login): the exit button, the door sensor and a card reader. Each goes
through the doors service, as a board's input drivers would, so the call log
and the management server's event lines (spec 10.3) are the real ones.

POST /sim/exit-button   {"lock": 1}                  the inside button: opens the
                        lock, logs access_granted_by_exit_button -> {"opened": true}
POST /sim/door-sensor   {"lock": 1, "state": "open"} or "closed": the door's reed
                        contact; a change is logged -> {"lock": 1, "state": "open"}
POST /sim/card          {"card": "0000001A2B3C4D", "reader": 1}: a card shown to
                        the reader; opens its identifier's locks or logs a denial
                        -> {"granted": bool, "locks": [...]}
Body errors: 400 {"error": "Wrong JSON body"} / {"error": "Wrong lock-number"} /
{"error": "Wrong card"}.
"""

from panel.core import body as body_rules

_CARD_MAX = 32  # characters, as the identifier store allows


def _error(status, text):
    return {"error": text}, status


def _document(request):
    # The panel's strict parser (bounded depth), as every other body.
    try:
        return body_rules.parse_object(request.body or b"{}")
    except body_rules.BodyError:
        return None


def _lock(document, doors):
    lock = document.get("lock", 1)
    if type(lock) is not int or lock not in doors.numbers():
        return None
    return lock


def register(app, panel):
    """Mount the routes on the wired panel's app (panel: panel.wiring.Panel)."""
    doors = panel.services.doors

    async def exit_button(request):
        document = _document(request)
        if document is None:
            return _error(400, "Wrong JSON body")
        lock = _lock(document, doors)
        if lock is None:
            return _error(400, "Wrong lock-number")
        return {"opened": doors.exit_button(lock)}

    app.route("/sim/exit-button", methods=["POST"])(exit_button)

    async def door_sensor(request):
        document = _document(request)
        if document is None:
            return _error(400, "Wrong JSON body")
        lock = _lock(document, doors)
        if lock is None:
            return _error(400, "Wrong lock-number")
        state = document.get("state")
        if state not in ("open", "closed"):
            return _error(400, "Wrong JSON body: value `state` was of the wrong type")
        doors.sensor(lock, state == "open")
        return {"lock": lock, "state": state}

    app.route("/sim/door-sensor", methods=["POST"])(door_sensor)

    async def card(request):
        document = _document(request)
        if document is None:
            return _error(400, "Wrong JSON body")
        number = document.get("card")
        if not isinstance(number, str) or not 1 <= len(number) <= _CARD_MAX:
            return _error(400, "Wrong card")
        if ":" in number or "," in number:
            return _error(400, "Wrong card")
        reader = document.get("reader", 1)
        if type(reader) is not int or not 1 <= reader <= 2:
            return _error(400, "Wrong JSON body: value `reader` was of the wrong type")
        locks = doors.card(number, reader)
        return {"granted": bool(locks), "locks": locks}

    app.route("/sim/card", methods=["POST"])(card)
