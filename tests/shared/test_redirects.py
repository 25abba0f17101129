# Redirect-rule entity: defaults, checks and the error model (spec 2, 3.6, 4).
from checks import raises
from panel.core import redirects
from panel.core.redirects import RuleError

RANDOM = bytes(range(16))
CT = 1741072325.31  # 2025-03-04T07:12:05.31Z
LATER = 1741075367.9  # 2025-03-04T08:02:47.90Z
R1_ID = "0c9e2f61-77aa-4b5e-a0c3-5d1e8b7f4a20"


def r1_body():
    return {
        "id": R1_ID,
        "type": "absolute",
        "filter_number": "112",
        "filter_fromnumber": "",
        "tran_number": "sip:112@192.168.1.50",
        "priority": 10,
        "enabled": 1,
        "schedule": "custom",
        "periods": [{"daystart": 6, "timestart": 0, "daystop": 7, "timestop": 1440}],
        "opts": {"title": "Flat 112 monitor at weekends", "comment": ""},
    }


def minimal(**extra):
    body = {"type": "busy", "filter_number": "1XX", "tran_number": "9XX"}
    for key in extra:
        body[key] = extra[key]
    return body


def error_of(function, *args):
    error = raises(RuleError, function, *args)
    return error.status, error.message, error.details


def test_create_r1_matches_the_entity_of_2_1():
    rule = redirects.create_rule(r1_body(), RANDOM, CT)
    expected = r1_body()
    expected["ext"] = {"ct": "2025-03-04T07:12:05.31Z", "lwt": "2025-03-04T07:12:05.31Z"}
    assert rule == expected
    assert redirects.encode(rule) == (
        '{"id":"0c9e2f61-77aa-4b5e-a0c3-5d1e8b7f4a20","type":"absolute",'
        '"filter_number":"112","filter_fromnumber":"","tran_number":"sip:112@192.168.1.50",'
        '"priority":10,"enabled":1,"schedule":"custom","periods":[{"daystart":6,'
        '"timestart":0,"daystop":7,"timestop":1440}],"opts":{"title":'
        '"Flat 112 monitor at weekends","comment":""},"ext":{"ct":"2025-03-04T07:12:05.31Z",'
        '"lwt":"2025-03-04T07:12:05.31Z"}}'
    )


def test_create_defaults_and_generated_id():
    rule = redirects.create_rule(minimal(), RANDOM, 0)
    assert rule["id"] == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert rule["filter_fromnumber"] == ""
    assert rule["priority"] == 100
    assert rule["enabled"] == 1
    assert rule["schedule"] == "all"
    assert rule["periods"] == []
    assert rule["opts"] == {"title": "", "comment": ""}
    assert rule["ext"] == {"ct": "1970-01-01T00:00:00.00Z", "lwt": "1970-01-01T00:00:00.00Z"}


def test_enabled_booleans_stored_as_int_and_id_lowercased():
    rule = redirects.create_rule(minimal(enabled=False, id=R1_ID.upper()), RANDOM, 0)
    assert rule["enabled"] == 0 and type(rule["enabled"]) is int
    assert rule["id"] == R1_ID
    assert redirects.create_rule(minimal(enabled=True), RANDOM, 0)["enabled"] == 1


def test_ids_and_timestamps():
    assert redirects.format_id(b"\xff" * 16) == "ffffffff-ffff-ffff-ffff-ffffffffffff"
    assert (
        redirects.normalize_id("DF684C6D-016C-D25C-23F0-50E54938780C")
        == "df684c6d-016c-d25c-23f0-50e54938780c"
    )
    for bad in (
        "df684c6d016cd25c23f050e54938780c",
        "df684c6d-016c-d25c-23f0-50e54938780g",
        "df684c6d-016c-d25c-23f0-50e54938780",
        "",
        None,
        5,
        "df684c6d-016c-d25c-23f0_50e54938780c",
    ):
        assert redirects.normalize_id(bad) is None, bad
    assert redirects.format_timestamp(1566897349.61) == "2019-08-27T09:15:49.61Z"
    assert redirects.format_timestamp(951782399.999) == "2000-02-29T00:00:00.00Z"
    assert redirects.format_timestamp(4107542400) == "2100-03-01T00:00:00.00Z"
    assert redirects.format_timestamp(1709164800) == "2024-02-29T00:00:00.00Z"
    assert redirects.format_timestamp(1735689599.5) == "2024-12-31T23:59:59.50Z"


