# The forward family of the BAS-IP contract (section 3): one rule, many rules,
# the Link-server calls and the forwarding mode.
from panel.api import listing
from panel.api.common import ApiError, answer, answer_json_text, ok, read_object, route
from panel.core import body as body_rules
from panel.core import numbers
from panel.services import settings as schema
from panel.services.forward_rules import (
    MAX_FORWARD_NUMBER,
    MAX_QUEUE_BYTES,
    MAX_QUEUE_LENGTH,
    QueueTooLarge,
    RuleLimitReached,
    TooManyAtOnce,
)

_QUEUE_FIELD = "forward_entity_list"

# The list's filterable fields as 3.9 shows them; apartment_number is an alias.
LIST_FIELDS = [
    ("forward_number", "integer", ["eq", "nq", "gt", "lt", "ge", "le"]),
    ("apartment_number", "string", ["eq", "nq"]),
]
LIST_ALIASES = {"apartment_number": "forward_number"}


def parse_forward_uid(text):
    number = body_rules.parse_positive_int(text)
    if number is None or number > MAX_FORWARD_NUMBER:
        raise ApiError(400, "Wrong forward-uid")
    return number


def validate_queue(document):
    """The checked queue of a request body, in the contract's order of errors."""
    entries = body_rules.require(document, _QUEUE_FIELD, "list")
    for entry in entries:
        # JSON integers are accepted (stored as decimal text); booleans are not.
        if not isinstance(entry, str) and (not isinstance(entry, int) or isinstance(entry, bool)):
            raise body_rules.wrong_type(_QUEUE_FIELD)
    queue = []
    for entry in entries:
        try:
            queue.append(numbers.validate_destination(entry))
        except ValueError:
            raise ApiError(400, "Wrong number")
    if len(queue) > MAX_QUEUE_LENGTH:
        raise body_rules.range_error(_QUEUE_FIELD, "At most 8 numbers")
    return queue


def _item(number, queue):
    return {"forward_number": number, "forward_entity_list": queue}


def register(app, services):
    rules = services.forward_rules

    def store_rules(pairs):
        try:
            return rules.upsert_many(pairs)
        except RuleLimitReached:
            raise body_rules.range_error("forward_number", "Rule limit reached")
        except TooManyAtOnce:
            raise body_rules.range_error("list_items", "Too many items in one request")
        except QueueTooLarge:
            raise body_rules.range_error(_QUEUE_FIELD, "At most %d bytes stored" % MAX_QUEUE_BYTES)

    async def one_rule(request, uid):
        number = parse_forward_uid(uid)
        if request.method == "POST":
            queue = validate_queue(read_object(request))
            store_rules([(number, queue)])
            return ok()
        if request.method == "DELETE":
            if not rules.delete_many([number])[0]:
                raise ApiError(404, "Forward rule not found")
            return ok()
        queue = rules.get(number)
        if queue is None:
            raise ApiError(404, "Forward rule not found")
        return answer(_item(number, queue))

    route(app, "/api/v1/forward/item/<uid>", ["GET", "POST", "DELETE"])(one_rule)

    def list_rules(request):
        # Every filterable field is the forward number, which the store key
        # holds: the list walks keys only and decodes just the page's records
        # (10,000 rules on a board with ~100 KB of heap).
        # Without a filter, the total is the count kept for the rule limit
        # and the page is read in one pass from its first rule.
        def page_item(number):
            return _item(number, rules.get(number) or [])

        def unfiltered(reverse, skip, limit):
            page = [_item(number, queue) for number, queue in rules.page(skip, limit, reverse)]
            return page, rules.count()

        def unfiltered_json(skip, limit):
            return rules.page_json(skip, limit)[0], rules.count()

        document = listing.answer_list(
            request,
            rules.numbers,
            LIST_FIELDS,
            LIST_ALIASES,
            sortable=["forward_number"],
            default_sort="forward_number",
            default_ascending=True,
            field_getter=_number_field,
            materialize=page_item,
            unfiltered=unfiltered,
            unfiltered_json=unfiltered_json,
        )
        if isinstance(document, bytes):
            return answer_json_text(document)
        return answer(document)

    async def many_rules(request):
        if request.method == "GET":
            return list_rules(request)
        document = read_object(request)
        numbers_to_delete = _integer_list(document, "uid_items")
        rules.delete_many(numbers_to_delete)
        return ok()

    route(app, "/api/v1/forward/items", ["GET", "DELETE"])(many_rules)

    async def linked_rules(request):
        if request.method == "GET":
            return list_rules(request)
        document = read_object(request)
        if request.method == "DELETE":
            link_ids = _integer_list(document, "link_ids")
            deleted = rules.delete_many(link_ids)
            return answer(
                {
                    "result": [
                        {
                            "link_id": link_id,
                            "success": found,
                            "extended_info": "deleted" if found else "entity_not_found",
                        }
                        for link_id, found in zip(link_ids, deleted)
                    ]
                }
            )
        items = body_rules.require(document, "list_items", "list")
        pairs = []
        for item in items:
            if not isinstance(item, dict):
                raise body_rules.wrong_type("list_items")
            pairs.append((_link_number(item), validate_queue(item)))
        created = store_rules(pairs)
        return answer(
            {
                "result": [
                    {
                        "link_id": number,
                        "success": True,
                        "extended_info": "created" if was_created else "updated",
                    }
                    for (number, _), was_created in zip(pairs, created)
                ]
            }
        )

    route(app, "/api/v1/forward/items/link", ["GET", "POST", "DELETE"])(linked_rules)

    async def forward_mode(request):
        if request.method == "POST":
            document = read_object(request)
            mode = body_rules.require(document, "forward_mode", "str")
            if mode not in schema.FORWARD_MODES:
                raise body_rules.range_error("forward_mode", "all_at_once or one_by_one")
            services.settings.write(schema.FORWARD_MODE, {"forward_mode": mode})
            return ok()
        return answer(services.settings.read(schema.FORWARD_MODE))

    route(app, "/api/v1/forward/mode", ["GET", "POST"])(forward_mode)


def _number_field(number, field):
    # forward_number, and apartment_number (its alias, looked up under the
    # same name by core.query), are both the number itself.
    return number


def _integer_list(document, name):
    values = body_rules.require(document, name, "list")
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool):
            raise body_rules.wrong_type(name)
    return values


def _link_number(item):
    """forward_number, or link_id when the item has no forward_number (3.11)."""
    name = "forward_number" if "forward_number" in item else "link_id"
    number = body_rules.require(item, name if name in item else "forward_number", "int")
    if number < 1 or number > MAX_FORWARD_NUMBER:
        raise ApiError(400, "Wrong forward-uid")
    return number
