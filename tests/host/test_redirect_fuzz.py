"""Fuzzed bodies and query strings never give a 5xx (redirectrules-api.md 3, 4).

Through the real app (panel.wiring.build_panel) and the real store, with
microdot's TestClient. Every error answer must have the section 4 shape;
failed writes must leave the store as it was.
"""

import asyncio
import json
import tempfile
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from microdot.test_client import TestClient

from panel.store import Store
from panel.wiring import BoardParts, build_panel

BASE = "/rest/v1/uc/redirectrules"
AUTH = {"Authorization": "Basic YWRtaW46MTIzNDU2"}
FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


class _Clock:
    """A clock that advances 1.01 s on every reading."""

    def __init__(self):
        self.value = 1741072325.31

    def now(self):
        self.value += 1.01
        return self.value


def _build():
    store = Store(tempfile.mkdtemp(prefix="redirect-fuzz-"))
    store.open()
    board = {"limits": {"redirect_rules": 64}}
    panel = build_panel(board, BoardParts(store=store, clock=_Clock()))
    return store, TestClient(panel.app)


STORE, CLIENT = _build()


def _request(method, path, body=None, content_type="application/json"):
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return asyncio.run(CLIENT.request(method, path, headers=headers, body=body))


def _check_answer(response):
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        document = json.loads(response.body)
        assert document["error_code"] == 1000 + response.status_code
        assert isinstance(document["error_message"], str)
    elif response.status_code != 204:
        json.loads(response.body)


def _snapshot():
    return list(STORE.scan("r", "s"))


def _seed_rule():
    response = _request(
        "POST",
        BASE,
        json.dumps(
            {
                "type": "busy",
                "filter_number": "1XX",
                "tran_number": "9XX",
                "schedule": "custom",
                "periods": [{"daystart": 1, "timestart": 0, "daystop": 2, "timestop": 0}],
            }
        ),
    )
    assert response.status_code in (200, 507)
    return (
        response.json["id"]
        if response.status_code == 200
        else json.loads(STORE.scan("r:", "r;").__next__()[1])["id"]
    )


SEED_ID = _seed_rule()

FIELD_NAMES = [
    "id",
    "type",
    "filter_number",
    "filter_fromnumber",
    "tran_number",
    "priority",
    "enabled",
    "schedule",
    "periods",
    "opts",
    "ext",
    "title",
    "comment",
    "daystart",
    "timestart",
    "daystop",
    "timestop",
    "colour",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "busy",
            "absolute",
            "custom",
            "work",
            "1XX",
            "9XX",
            "",
            "sip:1@10.0.0.1",
            "laskomex:2",
            "[1-",
            "*",
            SEED_ID,
            SEED_ID.upper(),
            "asc",
            "desc",
            "match",
        ]
    ),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=5),
    ),
    max_leaves=12,
)
bodies = st.one_of(
    values.map(json.dumps),
    st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=8).map(json.dumps),
    st.binary(max_size=64),
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


plausible_periods = st.lists(
    st.fixed_dictionaries(
        {
            "daystart": st.integers(min_value=1, max_value=8),
            "timestart": st.integers(min_value=0, max_value=1441),
            "daystop": st.integers(min_value=1, max_value=7),
            "timestop": st.sampled_from([0, 60, 1080, 1440]),
        }
    ),
    min_size=1,
    max_size=3,
)
# Bodies made of mostly valid values: they reach the value checks and succeed often.
plausible = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["busy", "noanswer", "absolute", "unregistered", "busy "]),
        "filter_number": st.sampled_from(["1XX", "112", "*", "2[0-4]X", "9.", "[9-1]"]),
        "filter_fromnumber": st.sampled_from(["", "*", "55X", "x"]),
        "tran_number": st.sampled_from(["900", "9XX", "sip:1@10.0.0.1", "vizit:3", "sip:"]),
        "priority": st.integers(min_value=0, max_value=65536),
        "enabled": st.sampled_from([0, 1, True, False, 2]),
        "schedule": st.sampled_from(["all", "work", "non-work", "custom"]),
        "periods": plausible_periods,
        "opts": st.fixed_dictionaries(
            {}, optional={"title": st.text(max_size=20), "comment": st.text(max_size=20)}
        ),
    },
).map(json.dumps)


