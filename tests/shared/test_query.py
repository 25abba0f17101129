# The BAS-IP list machinery (spec basip-api.md 3.9, 3.10): filter grammar and
# limits, the one-condition form, paging, sorting, the list_option object.
from checks import raises
from panel.core import query
from panel.core.body import BodyError
from panel.core.query import FilterError, evaluate, parse_filter

ALL = query.ALL_OPERATORS
EQUALITY = query.EQUALITY_OPERATORS

# The fields of the vendor's filter examples.
PEOPLE = (("name", "string", ALL), ("floor", "integer", ALL), ("building", "integer", ALL))

# The forward list (3.9): apartment_number is a string alias of forward_number.
FORWARD_FIELDS = (("forward_number", "integer", ALL), ("apartment_number", "string", EQUALITY))
FORWARD_ALIASES = {"apartment_number": "forward_number"}

HOLMES = {"name": "Sherlock Holmes", "floor": 2, "building": 221}
WATSON = {"name": "John Watson", "floor": 12, "building": 221}
HUDSON = {"name": "Mrs Hudson", "floor": 1, "building": 220}
LESTRADE = {"name": "Lestrade", "floor": 5, "building": 7}
PEOPLE_ITEMS = (HOLMES, WATSON, HUDSON, LESTRADE)


def _names(text, items=PEOPLE_ITEMS, fields=PEOPLE, aliases=None):
    expression = parse_filter(text, fields, aliases)
    return [item["name"] for item in items if evaluate(expression, item.get)]


def _wrong(text, fields=PEOPLE, aliases=None):
    error = raises(FilterError, parse_filter, text, fields, aliases)
    assert error.text == "Wrong filter expression"
    return error


def test_vendor_examples():
    assert _names("name eq 'Sherlock Holmes'") == ["Sherlock Holmes"]
    assert _names("floor le 10 and floor gt 3") == ["Lestrade"]
    assert _names("not floor le 3") == ["John Watson", "Lestrade"]
    assert _names("(name eq 'Sherlock Holmes' or building eq 221) and floor gt 10") == [
        "John Watson"
    ]


def test_operators():
    assert _names("floor eq 2") == ["Sherlock Holmes"]
    assert _names("floor nq 2") == ["John Watson", "Mrs Hudson", "Lestrade"]
    assert _names("floor gt 5") == ["John Watson"]
    assert _names("floor ge 5") == ["John Watson", "Lestrade"]
    assert _names("floor lt 2") == ["Mrs Hudson"]
    assert _names("floor le 2") == ["Sherlock Holmes", "Mrs Hudson"]
    assert _names("floor gt -1") == ["Sherlock Holmes", "John Watson", "Mrs Hudson", "Lestrade"]
    assert _names("floor eq 002") == ["Sherlock Holmes"]
    # Strings compare by code point, case-sensitively.
    assert _names("name lt 'M'") == ["John Watson", "Lestrade"]
    assert _names("name eq 'sherlock holmes'") == []


def test_precedence_not_and_or():
    # and binds tighter than or: a or (b and c).
    assert _names("floor eq 1 or floor gt 4 and building eq 7") == ["Mrs Hudson", "Lestrade"]
    assert _names("(floor eq 1 or floor gt 4) and building eq 7") == ["Lestrade"]
    # not binds tighter than and: (not a) and b.
    assert _names("not floor eq 2 and building eq 221") == ["John Watson"]
    assert _names("not (floor eq 2 and building eq 221)") == [
        "John Watson",
        "Mrs Hudson",
        "Lestrade",
    ]
    assert _names("not not floor eq 2") == ["Sherlock Holmes"]
    assert _names("not not not floor eq 2") == ["John Watson", "Mrs Hudson", "Lestrade"]
    assert _names("floor eq 1 or floor eq 2 or floor eq 5") == [
        "Sherlock Holmes",
        "Mrs Hudson",
        "Lestrade",
    ]


def test_case_and_whitespace():
    assert _names("floor EQ 2 OR floor Eq 1") == ["Sherlock Holmes", "Mrs Hudson"]
    assert _names("NOT floor Le 3 AND building eQ 221") == ["John Watson"]
    assert _names("\tfloor\n\neq\r2  ") == ["Sherlock Holmes"]
    assert _names("(floor eq 2)or(floor eq 1)") == ["Sherlock Holmes", "Mrs Hudson"]
    assert _names("name eq'Lestrade'") == ["Lestrade"]
    # Field names are exact: [a-z_.]+ and one of the list's fields.
    _wrong("Floor eq 2")
    _wrong("FLOOR eq 2")


