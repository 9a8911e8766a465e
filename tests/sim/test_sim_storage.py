import pytest

from host_sim import PowerCut, SimStorage
from host_sim.storage import Filesystem


@pytest.fixture
def storage(tmp_path):
    return SimStorage(tmp_path / "flash", tmp_path / "sd")


def test_paths_map_to_flash_and_sd(storage, tmp_path):
    with storage.open("/cfg.json", "w") as f:
        f.write("{}")
    storage.makedirs("/sd/img/20260601")
    with storage.open("/sd/img/20260601/a.jpg", "wb") as f:
        f.write(b"\xff\xd8")
    assert (tmp_path / "flash" / "cfg.json").read_text() == "{}"
    assert (tmp_path / "sd" / "img" / "20260601" / "a.jpg").read_bytes() == b"\xff\xd8"
    assert storage.listdir("/sd/img") == ["20260601"]
    with pytest.raises(OSError):
        storage.open("/sd/../../etc/passwd")


@pytest.mark.parametrize("n", [0, 1, 7, 10])
def test_power_cut_at_byte_n_leaves_exactly_n_bytes(tmp_path, n):
    st = SimStorage(tmp_path / "f", tmp_path / "s", cut_after_bytes=n)
    cuts = []
    st.on_cut = lambda: cuts.append(True)
    with pytest.raises(PowerCut):
        with st.open("/data.bin", "wb") as f:
            f.write(b"0123456789ABCDEF")
    assert (tmp_path / "f" / "data.bin").read_bytes() == b"0123456789ABCDEF"[:n]
    assert cuts == [True]
    for op in (lambda: st.read("/data.bin"), lambda: st.remove("/data.bin"),
               lambda: st.listdir("/"), lambda: st.open("/x", "wb")):
        with pytest.raises(PowerCut):
            op()


def test_power_cut_after_ops(tmp_path):
    st = SimStorage(tmp_path / "f", tmp_path / "s", cut_after_ops=2)
    with st.open("/a", "wb") as f:
        f.write(b"one")          # op 1
    st.rename("/a", "/b")        # op 2
    with pytest.raises(PowerCut):
        st.remove("/b")          # op 3: never happens
    assert (tmp_path / "f" / "b").read_bytes() == b"one"


def test_write_atomic_survives_a_cut_at_every_byte(tmp_path):
    """Storage.write_atomic under a cut at every byte and every op: recover() always
    yields the old or the new content — on both the flash (LittleFS) and SD (FAT)."""
    old, new = b'{"v": 1, "name": "old"}', b'{"v": 2, "name": "new value"}'
    for path in ("/cfg.json", "/sd/cfg.json"):
        base = SimStorage(tmp_path / "f", tmp_path / "s")
        base.write_atomic(path, old)
        for n in range(len(new) + 1):
            for kind in ("bytes", "ops"):
                kw = {"cut_after_bytes": n} if kind == "bytes" else {"cut_after_ops": n}
                st = SimStorage(base.flash, base.sd, **kw)
                try:
                    st.write_atomic(path, new)
                except PowerCut:
                    pass
                after = SimStorage(base.flash, base.sd).read_atomic(path)
                assert after in (old, new), (path, kind, n, after)
                SimStorage(base.flash, base.sd).write_atomic(path, old)


def test_enospc_at_capacity_and_statvfs(tmp_path):
    sd = Filesystem("sd", str(tmp_path / "s"), 5 * 4096, kind="fat")
    st = SimStorage(tmp_path / "f", sd)
    assert st.statvfs("/sd") == (5 * 4096, 5 * 4096) and st.block_size("/sd") == 4096
    with st.open("/sd/a", "wb") as f:
        f.write(b"x" * 4096 * 4)
    assert st.free_bytes("/sd") == 4096
    with st.open("/sd/b", "wb") as f:
        f.write(b"y" * 10)        # takes the last block
        with pytest.raises(OSError) as e:
            f.write(b"z" * 4096)
    assert e.value.errno == 28
    st.remove("/sd/a")
    assert st.free_bytes("/sd") == 4 * 4096
    assert sd.counters["removes"] == 1 and sd.counters["enospc"] == 1