# One row per case of the error table of section 4 that the entity check owns:
# (body, status, message, details).
_SHAPE = {"reason": "invalid_type", "expected": "object"}
CREATE_ERRORS = (
    ([], 400, "Invalid request body", _SHAPE),
    ("text", 400, "Invalid request body", _SHAPE),
    (minimal(colour=1), 400, "Unknown field", {"field": "colour", "reason": "unknown_field"}),
    (
        minimal(opts={"colour": "red"}),
        400,
        "Unknown field",
        {"field": "opts.colour", "reason": "unknown_field"},
    ),
    (
        minimal(
            periods=[
                {"daystart": 1, "timestart": 0, "daystop": 1, "timestop": 60},
                {"daystart": 1, "timestart": 0, "daystop": 1, "timestop": 60, "x": 1},
            ]
        ),
        400,
        "Unknown field",
        {"field": "periods[1].x", "reason": "unknown_field"},
    ),
    (minimal(ext={}), 400, "Read-only field", {"field": "ext", "reason": "read_only"}),
    (
        {"filter_number": "1", "tran_number": "2"},
        400,
        "Missing required field",
        {"field": "type", "reason": "required"},
    ),
    (
        {"type": "busy", "tran_number": "2"},
        400,
        "Missing required field",
        {"field": "filter_number", "reason": "required"},
    ),
    (
        {"type": "busy", "filter_number": "2"},
        400,
        "Missing required field",
        {"field": "tran_number", "reason": "required"},
    ),
    (
        minimal(periods=[{"daystart": 1, "timestart": 0, "daystop": 1}]),
        400,
        "Missing required field",
        {"field": "periods[0].timestop", "reason": "required"},
    ),
    (
        minimal(schedule="custom"),
        400,
        "Missing required field",
        {"field": "periods", "reason": "required"},
    ),
    (
        minimal(schedule="custom", periods=[]),
        400,
        "Missing required field",
        {"field": "periods", "reason": "required"},
    ),
    (
        minimal(type=5),
        400,
        "Invalid field type",
        {"field": "type", "reason": "invalid_type", "expected": "string"},
    ),
    (
        minimal(priority="10"),
        400,
        "Invalid field type",
        {"field": "priority", "reason": "invalid_type", "expected": "int"},
    ),
    (
        minimal(priority=10.0),
        400,
        "Invalid field type",
        {"field": "priority", "reason": "invalid_type", "expected": "int"},
    ),
    (
        minimal(priority=True),
        400,
        "Invalid field type",
        {"field": "priority", "reason": "invalid_type", "expected": "int"},
    ),
    (
        minimal(enabled="1"),
        400,
        "Invalid field type",
        {"field": "enabled", "reason": "invalid_type", "expected": "intbool"},
    ),
    (
        minimal(periods={}),
        400,
        "Invalid field type",
        {"field": "periods", "reason": "invalid_type", "expected": "array"},
    ),
    (
        minimal(periods=[7]),
        400,
        "Invalid field type",
        {"field": "periods[0]", "reason": "invalid_type", "expected": "object"},
    ),
    (
        minimal(periods=[{"daystart": "1", "timestart": 0, "daystop": 1, "timestop": 5}]),
        400,
        "Invalid field type",
        {"field": "periods[0].daystart", "reason": "invalid_type", "expected": "int"},
    ),
    (
        minimal(opts=None),
        400,
        "Invalid field type",
        {"field": "opts", "reason": "invalid_type", "expected": "object"},
    ),
    (
        minimal(opts={"title": 5}),
        400,
        "Invalid field type",
        {"field": "opts.title", "reason": "invalid_type", "expected": "string"},
    ),
    (
        minimal(id=5),
        400,
        "Invalid field type",
        {"field": "id", "reason": "invalid_type", "expected": "string"},
    ),
    (
        minimal(id="not-an-id"),
        400,
        "Invalid field value",
        {"field": "id", "reason": "invalid_value"},
    ),
    (
        minimal(type="sometimes"),
        400,
        "Invalid field value",
        {"field": "type", "reason": "invalid_value", "allowed": list(redirects.TYPES)},
    ),
    (
        minimal(filter_number="1a"),
        400,
        "Invalid field value",
        {"field": "filter_number", "reason": "invalid_pattern"},
    ),
    (
        minimal(filter_number="[5-1]"),
        400,
        "Invalid field value",
        {"field": "filter_number", "reason": "invalid_pattern"},
    ),
    (
        minimal(filter_number=""),
        400,
        "Invalid field value",
        {"field": "filter_number", "reason": "invalid_value", "min_length": 1, "max_length": 64},
    ),
    (
        minimal(filter_number="1" * 65),
        400,
        "Invalid field value",
        {"field": "filter_number", "reason": "invalid_value", "min_length": 1, "max_length": 64},
    ),
    (
        minimal(filter_fromnumber="[12"),
        400,
        "Invalid field value",
        {"field": "filter_fromnumber", "reason": "invalid_pattern"},
    ),
    (
        minimal(tran_number="hello"),
        400,
        "Invalid field value",
        {"field": "tran_number", "reason": "invalid_value"},
    ),
    (
        minimal(tran_number=""),
        400,
        "Invalid field value",
        {"field": "tran_number", "reason": "invalid_value", "min_length": 1, "max_length": 128},
    ),
    (
        minimal(priority=65536),
        400,
        "Invalid field value",
        {"field": "priority", "reason": "out_of_range", "min": 0, "max": 65535},
    ),
    (
        minimal(priority=-1),
        400,
        "Invalid field value",
        {"field": "priority", "reason": "out_of_range", "min": 0, "max": 65535},
    ),
    (
        minimal(enabled=2),
        400,
        "Invalid field value",
        {"field": "enabled", "reason": "invalid_value", "allowed": [0, 1]},
    ),
    (
        minimal(schedule="weekends"),
        400,
        "Invalid field value",
        {
            "field": "schedule",
            "reason": "invalid_value",
            "allowed": ["all", "work", "non-work", "custom"],
        },
    ),
    (
        minimal(periods=[{"daystart": 8, "timestart": 0, "daystop": 1, "timestop": 5}]),
        400,
        "Invalid field value",
        {"field": "periods[0].daystart", "reason": "out_of_range", "min": 1, "max": 7},
    ),
    (
        minimal(
            periods=[
                {"daystart": 1, "timestart": 0, "daystop": 1, "timestop": 5},
                {"daystart": 3, "timestart": 60, "daystop": 3, "timestop": 60},
            ]
        ),
        400,
        "Invalid field value",
        {"field": "periods[1]", "reason": "invalid_value"},
    ),
    (
        minimal(periods=[{"daystart": 1, "timestart": 0, "daystop": 1, "timestop": 5}] * 17),
        400,
        "Invalid field value",
        {"field": "periods", "reason": "invalid_value", "max_items": 16},
    ),
    (
        minimal(opts={"title": "t" * 129}),
        400,
        "Invalid field value",
        {"field": "opts.title", "reason": "invalid_value", "min_length": 0, "max_length": 128},
    ),
    (
        minimal(opts={"comment": "c" * 1025}),
        400,
        "Invalid field value",
        {"field": "opts.comment", "reason": "invalid_value", "min_length": 0, "max_length": 1024},
    ),
)


