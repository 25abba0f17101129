# The BAS-IP list machinery shared by every list the panel serves (forward
# rules, call log, access identifiers): filter expressions (spec basip-api.md
# 3.10 and the older one-condition form of 3.9), sort and paging parameters,
# a streaming pager and the `list_option` object of list responses.
#
# Filter grammar (3.10), precedence not > and > or, keywords and operators
# case-insensitive, any whitespace between tokens:
#     expr       = or_expr
#     or_expr    = and_expr { "or" and_expr }
#     and_expr   = unary { "and" unary }
#     unary      = "not" unary | "(" expr ")" | comparison
#     comparison = field op value
#     op         = "eq" | "nq" | "gt" | "lt" | "ge" | "le"
#     value      = integer | "'" chars "'"        ; '' inside quotes is a quote
# Choices beyond the spec text:
# - A field name is [a-z_.]+ (the spec says [a-z_]+; dotted names such as
#   identifier_owner.name, spec 8.1, need the dot). Field names are
#   case-sensitive: they must be one of the list's fields exactly.
# - An integer value is an optional "-" and decimal digits (leading zeros
#   allowed), at most _MAX_INTEGER_DIGITS digits. An unquoted word is not a value.
# - Integer fields: an integer value compares numerically; a quoted value is
#   converted when it is an integer text ('101' matches 101) and otherwise the
#   comparison matches nothing (with every operator, nq included).
# - String fields: comparisons are case-sensitive, by code point; an unquoted
#   integer value is compared as its text (apartment_number eq 101 works).
#   An item value that is an integer is compared as its decimal text.
# - Nesting counts parentheses: 8 levels are fine, 9 are an error. Every token
#   counts toward the 64-token limit: fields, operators, values, keywords and
#   parentheses.
#
# The compiled expression is a small tree of tuples (cheap on a MicroPython
# heap); `evaluate` walks it for one item. Trees are shallow: and/or nodes are
# n-ary and chains of "not" collapse, so depth is bounded by the nesting limit.
from panel.compat import const
from panel.core.body import BodyError

FILTER_ERROR_TEXT = "Wrong filter expression"

# Spec 3.10 limits: more than 64 tokens or nesting deeper than 8 is an error.
_MAX_TOKENS = const(64)
_MAX_NESTING = const(8)
# A filter text longer than this is rejected before tokenizing: 64 tokens of
# sane length fit easily, and the text comes from outside (a query string).
_MAX_FILTER_CHARS = const(2048)
# Digits of an integer in a filter: every int64 fits, and no big integer of
# arbitrary size is built from outside input.
_MAX_INTEGER_DIGITS = const(20)

# Paging (spec 3.9): limit 1..100 (larger clamps to 100), default 10.
_DEFAULT_LIMIT = const(10)
_MAX_LIMIT = const(100)
# Pages past this are past the end of any list the panel can hold (10,000
# rules); clamping keeps (page_number - 1) * limit a small integer on
# MicroPython (31-bit).
_MAX_PAGE_NUMBER = const(1000000)

# Node kinds of the compiled tree.
_COMPARE = const(0)
_AND = const(1)
_OR = const(2)
_NOT = const(3)

# Token kinds.
_WORD = const(0)
_INTEGER = const(1)
_STRING = const(2)
_OPEN = const(3)
_CLOSE = const(4)

ALL_OPERATORS = ("eq", "nq", "gt", "lt", "ge", "le")
EQUALITY_OPERATORS = ("eq", "nq")

# The older one-condition form (3.9): filter_type -> operator.
_LEGACY_TYPES = {"equal": "eq", "less": "lt", "more": "gt"}


class FilterError(BodyError):
    """A filter the API answers with 400 {"error": "Wrong filter expression"}.
    `reason` says what was wrong, for logs and tests; the text never varies."""

    def __init__(self, reason):
        super().__init__(FILTER_ERROR_TEXT)
        self.reason = reason


# ---------------------------------------------------------------------------
# Field tables


