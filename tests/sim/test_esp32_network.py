import asyncio

import esp32
import machine
import network
import ntptime
import pytest

from host_sim import WifiModel


def test_nvs_commit_survives_power_cut_uncommitted_does_not(sim, make_board):
    board = make_board()
    seen = []

    async def fw(storage):
        nvs = esp32.NVS("wildcam")
        try:
            seen.append(nvs.get_i32("boots"))
        except OSError:
            seen.append(None)
        n = (seen[-1] or 0) + 1
        nvs.set_i32("boots", n)
        nvs.set_blob("key", b"\x01\x02")
        if n == 1:
            nvs.commit()
        buf = bytearray(8)
        assert nvs.get_blob("key", buf) == 2 and buf[:2] == b"\x01\x02"
        await asyncio.sleep(100)

    board.power_on(fw)
    sim.run_for(5)
    board.cut_power()
    sim.run_for(5)
    board.cut_power()
    sim.run_for(5)
    assert seen == [None, 1, 1]  # boot 2 set 2 without commit: lost at the cut


def _write_image(part, first_byte):
    block = bytearray(b"\xff" * 4096)
    block[0] = first_byte
    part.writeblocks(0, block)


def test_partition_set_boot_then_rollback_when_not_marked_valid(sim, make_board):
    board = make_board()
    running = []

    async def fw(storage):
        cur = esp32.Partition(esp32.Partition.RUNNING)
        running.append(cur.info()[4])
        if len(running) == 1:
            nxt = cur.get_next_update()
            _write_image(nxt, 0x00)
            with pytest.raises(OSError):
                nxt.set_boot()             # not an app image
            _write_image(nxt, 0xE9)
            buf = bytearray(4)
            nxt.readblocks(0, buf)
            assert buf == b"\xe9\xff\xff\xff"
            nxt.set_boot()
            machine.reset()
        if len(running) == 2:
            machine.reset()                # new image crashes before marking itself valid
        await asyncio.sleep(100)

    board.power_on(fw)
    sim.run_for(10)
    assert running == ["ota_0", "ota_1", "ota_0"]
    assert board.counters["ota_rollbacks"] == 1
    assert board.ota.state("ota_1") == "aborted"


def test_partition_marked_valid_stays(sim, make_board):
    board = make_board()
    running = []

    async def fw(storage):
        running.append(esp32.Partition(esp32.Partition.RUNNING).info()[4])
        if len(running) == 1:
            nxt = esp32.Partition(esp32.Partition.RUNNING).get_next_update()
            _write_image(nxt, 0xE9)
            nxt.set_boot()
            machine.reset()
        if len(running) == 2:
            esp32.Partition.mark_app_valid_cancel_rollback()
            machine.reset()
        await asyncio.sleep(100)

    board.power_on(fw)
    sim.run_for(10)
    assert running == ["ota_0", "ota_1", "ota_1"]
    assert [p.info()[4] for p in _with(board, lambda: esp32.Partition.find(esp32.Partition.TYPE_APP))] == ["ota_0", "ota_1"]


def _with(board, fn):
    with board.active():
        return fn()


def test_wlan_connect_outage_and_reconnect(sim, make_board):
    wifi = WifiModel("wildnet", "pw", connect_time=3.0, rssi=-70, outages=[(100, 200)])
    board = make_board(wifi=wifi, boot_time=0.0)
    log = []

    async def fw(storage):
        wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        wlan.connect("wildnet", "pw")
        for t in (1, 5, 150, 201, 204):
            await asyncio.sleep(t - asyncio.get_running_loop().time())
            log.append((t, wlan.status(), wlan.isconnected()))
        log.append(wlan.status("rssi"))
        log.append(wlan.ifconfig()[0].startswith("192.168.4."))
        log.append(wlan.config("mac") == machine.unique_id())

    board.power_on(fw)
    sim.run_for(300)
    assert log[:5] == [(1, network.STAT_CONNECTING, False), (5, network.STAT_GOT_IP, True),
                       (150, network.STAT_NO_AP_FOUND, False),
                       (201, network.STAT_CONNECTING, False), (204, network.STAT_GOT_IP, True)]
    assert log[5:] == [-70, True, True]


def test_wlan_wrong_password_and_fleet_link_switch(sim, make_board):
    wifi = WifiModel("wildnet", "pw", connect_time=1.0)
    board = make_board(wifi=wifi, boot_time=0.0)
    out = {}

    async def fw(storage):
        wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        wlan.connect("wildnet", "wrong")
        await asyncio.sleep(2)
        out["wrong"] = wlan.status()
        wlan.connect("wildnet", "pw")
        await asyncio.sleep(2)
        out["ok"] = wlan.isconnected()
        await asyncio.sleep(10)
        out["dropped"] = wlan.isconnected()

    board.power_on(fw)
    sim.run_for(6)
    wifi.set_link(False)
    sim.run_for(20)
    assert out == {"wrong": network.STAT_WRONG_PASSWORD, "ok": True, "dropped": False}


def test_ntptime_needs_a_connection_and_sets_true_world_time(sim, make_board):
    board = make_board(boot_time=0.0)
    out = {}

    async def fw(storage):
        wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        try:
            ntptime.settime()
        except OSError as e:
            out["offline_errno"] = e.errno
        out["rtc_before"] = machine.RTC().datetime()[0]
        wlan.connect("wildnet", "wildpass")
        await asyncio.sleep(5)
        ntptime.settime()
        out["rtc_after"] = machine.RTC().datetime()[:7]

    board.power_on(fw)
    sim.run_for(10)
    assert out["offline_errno"] == 110
    assert out["rtc_before"] == 2000
    # the simulation starts at 2026-06-01T00:00:00Z; settime ran ~6 s later
    assert out["rtc_after"][:6] == (2026, 6, 1, 0, 0, 0) and 5 <= out["rtc_after"][6] <= 7


def test_adc2_battery_pin_conflicts_with_wifi_like_on_an_esp32(sim, make_board):
    board = make_board(boot_time=0.0)
    out = {}

    async def fw(storage):
        adc = machine.ADC(machine.Pin(14), atten=machine.ADC.ATTN_11DB)
        out["uv"] = adc.read_uv()
        network.WLAN(network.STA_IF).active(True)
        try:
            adc.read_uv()
        except OSError:
            out["blocked"] = True

    board.power_on(fw)
    sim.run_for(2)
    assert 2_000_000 <= out["uv"] <= 2_100_000  # a full 4.2 V cell through a 1:2 divider
    assert out["blocked"] is True
