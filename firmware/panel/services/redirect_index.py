# Redirect-rule index: a call's candidate rules without reading every rule.
#
# The rules themselves live under r:<id> (panel.services.redirect_rules), up to a
# few KB each with their opts. Routing needs only ten fields of them, and for
# one called number only the rules whose filter_number can match it. This
# module keeps, in the same store, one small routing record per rule under a
# key that says which called numbers it can match:
#
#   x:<literal>:<id>   filter_number made of literal characters only, once
#                      compiled (`112`, `+15551`, `[1]12`, `[]9`): matches the
#                      one number <literal>. The common "personal" rule. A
#                      call reads exactly the keys x:<called>:* (prefix scan).
#   w:<LLL>:<id>       fixed-length wildcard patterns (`1XX`, `2?[0-4]`): all
#                      match numbers of exactly LLL characters (three digits).
#                      A call reads w:<len(called)>:*.
#   v:<id>             variable-length patterns (with `*` or `.`): a call
#                      reads all of them (an installer has a few dozen).
#   o:<PPPPP>:<ct>:<id>  one empty value per rule, in the default list order
#                      (priority zero-padded, ext.ct digits only, id): a list
#                      page without filter or order reads only the keys of the
#                      page (ordered_ids) instead of every rule.
#   x!index            b"1": the index is complete and in this format.
#
# Why split the wildcard patterns by length (w:) from the variable ones (v:):
# a call then decodes only the masks of its own length plus the variable
# ones. Measured under MicroPython (bench_scale.py data: 976 personal rules,
# 48 masks, 4-digit numbers): all candidates of a number 1.92 ms this way,
# against 2.08 ms for the masks alone with every mask in one bucket. A small
# gain at 48 masks, growing with the number of fixed-length masks; the cost
# is one more, usually short, scan.
#
# Consistency: the API writes a rule and its routing record in ONE
# store.write_batch (record_changes() gives the index part), and a PATCH that
# moves the rule to another key deletes the old key in the same batch, so a
# power cut never leaves rule and index out of step. DELETE removes both in one
# batch. A factory reset clears the store (index and version key included);
# the first rule written afterwards writes the version key with itself
# (an empty index of an empty rule set is complete). ensure(store, all_rules),
# called once at boot (RedirectRules.ensure_index), rebuilds the index from the rules
# when the version key is absent or different (a store written by firmware
# without this index, or a future format change); the version key is written
# last, so a power cut during a rebuild makes the next boot rebuild again.
#
# Record (value) format: the compact JSON array
#   [id, type, filter_number, filter_fromnumber, tran_number, priority,
#    enabled, schedule, ext.ct, [daystart, timestart, daystop, timestop, ...]]
# about 120 bytes for a personal rule (a dict would be twice that: more
# partitions, more store RAM). records are turned back into the rule-shaped
# dicts core.routing reads: rule["id"], ["type"], ["filter_number"],
# ["filter_fromnumber"], ["tran_number"], ["priority"], ["enabled"],
# ["schedule"], ["periods"] (list of period dicts), ["ext"]["ct"].
#
# Interface:
#   candidates(store, called_number) -> iterator of routing records (dicts)
#       for CallRouting.next_step(rules, outcome): every rule whose
#       filter_number matches called_number, and no other.
#   records(store) -> iterator of every routing record (any order).
#   ordered_ids(store, offset, limit) -> ids of a default-ordered list page.
#   record_changes(store, rule, old_rule=None) -> list of (key, value|None)
#       to append to the batch that writes `rule` (None: deletes old_rule).
#   ensure(store, all_rules) -> True when the index was rebuilt (all_rules:
#       a callable giving every full rule, called only for a rebuild).
#
# This module knows the index keys only; the rules' own keys and the module
# that writes them (panel.services.redirect_rules) are never imported here,
# which is why ensure() is handed the rules instead of reading them.
#   rebuild(store, rules) -> number of rules indexed (rules: any iterable).
#   ROUTING_FIELDS: the query fields a record answers like the full rule.
import json

from panel.compat import const
from panel.core import numbers, redirects
from panel.store import MAX_KEY_BYTES

