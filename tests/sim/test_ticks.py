import time

from hypothesis import given
from hypothesis import strategies as st

from host_sim.patches import TICKS_MAX, TICKS_PERIOD

ticks = st.integers(min_value=0, max_value=TICKS_MAX)
deltas = st.integers(min_value=-(TICKS_PERIOD // 2), max_value=TICKS_PERIOD // 2 - 1)


@given(ticks, deltas)
def test_ticks_diff_undoes_ticks_add(t, d):
    assert time.ticks_diff(time.ticks_add(t, d), t) == d


def test_ticks_wrap_at_2_pow_30():
    near_end = TICKS_MAX - 5
    later = time.ticks_add(near_end, 10)
    assert later == 4  # wrapped
    assert time.ticks_diff(later, near_end) == 10
    assert time.ticks_diff(near_end, later) == -10


def test_board_ticks_wrap_while_running(sim, make_board):
    """A board whose tick counter starts near the end of the ring wraps within seconds,
    and ticks_diff across the wrap still measures elapsed time."""
    board = make_board(ticks_offset_ms=TICKS_MAX - 2000, boot_time=0.0)
    seen = []

    async def fw(storage):
        t0 = time.ticks_ms()
        await __import__("asyncio").sleep(5)
        t1 = time.ticks_ms()
        seen.append((t0, t1, time.ticks_diff(t1, t0)))

    board.power_on(fw)
    sim.run_for(10)
    t0, t1, diff = seen[0]
    assert t1 < t0  # the raw counter wrapped
    assert diff == 5000


def test_sleep_ms_moves_the_world_clock_not_the_host(sim, make_board):
    board = make_board(boot_time=0.0)
    out = []

    async def fw(storage):
        a = time.ticks_ms()
        real = time.monotonic()
        time.sleep_ms(60_000)  # a blocking minute
        out.append((time.ticks_diff(time.ticks_ms(), a), time.monotonic() - real))

    board.power_on(fw)
    sim.run_for(120)
    elapsed_virtual, elapsed_real = out[0]
    assert elapsed_virtual == 60_000
    assert elapsed_real < 1.0
