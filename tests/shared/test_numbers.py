# panel.core.numbers on both runtimes: the spec's tables (basip-api.md 3.2,
# redirectrules-api.md 2.4 and 2.5) and the MicroPython traps. The exhaustive
# comparison with CPython's re lives in tests/host/test_numbers_oracle.py.
from checks import raises
from panel.core import numbers

# --- Part A: forward destinations -------------------------------------------

# basip-api.md 3.2, "Consequences of the exact patterns", with the kind each
# accepted entry is expected to match.
SPEC_ACCEPTED = [
    ("101", numbers.KIND_DIGITS),
    ("0", numbers.KIND_DIGITS),
    ("sip:1@192.168.1.65", numbers.KIND_SIP_URI),
    ("sip:user_1@pbx.example.org", numbers.KIND_SIP_URI),
    ("sip:101@192.168.1.10:5060", numbers.KIND_SIP_URI),
    ("sip:192.168.1.65:5060", numbers.KIND_SIP_IP),
    ("sip:@host.com", numbers.KIND_SIP_URI),
]
SPEC_REJECTED = [
    "sip:101@sip.example.com:5060",
    "sip:101@localhost",
    "sip:101@256.1.1.1",
    "SIP:101@host.com",
    "101a",
    "vizit:",
]
# The kinds table of 3.2 (examples per kind).
KIND_EXAMPLES = [
    ("5588", numbers.KIND_DIGITS),
    ("sip:101@192.168.1.10", numbers.KIND_SIP_URI),
    ("sip:5588@sip.bas-ip.com", numbers.KIND_SIP_URI),
    ("sip:192.168.1.65", numbers.KIND_SIP_IP),
    ("laskomex:10", numbers.KIND_LASKOMEX),
    ("vizit:10", numbers.KIND_VIZIT),
]
# Quirks of the vendor regexes. Every table in this file is also checked against
# CPython's re by tests/host/test_numbers_oracle.py::test_shared_tables_agree_with_oracles.
QUIRKS_ACCEPTED = [
    ("sip:1:5060.2.3.4", numbers.KIND_SIP_IP),  # a port after any octet
    ("sip:1.2:0.3.4:99999", numbers.KIND_SIP_IP),  # several ports, 5 digits
    ("sip:001.010.199.0", numbers.KIND_SIP_IP),  # leading zeros
    ("sip:x@255.249.200.99", numbers.KIND_SIP_URI),
    ("sip:@a.b_", numbers.KIND_SIP_URI),  # "_" is a word character
    ("sip:-+_@12ab34.c_", numbers.KIND_SIP_URI),
    ("sip:@1.2.3.4", numbers.KIND_SIP_URI),
    ("sip:u@1a.2b3.-c4", numbers.KIND_SIP_URI),  # digits at both ends of labels
    ("laskomex:007", numbers.KIND_LASKOMEX),
    ("00", numbers.KIND_DIGITS),
]
QUIRKS_REJECTED = [
    "sip:1.2.3",  # three octets: `$` cannot stand for the fourth
    "sip:1.2.3.4.5",
    "sip:1.2.3.4.",  # trailing dot: the closing \b fails
    "sip:250:5060.1.1.1",  # 2xx octets take no port
    "sip:1.2.3.4:123456",  # six-digit port
    "sip:1.2.3.4:",
    "sip:200.300.1.1",
    "sip:1@a1b.com",  # a digit inside a label
    "sip:1@a.b-",  # ends on a non-word character: \b fails
    "sip:1@a..b",
    "sip:1@.a.b",
    "sip:1@a.b.",
    "sip:1@@a.b",
    "sip:1.2@a.b",  # "." is not in the user class
    "sip:",
    "sip:@",
    "",
    " 101",
    "101 ",
    "101\n",  # `$` before a final newline: not with fullmatch
    "sip:1.2.3.4\n",
    "vizit:1\n",
    "Laskomex:1",
    "laskomex:-1",
    "vizit:+1",
    "+101",
    "\u0661\u0662\u0663",  # Arabic-Indic digits: \d is ASCII only
    "laskomex:\u0661",
    "sip:\u0661.2.3.4",
    "\uff11\uff10\uff11",  # full-width digits
]


