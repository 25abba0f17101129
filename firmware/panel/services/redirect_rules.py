# Redirect rules (redirectrules-api.md sections 2, 3 and 5.1): the one owner of
# their storage layout, their index upkeep and their limit. The HTTP routes
# (panel.api.redirectrules) and the call engine (the candidates of a called
# number) both go through RedirectRules; neither knows a store key.
#
# Storage: one rule per key r:<id> as compact JSON; nothing keeps rules in RAM
# between calls. A rule too big for one store value (a legal rule reaches about
# 9 KB) is split: the first part under r:<id> with a "~<parts>~" header, the
# others under r~<id>.<n>, outside the r: range that lists and counts scan.
# Each write also writes the rule's routing record (services.redirect_index)
# in the same atomic store batch, and is durable (the store fsyncs) on return.
#
# Interface (rule ids are the text of a URL or a body: normalized here, a
# malformed one is "not found"; RuleError carries the contract's status):
#   RedirectRules(store, clock, limit=DEFAULT_RULE_LIMIT)
#   .limit                          the most rules stored (limits.redirect_rules)
#   .ensure_index() -> bool         rebuild the index once at boot if needed
#   .count() -> int
#   .create(document) -> rule       RuleError 400 / 409 / 507
#   .exists(rule_id) -> bool
#   .get(rule_id) -> rule           RuleError 404
#   .patch(rule_id, document) -> rule   RuleError 404 / 400 / 507
#   .delete(rule_id) -> None        RuleError 404
#   .select(query) -> [id, ...]     one page of a list (core.redirects.ListQuery)
#   .read_many(rule_ids) -> iterator of rules, re-read one by one
#   .lookup(key) -> [id, ...]       LOOKUP (3.8) in default order, [] for none
#   .candidates(called_number) -> iterator of routing records (call engine)
#   .iter_rules() -> iterator of every rule, in id order
import json

from panel import compat
from panel.core import redirects
from panel.core.redirects import RuleError
from panel.core.search import count_before
from panel.services import redirect_index
from panel.store import MAX_VALUE_BYTES, StoreFull

# Default of limits.redirect_rules when the board does not say (spec 3.1);
# the app's table of limits reads it from here.
DEFAULT_RULE_LIMIT = 1024

_KEY_PREFIX = "r:"
_KEY_STOP = "r;"  # the character after ":": a scan of every r:<id> key
# Further parts of a rule too big for one store value (see _records).
_PART_PREFIX = "r~"
# The store's value limit (panel.store.MAX_VALUE_BYTES) and the part size that
# leaves room for the "~<parts>~" header of the first part.
_VALUE_MAX = MAX_VALUE_BYTES
_PART_BYTES = MAX_VALUE_BYTES - 8
# Worst case of a checked rule is about 9 KB: 5 parts of 2 KB; 8 bounds it.
_MAX_PARTS = 8

_MSG_NOT_FOUND = "Not found"
_MSG_FULL = "Rule storage full"


def _key(rule_id):
    return _KEY_PREFIX + rule_id


def _part_key(rule_id, index):
    return "%s%s.%d" % (_PART_PREFIX, rule_id, index)


def _part_count(raw):
    """Number of store values a rule record spans (1 unless split)."""
    if raw[:1] != b"~":
        return 1
    return int(raw[1 : raw.index(b"~", 1)])


def _records(rule):
    """The store values of a rule: its JSON, split when over one value."""
    data = redirects.encode(rule).encode()
    if len(data) <= _VALUE_MAX:
        return [data]
    pieces = [data[start : start + _PART_BYTES] for start in range(0, len(data), _PART_BYTES)]
    if len(pieces) > _MAX_PARTS:
        raise RuleError(500, "Internal error")  # cannot happen for a checked rule
    pieces[0] = ("~%d~" % len(pieces)).encode() + pieces[0]
    return pieces