def field_table(fields, aliases=None):
    """Normalise `fields` to {name: (data_type, operators, lookup_name)}.

    fields: a sequence of (name, data_type, operators) triples (order kept in
    list responses) or a dict {name: (data_type, operators)} (MicroPython
    dicts do not keep insertion order: prefer triples); data_type is
    "integer" or "string". aliases: {alias: field}; the alias is looked up on
    the item under the field's name, and takes the field's type and operators
    unless it is listed in fields itself (e.g. apartment_number, a string
    field with eq/nq, is forward_number on the item)."""
    table = {}
    for name, data_type, operators in _field_rows(fields):
        if data_type != "integer" and data_type != "string":
            raise ValueError("unknown data type %r" % (data_type,))
        table[name] = (data_type, tuple(operators), name)
    if aliases:
        for alias, target in aliases.items():
            if alias in table:
                data_type, operators, _ = table[alias]
            elif target in table:
                data_type, operators, _ = table[target]
            else:
                raise ValueError("alias %r of unknown field %r" % (alias, target))
            table[alias] = (data_type, operators, target)
    return table


def _field_rows(fields):
    if isinstance(fields, dict):
        return [(name, pair[0], pair[1]) for name, pair in fields.items()]
    return fields


def available_fields(fields):
    """The `available_fields` list of a list response's filter block (3.9)."""
    return [
        {"field_name": name, "data_type": data_type, "compare_operators": list(operators)}
        for name, data_type, operators in _field_rows(fields)
    ]


# ---------------------------------------------------------------------------
# Tokenizer


# ASCII whitespace only: str.isspace() differs between the runtimes for
# non-ASCII spaces (U+00A0 is a space on CPython, not on MicroPython).
_WHITESPACE = " \t\n\r\f\v"


def _ascii_lower(text):
    """text.lower() for ASCII text; other text unchanged (str.lower() maps some
    non-ASCII letters to ASCII on CPython only, e.g. the Kelvin sign to k)."""
    for character in text:
        if character > "\x7f":
            return text
    return text.lower()


def _ascii_words(text):
    """text split at ASCII whitespace (str.split() also splits at non-ASCII
    spaces on CPython, not on MicroPython)."""
    for character in _WHITESPACE[1:]:
        text = text.replace(character, " ")
    return [word for word in text.split(" ") if word]


def _is_word_character(character):
    return (
        "a" <= character <= "z"
        or "A" <= character <= "Z"
        or "0" <= character <= "9"
        or character == "_"
        or character == "."
        or character == "-"
    )


def _tokenize(text):
    """Split a filter into (kind, text) tokens; raise FilterError on garbage."""
    if len(text) > _MAX_FILTER_CHARS:
        raise FilterError("longer than %d characters" % _MAX_FILTER_CHARS)
    tokens = []
    index = 0
    end = len(text)
    while index < end:
        character = text[index]
        if character in _WHITESPACE:
            index += 1
            continue
        if len(tokens) >= _MAX_TOKENS:
            raise FilterError("more than %d tokens" % _MAX_TOKENS)
        if character == "(":
            tokens.append((_OPEN, "("))
            index += 1
        elif character == ")":
            tokens.append((_CLOSE, ")"))
            index += 1
        elif character == "'":
            value, index = _read_quoted(text, index + 1, end)
            tokens.append((_STRING, value))
        elif _is_word_character(character):
            start = index
            while index < end and _is_word_character(text[index]):
                index += 1
            word = text[start:index]
            if _is_integer_text(word):
                if len(word.lstrip("-")) > _MAX_INTEGER_DIGITS:
                    raise FilterError("integer longer than %d digits" % _MAX_INTEGER_DIGITS)
                tokens.append((_INTEGER, word))
            else:
                tokens.append((_WORD, word))
        else:
            raise FilterError("unexpected character %r" % (character,))
    return tokens


def _read_quoted(text, index, end):
    """Read a quoted value from index (after the opening quote); '' is a quote."""
    parts = []
    while True:
        quote = text.find("'", index)
        if quote < 0:
            raise FilterError("unterminated quoted value")
        parts.append(text[index:quote])
        if quote + 1 < end and text[quote + 1] == "'":
            parts.append("'")
            index = quote + 2
            continue
        return "".join(parts), quote + 1


def _is_integer_text(word):
    """-?[0-9]+ (the sign is a word character only so that -5 is one token)."""
    start = 1 if word[:1] == "-" else 0
    if start == len(word):
        return False
    for character in word[start:]:
        if not "0" <= character <= "9":
            return False
    return True


