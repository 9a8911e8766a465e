import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from host_sim import Simulation  # noqa: E402


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


@pytest.fixture(scope="session")
def ota_key():
    from tools.ota import generate_key
    return generate_key()


@pytest.fixture(scope="session")
def other_key():
    from tools.ota import generate_key
    return generate_key()


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """tools/flash.py build: the .mpy tree a board receives."""
    from tools.flash import main
    out = tmp_path_factory.mktemp("build")
    assert main(["build", "--out", str(out)]) == 0
    return out / "lib"
