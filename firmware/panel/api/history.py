# The call and event log list (BAS-IP contract 7.2).
from panel.api import listing
from panel.api.common import answer, route
from panel.core import body as body_rules

LOG_FIELDS = [
    ("name", "string", ["eq", "nq"]),
    ("timestamp", "integer", ["eq", "nq", "gt", "lt", "ge", "le"]),
]


def _seconds(request, name):
    text = request.args.get(name)
    if text is None:
        return None
    value = body_rules.parse_positive_int(text) if text != "0" else 0
    return value


def register(app, services):
    async def log_items(request):
        # from/to: Unix seconds, inclusive window; timestamps are milliseconds.
        start = _seconds(request, "from")
        stop = _seconds(request, "to")

        def items(reverse):
            for item in services.call_log.items(reverse=reverse):
                stamp = item["timestamp"]
                if start is not None and stamp < start * 1000:
                    continue
                if stop is not None and stamp > stop * 1000 + 999:
                    continue
                yield item

        return answer(
            listing.answer_list(
                request,
                items,
                LOG_FIELDS,
                {},
                sortable=["timestamp"],
                default_sort="timestamp",
                default_ascending=False,
                field_getter=_log_field,
            )
        )

    route(app, "/api/v1/log/items", ["GET"])(log_items)


def _log_field(item, field):
    if field == "name":
        return item["name"]["key"]
    return item.get(field)
