# The call and event log of BAS-IP contract 7.2: a ring of a named size kept in
# the store under "l:<uid>", so it survives reboots and never grows past the
# board limit. uids only grow; the oldest entries are dropped first.
import json

from panel.store import StoreError

_PREFIX = "l:"
_STOP = "l;"  # the key just past every "l:..." key in byte order

# Event name -> (category, English text) (spec 7.2 and 8.1).
EVENTS = {
    "incoming_call": ("info", "Incoming call"),
    "outgoing_call": ("info", "Outgoing call"),
    "outgoing_call_missed": ("info", "Outgoing call missed"),
    "sip_registration_lost": ("info", "SIP registration lost"),
    "device_booted": ("info", "Device booted"),
    "storage_damaged": ("system", "Storage damaged"),
    "account_lost": ("system", "Account lost, factory password in force"),
    "access_granted_by_call_host": ("access", "Access granted by call host"),
    "access_granted_by_api_call": ("access", "Access granted by API call"),
    "access_granted_by_personal_code": ("access", "Access granted by personal code"),
    "access_denied": ("access", "Access denied"),
    "successful_login_api_call": ("system", "Successful login by API call"),
    "incorrect_login_api_call": ("system", "Incorrect login by API call"),
}


def _key(uid):
    return "%s%010d" % (_PREFIX, uid)


class CallLog:
    def __init__(self, store, clock, capacity):
        self._store = store
        self._clock = clock
        self._capacity = capacity
        self._next_uid = None
        self.dropped = 0  # entries that could not be stored (flash full)

    def _ensure_next_uid(self):
        if self._next_uid is None:
            last = 0
            for key in self._store.keys(_PREFIX, _STOP, reverse=True):
                last = int(key[len(_PREFIX) :])
                break
            self._next_uid = last + 1

    def add(self, event, info=None):
        """Append an event; returns its uid, or None when it could not be
        stored. Best-effort: a full or damaged flash never fails the request,
        the call or the boot that logs (the entry is counted in `dropped`).
        Unknown event names are a caller bug."""
        category, text = EVENTS[event]
        self._ensure_next_uid()
        uid = self._next_uid
        self._next_uid = uid + 1
        item = {
            "uid": uid,
            "timestamp": self._clock.now_ms(),
            "name": {"key": event, "text": text},
            "category": category,
            "info": info or {},
        }
        changes = [(_key(uid), json.dumps(item).encode())]
        # Trim to capacity in the same atomic batch, oldest first.
        excess = self._store.count(_PREFIX, _STOP) + 1 - self._capacity
        if excess > 0:
            for key in self._store.keys(_PREFIX, _STOP):
                changes.append((key, None))
                excess -= 1
                if excess <= 0:
                    break
        try:
            self._store.write_batch(changes)
        except StoreError:
            # StoreFull (nothing stored) or damage in the log's key range.
            self.dropped += 1
            self._next_uid = None  # read again from the store next time
            return None
        return uid

    def items(self, reverse=True):
        """Entries as dicts, newest first by default, one at a time."""
        for _, value in self._store.scan(_PREFIX, _STOP, reverse=reverse):
            yield json.loads(value)

    def count(self):
        return self._store.count(_PREFIX, _STOP)