def test_fat_full_card_makes_a_short_write(tmp_path):
    """vfs_fat_file.c: f_write fills the last cluster, finds no free one, returns fewer
    bytes; MicroPython raises ENOSPC after writing them, and they stay in the file."""
    sd = Filesystem("sd", str(tmp_path / "s"), 2 * 512, kind="fat", block_size=512)
    st = SimStorage(tmp_path / "f", sd)
    with st.open("/sd/a", "wb") as f:
        f.write(b"a" * 700)       # two clusters, 324 bytes of slack in the second
        with pytest.raises(OSError) as e:
            f.write(b"b" * 400)
    assert e.value.errno == 28
    assert st.read("/sd/a") == b"a" * 700 + b"b" * 324
    with st.open("/sd/a", "r+b") as f:  # bytes the file owns can always be rewritten
        f.seek(10)
        f.write(b"c" * 100)
    assert st.read("/sd/a")[10:110] == b"c" * 100 and sd.free() == 0
    with pytest.raises(OSError) as e:
        st.mkdir("/sd/dir")       # f_mkdir: no cluster -> FR_DENIED -> EACCES
    assert e.value.errno == 13


def test_littlefs_full_flash_writes_nothing_and_keeps_the_last_sync(tmp_path):
    """lfs2.c: a write that cannot allocate returns NOSPC and marks the file erred; closing
    an erred file does not sync, so the file stays as it was at its last sync."""
    flash = Filesystem("flash", str(tmp_path / "f"), 4 * 4096, kind="lfs")
    st = SimStorage(flash, tmp_path / "s")
    with st.open("/log", "wb") as f:
        f.write(b"1" * 5000)      # two blocks
    assert flash.free() == 2 * 4096
    with st.open("/log", "ab") as f:
        f.write(b"2" * 100)       # copies the part-filled block: one spare block needed
        f.flush()
        f.write(b"3" * 100)       # unsynced
        with pytest.raises(OSError) as e:
            f.write(b"4" * 9000)  # three more blocks: none of it lands
    assert e.value.errno == 28
    assert st.read("/log") == b"1" * 5000 + b"2" * 100  # "3"s were never synced
    assert flash.used == 2 * 4096 and flash.counters["enospc"] == 1
    with st.open("/log", "wb") as f:  # truncation lands only at a sync
        f.write(b"5" * 10)
        with pytest.raises(OSError):
            f.write(b"6" * 4 * 4096)
    assert st.read("/log") == b"1" * 5000 + b"2" * 100
    st.makedirs("/d1")            # a directory is a metadata pair: two blocks
    with pytest.raises(OSError) as e:
        st.mkdir("/d2")
    assert e.value.errno == 28 and flash.free() == 0
    with st.open("/d1/x", "wb") as f:
        with pytest.raises(OSError):
            f.write(b"x")
    assert st.read("/d1/x") == b""


def test_fat_refuses_rename_onto_existing_file_littlefs_replaces(storage):
    for p in ("/a", "/b", "/sd/a", "/sd/b"):
        with storage.open(p, "wb") as f:
            f.write(p.encode())
    storage.rename("/a", "/b")
    assert storage.read("/b") == b"/a"
    with pytest.raises(OSError) as e:
        storage.rename("/sd/a", "/sd/b")
    assert e.value.errno == 17


def test_sd_removed_gives_enodev(storage):
    storage.sd.present = False
    with pytest.raises(OSError) as e:
        storage.open("/sd/x", "wb")
    assert e.value.errno == 19
    with storage.open("/flash_ok", "wb") as f:  # flash unaffected
        f.write(b"1")


def test_board_cut_power_after_bytes_reboots_from_disk(sim, make_board):
    import asyncio

    import machine
    board = make_board()
    seen = []

    async def fw(storage):
        seen.append((machine.reset_cause(), storage.exists("/log.txt") and storage.read("/log.txt")))
        if len(seen) == 1:
            with storage.open("/log.txt", "wb") as f:
                for _ in range(10):
                    f.write(b"abcd")
                    await asyncio.sleep(0.1)
        await asyncio.sleep(100)

    board.cut_power(after_bytes=6)
    board.power_on(fw)
    sim.run_for(5)
    assert seen == [(machine.PWRON_RESET, False), (machine.PWRON_RESET, b"abcdab")]
    assert board.counters["power_cuts"] == 1