def test_quoting():
    items = ({"name": "O'Brien"}, {"name": "it''s"}, {"name": ""}, {"name": "a (b) and c"})
    fields = (("name", "string", ALL),)
    assert _names("name eq 'O''Brien'", items, fields) == ["O'Brien"]
    assert _names("name eq 'it''''s'", items, fields) == ["it''s"]
    assert _names("name eq ''", items, fields) == [""]
    assert _names("name eq 'a (b) and c'", items, fields) == ["a (b) and c"]
    assert _names("name eq '\u0428\u0435\u0440'", ({"name": "\u0428\u0435\u0440"},), fields) == [
        "\u0428\u0435\u0440"
    ]
    _wrong("name eq 'unterminated")
    _wrong("name eq 'a''")
    _wrong('name eq "double"')


def test_integer_fields_convert_quoted_values():
    items = ({"forward_number": 101}, {"forward_number": 102}, {"forward_number": 32000345})

    def numbers(text):
        return [
            item["forward_number"]
            for item in items
            if evaluate(parse_filter(text, FORWARD_FIELDS, FORWARD_ALIASES), item.get)
        ]

    assert numbers("forward_number eq '101'") == [101]
    assert numbers("forward_number gt '101'") == [102, 32000345]
    assert numbers("forward_number eq 32000345") == [32000345]
    # A non-numeric quoted value matches nothing, with every operator.
    for operator in ALL:
        assert numbers("forward_number %s 'abc'" % operator) == []
    assert numbers("forward_number nq ''") == []
    assert numbers("forward_number eq ' 101'") == []
    assert numbers("not forward_number eq 'abc'") == [101, 102, 32000345]
    # The string alias compares the number's text; eq and nq only.
    assert numbers("apartment_number eq '102'") == [102]
    assert numbers("apartment_number eq 102") == [102]
    assert numbers("apartment_number nq '102'") == [101, 32000345]
    assert numbers("apartment_number eq '0102'") == []
    _wrong("apartment_number gt '102'", FORWARD_FIELDS, FORWARD_ALIASES)
    _wrong("apartment_number eq 102", (("forward_number", "integer", ALL),))


def test_item_values_of_other_types():
    expression = parse_filter("floor eq 2", PEOPLE)
    assert evaluate(expression, {"floor": "2"}.get)
    assert not evaluate(expression, {"floor": "two"}.get)
    assert not evaluate(expression, {"floor": None}.get)
    assert not evaluate(expression, {}.get)
    assert not evaluate(expression, {"floor": 2.0}.get)
    assert not evaluate(expression, {"floor": [2]}.get)
    assert not evaluate(parse_filter("floor eq 1", PEOPLE), {"floor": True}.get)
    assert not evaluate(parse_filter("name eq 'x'", PEOPLE), {"name": None}.get)
    assert evaluate(parse_filter("name eq '5'", PEOPLE), {"name": 5}.get)
    assert evaluate(None, {}.get)
    # int64 forward numbers are big integers on MicroPython (31-bit small ints).
    biggest = parse_filter("floor eq 9223372036854775807", PEOPLE)
    assert evaluate(biggest, {"floor": 9223372036854775807}.get)
    assert not evaluate(biggest, {"floor": 9223372036854775806}.get)
    assert evaluate(parse_filter("floor gt 2147483648", PEOPLE), {"floor": 2**40}.get)
    assert evaluate(
        parse_filter("name eq '9223372036854775807'", PEOPLE), {"name": 9223372036854775807}.get
    )
    # item_matcher skips items that are not objects.
    assert query.item_matcher(parse_filter("floor eq 2", PEOPLE))([2]) is False


def test_dotted_fields():
    fields = (
        ("identifier_type", "string", EQUALITY),
        ("identifier_number", "string", EQUALITY),
        ("identifier_owner.name", "string", ALL),
    )
    items = [
        {"identifier_type": "card", "identifier_owner": {"name": "Holmes", "type": "owner"}},
        {"identifier_type": "personal_code", "identifier_owner": {"name": "Watson"}},
        {"identifier_type": "card"},
        {"identifier_type": "card", "identifier_owner": "Holmes"},
    ]
    expression = parse_filter(
        "identifier_owner.name eq 'Holmes' and identifier_type eq 'card'", fields
    )
    matcher = query.item_matcher(expression)
    assert [matcher(item) for item in items] == [True, False, False, False]
    assert query.lookup(items[0], "identifier_owner.type") == "owner"
    assert query.lookup(items[0], "identifier_owner.name.first") is None
    assert query.lookup(items[2], "identifier_owner.name") is None
    assert query.item_matcher(None) is None