def _is_field_name(word):
    for character in word:
        if not ("a" <= character <= "z" or character == "_" or character == "."):
            return False
    return True


def _integer_or_none(text):
    """int of an integer text (-?digits, bounded), or None for anything else."""
    if not text or not _is_integer_text(text) or len(text.lstrip("-")) > _MAX_INTEGER_DIGITS:
        return None
    return int(text)


# ---------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, tokens, table):
        self.tokens = tokens
        self.position = 0
        self.table = table

    def peek_keyword(self):
        """The next token lower-cased if it is a word, else None."""
        if self.position < len(self.tokens):
            kind, text = self.tokens[self.position]
            if kind == _WORD:
                return text.lower()
        return None

    def next_token(self, what):
        if self.position >= len(self.tokens):
            raise FilterError("expression ends where %s was expected" % what)
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self, nesting):
        children = [self.and_expression(nesting)]
        while self.peek_keyword() == "or":
            self.position += 1
            children.append(self.and_expression(nesting))
        return children[0] if len(children) == 1 else (_OR, children)

    def and_expression(self, nesting):
        children = [self.unary(nesting)]
        while self.peek_keyword() == "and":
            self.position += 1
            children.append(self.unary(nesting))
        return children[0] if len(children) == 1 else (_AND, children)

    def unary(self, nesting):
        # "not not x" is x: count the nots instead of recursing once per not.
        negate = False
        while self.peek_keyword() == "not":
            self.position += 1
            negate = not negate
        kind, text = self.next_token("a comparison or '('")
        if kind == _OPEN:
            if nesting >= _MAX_NESTING:
                raise FilterError("nesting deeper than %d" % _MAX_NESTING)
            node = self.expression(nesting + 1)
            kind, text = self.next_token("')'")
            if kind != _CLOSE:
                raise FilterError("expected ')' but got %r" % (text,))
        elif kind == _WORD:
            node = self.comparison(text)
        else:
            raise FilterError("expected a field name but got %r" % (text,))
        return (_NOT, node) if negate else node

    def comparison(self, name):
        if not _is_field_name(name) or name not in self.table:
            raise FilterError("unknown field %r" % (name,))
        data_type, operators, lookup_name = self.table[name]
        kind, text = self.next_token("an operator")
        operator = text.lower() if kind == _WORD else None
        if operator not in ALL_OPERATORS:
            raise FilterError("unknown operator %r" % (text,))
        if operator not in operators:
            raise FilterError("operator %r not allowed for %r" % (operator, name))
        kind, text = self.next_token("a value")
        if kind == _INTEGER:
            value = int(text) if data_type == "integer" else text
        elif kind == _STRING:
            value = _integer_or_none(text) if data_type == "integer" else text
        else:
            raise FilterError("expected a value but got %r" % (text,))
        return _compare_node(lookup_name, operator, data_type, value)


def _compare_node(lookup_name, operator, data_type, value):
    # value None: an integer field compared with a non-numeric text, which
    # matches nothing.
    return (_COMPARE, lookup_name, operator, data_type == "integer", value)


def parse_filter(text, fields, aliases=None):
    """Compile a 3.10 filter expression; raise FilterError if it is invalid.
    fields and aliases as for field_table (a prepared table is accepted too)."""
    if not isinstance(text, str):
        raise FilterError("not text")
    table = _prepared(fields, aliases)
    tokens = _tokenize(text)
    if not tokens:
        raise FilterError("empty expression")
    parser = _Parser(tokens, table)
    node = parser.expression(0)
    if parser.position != len(tokens):
        raise FilterError("unexpected %r" % (tokens[parser.position][1],))
    return node


def _prepared(fields, aliases):
    # A table from field_table() has 3-tuples as values; anything else is a
    # description to normalise.
    if isinstance(fields, dict) and aliases is None:
        for entry in fields.values():
            if len(entry) == 3:
                return fields
            break
    return field_table(fields, aliases)


