"""The OTA fault table (docs/OTA.md), on simulated boards running the real App: every case
ends on a working, confirmed version."""
import json
from pathlib import Path

import pytest

from harness import (FACTORY, Plan, Server, app_tree, bundle, fw_image, make_entry, new_board,
                     pointer, slot_dir, slot_files_ok)
from tools.ota import key_id
from wildcam.ota import boot as ota_boot


@pytest.fixture
def env(sim, tmp_path, ota_key, build):
    server = Server(tmp_path / "www")
    server.root.mkdir()
    keys = ((key_id(ota_key.public_key().public_numbers().n),
             ota_key.public_key().public_numbers().n),)
    plan = Plan(server, keys)
    board = new_board(sim, tmp_path / "boards", factory=build)  # /lib on the flash, as flashed

    class Env:
        pass

    e = Env()
    e.sim, e.tmp, e.key, e.build, e.server, e.plan, e.board = \
        sim, tmp_path, ota_key, build, server, plan, board
    e.start = lambda: board.power_on(make_entry(board, plan))

    def restart():
        board.power_off()
        sim.run_for(5)
        e.start()

    e.restart = restart
    e.tree = lambda version, **kw: app_tree(build, tmp_path / ("tree-" + version), version, **kw)
    return e


def healthy_end(e, version, slot=None):
    """The board runs `version`, confirmed, with the App up and the gate passed."""
    p = pointer(e.board)
    if version == FACTORY and (p is None or p["slot"] == "lib"):
        assert p is None or p["state"] == "confirmed"
    else:
        assert p["state"] == "confirmed" and p["version"] == version and p["good_version"] == version
        if slot:
            assert p["slot"] == slot
    gen, path, ver, fault = e.plan.boots[-1]
    assert ver == version and fault is None
    assert e.board.state == "running"
    assert e.plan.guards[-1].watching is False
    return p


def test_update_is_confirmed_after_the_health_gate(env):
    b = bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(1800)
    assert env.plan.results[0]["ok"], env.plan.results
    p = healthy_end(env, "0.2.0", "sa")
    assert slot_files_ok(env.board, "sa", b)
    assert [x[2] for x in env.plan.boots] == ["0.1.0", "0.2.0"]


def refused(env, why):
    r = env.plan.results[-1]
    assert not r["ok"] and why in r["error"], r
    return r


# --- app-level path --------------------------------------------------------------------------
def test_truncated_download_is_refused_and_resumable_later(env):
    b = bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    # the one file that differs from the factory install (the rest is copied, not fetched)
    env.server.truncate["v2/wildcam/core/version.py"] = 10
    env.plan.urls += [env.server.url("v2")]
    env.start()
    env.sim.run_for(600)
    refused(env, "truncated")
    assert pointer(env.board) is None and not (Path(env.board.flash.root) / "slots/a").exists()
    # what was fetched stays, marked as staging (never booted), for the next attempt
    assert (slot_dir(env.board, "sa") / ota_boot.MARK).exists()
    assert (slot_dir(env.board, "sa") / "wildcam/core/version.py.tmp").stat().st_size == 10
    healthy_end(env, FACTORY)
    env.server.truncate.clear()  # the server is fixed: the same bundle now installs
    env.plan.urls += [env.server.url("v2")]
    env.restart()
    env.sim.run_for(1800)
    healthy_end(env, "0.2.0", "sa")
    assert slot_files_ok(env.board, "sa", b)


def test_wrong_hash_is_refused(env):
    b = bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    f = b / "wildcam" / "core" / "version.py"  # (files the factory holds are copied)
    f.write_bytes(f.read_bytes()[:-1] + b"\x00")
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(600)
    refused(env, "sha256")
    assert pointer(env.board) is None
    healthy_end(env, FACTORY)


def test_wrong_signature_is_refused(env):
    b = bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    m = b / "manifest.json"
    m.write_bytes(m.read_bytes().replace(b'"0.2.0"', b'"0.2.1"'))
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(600)
    refused(env, "bad signature")
    healthy_end(env, FACTORY)


