"""Fixtures for host_sim tests: a Simulation closed after the test, boards in tmp_path."""
import pytest

import host_sim
from host_sim import Board, Simulation


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


@pytest.fixture
def make_board(sim, tmp_path):
    def make(name="cam", **kw):
        return Board(name, tmp_path, sim=sim, **kw)
    return make


def entry_of(fn):
    """An entry from an `async def fw(storage)`."""
    return lambda storage: fn(storage)


__all__ = ["host_sim"]
