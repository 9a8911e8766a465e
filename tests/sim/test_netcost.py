"""Network steps cost virtual time in the simulator (host_sim/netcost.py), as on a board.

The firmware's own Stream (wildcam.net.stream) against real loopback servers in a
Simulation: a TCP connect costs a round trip; a TLS connect three round trips plus the
handshake arithmetic, which holds the loop (the step watch sees it as virtual blocking);
an upload takes size / rate once lwIP's send buffer is full; the reply comes a round trip
after the last byte left, at the same rate; a DNS lookup from a step blocks for a round trip and is cached.
All figures are virtual time, so the assertions are exact up to float rounding.
"""
import socket
import ssl
import sys
import threading
import os
import time

import pytest

from host_sim import Board, Simulation
from host_sim.netcost import NetModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
M = NetModel(rtt_s=0.05, tcp_bps=100_000, tls_bps=50_000, tls_cpu_s=0.8, dns_s=0.02,
             sndbuf=5000)


class Sink:
    """Reads `expect` bytes, then answers with `reply` bytes."""

    def __init__(self, expect=0, reply=b"", tls=None, delay=0.0):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.expect, self.reply, self.tls, self.delay = expect, reply, tls, delay
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            c, _ = self.srv.accept()
            if self.tls is not None:
                c = self.tls.wrap_socket(c, server_side=True)
            got = 0
            while got < self.expect:
                part = c.recv(65536)
                if not part:
                    return
                got += len(part)
            if self.reply:
                time.sleep(self.delay)  # the server's own (real) time to answer
                c.sendall(self.reply)
            c.recv(1)
        except OSError:
            pass

    def close(self):
        self.srv.close()


def connect_cost(sim, port, tls=None):
    from wildcam.net.stream import open_stream

    async def main():
        t0 = sim.now
        s = await open_stream("127.0.0.1", port, 5, tls)
        dt = sim.now - t0
        s.close()
        return dt
    return sim.run(main())


def test_tcp_connect_costs_a_round_trip():
    with Simulation(io_grace=0.05, net=M) as sim:
        srv = Sink()
        assert connect_cost(sim, srv.port) == pytest.approx(M.rtt_s)
        assert sim.watch.max_virt_ms < 1  # awaited, nothing held
        srv.close()


def test_tls_connect_costs_round_trips_and_holds_the_loop_for_its_arithmetic(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from host_sim.servers.pki import _which, make_pki

    if not _which("openssl"):
        pytest.skip("openssl missing")
    from wildcam.net.stream import tls_context

    pki = make_pki(str(tmp_path))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki["server.crt"], pki["server.key"])
    with Simulation(io_grace=0.05, net=M) as sim:
        srv = Sink(tls=server)
        dt = connect_cost(sim, srv.port, tls_context(pki["ca.crt"]))
        assert dt == pytest.approx(3 * M.rtt_s + M.tls_cpu_s)
        assert sim.watch.max_virt_ms == pytest.approx(M.tls_cpu_s * 1000)  # one step held
        srv.close()


def test_an_upload_takes_its_size_at_the_link_rate_and_the_reply_comes_after():
    from wildcam.net.stream import open_stream

    n = 60_000
    with Simulation(io_grace=0.05, net=M) as sim:
        srv = Sink(expect=n, reply=b"r" * 1000)

        async def main():
            s = await open_stream("127.0.0.1", srv.port, 5)
            t0 = sim.now
            await s.write(bytes(n))
            sent = sim.now - t0
            buf = bytearray(1000)
            assert await s.readinto(buf) == 1000
            total = sim.now - t0
            s.close()
            return sent, total

        sent, total = sim.run(main())
        # the last drain returns once no more than sndbuf bytes are still on their way
        assert sent == pytest.approx((n - M.sndbuf) / M.tcp_bps, abs=1e-6)
        assert total == pytest.approx(n / M.tcp_bps + M.rtt_s + 1000 / M.tcp_bps, abs=1e-6)
        srv.close()


def test_a_server_slow_to_answer_a_long_upload_is_waited_for():
    """The wait for a real answer runs from the last write, not the first: an upload whose
    pacing took longer than the reply window (real time) must not jump past the server's
    answer into the firmware's timeout (it did, ~1 run in 3, while the pacing ticks
    themselves waited io_grace each; now they jump at once: nothing can answer before the
    last byte has left)."""
    from wildcam.net.stream import open_stream

    n = 60_000
    with Simulation(io_grace=0.05, net=M) as sim:
        srv = Sink(expect=n, reply=b"r" * 100, delay=0.03)

        async def main():
            s = await open_stream("127.0.0.1", srv.port, 5)
            t0 = sim.now
            await s.write(bytes(n))
            buf = bytearray(100)
            assert await s.readinto(buf) == 100
            s.close()
            return sim.now - t0

        total = sim.run(main())
        assert total == pytest.approx(n / M.tcp_bps + M.rtt_s + 100 / M.tcp_bps, abs=1e-6)
        srv.close()


def test_a_dns_lookup_from_a_step_blocks_once_then_is_cached():
    from wildcam.net import stream

    stream.forget("localhost")
    with Simulation(net=M) as sim:
        async def main():
            t0 = sim.now
            stream.resolve("localhost", 80)
            first = sim.now - t0
            stream.resolve("localhost", 80)
            return first, sim.now - t0

        first, both = sim.run(main())
        assert first == pytest.approx(M.dns_s) and both == pytest.approx(M.dns_s)
        assert len(sim.watch.dns) == 1 and sim.watch.violations() == []
    stream.forget("localhost")


def test_a_board_can_have_its_own_link_and_a_free_network_is_only_on_request(tmp_path):
    slow = NetModel(rtt_s=0.4)
    with Simulation(io_grace=0.05, net=M) as sim:
        b = Board("far", tmp_path, sim=sim, net=slow)
        with b.active():
            assert sim.loop.net_model() is slow
        assert sim.loop.net_model() is M
    with Simulation(io_grace=0.05, net=None) as sim:
        srv = Sink()
        assert connect_cost(sim, srv.port) == 0
        srv.close()
