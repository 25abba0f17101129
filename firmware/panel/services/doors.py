# The door locks: the relays the board hands in, their open times from the
# settings, and the log entry of every opening (BAS-IP contract 6).
#
# The API's remote opening, the callee's DTMF code and the keypad's personal
# codes all open a lock here, so every opening is timed and logged the same way.


class Doors:
    def __init__(self, relays, settings, call_log):
        # relays: {lock number: drivers.lock_relay.LockRelay}
        self._relays = relays
        self._settings = settings
        self._call_log = call_log

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

    def stop(self):
        for relay in self._relays.values():
            relay.stop()
