# Strict JSON bodies and the BAS-IP error texts (spec basip-api.md 1, 1.2),
# on CPython and MicroPython alike. The lax-json traps of MicroPython's own
# json.loads ({"a": }, [1,], 01) must be errors on both runtimes.
from checks import raises
from panel.core import body
from panel.core.body import BodyError, JsonError, parse_json
from panel.core.errors import ApiError


def _rejected(text):
    return raises(JsonError, parse_json, text)


# --- valid JSON gives json.loads' values ---------------------------------


def test_scalars():
    assert parse_json("true") is True
    assert parse_json("false") is False
    assert parse_json("null") is None
    assert parse_json("0") == 0 and isinstance(parse_json("0"), int)
    assert parse_json("-0") == 0 and isinstance(parse_json("-0"), int)
    assert parse_json("-12") == -12
    assert parse_json("2.5") == 2.5 and isinstance(parse_json("2.5"), float)
    assert parse_json("1e3") == 1000.0 and isinstance(parse_json("1e3"), float)
    assert parse_json("1E+2") == 100.0
    assert parse_json("-2.5e-1") == -0.25
    assert parse_json('""') == ""
    assert parse_json('"plain"') == "plain"


def test_numbers_at_the_limits():
    # int64 and uint64 fit in the 20-digit limit; 21 digits do not.
    assert parse_json("9223372036854775807") == 9223372036854775807
    assert parse_json("-9223372036854775808") == -9223372036854775808
    assert parse_json("18446744073709551615") == 18446744073709551615
    assert parse_json("99999999999999999999") == 99999999999999999999
    assert parse_json("-99999999999999999999") == -99999999999999999999
    _rejected("100000000000000000000")
    _rejected("-100000000000000000000")
    _rejected("[" + "1" * 200 + "]")
    # Floats are not digit-limited (no big integer is built); 1e400 is inf as in CPython.
    assert parse_json("1" * 30 + ".5") == float("1" * 30 + ".5")
    assert parse_json("1e400") == float("inf")
    assert parse_json("-1e400") == float("-inf")
    assert parse_json("1e-400") == 0.0


def test_containers_and_whitespace():
    text = ' \t\r\n{ "a" : [ 1 , 2.5 , "x" , true , false , null , { } , [ ] ] ,\n"b":{"c":{}}} \n'
    assert parse_json(text) == {"a": [1, 2.5, "x", True, False, None, {}, []], "b": {"c": {}}}
    assert parse_json("[]") == [] and parse_json("{}") == {}
    assert parse_json("[[[1]], [[2, [3]]]]") == [[[1]], [[2, [3]]]]
    assert parse_json(
        '{"forward_entity_list": ["sip:101@192.168.1.10", "5588", "laskomex:23"]}'
    ) == {"forward_entity_list": ["sip:101@192.168.1.10", "5588", "laskomex:23"]}


def test_duplicate_keys_last_wins():
    assert parse_json('{"a": 1, "b": 2, "a": 3}') == {"a": 3, "b": 2}
    assert parse_json('{"a": {"x": 1}, "a": [2]}') == {"a": [2]}


def test_string_escapes():
    assert parse_json(r'"\" \\ \/ \b \f \n \r \t"') == '" \\ / \b \f \n \r \t'
    assert parse_json(r'"\u0041\u00e9\u00E9\u20ac"') == "A\u00e9\u00e9\u20ac"
    assert parse_json(r'"\u0000"') == "\x00"
    assert parse_json(r'"a\\"') == "a\\"
    assert parse_json(r'"\\\""') == '\\"'
    assert parse_json(r'"x\"y\"z"') == 'x"y"z'
    # A surrogate pair is one character above U+FFFF.
    assert parse_json(r'"\ud83d\ude00"') == "\U0001f600"
    assert parse_json(r'"\uD834\uDD1E!"') == "\U0001d11e!"
    # DEL and non-ASCII characters are plain characters.
    assert parse_json('"\x7f"') == "\x7f"


def test_utf8_text_and_bytes_agree():
    text = '{"name": "Ш\u00e9 \U0001f600", "n": [1]}'
    expected = {"name": "Ш\u00e9 \U0001f600", "n": [1]}
    assert parse_json(text) == expected
    assert parse_json(text.encode("utf-8")) == expected
    assert parse_json(bytearray(text.encode("utf-8"))) == expected
    assert parse_json(memoryview(text.encode("utf-8"))) == expected


def test_not_text_is_our_bug():
    raises(TypeError, parse_json, None)
    raises(TypeError, parse_json, 12)


# --- invalid JSON raises JsonError ---------------------------------------


def test_lax_json_traps_are_errors():
    # What MicroPython's json.loads accepts and must not be accepted here.
    for text in (
        '{"a": }',
        "[1,]",
        "01",
        "-01",
        '{"a": 1,}',
        "[,1]",
        "[1,,2]",
        '{"a" 1}',
        '{"a":1 "b":2}',
        "[1 2]",
        "{,}",
        '{"a"}',
        "00",
        "-",
        "--1",
    ):
        _rejected(text)