def test_every_create_error_row():
    for body, status, message, details in CREATE_ERRORS:
        found = error_of(redirects.create_rule, body, RANDOM, 0)
        assert found == (status, message, details), (body, found)
        assert redirects.error_body(status, message, details) == {
            "error_code": 1000 + status,
            "error_message": message,
            "error_details": details,
        }


def test_first_problem_wins_in_phase_order():
    # unknown beats read-only beats required beats type beats value.
    body = {"ext": {}, "priority": "x", "zzz": 1, "type": "bad"}
    assert error_of(redirects.create_rule, body, RANDOM, 0)[2]["reason"] == "unknown_field"
    del body["zzz"]
    assert error_of(redirects.create_rule, body, RANDOM, 0)[2]["reason"] == "read_only"
    del body["ext"]
    assert error_of(redirects.create_rule, body, RANDOM, 0)[2] == {
        "field": "filter_number",
        "reason": "required",
    }
    body["filter_number"] = "1"
    body["tran_number"] = "2"
    assert error_of(redirects.create_rule, body, RANDOM, 0)[2]["field"] == "priority"
    body["priority"] = 1
    assert error_of(redirects.create_rule, body, RANDOM, 0)[2]["field"] == "type"
    # Two unknown keys: the first in code-point order, on both runtimes.
    assert (
        error_of(redirects.create_rule, minimal(zeta=1, alpha=2), RANDOM, 0)[2]["field"] == "alpha"
    )