def test_signature_by_another_key_is_refused(env, other_key):
    bundle(env.server, other_key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(600)
    refused(env, "unknown key")
    healthy_end(env, FACTORY)


def test_downgrade_is_refused_but_a_signed_rollback_installs(env):
    bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    bundle(env.server, env.key, "old", env.tree("0.1.5"), "0.1.5", 900)
    bundle(env.server, env.key, "rb", env.tree("0.1.5"), "0.1.5", 2000, rollback=True)
    env.plan.urls += [env.server.url("v2")]
    env.start()
    env.sim.run_for(1800)
    healthy_end(env, "0.2.0", "sa")
    env.plan.urls += [env.server.url("old")]
    env.restart()
    env.sim.run_for(600)
    refused(env, "downgrade")
    healthy_end(env, "0.2.0", "sa")
    env.plan.urls += [env.server.url("rb")]
    env.restart()
    env.sim.run_for(1800)
    healthy_end(env, "0.1.5", "sb")


def test_path_outside_the_slot_is_refused_even_when_signed(env):
    from tools.ota import canonical, sign_bytes
    import hashlib
    out = env.server.root / "evil"
    (out / "wildcam").mkdir(parents=True)
    files = {"wildcam/app.mpy": b"x", "../boot.py": b"import evil\n"}
    (out / "wildcam" / "app.mpy").write_bytes(b"x")
    (env.server.root / "boot.py").write_bytes(files["../boot.py"])
    m = canonical({"kind": "app", "version": "0.2.0", "min_version": "0.1.0", "created": 1,
                   "rollback": False,
                   "files": [{"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                             for p, d in sorted(files.items())]})
    (out / "manifest.json").write_bytes(m)
    (out / "manifest.json.sig").write_bytes(sign_bytes(env.key, m))
    env.plan.urls.append(env.server.url("evil"))
    env.start()
    env.sim.run_for(600)
    refused(env, "leaves the slot")
    assert not (Path(env.board.flash.root) / "boot.py").exists()
    slots = Path(env.board.flash.root) / "slots"  # nothing staged; the check time is kept
    assert not slots.exists() or [p.name for p in slots.iterdir()] == ["checked"]
    healthy_end(env, FACTORY)


def test_power_cut_at_every_write_during_staging_and_the_switch(env, tmp_path):
    """Every write() call, rename, remove and mkdir of the update (staging ~50 .mpy files,
    manifest, signature, the pointer's temp file and its rename) is cut in turn; after the
    cut the board boots the old version, retries (resuming: verified files are kept) and
    ends confirmed on the new one."""
    from host_sim import Simulation

    b = bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(600)
    start, end = env.plan.apply_ops[0]
    total = end - start
    assert total > 50
    healthy_end(env, "0.2.0", "sa")
    served = []
    for cut in range(total + 1):
        with Simulation() as sim:
            plan = Plan(env.server, env.plan.keys)
            plan.urls.append(env.server.url("v2"))
            plan.cut_ops = cut
            board = new_board(sim, tmp_path / ("cut%d" % cut), factory=env.build)
            board.power_on(make_entry(board, plan))
            before = env.server.served
            sim.run_for(900)
            served.append(env.server.served - before)
            assert board.counters["power_cuts"] == 1, cut  # (cut == total: just after)
            p = pointer(board)
            assert (p["slot"], p["state"], p["version"]) == ("sa", "confirmed", "0.2.0"), (cut, p)
            assert plan.boots[-1][2] == "0.2.0" and board.state == "running"
            assert plan.guards[-1].watching is False
            assert slot_files_ok(board, "sa", b)
            assert len(plan.boots) == (3 if cut < total else 2) or cut == total
    size = sum(f.stat().st_size for f in b.rglob("*") if f.is_file())
    assert max(served) < 2 * size  # a retry re-downloads only what was not verified


def _trial_fails(env, why_part, **tree):
    bundle(env.server, env.key, "v2", env.tree("0.2.0", **tree), "0.2.0", 1000)
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(3600)
    p = healthy_end(env, FACTORY)
    assert p["failed"] == "0.2.0" and why_part in p["why"], p
    versions = [x[2] for x in env.plan.boots]
    assert versions[0] == FACTORY and versions[-1] == FACTORY
    # the failed version is not retried by itself; a fixed one installs
    bundle(env.server, env.key, "v3", env.tree("0.2.1"), "0.2.1", 2000)
    env.plan.urls += [env.server.url("v2"), env.server.url("v3")]
    env.restart()
    env.sim.run_for(1800)
    refused_first = env.plan.results[-2]
    assert not refused_first["ok"] and "failed its health gate" in refused_first["error"]
    healthy_end(env, "0.2.1", "sa")  # slot sa held the failed version: reused
    return versions


def test_new_version_raising_at_import_rolls_back(env):
    versions = _trial_fails(env, "no confirmation after 3 boots", broken=True)
    assert versions.count("0.2.0") == 0  # never got past the import: no App boot recorded
    assert env.board.counters["WDT_RESET"] >= 3


def test_new_version_hanging_rolls_back_by_watchdog(env):
    versions = _trial_fails(env, "no confirmation after 3 boots", fault="hang")
    assert versions.count("0.2.0") == 3
    assert env.board.counters["WDT_RESET"] >= 3


def test_new_version_without_network_fails_the_gate_and_rolls_back(env):
    versions = _trial_fails(env, "health gate", fault="nonet")
    assert versions.count("0.2.0") == 1


# --- firmware-partition path -----------------------------------------------------------------
def fw_bundle(env, name, version, created, fault=None, key=None, rollback=False):
    img = env.tmp / f"{name}.bin"
    img.write_bytes(fw_image(fault))
    return bundle(env.server, key or env.key, name, img, version, created, kind="firmware",
                  rollback=rollback, min_version="0.0.0")


def fw_state(env):
    ota = env.board.ota
    return ota.running, ota.state(ota.running), (pointer(env.board) or {}).get("fw")


def test_firmware_update_is_confirmed_after_the_health_gate(env):
    fw_bundle(env, "fw2", "1.27.1", 1000)
    env.plan.urls.append(env.server.url("fw2"))
    env.start()
    env.sim.run_for(1800)
    running, state, fw = fw_state(env)
    assert (running, state) == ("ota_1", "valid")
    assert fw["state"] == "confirmed" and fw["good_version"] == "1.27.1"
    healthy_end(env, FACTORY)


@pytest.mark.parametrize("case", ["truncated", "hash", "signature", "other_key", "downgrade",
                                  "path"])
def test_firmware_bad_bundles_are_refused(env, other_key, case):
    b = fw_bundle(env, "fw", "1.27.1", 1000, key=other_key if case == "other_key" else None)
    if case == "truncated":
        env.server.truncate["fw/fw.bin"] = 50000
    elif case == "hash":
        f = b / "fw.bin"
        data = bytearray(f.read_bytes())
        data[70000] ^= 1
        f.write_bytes(bytes(data))
    elif case == "signature":
        m = b / "manifest.json"
        m.write_bytes(m.read_bytes().replace(b'"1.27.1"', b'"1.27.2"'))
    elif case == "path":
        from tools.ota import canonical, sign_bytes
        m = json.loads((b / "manifest.json").read_text())
        m["files"][0]["path"] = "../fw.bin"
        raw = canonical(m)
        (b / "manifest.json").write_bytes(raw)
        (b / "manifest.json.sig").write_bytes(sign_bytes(env.key, raw))
    if case == "downgrade":
        fw_bundle(env, "fw0", "1.27.0", 2000)
        env.plan.urls += [env.server.url("fw"), env.server.url("fw0")]
    else:
        env.plan.urls.append(env.server.url("fw"))
    env.start()
    env.sim.run_for(1800)
    why = {"truncated": "truncated", "hash": "sha256", "signature": "bad signature",
           "other_key": "unknown key", "downgrade": "downgrade", "path": "leaves the slot"}[case]
    refused(env, why)
    running, state, fw = fw_state(env)
    if case == "downgrade":
        assert running == "ota_1" and fw["state"] == "confirmed"
    else:
        assert running == "ota_0" and state == "valid" and fw is None
    healthy_end(env, FACTORY)


@pytest.mark.parametrize("blocks", [0, 1, 12, 24, 25])
def test_firmware_power_cut_during_writeblocks(env, blocks):
    fw_bundle(env, "fw2", "1.27.1", 1000)  # 25 blocks of 4096
    env.plan.urls.append(env.server.url("fw2"))
    env.plan.cut_blocks = blocks
    env.start()
    env.sim.run_for(2400)
    assert env.board.counters["power_cuts"] == (1 if blocks < 25 else 0)
    running, state, fw = fw_state(env)
    assert (running, state, fw["state"]) == ("ota_1", "valid", "confirmed")
    healthy_end(env, FACTORY)


@pytest.mark.parametrize("fault", ["raise", "hang", "nonet"])
def test_firmware_that_fails_its_trial_is_rolled_back(env, fault):
    fw_bundle(env, "fw2", "1.27.1", 1000, fault=fault)
    env.plan.urls.append(env.server.url("fw2"))
    env.start()
    env.sim.run_for(3600)
    running, state, fw = fw_state(env)
    assert running == "ota_0" and env.board.ota.state("ota_1") == "aborted"
    assert fw["state"] == "failed", fw
    assert env.board.counters["ota_rollbacks"] == 1
    healthy_end(env, FACTORY)
    # a fixed image installs afterwards
    fw_bundle(env, "fw3", "1.27.2", 2000)
    env.plan.urls.append(env.server.url("fw3"))
    env.restart()
    env.sim.run_for(1800)
    running, state, fw = fw_state(env)
    assert (running, state, fw["state"], fw["good_version"]) == ("ota_1", "valid", "confirmed",
                                                                 "1.27.2")


def test_no_room_anywhere_is_refused_up_front_with_the_figures(env):
    """No SD card: the flash holds the factory copy and the logs, not a second copy. The
    update is refused before anything is written, saying what it needs and what is free."""
    bundle(env.server, env.key, "v2", env.tree("0.2.0"), "0.2.0", 1000)
    env.board.sd.present = False
    env.plan.urls.append(env.server.url("v2"))
    env.start()
    env.sim.run_for(600)
    r = refused(env, "no room for 0.2.0")
    assert "flash: needs" in r["error"] and "no SD card" in r["error"], r
    print(r["error"])
    assert pointer(env.board) is None
    assert not (Path(env.board.flash.root) / "slots" / "a").exists()
    assert not (Path(env.board.flash.root) / "slots" / "b").exists()
    healthy_end(env, FACTORY)