def test_bad_numbers():
    for text in (
        "+1",
        ".5",
        "1.",
        "1.e5",
        "1e",
        "1e+",
        "-e5",
        "0x10",
        "1_000",
        "NaN",
        "Infinity",
        "-Infinity",
        "nan",
        "inf",
        "- 1",
        "01.5",
        "1.5.2",
    ):
        _rejected(text)


def test_bad_literals_and_garbage():
    for text in (
        "",
        " ",
        "\n",
        "tru",
        "True",
        "nul",
        "NULL",
        "falsey",
        "[1] x",
        "{} {}",
        "1 2",
        "'a'",
        "[",
        "]",
        "{",
        "}",
        '{"a":[}',
        "[}",
        "{]",
        "\ufeff[]",
        '"abc',
        '["abc]',
        '{"a": "b}',
        "\x00",
        "[1]\x00",
        "\x0c1",
    ):
        _rejected(text)


def test_keys_must_be_strings():
    for text in ("{1: 2}", "{a: 1}", "{'a': 1}", "{null: 1}", '{"a": 1, 2: 3}'):
        _rejected(text)


def test_string_rules():
    for text in (
        '"\x01"',
        '"a\nb"',
        '"\t"',
        '"\x1f"',
        r'"\x41"',
        r'"\a"',
        r'"\u12"',
        r'"\u12G4"',
        r'"\U0041"',
        '"\\',
        '"\\u00',
        r'"\'"',
        r'"\u-123"',
    ):
        _rejected(text)


def test_lone_surrogates_are_rejected():
    # CPython's json.loads accepts these; MicroPython strings cannot hold them.
    for text in (
        r'"\ud800"',
        r'"\udc00"',
        r'"\ud800x"',
        r'"\ud800\u0041"',
        r'"\ud800\ud800"',
        r'"\udfff\ud800"',
        r'"a\ud83d"',
        r'"\ud83d\u"',
    ):
        _rejected(text)


def test_invalid_utf8_is_rejected():
    for raw in (
        b'"\xff"',
        b'"\xc3"',
        b'"\xe2\x82"',
        b'"\x80"',
        b'"\xc0\x80"',
        b'"\xc1\xbf"',
        b'"\xe0\x80\x80"',
        b'"\xed\xa0\x80"',
        b'"\xf4\x90\x80\x80"',
        b'"\xf8\x88\x80\x80\x80"',
        b"\xef\xbb\xbf[]",
        b"[\xc3\xa9]",
        b"\xff",
    ):
        _rejected(raw)
    assert parse_json(b'"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"') == "\u00e9\u20ac\U0001f600"


def test_utf8_validator():
    for raw in (
        b"",
        b"abc",
        b"\xc3\xa9",
        b"\xe2\x82\xac",
        b"\xf0\x9f\x98\x80",
        b"\xf4\x8f\xbf\xbf",
        b"\xed\x9f\xbf",
        b"\xee\x80\x80",
        b"\xc2\x80",
    ):
        assert body.utf8_is_valid(raw), raw
    for raw in (
        b"\x80",
        b"\xc0\x80",
        b"\xc1\xbf",
        b"\xe0\x9f\xbf",
        b"\xed\xa0\x80",
        b"\xed\xbf\xbf",
        b"\xf0\x8f\xbf\xbf",
        b"\xf4\x90\x80\x80",
        b"\xf5\x80\x80\x80",
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        b"\xc3\x28",
        b"\xe2\x28\xa1",
        b"\xf0\x9f\x98",
    ):
        assert not body.utf8_is_valid(raw), raw


def test_depth_limit():
    limit = body.MAX_DEPTH
    assert limit == 32
    deepest = "[" * limit + "]" * limit
    assert parse_json(deepest) is not None
    _rejected("[" * (limit + 1) + "]" * (limit + 1))
    _rejected('{"a":' * (limit + 1) + "1" + "}" * (limit + 1))
    assert parse_json('{"a":' * limit + "1" + "}" * limit) is not None
    # Far deeper than any stack: still a JsonError, never a RecursionError.
    _rejected("[" * 20000)
    _rejected("[" * 5000 + "]" * 5000)
    assert parse_json("[[1]]", max_depth=2) == [[1]]
    raises(JsonError, parse_json, "[[[1]]]", 2)
    raises(JsonError, parse_json, "[]", 0)
    assert parse_json("1", max_depth=0) == 1


def test_error_carries_position():
    error = _rejected('{"a": }')
    assert error.position == 6
    assert isinstance(error, ValueError)


# --- BAS-IP body helpers (spec 1.2) ---------------------------------------


def _text(function, *args):
    return raises(BodyError, function, *args).text


