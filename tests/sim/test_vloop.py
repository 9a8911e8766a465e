import asyncio
import time

import machine

from host_sim import Simulation, run


def test_a_simulated_day_of_timers_runs_fast():
    """24 h of a 1 s periodic task plus a 10 min one: 86 400+ timer events in virtual time."""
    counts = {"fast": 0, "slow": 0}

    async def every(seconds, key, until):
        loop = asyncio.get_running_loop()
        while loop.time() < until:
            await asyncio.sleep(seconds)
            counts[key] += 1

    async def main():
        await asyncio.gather(every(1, "fast", 86400), every(600, "slow", 86400))
        return asyncio.get_running_loop().time()

    real = time.monotonic()
    end = run(main())
    took = time.monotonic() - real
    assert counts == {"fast": 86400, "slow": 144}
    assert 86400 <= end < 86401
    assert took < 24 * 1.0  # "well under a second per board-hour"; typically ~1 s in total


def test_two_boards_keep_their_own_clocks(sim, make_board):
    """Different boot times, RTC settings and drift in one loop; each sees its own."""
    a = make_board("a", boot_time=0.0)
    b = make_board("b", boot_time=0.0, rtc_drift_ppm=100.0)
    seen = {}

    async def fw_a(storage):
        machine.RTC().datetime((2030, 1, 2, 0, 3, 4, 5, 0))
        await asyncio.sleep(3600)
        seen["a"] = (time.ticks_ms(), machine.RTC().datetime(), machine.unique_id())

    async def fw_b(storage):
        await asyncio.sleep(3600)
        seen["b"] = (time.ticks_ms(), machine.RTC().datetime(), machine.unique_id())

    a.power_on(fw_a)
    sim.run_for(1800)  # b boots half an hour later
    b.power_on(fw_b)
    sim.run_for(7200)
    ticks_a, dt_a, uid_a = seen["a"]
    ticks_b, dt_b, uid_b = seen["b"]
    assert ticks_a == ticks_b == 3_600_000  # both: ms since their own boot
    assert dt_a[:3] == (2030, 1, 2) and dt_a[4:7] == (4, 4, 5)  # set at 03:04:05, +1 h
    assert dt_b[:3] == (2000, 1, 1)  # never set: starts at 2000-01-01 at power-on
    # b's RTC runs 100 ppm fast: 3600 s + 0.36 s since its power-on
    assert dt_b[4:7] == (1, 0, 0) and dt_b[7] >= 350_000
    assert uid_a != uid_b and len(uid_a) == 6


def test_real_sockets_still_work_inside_virtual_time():
    """A real TCP echo server in the same loop answers while timers jump ahead."""
    async def main():
        async def echo(reader, writer):
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        ticker = asyncio.ensure_future(asyncio.sleep(3600))  # a far timer to jump to
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        server.close()
        ticker.cancel()
        return line

    with Simulation(io_grace=0.05) as sim:
        assert sim.run(main()) == b"hello\n"


def test_wall_time_starts_at_the_configured_epoch():
    import datetime as dt
    with Simulation(start=dt.datetime(2027, 3, 4, 5, 6, 7)) as sim:
        sim.run_for(60)
        assert sim.wall() == dt.datetime(2027, 3, 4, 5, 7, 7, tzinfo=dt.timezone.utc).timestamp()


def test_paced_clock_never_runs_ahead_of_real_time():
    """pace(speed): every wake-up happens at or before speed x the real time since the
    anchor (the clock may lag, never lead), and timers still land exactly."""
    from host_sim.simulation import Simulation as Sim

    with Sim() as sim:
        sim.pace(20000.0)
        sel = sim.loop._selector
        seen = []

        async def ticker():
            for _ in range(20):
                await asyncio.sleep(30)
                seen.append((asyncio.get_running_loop().time(), sel.paced_now()))

        sim.run(ticker())
        assert [round(t) for t, _ in seen] == list(range(30, 601, 30))
        assert all(t <= paced + 1e-6 for t, paced in seen)


def test_paced_clock_wakes_for_a_real_socket_and_keeps_its_timers():
    """A reply on a real socket wakes the loop long before a far timer, and the clock moves
    to the paced time, not to the timer."""
    import socket
    import threading

    from host_sim.simulation import Simulation as Sim

    a, b = socket.socketpair()
    try:
        with Sim() as sim:
            sim.pace(10000.0)

            async def reader():
                loop = asyncio.get_running_loop()
                data = await asyncio.wait_for(loop.sock_recv(a, 10), timeout=10**7)
                return data, loop.time()

            a.setblocking(False)
            threading.Timer(0.01, b.send, (b"hi",)).start()
            data, t = sim.run(reader())
            assert data == b"hi" and 0 < t < 10**7
            assert t <= sim.loop._selector.paced_now() + 1e-6
    finally:
        a.close()
        b.close()


def test_pace_with_a_lead_starts_the_clock_later():
    from host_sim.simulation import Simulation as Sim

    with Sim() as sim:
        sim.pace(100.0, lead=0.05)
        assert sim.paced_wall() < sim.wall()  # the anchor lies ahead: servers start earlier
        sim.wait_anchor()
        assert sim.paced_wall() >= sim.wall()
        assert sim.speed == 100.0 and sim.lag_max == 0.0