def parse_legacy_filter(query, fields, aliases=None):
    """The older one-condition form (3.9): filter_field, filter_type (equal,
    less, more; default equal), filter_format (string or integer; default
    string) and filter_value. None when there is no filter_field."""
    name = query.get("filter_field")
    if name is None or name == "":
        return None
    table = _prepared(fields, aliases)
    if not _is_field_name(name) or name not in table:
        raise FilterError("unknown field %r" % (name,))
    data_type, operators, lookup_name = table[name]
    operator = _LEGACY_TYPES.get(_ascii_lower(query.get("filter_type") or "equal"))
    if operator is None:
        raise FilterError("unknown filter_type")
    if operator not in operators:
        raise FilterError("operator %r not allowed for %r" % (operator, name))
    value_format = _ascii_lower(query.get("filter_format") or "string")
    value = query.get("filter_value")
    if value is None:
        raise FilterError("no filter_value")
    if value_format == "integer":
        number = _integer_or_none(value)
        if number is None:
            raise FilterError("filter_value is not an integer")
        value = number if data_type == "integer" else value
    elif value_format == "string":
        # As a quoted value of 3.10: converted for an integer field.
        if data_type == "integer":
            value = _integer_or_none(value)
    else:
        raise FilterError("unknown filter_format")
    return _compare_node(lookup_name, operator, data_type, value)


def filter_from_query(query, fields, aliases=None):
    """The filter of a list request: `filter` (3.10) if given and not blank,
    else the one-condition form, else None (no filter). Raises FilterError."""
    table = field_table(fields, aliases)
    text = query.get("filter")
    if text is not None and text.strip(_WHITESPACE):
        return parse_filter(text, table)
    return parse_legacy_filter(query, table)


# ---------------------------------------------------------------------------
# Evaluation


def evaluate(expression, item_getter):
    """True if the item matches; item_getter(field) returns the item's value
    (None if it has none). A None expression (no filter) matches everything."""
    if expression is None:
        return True
    kind = expression[0]
    if kind == _COMPARE:
        return _compare(expression, item_getter)
    if kind == _AND:
        for child in expression[1]:
            if not evaluate(child, item_getter):
                return False
        return True
    if kind == _OR:
        for child in expression[1]:
            if evaluate(child, item_getter):
                return True
        return False
    return not evaluate(expression[1], item_getter)


def _compare(node, item_getter):
    _, name, operator, is_integer, wanted = node
    if wanted is None:
        return False
    actual = item_getter(name)
    # type() is: the common case costs one test (and excludes bool, whose
    # type is bool on both runtimes); other types are converted or rejected.
    if is_integer:
        if type(actual) is not int:
            if isinstance(actual, str):
                actual = _integer_or_none(actual)
                if actual is None:
                    return False
            else:
                return False
    elif type(actual) is not str:
        if type(actual) is int:
            actual = str(actual)
        else:
            return False
    if operator == "eq":
        return actual == wanted
    if operator == "nq":
        return actual != wanted
    if operator == "gt":
        return actual > wanted
    if operator == "lt":
        return actual < wanted
    if operator == "ge":
        return actual >= wanted
    return actual <= wanted


def lookup(item, name):
    """The value of a (possibly dotted) field in a dict item, or None:
    lookup(item, "identifier_owner.name") reads item["identifier_owner"]["name"]."""
    if "." not in name:
        # The common case, without slicing.
        return item.get(name) if isinstance(item, dict) else None
    value = item
    start = 0
    while True:
        dot = name.find(".", start)
        part = name[start:] if dot < 0 else name[start:dot]
        if not isinstance(value, dict):
            return None
        value = value.get(part)
        if dot < 0:
            return value
        start = dot + 1


def item_matcher(expression):
    """A predicate for page_window: dict item -> bool (dotted names allowed);
    None when there is no filter."""
    if expression is None:
        return None
    if not _has_dotted_name(expression):
        # Flat names: the dict's own get() is the getter, no extra call.
        return lambda item: evaluate(expression, item.get) if isinstance(item, dict) else False
    return lambda item: evaluate(expression, lambda name: lookup(item, name))


def _has_dotted_name(expression):
    if expression[0] == _COMPARE:
        return "." in expression[1]
    if expression[0] == _NOT:
        return _has_dotted_name(expression[1])
    for child in expression[1]:
        if _has_dotted_name(child):
            return True
    return False


