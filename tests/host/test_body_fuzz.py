"""Property tests of core/body.py and core/query.py (CPython only, hypothesis).

- parse_json against CPython's json.loads: the same value (type included) for
  generated valid JSON, and an error exactly when json.loads fails on mutated
  and garbage input, except the documented differences (lone surrogates, NaN
  and Infinity, the integer digit limit, the depth limit).
- nothing but JsonError ever escapes parse_json, nothing but BodyError escapes
  parse_object, nothing but FilterError escapes the filter parser.
- the hand-written UTF-8 validator (used on MicroPython) against CPython's
  strict decoder.
- filter expressions generated from the grammar evaluate like the tree they
  were rendered from (precedence, case, whitespace, quoting).
"""

import json
import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from panel.core import body, query
from panel.core.body import BodyError, JsonError, parse_json
from panel.core.query import FilterError

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- helpers ---------------------------------------------------------------


def same(left, right):
    """Equal values of the same JSON types (1 is not 1.0 nor True; -0.0 is
    not 0.0; dict keys in the same order)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    if isinstance(left, float):
        return left == right and math.copysign(1.0, left) == math.copysign(1.0, right)
    return left == right


def depth(value):
    if isinstance(value, dict):
        return 1 + max([depth(item) for item in value.values()] or [0])
    if isinstance(value, list):
        return 1 + max([depth(item) for item in value] or [0])
    return 0


def walk(value):
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def documented_difference(text, value):
    """Why json.loads may accept what parse_json rejects, or None."""
    if depth(value) > body.MAX_DEPTH:
        return "depth"
    for part in walk(value):
        if isinstance(part, str) and any(0xD800 <= ord(character) <= 0xDFFF for character in part):
            return "lone surrogate"
        if (
            isinstance(part, int)
            and not isinstance(part, bool)
            and abs(part) >= 10**body.MAX_INTEGER_DIGITS
        ):
            return "digit limit"
        if (
            isinstance(part, float)
            and (math.isnan(part) or math.isinf(part))
            and ("NaN" in text or "Infinity" in text)
        ):
            return "NaN/Infinity"
    return None


def reference(text):
    """(True, value) or (False, exception) from json.loads."""
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError) as error:
        return False, error


def ours(text):
    try:
        return True, parse_json(text)
    except JsonError as error:
        return False, error


def check_against_reference(text):
    """parse_json(text) agrees with json.loads(text) but for documented differences."""
    accepted, expected = reference(text)
    parsed, actual = ours(text)
    if accepted and parsed:
        assert same(actual, expected), (text, actual, expected)
    elif accepted:
        reason = documented_difference(text, expected)
        assert reason is not None, ("rejected valid JSON", text, actual)
    else:
        assert not parsed, ("accepted invalid JSON", text, actual, expected)
    # The same text as UTF-8 bytes gives the same answer.
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        return
    parsed_bytes, actual_bytes = ours(raw)
    assert parsed_bytes == parsed
    if parsed:
        assert same(actual_bytes, actual)


# --- strategies ------------------------------------------------------------

# Text without lone surrogates (those are a documented difference).
plain_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20) + 1, max_value=10**20 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | plain_text
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(plain_text, children, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def json_texts(draw, values=json_values):
    value = draw(values)
    indent = draw(st.sampled_from([None, 0, 2, "\t", " \r\n"]))
    separators = draw(st.sampled_from([None, (",", ":"), (" , ", " : "), (",\n", ":\t")]))
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), indent=indent, separators=separators)
    padding = draw(st.sampled_from(["", " ", "\n", "\t \r\n"]))
    return padding + text + draw(st.sampled_from(["", " ", "\r\n"]))


# Characters that make mutations interesting for a JSON parser.
MUTATION_ALPHABET = list('{}[]",:.-+eE0123456789 \t\n\r\\/ubfnrtlsaxNIy') + [
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\u00e9",
    "\u20ac",
    "\U0001f600",
    "\ud800",
    "\udc00",
    "\ufeff",
]


@st.composite
def mutated_json(draw):
    text = draw(json_texts())
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]))
        character = draw(st.sampled_from(MUTATION_ALPHABET))
        if action == "insert":
            text = text[:position] + character + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + 1 :]
        elif action == "replace":
            text = text[:position] + character + text[position + 1 :]
        elif action == "truncate":
            text = text[:position]
        else:
            text = text[:position] + text[position : position + 3] + text[position:]
    return text


json_like_text = st.lists(
    st.sampled_from(
        MUTATION_ALPHABET
        + ["true", "false", "null", "\\u00e9", "\\ud83d", "\\ude00", "01", "1e5", "NaN", "Infinity"]
    ),
    max_size=40,
).map("".join)


# --- parse_json ------------------------------------------------------------


@SETTINGS
@given(json_texts())
@example('{"a": 1, "a": 2}')
@example("[-0, -0.0, 0.0, 1E400, 1e-400, 123.456e-7]")
@example('"\\ud83d\\ude00 \\u00e9 \\/ \\b\\f\\n\\r\\t"')
def test_valid_json_gives_json_loads_value(text):
    expected = json.loads(text)
    actual = parse_json(text)
    assert same(actual, expected), (text, actual, expected)
    assert same(parse_json(text.encode("utf-8")), expected)


@SETTINGS
@given(mutated_json())
@example('{"a": }')
@example("[1,]")
@example("01")
@example('"\\ud800"')
@example("NaN")
@example("[" * 40 + "]" * 40)
@example("100000000000000000000")
def test_mutated_json_fails_exactly_when_json_loads_fails(text):
    check_against_reference(text)


@SETTINGS
@given(json_like_text)
def test_json_like_garbage_agrees_with_json_loads(text):
    check_against_reference(text)


@SETTINGS
@given(st.text(max_size=60))
def test_any_text_agrees_with_json_loads(text):
    check_against_reference(text)


@SETTINGS
@given(st.binary(max_size=60))
@example(b'"\xed\xa0\x80"')
@example(b'"\xc0\x80"')
@example(b"\xef\xbb\xbf[]")
def test_any_bytes_only_json_error(raw):
    parsed, actual = ours(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8: rejected (even when json.loads would guess another codec).
        assert not parsed
        return
    accepted, expected = reference(text)
    if parsed:
        assert accepted and same(actual, expected)
    elif accepted:
        assert documented_difference(text, expected) is not None


@SETTINGS
@given(st.binary(max_size=40))
def test_parse_object_only_body_error(raw):
    try:
        result = body.parse_object(raw)
    except BodyError as error:
        assert error.text == "Wrong JSON body"
    else:
        assert isinstance(result, dict)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=64), st.sampled_from(["[", '{"k":']))
def test_depth_limit_is_exact(levels, opener):
    closer = "]" if opener == "[" else "}"
    text = opener * levels + "0" + closer * levels
    parsed, _ = ours(text)
    assert parsed == (levels <= body.MAX_DEPTH)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integer_digit_limit_is_exact(number):
    parsed, value = ours(str(number))
    assert parsed == (abs(number) < 10**body.MAX_INTEGER_DIGITS)
    if parsed:
        assert value == number


# --- UTF-8 validator (the MicroPython path) ---------------------------------


def strict_utf8(raw):
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


utf8_ish = st.lists(
    st.sampled_from(
        [
            b"a",
            b"\x7f",
            b"\x80",
            b"\xbf",
            b"\xc0",
            b"\xc1",
            b"\xc2",
            b"\xdf",
            b"\xe0",
            b"\xe1",
            b"\xec",
            b"\xed",
            b"\xee",
            b"\xef",
            b"\xf0",
            b"\xf1",
            b"\xf3",
            b"\xf4",
            b"\xf5",
            b"\xff",
            b"\x8f",
            b"\x90",
            b"\x9f",
            b"\xa0",
        ]
    ),
    max_size=12,
).map(b"".join)


@SETTINGS
@given(
    st.binary(max_size=30)
    | utf8_ish
    | st.text(max_size=10).map(lambda text: text.encode("utf-8", "surrogatepass"))
)
def test_utf8_validator_matches_cpython(raw):
    assert body.utf8_is_valid(raw) == strict_utf8(raw)


# --- filters ---------------------------------------------------------------

PEOPLE = (
    ("name", "string", query.ALL_OPERATORS),
    ("floor", "integer", query.ALL_OPERATORS),
    ("owner.city", "string", query.EQUALITY_OPERATORS),
)
ITEMS = [
    {"name": "Sherlock Holmes", "floor": 2, "owner": {"city": "London"}},
    {"name": "O'Brien", "floor": -3},
    {"name": "", "floor": 12, "owner": {"city": "Paris"}},
    {"floor": 0},
    {"name": "12"},
    {},
]

FILTER_ALPHABET = list("()' \t\n-_.0123456789aeqnogtlrdAEQNOGTLRD") + [
    "eq",
    "nq",
    "gt",
    "lt",
    "ge",
    "le",
    "and",
    "or",
    "not",
    "NOT",
    "name",
    "floor",
    "owner.city",
    "''",
    "\u00e9",
]


@SETTINGS
@given(st.text(max_size=80))
def test_filter_parser_on_any_text_raises_only_filter_error(text):
    try:
        expression = query.parse_filter(text, PEOPLE)
    except FilterError as error:
        assert error.text == "Wrong filter expression"
        return
    for item in ITEMS:
        assert query.evaluate(expression, lambda name, item=item: query.lookup(item, name)) in (
            True,
            False,
        )


@SETTINGS
@given(st.lists(st.sampled_from(FILTER_ALPHABET), max_size=40).map("".join))
def test_filter_parser_on_token_soup_raises_only_filter_error(text):
    try:
        expression = query.parse_filter(text, PEOPLE)
    except FilterError:
        return
    for item in ITEMS:
        assert query.evaluate(expression, lambda name, item=item: query.lookup(item, name)) in (
            True,
            False,
        )


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "filter",
                "filter_field",
                "filter_type",
                "filter_format",
                "filter_value",
                "limit",
                "page_number",
                "order_by",
                "sort_field",
                "sort_type",
            ]
        ),
        st.text(max_size=20),
    )
)
def test_query_helpers_on_any_strings(strings):
    try:
        query.filter_from_query(strings, PEOPLE)
    except FilterError:
        pass
    limit, page_number = query.page_params(strings)
    assert 1 <= limit <= 100 and page_number >= 1
    field, ascending = query.sort_params(strings, ("name", "floor"), "floor")
    assert field in ("name", "floor") and ascending in (True, False)


# Generated expressions: a tree, rendered to text with the fewest parentheses
# the precedence needs (plus random extra ones), evaluated directly as the oracle.

comparison_values = st.one_of(
    st.integers(min_value=-20, max_value=20).map(lambda number: ("integer", number)),
    st.text(st.sampled_from("ab' 12-"), max_size=4).map(lambda text: ("quoted", text)),
    st.sampled_from(["12", "2", "-3", "007", "x"]).map(lambda text: ("quoted", text)),
)
comparisons = st.tuples(
    st.just("cmp"),
    st.sampled_from(["name", "floor"]),
    st.sampled_from(query.ALL_OPERATORS),
    comparison_values,
)
trees = st.recursive(
    comparisons,
    lambda children: (
        st.tuples(st.just("not"), children)
        | st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3))
    ),
    max_leaves=8,
)
PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4}


def oracle(node, item):
    kind = node[0]
    if kind == "not":
        return not oracle(node[1], item)
    if kind == "and":
        return all(oracle(child, item) for child in node[1])
    if kind == "or":
        return any(oracle(child, item) for child in node[1])
    _, field, operator, (value_kind, value) = node
    actual = item.get(field)
    if field == "floor":
        if value_kind == "quoted":
            digits = value[1:] if value.startswith("-") else value
            if not digits.isdigit():
                return False
            value = int(value)
        if isinstance(actual, str):
            if not actual.lstrip("-").isdigit():
                return False
            actual = int(actual)
        if not isinstance(actual, int):
            return False
    else:
        value = str(value)
        if isinstance(actual, int):
            actual = str(actual)
        if not isinstance(actual, str):
            return False
    return {
        "eq": actual == value,
        "nq": actual != value,
        "gt": actual > value,
        "lt": actual < value,
        "ge": actual >= value,
        "le": actual <= value,
    }[operator]


def render(node, draw, state, nesting=0):
    """Text of node; state counts tokens and the deepest nesting."""
    kind = node[0]
    extra = draw(st.integers(0, 6)) == 0
    if extra:
        nesting += 1
        state["nesting"] = max(state["nesting"], nesting)
        state["tokens"] += 2

    def space():
        return draw(st.sampled_from([" ", "  ", "\t", "\n "]))

    def case(word):
        return draw(st.sampled_from([word, word.upper(), word.capitalize()]))

    def child_text(child, minimum):
        if PRECEDENCE[child[0]] < minimum:
            state["tokens"] += 2
            state["nesting"] = max(state["nesting"], nesting + 1)
            return "(" + render(child, draw, state, nesting + 1) + ")"
        return render(child, draw, state, nesting)

    if kind == "cmp":
        _, field, operator, (value_kind, value) = node
        state["tokens"] += 3
        if value_kind == "integer":
            value_text = str(value)
        else:
            value_text = "'" + value.replace("'", "''") + "'"
        text = field + space() + case(operator) + space() + value_text
    elif kind == "not":
        state["tokens"] += 1
        text = case("not") + space() + child_text(node[1], PRECEDENCE["not"])
    else:
        parts = [child_text(child, PRECEDENCE[kind]) for child in node[1]]
        state["tokens"] += len(parts) - 1
        text = (space() + case(kind) + space()).join(parts)
    return "(" + text + ")" if extra else text


@SETTINGS
@given(trees, st.data())
def test_generated_filters_evaluate_like_their_tree(tree, data):
    state = {"tokens": 0, "nesting": 0}
    text = render(tree, data.draw, state)
    within_limits = state["tokens"] <= 64 and state["nesting"] <= 8
    try:
        expression = query.parse_filter(text, PEOPLE)
    except FilterError as error:
        assert not within_limits, (text, error.reason)
        return
    assert within_limits, text
    for item in ITEMS:
        assert query.evaluate(expression, item.get) == oracle(tree, item), (text, item)


@SETTINGS
@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 12), st.integers(1, 12))
def test_page_window_matches_slicing(numbers, limit, page_number):
    def predicate(number):
        return number % 3 != 0

    matches = [number for number in numbers if predicate(number)]
    page, total = query.page_window(iter(numbers), predicate, limit, page_number)
    assert total == len(matches)
    assert page == matches[(page_number - 1) * limit : page_number * limit]
    option = query.list_option(total, limit, page_number)
    assert option["pagination"]["total_pages"] == max(1, math.ceil(total / limit))