def test_spec_table_accepted():
    for text, kind in SPEC_ACCEPTED:
        assert numbers.destination_kind(text) == kind, text


def test_spec_table_rejected():
    for text in SPEC_REJECTED:
        assert numbers.destination_kind(text) is None, text


def test_spec_kind_examples():
    for text, kind in KIND_EXAMPLES:
        assert numbers.destination_kind(text) == kind, text


def test_vendor_quirks():
    for text, kind in QUIRKS_ACCEPTED:
        assert numbers.destination_kind(text) == kind, text
    for text in QUIRKS_REJECTED:
        assert numbers.destination_kind(text) is None, repr(text)


def test_destination_kind_of_non_strings():
    for value in (None, 101, b"101", ["101"]):
        assert numbers.destination_kind(value) is None


def test_validate_destination():
    for text, _ in SPEC_ACCEPTED + KIND_EXAMPLES:
        assert numbers.validate_destination(text) == text
    # 3.2: "" is stored verbatim; a JSON integer becomes its decimal text.
    assert numbers.validate_destination("") == ""
    assert numbers.validate_destination(5588) == "5588"
    assert numbers.validate_destination(0) == "0"
    assert numbers.validate_destination(12345678901234567890) == "12345678901234567890"
    for value in SPEC_REJECTED + ["101\n", "\u0661\u0662\u0663"]:
        raises(ValueError, numbers.validate_destination, value)
    for value in (True, False, None, -5, 1.5, [], {}, b"101"):
        raises(ValueError, numbers.validate_destination, value)


def test_destination_line():
    assert numbers.destination_line("laskomex:10") == ("laskomex", 10)
    assert numbers.destination_line("vizit:7") == ("vizit", 7)
    assert numbers.destination_line("vizit:007") == ("vizit", 7)
    for text in ("vizit:", "101", "sip:1.2.3.4", "laskomex:1a", "VIZIT:7", None):
        assert numbers.destination_line(text) is None


# --- Part B: dial patterns --------------------------------------------------

# (pattern, numbers that match, numbers that do not), redirectrules-api.md 2.4.
PATTERN_EXAMPLES = [
    ("16", ["16"], ["1", "160", "61", ""]),
    ("2XX", ["200", "250", "299"], ["199", "300", "20", "2000", "2a0"]),
    ("1[0-4]X", ["100", "123", "149"], ["150", "099", "1[0]1"]),
    ("9*", ["9", "91", "9123", "9*#"], ["", "19", "8"]),
    ("9.", ["91", "9123"], ["9", "", "89"]),
    ("*", ["", "1", "*", "123#+"], []),
    ("[]9XXX", ["9123"], ["912", "91234"]),
    ("9XXX", ["9123"], ["912"]),
    ("[1-46-8]", ["1", "4", "6", "8"], ["5", "9", "0", "-"]),
    ("[*#]", ["*", "#"], ["1", "+"]),
    ("[*]", ["*"], ["1", ""]),
    ("N", ["2", "9"], ["0", "1"]),
    ("Z", ["1", "9"], ["0"]),
    ("x", ["0", "5"], ["x", "X"]),  # letters are case-insensitive
    ("n1z", ["211"], ["110", "210"]),
    ("??", ["1#", "ab"], ["1", "123"]),
    ("+X.", ["+12", "+1234"], ["+1", "12"]),
    ("#*#", ["##", "#12#"], ["#", "#1"]),
    ("", [""], ["1"]),  # "" here matches only ""; see module doc
    ("[]", [""], ["1"]),
    ("*1*2*3", ["123", "x1y2z3", "3123"], ["1231", "132"]),
    ("..", ["12", "123"], ["1"]),
    ("*.*", ["1", "12"], [""]),
]
INVALID_PATTERNS = [
    "A",
    "1a",
    "]",
    "[",
    "[1",
    "[1-",
    "[1-]",
    "[4-1]",
    "[-1]",
    "[1-4-6]",
    "[X]",
    "[?]",
    "[[1]]",
    "1 2",
    " ",
    "-",
    "1-4",
    "\u0661",
    "[\u0661]",
    "%",
    "1\n",
]


