# pytest setup shared by every test: firmware/ on the path (as on a board, where
# the panel package sits at the root of the file system) and async tests run
# without a plugin, so tests/shared/ files stay runnable by the MicroPython runner.
import asyncio
import inspect
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (
    os.path.join(ROOT, "firmware"),
    ROOT,
    os.path.join(ROOT, "tests"),
    os.path.join(ROOT, "tests", "shared"),
):
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True
    return None
