# Helpers for tests that run under both pytest (CPython) and the MicroPython
# runner (tools/mpy/runner.py): no pytest import, no fixtures, plain asserts.


def raises(exception_class, function, *args, **kwargs):
    """Call function and return the exception it raised; fail if none or another."""
    try:
        function(*args, **kwargs)
    except exception_class as exc:
        return exc
    raise AssertionError("%s not raised" % exception_class.__name__)


_RUN_TOKEN = []


def _run_token():
    # One random token per test run, so that runs side by side (two worktrees,
    # two runtimes) never share a directory.
    if not _RUN_TOKEN:
        from panel.compat import hexlify, urandom

        _RUN_TOKEN.append(hexlify(urandom(4)))
    return _RUN_TOKEN[0]


def temp_dir(name):
    """A fresh, empty directory for one test, on either runtime.

    On Linux it is on /dev/shm (tmpfs): these tests check the store's logic,
    and an fsync there costs nothing; durability on a real disk is what
    tests/host/test_store_crash.py and the kill -9 tests check."""
    import os

    base = "."
    for candidate in ("/dev/shm", "/tmp"):
        if _exists(candidate):
            base = candidate
            break
    root = base + "/panel-test-" + _run_token()
    if not _exists(root):
        os.mkdir(root)
    path = root + "/" + name
    _remove_tree(path)
    os.mkdir(path)
    return path


def _exists(path):
    import os

    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove_tree(path):
    import os

    if not _exists(path):
        return
    if os.stat(path)[0] & 0x4000:  # S_IFDIR, the same bit on both runtimes
        for entry in os.listdir(path):
            _remove_tree(path + "/" + entry)
        os.rmdir(path)
    else:
        os.remove(path)