def test_pattern_examples():
    for pattern, matching, not_matching in PATTERN_EXAMPLES:
        assert numbers.dial_pattern_error(pattern) is None, pattern
        compiled = numbers.compile_dial_pattern(pattern)
        for number in matching:
            assert numbers.dial_pattern_matches(pattern, number), (pattern, number)
            assert numbers.compiled_matches(compiled, number), (pattern, number)
        for number in not_matching:
            assert not numbers.dial_pattern_matches(pattern, number), (pattern, number)
            assert not numbers.compiled_matches(compiled, number), (pattern, number)


def test_invalid_patterns():
    for pattern in INVALID_PATTERNS:
        assert numbers.dial_pattern_error(pattern) == "invalid_pattern", repr(pattern)
        raises(ValueError, numbers.compile_dial_pattern, pattern)
        raises(ValueError, numbers.dial_pattern_matches, pattern, "1")
    assert numbers.dial_pattern_error(None) == "invalid_pattern"
    assert numbers.dial_pattern_error("1" * 300) == "invalid_pattern"


def test_arabic_digits_never_match_digit_classes():
    for pattern in ("X", "N", "Z", "[0-9]", "1"):
        assert not numbers.dial_pattern_matches(pattern, "\u0661")
    assert numbers.dial_pattern_matches("?", "\u0661")


def test_pathological_64_wildcards():
    # 64 wildcard tokens; a backtracking matcher explores ~2**64 splits here.
    pattern = "*1" * 32 + ".2" * 32
    number = "1" * 64
    assert not numbers.dial_pattern_matches(pattern, number)
    assert numbers.dial_pattern_matches(pattern, "1" * 32 + "12" * 32)
    stars = "*." * 32
    assert numbers.dial_pattern_matches(stars, "5" * 64)
    assert not numbers.dial_pattern_matches(stars, "5" * 31)
    assert not numbers.dial_pattern_matches(stars + "9", "5" * 64)


def test_compiled_form_is_compact():
    assert numbers.compile_dial_pattern("") == ()
    assert numbers.compile_dial_pattern("[]") == ()
    # Runs of stars collapse; `.` is "one character, then a star".
    assert len(numbers.compile_dial_pattern("***")) == 1
    assert len(numbers.compile_dial_pattern("9.")) == 3


# --- tran_number (2.5) ------------------------------------------------------


def test_destination_forms():
    cases = [
        ("205", "number"),
        ("+15551234567", "number"),
        ("*99#", "number"),
        ("9XX", "template"),
        ("+7XXXX", "template"),
        ("x", "template"),
        ("sip:112@192.168.1.50", "sip"),
        ("sip:112@pbx.example.org:5060", "sip"),
        ("sip:a%20b@pbx", "sip"),
        ("laskomex:10", "line"),
        ("vizit:7", "line"),
        ("", None),
        ("+", None),
        ("++1", None),
        ("1+", None),
        ("9XY", None),
        ("sip:@host.com", None),
        ("sip:192.168.1.65", None),
        ("sip:1@1.2.3.256", None),
        ("sip:1@host:0", None),
        ("sip:1@host:65536", None),
        ("sip:1@-host", None),
        ("sip:1@a..b", None),
        ("sip:1@host:", None),
        ("sip:a%2@pbx", None),
        ("vizit:", None),
        ("\u0661", None),
        (None, None),
    ]
    for text, form in cases:
        assert numbers.destination_form(text) == form, (text, form)


def test_apply_template():
    assert numbers.apply_template("9XX", "112") == "912"
    assert numbers.apply_template("9XX", "12") == "912"
    assert numbers.apply_template("X9X", "345") == "495"
    assert numbers.apply_template("+7xxx", "1234") == "+7234"
    assert numbers.apply_template("9XXX", "12") is None  # shorter than k
    assert numbers.apply_template("XX", "") is None
    # Non-template forms come back as they are; invalid ones raise.
    assert numbers.apply_template("900", "112") == "900"
    assert numbers.apply_template("sip:x@host", "112") == "sip:x@host"
    raises(ValueError, numbers.apply_template, "9XY", "112")
