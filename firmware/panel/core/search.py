# The one binary search of the firmware (the store's partition table and its
# sorted id array, the redirect rules' bounded page selection).
#
# Items are addressed by index through a predicate, so a caller can search
# anything sorted that it can index: a list, an array, or keys it decodes on
# demand (the store's packed low keys) without building a list first.


def count_before(count, is_before):
    """How many of the items 0..count-1 come before the one wanted: is_before
    (index) must be true for a leading run of indexes and false for the rest
    (items sorted). That is the index of the first item that is not before,
    `count` when all are. O(log count) calls of is_before."""
    low = 0
    high = count
    while low < high:
        middle = (low + high) // 2
        if is_before(middle):
            low = middle + 1
        else:
            high = middle
    return low