def test_parse_object():
    assert body.parse_object(b'{"a": 1}') == {"a": 1}
    assert body.parse_object('{"a": [1]}') == {"a": [1]}
    for raw in (
        None,
        b"",
        "",
        b"[]",
        b"1",
        b'"x"',
        b"null",
        b"{",
        b'{"a": }',
        b"[1,]",
        b"01",
        b"\xff",
        b"   ",
        b'{"a":1} x',
    ):
        assert _text(body.parse_object, raw) == "Wrong JSON body", raw
    error = raises(BodyError, body.parse_object, b"[]")
    assert error.status == 400 and isinstance(error, ApiError)  # the API's error family


def test_require_texts():
    data = {"n": 5, "flag": True, "s": "x", "l": [], "d": {}, "f": 1.5, "z": None}
    assert body.require(data, "n", "int") == 5
    assert body.require(data, "flag", "bool") is True
    assert body.require(data, "s", "str") == "x"
    assert body.require(data, "l", "list") == []
    assert body.require(data, "d", "dict") == {}
    assert body.require(data, "f", "number") == 1.5
    assert body.require(data, "n", "number") == 5
    assert _text(body.require, data, "missing", "int") == "Wrong JSON body: no value for `missing`"
    wrong = "Wrong JSON body: value `%s` was of the wrong type"
    for name, kind in (
        ("flag", "int"),
        ("f", "int"),
        ("s", "int"),
        ("n", "bool"),
        ("n", "str"),
        ("d", "list"),
        ("l", "dict"),
        ("flag", "number"),
        ("s", "number"),
        ("z", "int"),
        ("z", "str"),
    ):
        assert _text(body.require, data, name, kind) == wrong % name, (name, kind)


def test_optional():
    data = {"n": 5, "s": "x", "z": None}
    assert body.optional(data, "n", "int", 7) == 5
    assert body.optional(data, "other", "int", 7) == 7
    assert body.optional(data, "other", "str") is None
    assert (
        _text(body.optional, data, "s", "int", 7)
        == "Wrong JSON body: value `s` was of the wrong type"
    )
    assert (
        _text(body.optional, data, "z", "str", "")
        == "Wrong JSON body: value `z` was of the wrong type"
    )
    raises(ValueError, body.optional, data, "n", "integer")  # unknown kind: our bug


def test_helpers_on_a_value_that_is_not_an_object():
    # An item of a list handed over unchecked: still the generic 400.
    for value in ([1], "text", 5, None, True):
        assert _text(body.require, value, "forward_number", "int") == "Wrong JSON body"
        assert _text(body.optional, value, "lock", "str", "all") == "Wrong JSON body"


def test_range_texts():
    assert body.range_error("dtmf_code", "This dtmf code is already used for lock 1").text == (
        "Wrong JSON body: value dtmf_code was wrong. (This dtmf code is already used for lock 1)"
    )
    assert body.range_error("forward_entity_list", "At most 8 numbers").text == (
        "Wrong JSON body: value forward_entity_list was wrong. (At most 8 numbers)"
    )
    data = {"dial_timeout": 4, "talk_timeout": 90, "flag": True}
    assert _text(body.int_in_range, data, "dial_timeout", 5, 120) == (
        "Wrong JSON body: value dial_timeout was wrong. (5..120)"
    )
    assert body.int_in_range(data, "talk_timeout", 10, 600) == 90
    assert body.int_in_range(data, "absent", 1, 2, False, 2) == 2
    assert (
        _text(body.int_in_range, data, "absent", 1, 2) == "Wrong JSON body: no value for `absent`"
    )
    assert (
        _text(body.int_in_range, data, "flag", 0, 1)
        == "Wrong JSON body: value `flag` was of the wrong type"
    )
    error = raises(
        BodyError, body.int_in_range, data, "dial_timeout", 5, 120, True, None, "Too short"
    )
    assert error.text == "Wrong JSON body: value dial_timeout was wrong. (Too short)"
    text = {"user": "", "password": "s3cret"}
    assert body.str_in_length(text, "password", 1, 31) == "s3cret"
    assert _text(body.str_in_length, text, "user", 1, 31) == (
        "Wrong JSON body: value user was wrong. (1..31 characters)"
    )
    assert body.str_in_length(text, "user_id", 0, 31, False, "") == ""


def test_parse_positive_int():
    assert body.parse_positive_int("1") == 1
    assert body.parse_positive_int("223") == 223
    assert body.parse_positive_int("32000345") == 32000345
    assert body.parse_positive_int("9223372036854775807") == 9223372036854775807
    assert body.parse_positive_int("0101") == 101
    for text in (
        "",
        "0",
        "000",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.0",
        "1e3",
        "abc",
        "12a",
        "9223372036854775808",
        "99999999999999999999999",
        "\u0661",
        "0x10",
        None,
        5,
    ):
        assert body.parse_positive_int(text) is None, text
