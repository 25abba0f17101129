# The call log is best-effort (issue 12: logging never fails a request, a call
# or the boot): a heap too fragmented for the store's partition read, as on a
# small board at boot, drops the entry instead of raising. Both runtimes.
from checks import temp_dir
from panel.clock import Clock
from panel.services.call_log import CallLog
from panel.store import Store


class StarvedStore(Store):
    # Every read of a data file fails the way a fragmented heap does.
    starved = False

    def _starve(self):
        if self.starved:
            raise MemoryError("memory allocation failed, allocating 3584 bytes")

    def keys(self, *args, **kwargs):
        self._starve()
        return Store.keys(self, *args, **kwargs)

    def count(self, *args, **kwargs):
        self._starve()
        return Store.count(self, *args, **kwargs)


def test_a_memory_error_drops_the_entry_and_the_next_one_is_stored():
    store = StarvedStore(temp_dir("call-log-heap") + "/store")
    store.open()
    log = CallLog(store, Clock(assume_set=True), 10)
    first = log.add("device_booted", {"firmware_version": "test"})
    assert first == 1
    store.starved = True
    assert log.add("device_booted", {"firmware_version": "test"}) is None
    assert log.dropped == 1
    store.starved = False
    # The uid is read again from the store: no gap, no duplicate.
    assert log.add("device_booted", {"firmware_version": "test"}) == 2
    assert list(store.keys("l:", "l;")) == ["l:0000000001", "l:0000000002"]
    store.close()
