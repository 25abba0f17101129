# The environment a call machine and a call controller ask (the interface in
# panel/calls/environment.py), as a fake the call test files share: the
# configuration is what the test says, the effects are recorded.
TUESDAY_10 = 1 * 1440 + 10 * 60


class Environment:
    def __init__(
        self,
        queues,
        mode="all_at_once",
        rules=(),
        registered=True,
        sip=True,
        adapter=True,
        times=(45, 20, 90),
        minute=TUESDAY_10,
        lock_seconds=5,
        lock_codes=None,
        ring=30,
        personal_codes=None,
        incoming=None,
    ):
        self.queues = queues
        self._mode = mode
        self._rules = list(rules)
        self.registered = registered
        self.sip = sip
        self.adapter = adapter
        self.times = times
        self.ring = ring
        self._minute = minute
        self._lock_seconds = lock_seconds
        self._lock_codes = lock_codes or {1: "1", 2: "2"}
        self._personal_codes = personal_codes or {}
        self.incoming = incoming or {"enabled": False, "allow": [], "answer_after_s": 3}
        self.opened = []  # (lock, event) of every open_lock
        self.logged = []  # (event, info) of every log entry, in order

    # -- configuration ------------------------------------------------------

    def queue(self, number):
        return self.queues.get(number)

    def mode(self):
        return self._mode

    def timeouts(self):
        return self.times

    def ring_timeout(self):
        return self.ring

    def rules(self, called):
        return iter(self._rules)

    def minute_of_week(self):
        return self._minute

    def work_hours(self):
        return None

    def response_map(self):
        return None

    def caller(self):
        return "100001"

    def reachable(self, kind, target):
        if kind == "line":
            return self.adapter
        if not self.sip:
            return False
        return target.startswith("sip:") or self.registered

    def lock_codes(self):
        return self._lock_codes

    def lock_seconds(self, lock):
        return self._lock_seconds

    def incoming_calls(self):
        return self.incoming

    # -- effects --------------------------------------------------------------

    def open_lock(self, lock, seconds, event, info):
        self.opened.append((lock, event))
        return True

    def log(self, event, info):
        self.logged.append((event, info))

    def find_personal_code(self, code):
        return self._personal_codes.get(code)

    def events(self, name):
        """The info of every log entry of event `name`."""
        return [info for event, info in self.logged if event == name]
