# The queue of event lines for the management server (BAS-IP contract 10.1):
# durable on flash like the rest of the store, oldest first, bounded.
#
# Store layout (owned here):
#   q:<seq>     one queued event, "<level> <unix ms> <MESSAGE>" (utf-8); seq
#               only grows, so key order is the order the events happened
#   q~stats     {"dropped": total ever dropped, "unreported": dropped since
#               the last events_dropped line went out}
#
# Lines are queued by the call log (services.call_log.CallLog.add) in the same
# atomic store batch as the log entry, so the log and the server never
# disagree: both have an event or neither has. HOSTNAME and APP are put on at
# send time (drivers.event_sender), from the settings as they are then.
#
# Queued only while sending is on (syslog `enabled` and a server set) and
# the event's level passes `severity` [CHOICE: events of a disabled sender
# are not kept for later]. When the queue is full the oldest line is dropped
# and counted; GET /api/v1/syslog/status shows the counters.
import json

from panel.core import event_lines
from panel.services import settings as schema

_PREFIX = "q:"
_STOP = "q;"  # just past every "q:..." key
_STATS = "q~stats"  # outside the q: range: never scanned as a line

# The queue's bound when the board names none: the contract's minimum.
DEFAULT_QUEUE_LINES = 500
TRANSPORTS = ("http", "udp")


def _key(sequence):
    return "%s%010d" % (_PREFIX, sequence)


class Events:
    def __init__(self, store, settings, identifiers, capacity):
        self._store = store
        self._settings = settings
        self._identifiers = identifiers
        self._capacity = capacity
        # The next sequence number, read from the store once (it only grows;
        # after a factory reset it goes on from where it was). The count and
        # the drop counters are read from the store each time: a factory
        # reset (services.system) clears the store under this service.
        self._next = None
        # What a call-log entry alone does not say (10.3): the number the
        # visitor dialled and the target tried last, for the call lines.
        self._apartment = None
        self._last_target = None
        self.on_queued = None  # set by the sender: called after lines are queued
        self.counters = {"queued": 0, "sent": 0, "failed": 0, "filtered": 0}
        self.last_error = None

    # -- the target ---------------------------------------------------------
    def target(self):
        """(transport, host, port, severity, app) while sending is on, else None."""
        document = self._settings.read(schema.SYSLOG)
        server = document.get("server")
        if not document.get("enabled") or not isinstance(server, dict):
            return None
        host = server.get("server")
        port = server.get("port")
        if not isinstance(host, str) or not host or type(port) is not int:
            return None
        if not 0 < port < 65536:
            return None
        severity = server.get("severity")
        if type(severity) is not int:
            severity = 6
        transport = document.get("transport")
        if transport not in TRANSPORTS:
            transport = "http"
        tag = document.get("tag")
        app = tag if isinstance(tag, str) and tag else event_lines.DEFAULT_APP
        return transport, host, port, severity, app

    # -- queueing (called by the call log) ----------------------------------
    def _context(self, event, info):
        context = {}
        if event == "incoming_call":
            self._apartment = str(info.get("forward_number", ""))
            self._last_target = None
        context["apartment"] = self._apartment
        if event in ("outgoing_call", "access_granted_by_call_host"):
            context["sip_host"] = self._sip_host()
        if event == "outgoing_call":
            target = event_lines.target_text(info.get("destination"), context["sip_host"])
            self._last_target = target
        context["last_target"] = self._last_target
        if event in ("access_granted_by_personal_code", "access_denied"):
            context["code"] = self._identifier_number(info)
        return context

    def _sip_host(self):
        account = self._settings.sip_account()
        return event_lines._host_only(account.get("realm") or account.get("proxy") or "")

    def _identifier_number(self, info):
        number = info.get("identifier_number") or info.get("code")
        if number:
            return str(number)
        uid = info.get("identifier_uid")
        if uid is not None and self._identifiers is not None:
            item = self._identifiers.get(uid)
            if item is not None:
                return str(item.get("identifier_number", ""))
        return ""

    def prepare(self, event, info, timestamp_ms):
        """The store changes that queue `event`'s line (with the overflow's
        drops), and the state to commit once they are durable; None when the
        event has no line or sending is off."""
        context = self._context(event, info or {})
        found = event_lines.message(event, info, context)
        if found is None:
            return None
        target = self.target()
        if target is None:
            return None
        level, text = found
        if level > target[3]:
            self.counters["filtered"] += 1
            return None
        return self._changes(level, timestamp_ms, text)

    def _ensure(self):
        if self._next is None:
            last = 0
            for key in self._store.keys(_PREFIX, _STOP, reverse=True):
                last = int(key[len(_PREFIX) :])
                break
            self._next = last + 1

    def _stats(self):
        raw = self._store.get(_STATS)
        return json.loads(raw) if raw is not None else {"dropped": 0, "unreported": 0}

    def _changes(self, level, timestamp_ms, text):
        self._ensure()
        sequence = self._next
        record = ("%d %d %s" % (level, timestamp_ms, text)).encode()
        changes = [(_key(sequence), record)]
        excess = self._store.count(_PREFIX, _STOP) + 1 - self._capacity
        dropped = 0
        if excess > 0:
            for key in self._store.keys(_PREFIX, _STOP):
                changes.append((key, None))
                dropped += 1
                if dropped >= excess:
                    break
        if dropped:
            stats = self._stats()
            stats["dropped"] += dropped
            stats["unreported"] += dropped
            changes.append((_STATS, json.dumps(stats).encode()))
        return changes, sequence + 1

    def commit(self, state):
        """The prepared changes are durable: take their state."""
        self._next = state
        self.counters["queued"] += 1
        if self.on_queued is not None:
            self.on_queued()

    # -- sending (called by drivers.event_sender) ---------------------------
    def oldest(self):
        """(key, level, unix ms, MESSAGE) of the oldest queued line, or None."""
        for key, value in self._store.scan(_PREFIX, _STOP):
            text = value.decode()
            level, _, rest = text.partition(" ")
            milliseconds, _, message = rest.partition(" ")
            return key, int(level), int(milliseconds), message
        return None

    def acknowledge(self, key):
        """The server took the line under `key`: it leaves the queue for good."""
        self._store.delete(key)
        self.counters["sent"] += 1

    def unreported_drops(self):
        return self._stats()["unreported"]

    def drops_reported(self, count):
        """An events_dropped line saying `count` was acknowledged."""
        stats = self._stats()
        stats["unreported"] = max(stats["unreported"] - count, 0)
        self._store.put(_STATS, json.dumps(stats).encode())
        self.counters["sent"] += 1

    def failed(self, reason):
        self.counters["failed"] += 1
        self.last_error = reason

    # -- status ---------------------------------------------------------------
    def queued(self):
        return self._store.count(_PREFIX, _STOP)

    def status(self):
        """GET /api/v1/syslog/status [CHOICE]: the queue and its counters."""
        stats = self._stats()
        return {
            "enabled": self.target() is not None,
            "queued": self.queued(),
            "capacity": self._capacity,
            "events_dropped": stats["dropped"],
            "events_dropped_unreported": stats["unreported"],
            "sent": self.counters["sent"],
            "failed": self.counters["failed"],
            "last_error": self.last_error,
        }
