# One way to answer every BAS-IP list (forward rules, call log, identifiers):
# filter (3.10 or the older one-condition form), sort direction and paging from
# the query, streamed through core.query so only one page is ever held.
import json

from panel.api.common import ApiError
from panel.core import query as list_query


def answer_list(
    request,
    items,
    fields,
    aliases,
    sortable,
    default_sort,
    default_ascending,
    field_getter=None,
    materialize=None,
    unfiltered=None,
    unfiltered_json=None,
):
    """The {"list_items", "list_option"} document of a list request.

    items(reverse) yields the list's items in ascending order of its one sort
    field (or descending when reverse is true): every list here is stored in
    that order, so sorting is a direction, never a sort in memory.
    field_getter(item, field), when given, reads fields that are not plain keys.
    materialize(item), when given, turns each item of the page into what the
    answer lists: items can then be light (a forward number from a store key)
    and only the page's records are read and decoded.
    unfiltered(reverse, skip, limit), when given, answers a request without a
    filter: (the page's items as listed, the total), from a count the list
    keeps, with no walk over the items before the page.
    unfiltered_json(skip, limit), when given, answers an ascending request
    without a filter instead: (the page's items as JSON text joined by ", ",
    the total); the answer is then the document's JSON text (bytes), the
    very bytes json.dumps would write for it.
    """
    arguments = request.args
    try:
        expression = list_query.filter_from_query(arguments, fields, aliases)
    except list_query.FilterError:
        raise ApiError(400, list_query.FILTER_ERROR_TEXT)
    limit, page_number = list_query.page_params(arguments)
    sort_field, ascending = list_query.sort_params(
        arguments, sortable, default_sort, default_ascending
    )
    if expression is None:
        predicate = None
    elif field_getter is not None:

        def predicate(item):
            return list_query.evaluate(expression, lambda name: field_getter(item, name))
    else:
        predicate = list_query.item_matcher(expression)
    if predicate is None and ascending and unfiltered_json is not None:
        page, total = unfiltered_json((page_number - 1) * limit, limit)
        option = list_query.list_option(
            total, limit, page_number, fields, False, sort_field, ascending, sortable
        )
        return b"".join(
            (b'{"list_items": [', page, b'], "list_option": ', json.dumps(option).encode(), b"}")
        )
    if predicate is None and unfiltered is not None:
        page, total = unfiltered(not ascending, (page_number - 1) * limit, limit)
    else:
        page, total = list_query.page_window(items(not ascending), predicate, limit, page_number)
        if materialize is not None:
            page = [materialize(item) for item in page]
    return {
        "list_items": page,
        "list_option": list_query.list_option(
            total,
            limit,
            page_number,
            fields,
            expression is not None,
            sort_field,
            ascending,
            sortable,
        ),
    }