def _insert_bounded(selected, entry, capacity):
    """Insert into a sorted list, keeping at most `capacity` smallest entries."""
    low = count_before(len(selected), lambda middle: selected[middle] < entry)
    if capacity is not None and low >= capacity:
        return
    selected.insert(low, entry)
    if capacity is not None and len(selected) > capacity:
        selected.pop()


class RedirectRules:
    """The redirect rules over the store; see the module comment."""

    def __init__(self, store, clock, limit=DEFAULT_RULE_LIMIT):
        self._store = store
        self._clock = clock
        self.limit = limit

    # -- boot ----------------------------------------------------------------
    def ensure_index(self):
        """Rebuild the routing index once if it is missing or of another
        format (a store of older firmware); True when it was rebuilt."""
        return redirect_index.ensure(self._store, self.iter_rules)

    # -- reading -------------------------------------------------------------
    def count(self):
        return self._store.count(_KEY_PREFIX, _KEY_STOP)

    def iter_rules(self):
        """Every stored rule (dict), in key (id) order, one at a time."""
        for key, raw in self._store.scan(_KEY_PREFIX, _KEY_STOP):
            yield self._decode(key[len(_KEY_PREFIX) :], raw)

    def exists(self, rule_id_text):
        rule_id = redirects.normalize_id(rule_id_text)
        return rule_id is not None and self._store.get(_key(rule_id)) is not None

    def get(self, rule_id_text):
        """The stored rule; RuleError 404 when unknown or malformed."""
        rule, _ = self._load(rule_id_text)
        return rule

    def read_many(self, rule_ids):
        """The rules of normalized ids, re-read one at a time; a rule deleted
        since its id was selected is left out."""
        for rule_id in rule_ids:
            raw = self._store.get(_key(rule_id))
            if raw is not None:
                yield self._decode(rule_id, raw)

    def candidates(self, called_number):
        """The routing records of the rules that may apply to called_number
        (those whose filter_number matches it), from the index: what
        core.routing.CallRouting.next_step consumes, without reading every rule."""
        return redirect_index.candidates(self._store, called_number)

    def select(self, query):
        """Ids of one list page (core.redirects.ListQuery: filter, order,
        offset, limit), in the query's order."""
        store = self._store
        if query.limit == 0:
            return []
        if not query.conditions and not query.order and redirect_index.is_current(store):
            # The default order without a filter: the page's ids straight from
            # the index's o: keys, nothing decoded.
            return redirect_index.ordered_ids(store, query.offset, query.limit)
        capacity = None if query.limit is None else query.offset + query.limit
        selected = []
        for rule in self._selection_source(query):
            if query.matches(rule):
                # The sort key ends with the id: unique, and it names the rule.
                _insert_bounded(selected, query.sort_key(rule), capacity)
        rule_ids = []
        for index in range(query.offset, len(selected)):
            rule_ids.append(selected[index][-1])
        return rule_ids

    def lookup(self, key):
        """LOOKUP (3.8): ids of the rules whose filter_number is `key` or
        whose id is `key` (any case), in default order; [] when none."""
        found = []
        # LOOKUP reads filter_number and id only: the routing records hold both.
        if redirect_index.is_current(self._store):
            source = redirect_index.records(self._store)
        else:
            source = self.iter_rules()
        for rule in source:
            if redirects.lookup_matches(rule, key):
                _insert_bounded(found, redirects.default_sort_key(rule), None)
        return [entry[-1] for entry in found]

    # -- writing -------------------------------------------------------------
    def create(self, document):
        """Check and store a new rule (document: the parsed POST body);
        returns the stored entity. RuleError: 400 (checks), 409 (id taken),
        507 (limit or flash full)."""
        store = self._store
        rule = redirects.create_rule(document, compat.urandom(16), self._now())
        if store.get(_key(rule["id"])) is not None:
            if "id" in document:
                raise RuleError(
                    409, "Identifier already exists", {"field": "id", "reason": "duplicate"}
                )
            # A generated id that collides (2**-128): draw again once.
            rule["id"] = redirects.format_id(compat.urandom(16))
            if store.get(_key(rule["id"])) is not None:
                raise RuleError(500, "Internal error")
        if self.count() >= self.limit:
            raise RuleError(507, _MSG_FULL, {"limit": self.limit})
        self._write(rule)
        return rule

    def patch(self, rule_id_text, document):
        """Apply a PATCH body (3.6); returns the entity as stored. Nothing is
        written when nothing changes. RuleError: 404, 400 (checks), 507."""
        stored, parts = self._load(rule_id_text)
        rule, changed = redirects.patch_rule(stored, document, self._now())
        if changed:
            self._write(rule, parts, stored)
        return rule

    def delete(self, rule_id_text):
        """Delete a rule, its parts and its routing record; RuleError 404."""
        rule_id = redirects.normalize_id(rule_id_text)
        raw = None if rule_id is None else self._store.get(_key(rule_id))
        if raw is None:
            raise RuleError(404, _MSG_NOT_FOUND)
        changes = [(_key(rule_id), None)]
        for index in range(1, _part_count(raw)):
            changes.append((_part_key(rule_id, index), None))
        changes.extend(redirect_index.record_changes(self._store, None, self._decode(rule_id, raw)))
        self._store.write_batch(changes)

    # -- inside ----------------------------------------------------------------
    def _now(self):
        # Rules created while the clock is unset get the epoch as their time:
        # they still sort, and a later edit gives them a real lwt.
        now = self._clock.now()
        return 0 if now is None else now

    def _decode(self, rule_id, raw):
        """The rule dict of a main record, its parts fetched when it was split."""
        if raw[:1] != b"~":
            return json.loads(raw)
        end = raw.index(b"~", 1)
        pieces = [raw[end + 1 :]]
        for index in range(1, int(raw[1:end])):
            pieces.append(self._store.get(_part_key(rule_id, index)) or b"")
        return json.loads(b"".join(pieces))

    def _load(self, rule_id_text):
        """(rule, parts) of an existing rule, or RuleError 404."""
        rule_id = redirects.normalize_id(rule_id_text)
        if rule_id is None:
            raise RuleError(404, _MSG_NOT_FOUND)
        raw = self._store.get(_key(rule_id))
        if raw is None:
            raise RuleError(404, _MSG_NOT_FOUND)
        return self._decode(rule_id, raw), _part_count(raw)

    def _selection_source(self, query):
        """What a list selects from: the small routing records (redirect_index)
        when every filter and order field is one they hold, else the full
        rules. The page itself is always re-read from the full rules."""
        fields = redirect_index.ROUTING_FIELDS
        for condition in query.conditions:
            if condition[0] not in fields:
                return self.iter_rules()
        for field, _ in query.order:
            if field not in fields:
                return self.iter_rules()
        if not redirect_index.is_current(self._store):
            return self.iter_rules()
        return redirect_index.records(self._store)

    def _write(self, rule, old_parts=0, old_rule=None):
        """Store a rule durably with its routing record, in one atomic batch.

        old_rule: the rule as stored before (PATCH), so that its index key is
        deleted in the same batch when filter_number moved it.
        """
        pieces = _records(rule)
        rule_id = rule["id"]
        changes = [(_key(rule_id), pieces[0])]
        for index in range(1, len(pieces)):
            changes.append((_part_key(rule_id, index), pieces[index]))
        for index in range(len(pieces), old_parts):
            changes.append((_part_key(rule_id, index), None))
        changes.extend(redirect_index.record_changes(self._store, rule, old_rule))
        try:
            self._store.write_batch(changes)
        except StoreFull:
            # The flash itself is full before the rule limit was reached:
            # nothing was stored (the store's promise), so 507.
            raise RuleError(507, _MSG_FULL)