def test_grammar_errors():
    for text in (
        "",
        "   ",
        "floor",
        "floor eq",
        "eq 2",
        "floor eq 2 and",
        "floor eq 2 or",
        "and floor eq 2",
        "not",
        "floor eq 2 floor eq 3",
        "floor eq 2 2",
        "floor = 2",
        "floor == 2",
        "floor equal 2",
        "floor eq name",
        "floor eq 2x",
        "floor eq 1-2",
        "floor eq 2.5",
        "floor eq -",
        "floor eq 123456789012345678901",
        "flor eq 2",
        "floor2 eq 2",
        "floor-x eq 2",
        "(floor eq 2",
        "floor eq 2)",
        "((floor eq 2)",
        "()",
        "(floor eq 2))(",
        ")floor eq 2(",
        "floor eq 2 !",
        'floor eq "2"',
        "floor eq `2`",
        "floor eq 2;",
        "nameeq 'x'",
        "floor eq 2 xor floor eq 3",
        "floor\u00a0eq 2",
        "floor eq \u0662",
    ):
        _wrong(text)
    assert _wrong("flor eq 2").reason.startswith("unknown field")
    assert _wrong("floor like 2").reason.startswith("unknown operator")
    error = _wrong("name eq")
    assert isinstance(error, BodyError) and error.status == 400
    raises(FilterError, parse_filter, None, PEOPLE)


def test_operator_must_be_allowed_for_field():
    fields = (("name", "string", EQUALITY), ("floor", "integer", ("eq", "gt")))
    assert _names("name eq 'Lestrade'", fields=fields) == ["Lestrade"]
    assert _names("floor gt 4", fields=fields) == ["John Watson", "Lestrade"]
    for text in ("name gt 'A'", "name le 'A'", "floor lt 4", "floor nq 4"):
        _wrong(text, fields)


def test_token_limit():
    # 64 tokens: 16 comparisons of 3 tokens joined by 15 "or", plus "not".
    sixteen = " or ".join(["floor eq %d" % number for number in [12] + list(range(100, 115))])
    assert len(sixteen.split()) == 63
    assert _names(sixteen) == ["John Watson"]
    assert _names("not " + sixteen) == ["Sherlock Holmes", "Mrs Hudson", "Lestrade"]
    _wrong("not not " + sixteen)
    _wrong("(" + sixteen + ")")
    assert _names("(floor eq 12)") == ["John Watson"]
    _wrong(" or ".join(["floor eq 1"] * 200))
    _wrong("floor eq '" + "x" * 5000 + "'")


def test_nesting_limit():
    eight = "(" * 8 + "floor eq 2" + ")" * 8
    assert _names(eight) == ["Sherlock Holmes"]
    _wrong("(" * 9 + "floor eq 2" + ")" * 9)
    assert _names("not (not (not (not (not (not (not (not floor eq 2)))))))") == ["Sherlock Holmes"]
    assert _names("not (not (not (not (not (not (not floor eq 2))))))") == [
        "John Watson",
        "Mrs Hudson",
        "Lestrade",
    ]
    _wrong("not (" * 9 + "floor eq 2" + ")" * 9)
    assert _names("((floor eq 1) or ((floor eq 2))) and (((building eq 221)))") == [
        "Sherlock Holmes"
    ]