_EXACT = "x:"
_EXACT_STOP = "x;"
_FIXED = "w:"
_FIXED_STOP = "w;"
_VARIABLE = "v:"
_VARIABLE_STOP = "v;"
_ORDER = "o:"
_ORDER_STOP = "o;"
# Every index bucket, for records() (the routing ones) and rebuilds (all).
_ROUTING_BUCKETS = ((_EXACT, _EXACT_STOP), (_FIXED, _FIXED_STOP), (_VARIABLE, _VARIABLE_STOP))
_ALL_BUCKETS = _ROUTING_BUCKETS + ((_ORDER, _ORDER_STOP),)
VERSION_KEY = "x!index"
# The index format; another value (or none) means "rebuild from the rules".
_VERSION = b"1"

# Width of the length field of w: keys: patterns are at most 64 characters
# (redirects._FILTER_NUMBER_MAX), three digits cover any called number up to
# 999 characters; longer called numbers cannot match a stored pattern's
# fixed length anyway.
_LENGTH_DIGITS = const(3)
_LENGTH_MAX = const(999)
# Index keys deleted or written per batch while rebuilding: bounded RAM, and
# well inside the store's MAX_BATCH_CHANGES / MAX_BATCH_BYTES (a record is
# at most about 1 KB: 16 periods of 4 numbers plus 64+64+128 characters of
# patterns and destination).
_REBUILD_BATCH = const(8)

# Query fields (redirects._QUERY_FIELDS) that a routing record holds with the
# same value as the full rule: a list filtered and ordered only by these can
# be selected from the index (see RedirectRules.select).
ROUTING_FIELDS = (
    "id",
    "type",
    "filter_number",
    "filter_fromnumber",
    "tran_number",
    "priority",
    "enabled",
    "schedule",
    "ext.ct",
)


def _literal_of(tokens):
    """The one number a compiled pattern matches, or None if it has wildcards.

    Compiled tokens (numbers.compile_dial_pattern): a non-empty str is the
    set of characters one position may be; None is any one character; ""
    is a star. A set of exactly one character is a literal position.
    """
    for token in tokens:
        if token is None or len(token) != 1:
            return None
    return "".join(tokens)


def index_key(rule):
    """The index key of a rule (see the module comment for the buckets)."""
    rule_id = rule["id"]
    try:
        tokens = numbers.compile_dial_pattern(rule["filter_number"])
    except ValueError:
        # A stored rule was validated; should one not compile, the bucket
        # every call reads keeps it reachable rather than lost.
        return _VARIABLE + rule_id
    literal = _literal_of(tokens)
    if literal is not None:
        key = "%s%s:%s" % (_EXACT, literal, rule_id)
        if len(key) <= MAX_KEY_BYTES:
            return key
        # A literal too long for a key (over ~25 characters): its length
        # bucket still finds it.
    for token in tokens:
        if token == "":
            return _VARIABLE + rule_id
    # len(tokens) <= 64: a stored pattern's length always fits the field.
    return "%s%03d:%s" % (_FIXED, len(tokens), rule_id)


def order_key(rule):
    """The o: key of a rule: byte order of keys = default list order.

    priority is 0..65535 (five digits); ext.ct always has the fixed-width
    form of redirects.format_timestamp, so its digits alone keep its order
    and the key stays within the store's 64 bytes (2+5+1+16+1+36).
    """
    digits = []
    for character in rule["ext"]["ct"]:
        if "0" <= character <= "9":
            digits.append(character)
    return "%s%05d:%s:%s" % (_ORDER, rule["priority"], "".join(digits), rule["id"])


def ordered_ids(store, offset, limit):
    """Ids of the rules of one default-ordered page (no filter), from o: keys."""
    ids = []
    if limit is not None and limit <= 0:
        return ids
    for key in store.keys(_ORDER, _ORDER_STOP, skip=offset):
        ids.append(key[-36:])
        if limit is not None and len(ids) >= limit:
            break
    return ids


def encode_record(rule):
    """The stored routing record of a full rule (bytes)."""
    flat_periods = []
    for period in rule.get("periods", ()):
        flat_periods.append(period["daystart"])
        flat_periods.append(period["timestart"])
        flat_periods.append(period["daystop"])
        flat_periods.append(period["timestop"])
    return redirects.encode(
        [
            rule["id"],
            rule["type"],
            rule["filter_number"],
            rule.get("filter_fromnumber", ""),
            rule["tran_number"],
            rule["priority"],
            rule["enabled"],
            rule["schedule"],
            rule["ext"]["ct"],
            flat_periods,
        ]
    ).encode()


def decode_record(raw):
    """The rule-shaped dict of a stored routing record."""
    fields = json.loads(raw)
    return _record_dict(fields)


