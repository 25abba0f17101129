# Panel settings: small JSON documents kept in the store under "s:<name>".
#
# Every GET of the BAS-IP API answers with every field from the first boot on
# (spec section 8, [COMPAT]), so each document is read through its defaults:
# stored fields override, missing ones come from the defaults passed in.
import json

_PREFIX = "s:"


class Settings:
    def __init__(self, store):
        self._store = store

    def get(self, name, defaults=None):
        raw = self._store.get(_PREFIX + name)
        merged = {}
        if defaults:
            for key in defaults:
                merged[key] = defaults[key]
        if raw is not None:
            stored = json.loads(raw)
            for key in stored:
                merged[key] = stored[key]
        return merged

    def put(self, name, document):
        # Durable on return: the store fsyncs before put() returns.
        self._store.put(_PREFIX + name, json.dumps(document).encode())

    def delete(self, name):
        return self._store.delete(_PREFIX + name)