def test_legacy_form():
    def legacy(query_strings):
        return query.parse_legacy_filter(query_strings, PEOPLE)

    assert legacy({}) is None
    assert legacy({"filter_value": "2"}) is None
    expression = legacy(
        {
            "filter_field": "floor",
            "filter_type": "more",
            "filter_format": "integer",
            "filter_value": "4",
        }
    )
    assert [person["name"] for person in PEOPLE_ITEMS if evaluate(expression, person.get)] == [
        "John Watson",
        "Lestrade",
    ]
    expression = legacy({"filter_field": "floor", "filter_type": "less", "filter_value": "2"})
    assert [person["name"] for person in PEOPLE_ITEMS if evaluate(expression, person.get)] == [
        "Mrs Hudson"
    ]
    expression = legacy(
        {
            "filter_field": "name",
            "filter_type": "EQUAL",
            "filter_format": "string",
            "filter_value": "Lestrade",
        }
    )
    assert [person["name"] for person in PEOPLE_ITEMS if evaluate(expression, person.get)] == [
        "Lestrade"
    ]
    expression = legacy({"filter_field": "floor", "filter_value": "abc"})
    assert [person for person in PEOPLE_ITEMS if evaluate(expression, person.get)] == []
    for bad in (
        {"filter_field": "flor", "filter_value": "2"},
        {"filter_field": "floor"},
        {"filter_field": "floor", "filter_type": "between", "filter_value": "2"},
        {"filter_field": "floor", "filter_format": "float", "filter_value": "2"},
        {"filter_field": "floor", "filter_format": "integer", "filter_value": "two"},
    ):
        raises(FilterError, legacy, bad)
    raises(
        FilterError,
        query.parse_legacy_filter,
        {"filter_field": "apartment_number", "filter_type": "less", "filter_value": "2"},
        FORWARD_FIELDS,
        FORWARD_ALIASES,
    )
    expression = query.parse_legacy_filter(
        {"filter_field": "apartment_number", "filter_value": "101"}, FORWARD_FIELDS, FORWARD_ALIASES
    )
    assert evaluate(expression, {"forward_number": 101}.get)


def test_filter_from_query():
    def from_query(strings):
        return query.filter_from_query(strings, FORWARD_FIELDS, FORWARD_ALIASES)

    assert from_query({}) is None
    assert from_query({"filter": "  "}) is None
    assert from_query({"filter": ""}) is None
    expression = from_query(
        {"filter": "forward_number ge 102", "filter_field": "forward_number", "filter_value": "1"}
    )
    assert not evaluate(expression, {"forward_number": 101}.get)
    assert evaluate(expression, {"forward_number": 102}.get)
    expression = from_query({"filter_field": "apartment_number", "filter_value": "101"})
    assert evaluate(expression, {"forward_number": 101}.get)
    raises(FilterError, from_query, {"filter": "forward_number eq"})
    raises(FilterError, from_query, {"filter": "\u00a0"})
    raises(
        FilterError,
        from_query,
        {"filter_field": "forward_number", "filter_type": "\u212aess", "filter_value": "1"},
    )
    # Dict form of the field description works too.
    expression = query.filter_from_query({"filter": "floor eq 2"}, {"floor": ("integer", ALL)})
    assert evaluate(expression, {"floor": 2}.get)


def test_page_params():
    cases = (
        ({}, (10, 1)),
        ({"limit": "20", "page_number": "3"}, (20, 3)),
        ({"limit": "100"}, (100, 1)),
        ({"limit": "101"}, (100, 1)),
        ({"limit": "99999999999999999999999"}, (100, 1)),
        ({"limit": "1"}, (1, 1)),
        ({"limit": "0"}, (10, 1)),
        ({"limit": "-5"}, (10, 1)),
        ({"limit": "ten"}, (10, 1)),
        ({"limit": ""}, (10, 1)),
        ({"limit": "2.5"}, (10, 1)),
        ({"limit": " 30 "}, (30, 1)),
        ({"limit": "+30"}, (30, 1)),
        ({"limit": "-99999999999999999999"}, (10, 1)),
        ({"page_number": "0"}, (10, 1)),
        ({"page_number": "-3"}, (10, 1)),
        ({"page_number": "x"}, (10, 1)),
        ({"page_number": "7"}, (10, 7)),
        ({"page_number": "99999999999999999999"}, (10, 1000000)),
        # Only ASCII whitespace is trimmed, the same on both runtimes.
        ({"limit": "\t30\n"}, (30, 1)),
        ({"limit": "30\u00a0"}, (10, 1)),
        ({"limit": "\u0663\u0660"}, (10, 1)),
    )
    for strings, expected in cases:
        assert query.page_params(strings) == expected, strings


