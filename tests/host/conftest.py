import os

import pytest
from hypothesis import settings as hypothesis_settings

from support.panel_process import PanelProcess

# Hypothesis: developers' runs explore new examples each time; CI replays a
# fixed sequence, so a submission's result does not depend on the draw (new
# findings come from developers' runs, which are random). Only the host tests
# use hypothesis: the shared ones never import it (a large package whose
# asserts pytest rewrites at every start, as it rewrites plugins' packages).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """One simulated panel per test module, started as `make run` starts it."""
    process = PanelProcess(tmp_path_factory.mktemp("panel")).start()
    yield process
    process.stop()


@pytest.fixture
def fresh_panel(tmp_path):
    process = PanelProcess(tmp_path).start()
    yield process
    process.stop()


def pytest_sessionstart(session):
    # The SIP tests skip where sipp is absent (a developer's pytest run), but in
    # CI a missing sipp means `make test` failed to install it: fail loudly.
    import os
    import shutil

    if os.environ.get("CI") and shutil.which("sipp") is None:
        pytest.exit("CI: sipp is missing (make sipp installs sip-tester)", returncode=3)
