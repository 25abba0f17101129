# The call and event log of BAS-IP contract 7.2: a ring of a named size kept in
# the store under "l:<uid>", so it survives reboots and never grows past the
# board limit. uids only grow; the oldest entries are dropped first.
#
# It is also the one place events reach the management server (contract 10):
# add() asks services.events for the event's line and writes it into the
# event queue in the same atomic store batch as the log entry, so the log and
# the server's lines never disagree (both have an event, or neither has).
import json

from panel.store import StoreError

_PREFIX = "l:"
_STOP = "l;"  # the key just past every "l:..." key in byte order

# Event name -> (category, English text) (spec 7.2 and 8.1).
EVENTS = {
    "incoming_call": ("info", "Incoming call"),
    # [D] a SIP caller on the allow-list rang the panel (docs/incoming-calls.md)
    "incoming_call_from_monitor": ("info", "Incoming call from monitor"),
    "outgoing_call": ("info", "Outgoing call"),
    "outgoing_call_missed": ("info", "Outgoing call missed"),
    "sip_registration_lost": ("info", "SIP registration lost"),
    "device_booted": ("info", "Device booted"),
    "storage_damaged": ("system", "Storage damaged"),
    "account_lost": ("system", "Account lost, factory password in force"),
    "access_granted_by_call_host": ("access", "Access granted by call host"),
    "access_granted_by_api_call": ("access", "Access granted by API call"),
    "access_granted_by_personal_code": ("access", "Access granted by personal code"),
    "access_granted_by_card": ("access", "Access granted by card"),
    "access_granted_by_exit_button": ("access", "Access granted by exit button"),
    "access_denied": ("access", "Access denied"),
    "door_sensor_opened": ("access", "Door opened (door sensor)"),
    "door_sensor_closed": ("access", "Door closed (door sensor)"),
    "sip_registration_restored": ("info", "SIP registration restored"),
    "adapter_lost": ("info", "Hybrid adapter lost"),
    "adapter_restored": ("info", "Hybrid adapter restored"),
    "successful_login_api_call": ("system", "Successful login by API call"),
    "incorrect_login_api_call": ("system", "Incorrect login by API call"),
}


def _key(uid):
    return "%s%010d" % (_PREFIX, uid)


class CallLog:
    def __init__(self, store, clock, capacity, events=None):
        # events: services.events.Events (None: a log that queues no lines)
        self._store = store
        self._clock = clock
        self._capacity = capacity
        self._events = events
        self._next_uid = None
        self.dropped = 0  # entries that could not be stored (flash full)
        # The last known state of each link ("sip", "adapter"): True up,
        # False lost, absent unknown; see link().
        self._links = {}

    def _ensure_next_uid(self):
        if self._next_uid is None:
            last = 0
            for key in self._store.keys(_PREFIX, _STOP, reverse=True):
                last = int(key[len(_PREFIX) :])
                break
            self._next_uid = last + 1

    def _store_entry(self, event, category, text, info):
        """Write the entry (and its event line) in one batch: (uid, prepared
        event line or None). Raises what the store or the heap raise."""
        self._ensure_next_uid()
        uid = self._next_uid
        timestamp = self._clock.now_ms()
        item = {
            "uid": uid,
            "timestamp": timestamp,
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
        prepared = None
        if self._events is not None:
            prepared = self._events.prepare(event, item["info"], timestamp)
            if prepared is not None:
                changes.extend(prepared[0])
        self._store.write_batch(changes)
        return uid, prepared

    def add(self, event, info=None):
        """Append an event; returns its uid, or None when it could not be
        stored. Best-effort: a full or damaged flash never fails the request,
        the call or the boot that logs (the entry is counted in `dropped`).
        Unknown event names are a caller bug."""
        category, text = EVENTS[event]
        try:
            uid, prepared = self._store_entry(event, category, text, info)
        except (StoreError, MemoryError):
            # StoreFull (nothing stored), damage in the log's key range, or a
            # heap too fragmented for the partition read (a small board's
            # boot logs before anything else): the entry and its event line
            # are dropped, the caller goes on.
            self.dropped += 1
            self._next_uid = None  # read again from the store next time
            return None
        self._next_uid = uid + 1
        if prepared is not None:
            self._events.commit(prepared[1])
        return uid

    def record(self, event, info=None):
        """add() under the name the callers of events use: one entry, one line."""
        return self.add(event, info)

    def link(self, name, up, info=None):
        """A link's state seen now ("sip" or "adapter", up True/False): logs
        `<name>_lost` when a link that was up goes down, and the restored
        event when a lost one comes back; repeats and a first "down" (it was
        never up) log nothing."""
        previous = self._links.get(name)
        self._links[name] = bool(up)
        if previous is None or previous == bool(up):
            return None
        if name == "sip":
            event = "sip_registration_restored" if up else "sip_registration_lost"
        else:
            event = name + ("_restored" if up else "_lost")
        return self.add(event, info)

    def items(self, reverse=True):
        """Entries as dicts, newest first by default, one at a time."""
        for _, value in self._store.scan(_PREFIX, _STOP, reverse=reverse):
            yield json.loads(value)

    def count(self):
        return self._store.count(_PREFIX, _STOP)