@st.composite
def mutated_bodies(draw):
    """A valid body with a few characters inserted, removed or replaced."""
    text = json.dumps(
        {
            "type": "noanswer",
            "filter_number": "1XX",
            "tran_number": "900",
            "priority": 7,
            "periods": [{"daystart": 1, "timestart": 0, "daystop": 1, "timestop": 60}],
            "opts": {"title": "t"},
        }
    )
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(text)))
        choice = draw(st.sampled_from(["insert", "delete", "replace"]))
        character = draw(st.sampled_from(list('{}[]",:0123456789 xe-.\\') + ["\u00e9"]))
        if choice == "insert":
            text = text[:position] + character + text[position:]
        elif choice == "delete":
            text = text[:position] + text[position + 1 :]
        else:
            text = text[:position] + character + text[position + 1 :]
    return text.encode()


@FUZZ
@given(
    st.one_of(bodies, mutated_bodies(), plausible),
    st.sampled_from(["POST", "PATCH", "LOOKUP"]),
    st.sampled_from(
        [
            "application/json",
            None,
            "application/json; charset=utf-8",
            "text/plain",
            "application/jsonx",
            "",
        ]
    ),
)
def test_fuzzed_bodies_never_give_a_server_error(body, method, content_type):
    _write_and_check(body, method, content_type)


def _write_and_check(body, method, content_type):
    """One write request; the answer's shape and the store afterwards."""
    before = _snapshot()
    path = BASE + "/" + SEED_ID if method == "PATCH" else BASE
    response = _request(method, path, body, content_type)
    _check_answer(response)
    if response.status_code >= 400:
        assert _snapshot() == before  # nothing stored on failure
    elif method == "PATCH":
        stored = json.loads(STORE.get("r:" + SEED_ID))
        assert response.json == stored  # the answer is what is stored
        previous = json.loads(dict(before)["r:" + SEED_ID])
        changed = any(stored[key] != previous[key] for key in stored if key != "ext")
        # lwt moves exactly when a value changed (the clock ticks every call).
        assert (stored["ext"]["lwt"] != previous["ext"]["lwt"]) == changed
        assert stored["ext"]["ct"] == previous["ext"]["ct"]
    elif method == "POST":
        # Keep the store small: remove what the fuzzer managed to create.
        assert _request("DELETE", BASE + "/" + response.json["id"], None, None).status_code == 204


filter_keys = st.sampled_from(
    [
        "id",
        "type",
        "filter_number",
        "filter_fromnumber",
        "priority",
        "enabled",
        "schedule",
        "opts.title",
        "ext.ct",
        "periods",
        "x",
    ]
)
operators = st.sampled_from(["ne", "lt", "le", "gt", "ge", "match", "eq", "in"])
filter_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(operators, scalars, min_size=1, max_size=2),
)
filters = st.one_of(
    st.dictionaries(filter_keys, filter_values, max_size=3).map(json.dumps),
    st.text(max_size=20),
    values.map(json.dumps),
)
orders = st.one_of(
    st.lists(
        st.one_of(
            filter_keys,
            st.dictionaries(
                filter_keys, st.sampled_from(["asc", "desc", "up", 1]), min_size=1, max_size=2
            ),
        ),
        max_size=3,
    ).map(json.dumps),
    filter_keys,
    st.text(max_size=10),
)
counts = st.one_of(st.integers(min_value=-3, max_value=10**12).map(str), st.text(max_size=5))
masks = st.lists(
    st.sampled_from(FIELD_NAMES + ["opts.title", "ext.lwt", " id ", ""]), max_size=5
).map(",".join)
flats = st.sampled_from(["true", "false", "1", "0", "", "yes", "TRUE"])


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["filter", "mask", "offset", "limit", "order", "flat", "other"]),
        st.one_of(filters, orders, counts, masks, flats),
        max_size=6,
    ),
    st.booleans(),
)
def test_fuzzed_query_strings_never_give_a_server_error(arguments, one_rule):
    query = "&".join("%s=%s" % (name, quote(arguments[name], safe="")) for name in arguments)
    path = (BASE + "/" + SEED_ID if one_rule else BASE) + "?" + query
    _check_answer(_request("GET", path, None, None))


@FUZZ
@given(plausible, st.sampled_from(["POST", "PATCH", "PATCH"]))
def test_plausible_writes_answer_what_is_stored(body, method):
    _write_and_check(body.encode(), method, "application/json")