def _record_dict(fields):
    flat_periods = fields[9]
    periods = []
    for start in range(0, len(flat_periods) - 3, 4):
        periods.append(
            {
                "daystart": flat_periods[start],
                "timestart": flat_periods[start + 1],
                "daystop": flat_periods[start + 2],
                "timestop": flat_periods[start + 3],
            }
        )
    return {
        "id": fields[0],
        "type": fields[1],
        "filter_number": fields[2],
        "filter_fromnumber": fields[3],
        "tran_number": fields[4],
        "priority": fields[5],
        "enabled": fields[6],
        "schedule": fields[7],
        "periods": periods,
        "ext": {"ct": fields[8]},
    }


def record_changes(store, rule, old_rule=None):
    """Index changes to write in the same batch as `rule` (or its deletion).

    rule: the full rule being stored, or None when old_rule is deleted.
    old_rule: the rule as stored before (PATCH, DELETE), or None (create).
    The version key joins the batch when it is absent (first rule after a
    factory reset): the index of the rules is complete at that point.
    """
    changes = []
    new_key = None
    new_order = None
    if rule is not None:
        new_key = index_key(rule)
        new_order = order_key(rule)
        changes.append((new_key, encode_record(rule)))
    if old_rule is not None:
        old_key = index_key(old_rule)
        if old_key != new_key:
            changes.append((old_key, None))
        old_order = order_key(old_rule)
        if old_order != new_order:
            changes.append((old_order, None))
    if new_order is not None:
        changes.append((new_order, b""))
    if store.get(VERSION_KEY) != _VERSION:
        changes.append((VERSION_KEY, _VERSION))
    return changes


def _scan_records(store, start, stop):
    for _, raw in store.scan(start, stop):
        yield raw


def candidates(store, called_number):
    """Routing records of the rules whose filter_number matches called_number.

    Reads x:<called>:*, w:<len>:* and v:*; a wildcard record is turned into
    a dict only after its pattern matched. Order is not meaningful:
    core.routing orders candidates itself (priority, ext.ct, id).
    """
    prefix = _EXACT + called_number + ":"
    # A number too long for a key (or with characters no pattern has) can
    # only be matched by a wildcard pattern.
    if len(prefix) < MAX_KEY_BYTES:
        for raw in _scan_records(store, prefix, _EXACT + called_number + ";"):
            yield decode_record(raw)
    length = len(called_number)
    if length <= _LENGTH_MAX:
        prefix = "%s%03d" % (_FIXED, length)
        for raw in _scan_records(store, prefix + ":", prefix + ";"):
            fields = json.loads(raw)
            if _pattern_matches(fields[2], called_number):
                yield _record_dict(fields)
    for raw in _scan_records(store, _VARIABLE, _VARIABLE_STOP):
        fields = json.loads(raw)
        if _pattern_matches(fields[2], called_number):
            yield _record_dict(fields)


def _pattern_matches(pattern, number):
    try:
        return numbers.dial_pattern_matches(pattern, number)
    except ValueError:
        return True  # let core.routing decide (it will not match either)


def records(store):
    """Every routing record, bucket by bucket (x:, then w:, then v:)."""
    for start, stop in _ROUTING_BUCKETS:
        for raw in _scan_records(store, start, stop):
            yield decode_record(raw)


def _delete_all(store):
    for start, stop in _ALL_BUCKETS:
        while True:
            keys = []
            for key in store.keys(start, stop):
                keys.append((key, None))
                if len(keys) >= _REBUILD_BATCH:
                    break
            if not keys:
                break
            store.write_batch(keys)


def rebuild(store, rules):
    """Rewrite the whole index from `rules` (full rule dicts), version last."""
    store.delete(VERSION_KEY)
    _delete_all(store)
    batch = []
    count = 0
    for rule in rules:
        batch.append((index_key(rule), encode_record(rule)))
        batch.append((order_key(rule), b""))
        count += 1
        if len(batch) >= _REBUILD_BATCH:
            store.write_batch(batch)
            batch = []
    if batch:
        store.write_batch(batch)
    store.put(VERSION_KEY, _VERSION)
    return count


def is_current(store):
    return store.get(VERSION_KEY) == _VERSION


def ensure(store, all_rules):
    """Rebuild the index once if it is missing or of another format.

    all_rules: a callable returning an iterable of every full rule (the rules'
    owner streams them); called only when a rebuild is needed.
    """
    if is_current(store):
        return False
    rebuild(store, all_rules())
    return True
