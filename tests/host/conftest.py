import pytest

from support.panel_process import PanelProcess


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
