"""The step watch (host_sim/stepwatch.py) catches firmware that holds the loop.

Planted failures: a small "firmware" module (its folder is added to the firmware roots, as
if it lived under firmware/lib) that does a network step the way wildcam.net did before
issue 16 (a blocking socket), one that sleeps in a step, one that blocks the board's clock.
Each is caught; its asynchronous twin is not. The watches these tests make are forgotten at
their end, so the suite-wide check (tests/conftest.py) does not fail them a second time.
"""
import asyncio
import socket
import sys
import threading

import pytest

from host_sim import Simulation, stepwatch
from host_sim.stepwatch import RealTimeLoop

PLANTED = '''
import asyncio, socket, time

async def fetch_blocking(port):
    s = socket.socket()
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    s.sendall(b"x")
    data = s.recv(1)
    s.close()
    return data

async def fetch_async(port):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"x")
    await w.drain()
    data = await r.read(1)
    w.close()
    return data

async def hold(ms):
    time.sleep(ms / 1000)

async def block_ms(ms):
    time.sleep_ms(ms)
'''


@pytest.fixture
def planted(tmp_path, monkeypatch):
    d = tmp_path / "fw"
    d.mkdir()
    (d / "plantedfw.py").write_text(PLANTED)
    monkeypatch.syspath_prepend(str(d))
    monkeypatch.setattr(stepwatch, "FIRMWARE_ROOTS", stepwatch.FIRMWARE_ROOTS + [str(d)])
    sys.modules.pop("plantedfw", None)
    import plantedfw

    yield plantedfw
    sys.modules.pop("plantedfw", None)
    stepwatch.reset()


@pytest.fixture
def echo():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            with c:
                if c.recv(1):
                    c.sendall(b"y")

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def run(loop, coro):
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_a_blocking_socket_in_a_firmware_step_is_caught(planted, echo):
    loop = RealTimeLoop()
    assert run(loop, planted.fetch_blocking(echo)) == b"y"
    bad = loop.watch.violations()
    assert len(bad) == 1 and bad[0].event == "socket.connect"
    assert "fetch_blocking" in bad[0].task and "timeout 2" in bad[0].detail
    assert [str(b) for b in stepwatch.violations()] == [str(bad[0])]  # what the suite checks


def test_the_same_step_on_asyncio_streams_passes(planted, echo):
    loop = RealTimeLoop()
    assert run(loop, planted.fetch_async(echo)) == b"y"
    assert loop.watch.violations() == [] and loop.watch.steps > 3


def test_a_step_holding_the_loop_past_the_wall_limit_is_caught(planted):
    loop = RealTimeLoop()
    loop.watch.wall_limit_ms = 100
    run(loop, planted.hold(300))  # time.sleep never returns early: not a flaky assertion
    bad = loop.watch.violations()
    assert len(bad) == 1 and bad[0].wall_ms >= 300 and "hold" in bad[0].task
    loop = RealTimeLoop()
    loop.watch.wall_limit_ms = 100
    run(loop, planted.hold(0))
    assert loop.watch.violations() == []


def test_virtual_blocking_is_measured_and_can_be_bounded(planted):
    with Simulation() as sim:
        sim.watch.virt_limit_ms = 100
        sim.run(planted.block_ms(500))  # time.sleep_ms blocks the board: the clock jumps
        assert sim.watch.max_virt_ms == pytest.approx(500)
        assert sim.watch.virt_slow[0].virt_ms == pytest.approx(500)
        bad = sim.watch.violations()
        assert len(bad) == 1 and "block_ms" in bad[0].task
        sim.run(asyncio.sleep(10))  # awaiting costs virtual time too, but holds nothing
        assert len(sim.watch.violations()) == 1
    assert "500.0 ms virtual" in sim.watch.report()


def test_test_code_may_block_but_is_reported(echo):
    async def test_side():
        s = socket.create_connection(("127.0.0.1", echo), timeout=2)
        s.close()

    loop = RealTimeLoop()
    run(loop, test_side())
    assert loop.watch.violations() == [] and len(loop.watch.blocking) == 1
    assert "blocking socket calls" in loop.watch.report()
    stepwatch.reset()
