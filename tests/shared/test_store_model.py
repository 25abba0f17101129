# panel.store against a dict, over a long pseudo-random run of puts, deletes,
# batches, scans (with skips), counts, reads and reopens, on both runtimes. The store's limits are
# shrunk so that the run merges, splits and drops partitions many times.
from checks import temp_dir
from panel.store import Store


class TinyStore(Store):
    DATA_SPLIT_BYTES = 400
    DATA_TARGET_BYTES = 200
    JOURNAL_MIN_BYTES = 120
    JOURNAL_PERCENT = 60


class Numbers:
    """A small linear congruential generator: the same run on both runtimes."""

    def __init__(self, seed):
        self.state = seed

    def below(self, limit):
        self.state = (self.state * 1103515245 + 12345) % 2147483648
        return (self.state >> 8) % limit


def _key(numbers):
    prefix = "fris"[numbers.below(4)]
    return "%s:%05d" % (prefix, numbers.below(150))


def _value(numbers):
    length = numbers.below(40) if numbers.below(10) else 60 + numbers.below(200)
    return bytes([(numbers.below(256)) for _ in range(length)])


def _check(store, model, numbers):
    keys = sorted(model)
    assert list(store.keys()) == keys
    assert store.count() == len(keys)
    low = _key(numbers)
    high = _key(numbers)
    inside = [key for key in keys if low <= key < high]
    assert list(store.keys(low, high, reverse=True)) == inside[::-1]
    assert store.count(low, high) == len(inside)
    assert list(store.scan(low)) == [(key, model[key]) for key in keys if key >= low]
    # skip: whole partitions are passed over by their counts, the rest key by key.
    skip = numbers.below(len(keys) + 3)
    assert list(store.keys(skip=skip)) == keys[skip:]
    assert list(store.scan(low, high, skip=skip)) == [(key, model[key]) for key in inside[skip:]]
    assert list(store.keys(reverse=True, skip=skip)) == keys[::-1][skip:]
    assert list(store.keys(low, high, reverse=True, skip=skip)) == inside[::-1][skip:]
    for key in keys:
        assert store.get(key) == model[key]


def test_store_matches_a_dict_over_a_long_run():
    directory = temp_dir("store-model") + "/kv"
    numbers = Numbers(20261123)
    model = {}
    store = TinyStore(directory)
    store.open()
    for step in range(700):
        roll = numbers.below(100)
        if roll < 55:
            key = _key(numbers)
            value = _value(numbers)
            store.put(key, value)
            model[key] = value
        elif roll < 75:
            key = _key(numbers)
            assert store.delete(key) == (key in model)
            model.pop(key, None)
        elif roll < 92:
            changes = []
            for _ in range(1 + numbers.below(6)):
                key = _key(numbers)
                value = None if numbers.below(3) == 0 else _value(numbers)
                changes.append((key, value))
            store.write_batch(changes)
            for key, value in changes:
                if value is None:
                    model.pop(key, None)
                else:
                    model[key] = value
        elif roll < 97:
            key = _key(numbers)
            assert store.get(key) == model.get(key)
        elif roll < 99:
            store.close()
            store = TinyStore(directory)
            store.open()
        elif step > 500:
            store.clear()
            model = {}
        if step % 50 == 0:
            _check(store, model, numbers)
    _check(store, model, numbers)
    store.close()
    store = TinyStore(directory)
    store.open()
    _check(store, model, numbers)
    for key in model:
        assert store.get(key) == model[key]