def test_minimal_error_bodies():
    assert redirects.error_body(404) == {"error_code": 1404, "error_message": "Not found"}
    assert redirects.error_body(404, "Lookup failed") == {
        "error_code": 1404,
        "error_message": "Lookup failed",
    }
    assert redirects.error_body(401)["error_message"] == "Unauthorized"
    assert redirects.error_body(507, None, {"limit": 1024})["error_details"] == {"limit": 1024}


# --- PATCH (3.6) ---------------------------------------------------------------


def stored_r1():
    return redirects.create_rule(r1_body(), RANDOM, CT)


def test_patch_example_of_3_6():
    body = {
        "periods": [{"daystart": 5, "timestart": 1080, "daystop": 1, "timestop": 480}],
        "opts": {"comment": "Friday 18:00 to Monday 08:00"},
    }
    rule, changed = redirects.patch_rule(stored_r1(), body, LATER)
    assert changed
    expected = r1_body()
    expected["periods"] = body["periods"]
    expected["opts"]["comment"] = "Friday 18:00 to Monday 08:00"
    expected["ext"] = {"ct": "2025-03-04T07:12:05.31Z", "lwt": "2025-03-04T08:02:47.90Z"}
    assert rule == expected


def test_empty_patch_and_same_values_change_nothing():
    stored = stored_r1()
    for body in (
        {},
        {"priority": 10},
        {"enabled": True},
        {"id": R1_ID.upper()},
        {"opts": {}},
        {"opts": {"title": "Flat 112 monitor at weekends"}},
    ):
        rule, changed = redirects.patch_rule(stored, body, LATER)
        assert not changed, body
        assert rule == stored
        assert rule["ext"]["lwt"] == "2025-03-04T07:12:05.31Z"


def test_patch_type_change_and_replacements():
    rule, changed = redirects.patch_rule(
        stored_r1(), {"type": "busy", "schedule": "all", "periods": []}, LATER
    )
    assert changed
    assert rule["type"] == "busy" and rule["schedule"] == "all" and rule["periods"] == []
    assert rule["ext"]["ct"] == "2025-03-04T07:12:05.31Z"
    assert rule["ext"]["lwt"] == "2025-03-04T08:02:47.90Z"


def test_patch_errors():
    stored = stored_r1()
    rows = (
        (
            {"id": "7b0e52d4-9a61-4c3f-8d20-11f0c6a4e9b2"},
            "Field cannot be changed",
            {"field": "id", "reason": "immutable"},
        ),
        ({"id": 7}, "Field cannot be changed", {"field": "id", "reason": "immutable"}),
        ({"ext": {"lwt": "x"}}, "Read-only field", {"field": "ext", "reason": "read_only"}),
        (
            {"opts": {"colour": 1}},
            "Unknown field",
            {"field": "opts.colour", "reason": "unknown_field"},
        ),
        ({"periods": []}, "Missing required field", {"field": "periods", "reason": "required"}),
        (
            {"periods": [{"daystart": 5, "timestart": 480, "daystop": 1}]},
            "Missing required field",
            {"field": "periods[0].timestop", "reason": "required"},
        ),
        (
            {"priority": None},
            "Invalid field type",
            {"field": "priority", "reason": "invalid_type", "expected": "int"},
        ),
        (
            {"opts": 3},
            "Invalid field type",
            {"field": "opts", "reason": "invalid_type", "expected": "object"},
        ),
        (
            {"filter_number": "1 2"},
            "Invalid field value",
            {"field": "filter_number", "reason": "invalid_pattern"},
        ),
    )
    for body, message, details in rows:
        found = error_of(redirects.patch_rule, stored, body, LATER)
        assert found == (400, message, details), (body, found)
    assert stored == stored_r1()  # the stored entity object is never modified
    assert error_of(redirects.patch_rule, stored, [], LATER)[2] == {
        "reason": "invalid_type",
        "expected": "object",
    }


def test_encode_escapes_and_key_order():
    assert (
        redirects.encode({"b": [1, True, None], "a": 'x"\\\n\u0001é'})
        == '{"a":"x\\"\\\\\\n\\u0001é","b":[1,true,null]}'
    )
    assert (
        redirects.encode({"error_message": "m", "error_code": 1400})
        == '{"error_code":1400,"error_message":"m"}'
    )
