# The configuration and reachability a call machine asks about (the interface
# panel.app's real environment has), as a fake both call test files share.
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
    ):
        self.queues = queues
        self._mode = mode
        self._rules = list(rules)
        self.registered = registered
        self.sip = sip
        self.adapter = adapter
        self.times = times
        self._minute = minute
        self._lock_seconds = lock_seconds
        self._lock_codes = lock_codes or {1: "1", 2: "2"}

    def queue(self, number):
        return self.queues.get(number)

    def mode(self):
        return self._mode

    def timeouts(self):
        return self.times

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
