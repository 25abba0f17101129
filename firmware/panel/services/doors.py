# The door locks: the relays the board hands in, their open times from the
# settings, and the log entry of every opening (BAS-IP contract 6).
#
# The API's remote opening, the callee's DTMF code and the keypad's personal
# codes all open a lock here, so every opening is timed and logged the same way.


from panel.services.access import locks_of

_CARD_MAX = 32  # characters of a card number a reader may report


def card_key(number):
    """A card number compared without separators or case: servers store
    "00-00-00-1A-2B-3C-4D" for the reader's 0000001A2B3C4D."""
    return str(number).replace("-", "").replace(":", "").replace(" ", "").upper()


class Doors:
    def __init__(self, relays, settings, call_log, identifiers=None):
        # relays: {lock number: drivers.lock_relay.LockRelay}
        self._relays = relays
        self._settings = settings
        self._call_log = call_log
        self._identifiers = identifiers
        self._sensors = {}  # lock number -> True open / False closed

    def numbers(self):
        return sorted(self._relays)

    def relay(self, number):
        """The LockRelay of lock `number` (state, openings), or None."""
        return self._relays.get(number)

    def open(self, number, seconds, event, info=None):
        """Release lock `number` for `seconds` (0: the lock's own timeout) and
        log `event` with `info`. False when the board has no such lock."""
        relay = self._relays.get(number)
        if relay is None:
            return False
        if not seconds:
            seconds = self._settings.lock(number)["lock_timeout"]
        relay.open_for(seconds)
        details = {"lock": number, "seconds": seconds}
        if info:
            for key in info:
                details[key] = info[key]
        self._call_log.add(event, details)
        return True

    def exit_button(self, number=1):
        """The inside exit button of lock `number` was pressed."""
        return self.open(number, 0, "access_granted_by_exit_button")

    def sensor(self, number, is_open):
        """The door sensor of lock `number` reports open or closed; a change
        is logged (a repeat is not). False when there is no such lock."""
        if number not in self._relays:
            return False
        is_open = bool(is_open)
        if self._sensors.get(number, False) != is_open:
            self._sensors[number] = is_open
            event = "door_sensor_opened" if is_open else "door_sensor_closed"
            self._call_log.add(event, {"lock": number})
        return True

    def sensor_state(self, number):
        return self._sensors.get(number, False)

    def card(self, number, reader=1):
        """A card shown to reader `reader`: its identifier's locks open, or
        the denial is logged. Returns the lock numbers opened ([]: denied)."""
        number = str(number)[:_CARD_MAX]
        wanted = card_key(number)
        item = None
        if self._identifiers is not None:
            for candidate in self._identifiers.scan():
                if (
                    candidate.get("identifier_type") == "card"
                    and card_key(candidate.get("identifier_number", "")) == wanted
                ):
                    item = candidate
                    break
        if item is None:
            self._call_log.add(
                "access_denied",
                {"identifier_type": "card", "card": number, "reader": reader, "lock": reader},
            )
            return []
        locks = locks_of(item)
        opened = []
        for lock in locks:
            info = {"card": number, "reader": reader, "identifier_uid": item.get("identifier_uid")}
            if self.open(lock, 0, "access_granted_by_card", info):
                opened.append(lock)
        return opened

    def stop(self):
        for relay in self._relays.values():
            relay.stop()