# ---------------------------------------------------------------------------
# Paging and sorting (3.9)


# Digits beyond which a paging parameter is "huge": it is clamped anyway, so
# no big integer is built for it.
_MAX_PAGING_DIGITS = const(9)


def _lenient_int(text):
    """A query integer: optional sign and decimal digits, surrounding spaces
    allowed. None when unparseable. Huge values come back as a large sentinel
    without building a big integer."""
    if not isinstance(text, str):
        return None
    text = text.strip(_WHITESPACE)
    if text[:1] == "+":
        text = text[1:]
    if not _is_integer_text(text):
        return None
    digits = text.lstrip("-").lstrip("0")
    if len(digits) > _MAX_PAGING_DIGITS:
        # Far past any limit: stands for "very large" (or "very negative").
        return -1000000000 if text[:1] == "-" else 1000000000
    return int(text)


def page_params(query):
    """(limit, page_number) from the query strings, leniently (3.9): limit
    1..100, above 100 clamps to 100, unparseable or < 1 gives 10; page_number
    unparseable or < 1 gives 1."""
    limit = _lenient_int(query.get("limit"))
    if limit is None or limit < 1:
        limit = _DEFAULT_LIMIT
    elif limit > _MAX_LIMIT:
        limit = _MAX_LIMIT
    page_number = _lenient_int(query.get("page_number"))
    if page_number is None or page_number < 1:
        page_number = 1
    elif page_number > _MAX_PAGE_NUMBER:
        page_number = _MAX_PAGE_NUMBER
    return limit, page_number


def _direction(text):
    """True for asc, False for desc (any case), None for anything else."""
    if not isinstance(text, str):
        return None
    text = _ascii_lower(text.strip(_WHITESPACE))
    if text == "asc":
        return True
    if text == "desc":
        return False
    return None


def sort_params(query, sortable, default_field, default_ascending=True):
    """(field, ascending) from `order_by` ("forward_number desc": field names
    separated by commas, then asc or desc) or else `sort_field` + `sort_type`.
    The first sortable name wins; an unknown field falls back to the default
    field and direction; a missing or unknown direction gives the default."""
    order_by = query.get("order_by")
    if isinstance(order_by, str) and order_by.strip(_WHITESPACE):
        words = _ascii_words(order_by.replace(",", " "))
        if not words:
            return default_field, default_ascending
        ascending = _direction(words[-1])
        if ascending is not None:
            words = words[:-1]
        else:
            ascending = default_ascending
        if not words:
            return default_field, ascending
        for word in words:
            if word in sortable:
                return word, ascending
        return default_field, default_ascending
    field = query.get("sort_field")
    ascending = _direction(query.get("sort_type"))
    if ascending is None:
        ascending = default_ascending
    if field is None or field == "":
        return default_field, ascending
    if field in sortable:
        return field, ascending
    return default_field, default_ascending


def page_window(items, predicate, limit, page_number):
    """Stream items (already in the wanted order): count every match and keep
    only those of the requested page. Returns (page_items, total_items).
    Memory holds one page, never the whole list. predicate None: all match."""
    skip = (page_number - 1) * limit
    stop = skip + limit
    page = []
    total = 0
    for item in items:
        if predicate is not None and not predicate(item):
            continue
        if skip <= total < stop:
            page.append(item)
        total += 1
    return page, total


def total_pages(total_items, limit):
    """max(1, ceil(total_items / limit)), as the vendor requires (>= 1)."""
    if total_items <= 0:
        return 1
    return (total_items + limit - 1) // limit


def list_option(
    total_items,
    limit,
    page_number,
    fields=(),
    is_filtered=False,
    sort_field=None,
    ascending=True,
    sortable=(),
):
    """The `list_option` object of a 3.9 list response."""
    return {
        "pagination": {
            "total_items": total_items,
            "items_limit": limit,
            "total_pages": total_pages(total_items, limit),
            "current_page": page_number,
        },
        "filter": {
            "available_filtering": bool(fields),
            "is_filtered": bool(is_filtered),
            "available_fields": available_fields(fields),
        },
        "sort": {
            "field": sort_field,
            "asc": bool(ascending),
            "available_fields": list(sortable),
        },
    }