def test_sort_params():
    sortable = ("forward_number",)

    def sort(strings):
        return query.sort_params(strings, sortable, "forward_number")

    assert sort({}) == ("forward_number", True)
    assert sort({"order_by": "forward_number desc"}) == ("forward_number", False)
    assert sort({"order_by": "forward_number DESC"}) == ("forward_number", False)
    assert sort({"order_by": "forward_number asc"}) == ("forward_number", True)
    assert sort({"order_by": "forward_number"}) == ("forward_number", True)
    assert sort({"order_by": "desc"}) == ("forward_number", False)
    assert sort({"order_by": "bogus desc"}) == ("forward_number", True)
    assert sort({"order_by": " , "}) == ("forward_number", True)
    assert sort({"order_by": "bogus,forward_number desc"}) == ("forward_number", False)
    assert sort({"sort_field": "forward_number", "sort_type": "desc"}) == ("forward_number", False)
    assert sort({"sort_field": "forward_number", "sort_type": "sideways"}) == (
        "forward_number",
        True,
    )
    assert sort({"sort_type": "desc"}) == ("forward_number", False)
    assert sort({"sort_field": "bogus", "sort_type": "desc"}) == ("forward_number", True)
    assert sort({"order_by": "forward_number desc", "sort_type": "asc"}) == (
        "forward_number",
        False,
    )
    assert sort({"order_by": "forward_number\tDesc"}) == ("forward_number", False)
    assert sort({"order_by": "forward_number\u00a0desc"}) == ("forward_number", True)
    assert sort({"sort_field": "forward_number", "sort_type": " DESC "}) == (
        "forward_number",
        False,
    )

    def log(strings):
        return query.sort_params(strings, ("timestamp", "uid"), "timestamp", False)

    assert log({}) == ("timestamp", False)
    assert log({"order_by": "uid,timestamp asc"}) == ("uid", True)
    assert log({"sort_field": "name"}) == ("timestamp", False)


def test_page_window_streams():
    def numbers():
        for number in range(1, 26):
            yield {"forward_number": number}

    page, total = query.page_window(numbers(), None, 10, 1)
    assert total == 25 and [item["forward_number"] for item in page] == list(range(1, 11))
    page, total = query.page_window(numbers(), None, 10, 3)
    assert total == 25 and [item["forward_number"] for item in page] == [21, 22, 23, 24, 25]
    # Past the end: an empty page, the total still counted.
    assert query.page_window(numbers(), None, 10, 4) == ([], 25)
    assert query.page_window(numbers(), None, 10, 1000000) == ([], 25)
    assert query.page_window(iter(()), None, 10, 1) == ([], 0)
    ends = query.item_matcher(
        parse_filter("forward_number gt 20 or forward_number lt 4", FORWARD_FIELDS, FORWARD_ALIASES)
    )
    # Matches 1, 2, 3, 21 .. 25: the second page of two is [3, 21].
    page, total = query.page_window(numbers(), ends, 2, 2)
    assert total == 8 and [item["forward_number"] for item in page] == [3, 21]
    page, total = query.page_window(range(100), lambda number: number % 2 == 0, 100, 1)
    assert total == 50 and page == list(range(0, 100, 2))


def test_total_pages():
    assert query.total_pages(0, 10) == 1
    assert query.total_pages(1, 10) == 1
    assert query.total_pages(10, 10) == 1
    assert query.total_pages(11, 10) == 2
    assert query.total_pages(12, 10) == 2
    assert query.total_pages(10000, 1) == 10000


def test_list_option_shape():
    # The response example of spec 3.9.
    option = query.list_option(
        12, 10, 1, FORWARD_FIELDS, False, "forward_number", True, ("forward_number",)
    )
    assert option == {
        "pagination": {"total_items": 12, "items_limit": 10, "total_pages": 2, "current_page": 1},
        "filter": {
            "available_filtering": True,
            "is_filtered": False,
            "available_fields": [
                {
                    "field_name": "forward_number",
                    "data_type": "integer",
                    "compare_operators": ["eq", "nq", "gt", "lt", "ge", "le"],
                },
                {
                    "field_name": "apartment_number",
                    "data_type": "string",
                    "compare_operators": ["eq", "nq"],
                },
            ],
        },
        "sort": {"field": "forward_number", "asc": True, "available_fields": ["forward_number"]},
    }
    empty = query.list_option(
        0, 10, 5, FORWARD_FIELDS, True, "forward_number", False, ("forward_number",)
    )
    assert empty["pagination"] == {
        "total_items": 0,
        "items_limit": 10,
        "total_pages": 1,
        "current_page": 5,
    }
    assert empty["filter"]["is_filtered"] is True and empty["sort"]["asc"] is False
    assert query.list_option(3, 10, 1)["filter"] == {
        "available_filtering": False,
        "is_filtered": False,
        "available_fields": [],
    }


def test_field_table_misuse_is_our_bug():
    raises(ValueError, query.field_table, (("x", "float", ALL),))
    raises(ValueError, query.field_table, FORWARD_FIELDS, {"flat": "nowhere"})
    table = query.field_table(FORWARD_FIELDS, FORWARD_ALIASES)
    assert table["apartment_number"] == ("string", ("eq", "nq"), "forward_number")
    assert table["forward_number"][2] == "forward_number"
