"""The WiFi link (wildcam.net.wifi.Link) on a simulated board: connect, NTP, outages, backoff."""
import asyncio

import pytest

from host_sim import Board, Simulation, WifiModel


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(("I", m % a))

    def warning(self, m, *a):
        self.lines.append(("W", m % a))


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def _run_link(sim, tmp_path, wifi, seconds):
    from wildcam.core import clock
    from wildcam.net.wifi import Link

    board = Board("cam", tmp_path, sim=sim, wifi=wifi)
    log = Log()
    state = {}

    async def fw(storage):
        link = Link(wifi.ssid, wifi.password if state.get("good", True) else "nope", log,
                    timeout_s=10, on_up=lambda: state.setdefault("ups", []).append(1))
        state["link"] = link
        task = asyncio.create_task(link.run())
        await asyncio.sleep(seconds)
        state["clock"] = clock.now()
        state["up"] = link.up()
        task.cancel()
        await asyncio.sleep(3600 * 24)

    board.power_on(lambda st: fw(st))
    sim.run_for(seconds + 1)
    return state, log, board


def test_connects_and_sets_the_clock(sim, tmp_path):
    state, log, board = _run_link(sim, tmp_path, WifiModel("forest", "pw"), 60)
    assert state["up"] and state["link"].connects == 1
    assert abs(state["clock"] - board.wall()) < 5  # NTP set the RTC from world time
    assert any("clock set by NTP" in m for _, m in log.lines)


def test_reconnects_after_an_outage(sim, tmp_path):
    state, log, _ = _run_link(sim, tmp_path, WifiModel("forest", "pw", outages=[(30, 300)]),
                              1200)
    link = state["link"]
    assert state["up"] and link.connects == 2 and link.failures >= 1
    assert state["ups"] == [1, 1]


def test_wrong_password_backs_off_without_crashing(sim, tmp_path):
    wifi = WifiModel("forest", "pw", outcome="wrong_password")
    state, log, _ = _run_link(sim, tmp_path, wifi, 1800)
    link = state["link"]
    assert not state["up"] and state["clock"] is None
    # 30 min of trying with 10 s timeouts: backoff keeps attempts far below 180
    assert 3 <= link.failures <= 40, link.failures
    assert all(k == "W" for k, _ in log.lines)
