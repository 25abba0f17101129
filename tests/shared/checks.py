# Helpers for tests that run under both pytest (CPython) and the MicroPython
# runner (tools/mpy/runner.py): no pytest import, no fixtures, plain asserts.


def raises(exception_class, function, *args, **kwargs):
    """Call function and return the exception it raised; fail if none or another."""
    try:
        function(*args, **kwargs)
    except exception_class as exc:
        return exc
    raise AssertionError("%s not raised" % exception_class.__name__)


def temp_dir(name):
    """A fresh, empty directory for one test, on either runtime."""
    import os

    base = "/tmp" if _exists("/tmp") else "."
    path = base + "/panel-test-" + name
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
