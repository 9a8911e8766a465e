"""OTA: RSA check, manifest rules, staging into A/B slots, boot decisions, rollback, power
cuts at every written byte. Portable: runs under CPython and MicroPython (wasm)."""

import hashlib
import json
from binascii import hexlify

import ota_vectors as V
from cutting import CuttingStorage, PowerCut
from portable_support import MICROPYTHON, PrefixStorage, raises, run, tmpdir

from wildcam.ota import boot as ota_boot, manifest, rsa as ota_rsa
from wildcam.ota.guard import Guard
from wildcam.ota.manifest import OtaError
from wildcam.ota.updater import Updater


class Log:
    def __init__(self):
        self.lines = []

    def _add(self, level, fmt, *args):
        self.lines.append(level + " " + (fmt % args if args else fmt))

    def info(self, fmt, *args):
        self._add("I", fmt, *args)

    def warning(self, fmt, *args):
        self._add("W", fmt, *args)

    def error(self, fmt, *args):
        self._add("E", fmt, *args)


BASE = "http://updates/b/"


def bundle(version, manifest, sig, files=None):
    """URL -> bytes of one served bundle."""
    out = {BASE + "manifest.json": manifest, BASE + "manifest.json.sig": sig}
    for path, data in (files if files is not None else V.FILES[version]).items():
        out[BASE + path] = data
    return out


class fetcher:
    """fetch(url, offset) over a dict; `breaks` = {url: n}: fail n times after a chunk.
    (A class: MicroPython functions take no attributes.)"""

    def __init__(self, served, chunk=1000, breaks=None):
        self.served = served
        self.chunk = chunk
        self.breaks = breaks
        self.calls = []

    def __call__(self, url, offset=0):
        self.calls.append((url, offset))
        if url not in self.served:
            raise OtaError("404 " + url)
        return self._gen(url, self.served[url], offset)

    def _gen(self, url, data, offset):
        pos = offset
        breaks = self.breaks
        while pos < len(data):
            if breaks and breaks.get(url) and pos > offset:
                breaks[url] -= 1
                raise OSError(104, "connection reset")
            yield data[pos:pos + self.chunk]
            pos += self.chunk


class Counter:
    def __init__(self):
        self.gen, self.tries = -1, 0

    def get(self, gen):
        return self.tries if gen == self.gen else 0

    def bump(self, gen):
        self.tries = self.get(gen) + 1
        self.gen = gen
        return self.tries


def updater(st, served, **kw):
    kw.setdefault("backoff_ms", 0)
    return Updater(st, Log(), keys=V.KEYS, fetch=fetcher(served), version="0.1.0", **kw)


def slot_ok(st, slot, version):
    """The slot holds exactly the files of `version`, with their hashes."""
    for path, data in V.FILES[version].items():
        if st.read("/slots/%s/%s" % (slot, path)) != data:
            return False
    return True


# --- RSA -------------------------------------------------------------------------------------
def test_rsa_verifies_a_known_signature_and_nothing_else():
    d = hashlib.sha256(b"abc").digest()
    assert ota_rsa.verify(V.N1, V.SIG_ABC, d)
    assert not ota_rsa.verify(V.N1, V.SIG_ABC, hashlib.sha256(b"abd").digest())
    bad = bytearray(V.SIG_ABC)
    bad[100] ^= 1
    assert not ota_rsa.verify(V.N1, bytes(bad), d)
    assert not ota_rsa.verify(V.N2, V.SIG_ABC, d)  # another key
    assert not ota_rsa.verify(V.N1, V.SIG_ABC[1:], d)  # wrong length
    assert not ota_rsa.verify(V.N1, b"\xff" * 256, d)  # >= n
    assert ota_rsa.key_id(V.N1) == V.KID1


def test_rsa_refuses_keys_below_2048_bits():
    n = (1 << 1023) + 1
    assert not ota_rsa.verify(n, b"\x01" * 128, hashlib.sha256(b"").digest())


def test_rsa_encoding_is_the_pkcs1_v15_block():
    em = ota_rsa.encoded(b"\x00" * 32, 256)
    assert len(em) == 256 and em[:2] == b"\x00\x01" and em[-52:-51] == b"\x00"
    assert em[2:-52] == b"\xff" * 202


# --- manifests -------------------------------------------------------------------------------
def test_signed_manifest_is_parsed_and_validated():
    m = manifest.parse(V.M_GOOD, V.S_GOOD, V.KEYS)
    assert m["version"] == "0.2.0" and m["kind"] == "app" and len(m["files"]) == 3


def test_signature_by_another_key_or_forged_or_tampered_is_refused():
    e = raises(OtaError, manifest.parse, V.M_GOOD, V.S_GOOD_BY_K2, V.KEYS)
    assert "unknown key" in str(e)
    e = raises(OtaError, manifest.parse, V.M_GOOD, V.S_GOOD_FORGED, V.KEYS)
    assert "bad signature" in str(e)
    tampered = V.M_GOOD.replace(b'"0.2.0"', b'"9.2.0"')
    e = raises(OtaError, manifest.parse, tampered, V.S_GOOD, V.KEYS)
    assert "bad signature" in str(e)
    e = raises(OtaError, manifest.parse, V.M_GOOD, b"not json", V.KEYS)
    assert "unreadable" in str(e)
    e = raises(OtaError, manifest.parse, V.M_GOOD, V.S_GOOD, ())
    assert "trusts no OTA key" in str(e)
    wrong_alg = V.S_GOOD.replace(b"rsa-pkcs1v15-sha256", b"none")
    assert "algorithm" in str(raises(OtaError, manifest.parse, V.M_GOOD, wrong_alg, V.KEYS))


def test_paths_must_stay_inside_the_slot():
    for good in ("wildcam/app.mpy", "a", "umqtt/simple.mpy", "wildcam/x-y_z.1.mpy"):
        manifest.check_path(good)
    for bad in ("../boot.py", "/boot.py", "wildcam/../../boot.py", "wildcam//app.py", "./a",
                "wildcam/.", "a\\b", "C:x", "", "a/b/c/d/e", "manifest.json", "x\n", None, 3,
                "wildcam/" + "a" * 70):
        raises(OtaError, manifest.check_path, bad)
    e = raises(OtaError, manifest.parse, V.M_EVIL, V.S_EVIL, V.KEYS)  # signed, still refused
    assert "leaves the slot" in str(e)


def test_a_signed_manifest_nested_deep_is_refused_before_parsing():
    """It raised RecursionError out of Updater.apply (a task crash) before."""
    e = raises(OtaError, manifest.parse, V.M_DEEP, V.S_DEEP, V.KEYS)
    assert "manifest refused: nested deeper than 3" in str(e)
    st = PrefixStorage(tmpdir())
    up = Updater(st, Log(), keys=V.KEYS, version="0.1.0",
                 fetch=fetcher({BASE + "manifest.json": V.M_DEEP,
                                BASE + "manifest.json.sig": V.S_DEEP}))
    r = run(up.apply(BASE + "manifest.json"))
    assert r["ok"] is False and "nested deeper" in r["error"]
    deep_sig = b'{"alg":' + b"[" * 300 + b"]" * 300 + b"}"
    assert "signature file refused" in str(raises(OtaError, manifest.parse, V.M_GOOD, deep_sig,
                                                  V.KEYS))


def test_manifest_structure_rules():
    def m(**kw):
        d = json.loads(V.M_GOOD)
        for k in kw:
            d[k] = kw[k]
        return d

    manifest.validate(m())
    for bad in (m(kind="x"), m(version="1.x"), m(version=""), m(min_version=None),
                m(created="now"), m(created=True), m(rollback="yes"), m(files=[]),
                m(files=[{"path": "wildcam/app.py", "size": -1, "sha256": "0" * 64}]),
                m(files=[{"path": "wildcam/app.py", "size": 1, "sha256": "A" * 64}]),
                m(files=[{"path": "wildcam/app.py", "size": 1, "sha256": "0" * 64}] * 2),
                m(files=[{"path": "wildcam/other.py", "size": 1, "sha256": "0" * 64}]),
                m(kind="firmware"), [1]):
        raises(OtaError, manifest.validate, bad)


def test_versions_compare_as_numbers():
    assert manifest.parse_version("0.10.0") > manifest.parse_version("0.9.9")
    assert manifest.parse_version("1.0") < manifest.parse_version("1.0.1")
    for bad in ("", "1..2", "v1", "1.-2", None, "1.2a"):
        raises(OtaError, manifest.parse_version, bad)


def test_anti_downgrade_and_signed_rollback():
    good = json.loads(V.M_GOOD)
    down = json.loads(V.M_DOWN)
    rb = json.loads(V.M_RB)
    old_rb = json.loads(V.M_OLD_RB)
    assert manifest.policy(good, "0.1.0") == "install"
    assert manifest.policy(good, "0.2.0") == "current"
    assert manifest.policy(good, "0.2.0", force=True) == "install"
    assert "downgrade" in str(raises(OtaError, manifest.policy, down, "0.1.0"))
    assert manifest.policy(rb, "0.1.0", confirmed_created=1000) == "install"
    assert "replay" in str(raises(OtaError, manifest.policy, old_rb, "0.1.0", 1000))
    needs = json.loads(V.M_NEEDS)
    assert "needs at least 0.1.5" in str(raises(OtaError, manifest.policy, needs, "0.1.0"))
    assert "failed its health gate" in str(raises(OtaError, manifest.policy, good, "0.1.0", 0,
                                                  "0.2.0"))


def test_base_url_drops_query_and_file_name():
    assert manifest.base_url("https://h/x/y/manifest.json?sig=1/2") == "https://h/x/y/"
    assert manifest.base_url("file:/sd/ota/manifest.json") == "file:/sd/ota/"


# --- staging and switching -------------------------------------------------------------------
def test_apply_stages_a_pending_slot_that_boot_confirms_or_rolls_back():
    st = PrefixStorage(tmpdir())
    up = updater(st, bundle("0.2.0", V.M_GOOD, V.S_GOOD))
    r = run(up.apply(BASE + "manifest.json"))
    assert r["ok"] and r["reboot"] and r["version"] == "0.2.0", r
    assert slot_ok(st, "a", "0.2.0")
    assert st.read("/slots/a/manifest.json") == V.M_GOOD
    p = ota_boot.load_pointer(st)
    assert (p["slot"], p["state"], p["good"], p["good_version"]) == ("a", "pending", "lib",
                                                                      "0.1.0")
    c = Counter()
    assert ota_boot.decide(st, c)[0]["slot"] == "a" and c.tries == 1
    assert ota_boot.select(st, c) == "/slots/a"
    assert up.confirm()
    p = ota_boot.load_pointer(st)
    assert (p["slot"], p["state"], p["good"], p["good_version"]) == ("a", "confirmed", "a",
                                                                      "0.2.0")
    assert ota_boot.decide(st, c) == (p, False) and c.tries == 2  # no more counting
    # the next update goes to the other slot and is rolled back by the gate
    up.fetch = fetcher(bundle("0.3.0", V.M_V3, V.S_V3))
    r = run(up.apply(BASE + "manifest.json"))
    assert r["ok"] and slot_ok(st, "b", "0.3.0")
    assert ota_boot.load_pointer(st)["good"] == "a"
    assert up.reject("health gate: no network")
    p = ota_boot.load_pointer(st)
    assert (p["slot"], p["state"], p["version"], p["failed"]) == ("a", "confirmed", "0.2.0",
                                                                  "0.3.0")
    assert slot_ok(st, "a", "0.2.0")
    r = run(up.apply(BASE + "manifest.json"))  # the failed version is not retried by itself
    assert not r["ok"] and "failed its health gate" in r["error"]


def test_unchanged_files_are_copied_not_downloaded():
    st = PrefixStorage(tmpdir())
    up = updater(st, bundle("0.2.0", V.M_GOOD, V.S_GOOD))
    run(up.apply(BASE + "manifest.json"))
    up.confirm()
    up.fetch = fetcher(bundle("0.3.0", V.M_V3, V.S_V3))
    assert run(up.apply(BASE + "manifest.json"))["ok"]
    fetched = [u for u, _ in up.fetch.calls]
    assert BASE + "wildcam/__init__.py" not in fetched  # same empty file in slot a
    assert BASE + "wildcam/app.py" in fetched


def test_boot_counter_rolls_back_an_unconfirmed_slot():
    st = PrefixStorage(tmpdir())
    run(updater(st, bundle("0.2.0", V.M_GOOD, V.S_GOOD)).apply(BASE + "manifest.json"))
    c = Counter()
    for i in range(3):
        p, watch = ota_boot.decide(st, c)
        assert p["slot"] == "a" and watch
    p, watch = ota_boot.decide(st, c, deep_wake=True)  # a chosen sleep is not a failure
    assert p["slot"] == "a"
    p, watch = ota_boot.decide(st, c)
    assert (p["slot"], p["state"], p["failed"], watch) == ("lib", "confirmed", "0.2.0", False)
    assert "3 boots" in p["why"]
    assert ota_boot.select(st, c) == "/lib"


def test_boot_falls_back_to_lib_on_a_missing_or_broken_pointer_or_slot():
    st = PrefixStorage(tmpdir())
    assert ota_boot.select(st, Counter()) == "/lib"
    st.makedirs("/slots")
    st.write_atomic("/slots/active", b"{not json")
    assert ota_boot.select(st, Counter()) == "/lib"
    st.write_atomic("/slots/active", b'{"slot": "../x"}')
    assert ota_boot.select(st, Counter()) == "/lib"
    st.write_atomic("/slots/active", b'{"slot": "b", "state": "pending", "gen": 1, '
                                     b'"good": "lib", "version": "0.2.0"}')
    assert ota_boot.select(st, Counter()) == "/lib"  # slot b has no files: rolled back
    assert ota_boot.load_pointer(st)["why"] == "slot b is missing"


def test_bad_downloads_abort_and_leave_the_running_version_alone():
    cases = []
    served = bundle("0.2.0", V.M_GOOD, V.S_GOOD)
    short = dict(served)
    short[BASE + "wildcam/app.py"] = served[BASE + "wildcam/app.py"][:-10]
    cases.append((short, "truncated"))
    wrong = dict(served)
    wrong[BASE + "wildcam/app.py"] = b"Z" + served[BASE + "wildcam/app.py"][1:]
    cases.append((wrong, "sha256"))
    longer = dict(served)
    longer[BASE + "wildcam/app.py"] = served[BASE + "wildcam/app.py"] + b"!"
    cases.append((longer, "longer"))
    missing = dict(served)
    del missing[BASE + "wildcam/version.py"]
    cases.append((missing, "404"))
    unsigned = dict(served)
    unsigned[BASE + "manifest.json.sig"] = V.S_GOOD_BY_K2
    cases.append((unsigned, "unknown key"))
    evil = bundle("0.2.0", V.M_EVIL, V.S_EVIL, {"wildcam/app.py": b"x", "../boot.py": b"x"})
    cases.append((evil, "leaves the slot"))
    down = bundle("0.0.9", V.M_DOWN, V.S_DOWN)
    cases.append((down, "downgrade"))
    for served_case, why in cases:
        st = PrefixStorage(tmpdir())
        st.makedirs("/lib")
        st.write_atomic("/lib/boot.py", b"factory")
        up = updater(st, served_case, retries=1)
        r = run(up.apply(BASE + "manifest.json"))
        assert not r["ok"] and why in r["error"], (why, r)
        assert ota_boot.load_pointer(st) is None, why
        if why == "truncated":  # a download that gave up: kept to resume, marked
            assert st.exists("/slots/a/" + ota_boot.MARK), why
            assert not ota_boot.complete(st, "a"), why  # never booted
        else:
            assert not st.exists("/slots/a"), why  # staging cleaned up
        assert st.read("/lib/boot.py") == b"factory"
        assert not st.exists("/boot.py")


def test_a_broken_download_resumes_at_its_offset():
    st = PrefixStorage(tmpdir())
    served = bundle("0.2.0", V.M_GOOD, V.S_GOOD)
    up = Updater(st, Log(), keys=V.KEYS, version="0.1.0", backoff_ms=0,
                 fetch=fetcher(served, breaks={BASE + "wildcam/app.py": 2}))
    r = run(up.apply(BASE + "manifest.json"))
    assert r["ok"], r
    offsets = [o for u, o in up.fetch.calls if u.endswith("app.py")]
    assert offsets[0] == 0 and offsets[1] > 0 and offsets[2] > offsets[1]
    assert slot_ok(st, "a", "0.2.0")


def test_no_second_update_while_one_is_pending():
    st = PrefixStorage(tmpdir())
    up = updater(st, bundle("0.2.0", V.M_GOOD, V.S_GOOD))
    run(up.apply(BASE + "manifest.json"))
    up.fetch = fetcher(bundle("0.3.0", V.M_V3, V.S_V3))
    r = run(up.apply(BASE + "manifest.json"))
    assert not r["ok"] and "awaiting confirmation" in r["error"]
    assert r["reboot"] is False


def test_signed_rollback_installs_a_lower_version():
    st = PrefixStorage(tmpdir())
    up = updater(st, bundle("0.2.0", V.M_GOOD, V.S_GOOD))
    run(up.apply(BASE + "manifest.json"))
    up.confirm()
    up.fetch = fetcher(bundle("0.0.9", V.M_DOWN, V.S_DOWN))
    assert "downgrade" in run(up.apply(BASE + "manifest.json"))["error"]
    up.fetch = fetcher(bundle("0.0.9", V.M_RB, V.S_RB))
    r = run(up.apply(BASE + "manifest.json"))
    assert r["ok"], r
    assert slot_ok(st, "b", "0.0.9")
    up.confirm()
    assert ota_boot.load_pointer(st)["good_version"] == "0.0.9"
    up.fetch = fetcher(bundle("0.0.9", V.M_OLD_RB, V.S_OLD_RB))  # replay of an older one
    assert not run(up.apply(BASE + "manifest.json", force=True))["ok"]


# --- power cuts ------------------------------------------------------------------------------
def _tiny():
    return bundle("0.2.1", V.M_TINY, V.S_TINY)


def _check_after_cut(root):
    """After a cut: the board boots a complete install, and a retry ends confirmed."""
    st = PrefixStorage(root)
    c = Counter()
    path = ota_boot.select(st, c)
    if path == "/slots/a":
        assert slot_ok(st, "a", "0.2.1")
        assert ota_boot.load_pointer(st)["state"] == "pending"
    else:
        assert path == "/lib"
        up = updater(st, _tiny())
        r = run(up.apply(BASE + "manifest.json"))
        assert r["ok"] and r["reboot"], r
        assert ota_boot.select(st, c) == "/slots/a"
    up = updater(st, _tiny())
    up.confirm()
    p = ota_boot.load_pointer(st)
    assert (p["slot"], p["state"], p["version"]) == ("a", "confirmed", "0.2.1")
    assert slot_ok(st, "a", "0.2.1")


def test_power_cut_at_every_write_during_staging_and_the_switch():
    budget = 0
    step = 5 if MICROPYTHON else 1
    while True:
        root = tmpdir()
        st = CuttingStorage(root, budget)
        try:
            r = run(updater(st, _tiny()).apply(BASE + "manifest.json"))
            assert r["ok"], r
            break  # the budget covered the whole update
        except PowerCut:
            pass
        _check_after_cut(root)
        budget += step
    assert budget > 1000  # the manifest, signature, files and pointer were all cut into


def test_power_cut_at_every_write_during_confirm_and_rollback():
    for action in ("confirm", "reject", "boots"):
        budget = 0
        while True:
            root = tmpdir()
            st = PrefixStorage(root)
            run(updater(st, _tiny()).apply(BASE + "manifest.json"))
            cut = CuttingStorage(root, budget)
            c = Counter()
            c.gen, c.tries = 1, 3  # three boots already counted
            try:
                if action == "confirm":
                    updater(cut, {}).confirm()
                elif action == "reject":
                    updater(cut, {}).reject("gate")
                else:
                    ota_boot.decide(cut, c)  # fourth boot: rollback
                done = True
            except PowerCut:
                done = False
            p = ota_boot.load_pointer(PrefixStorage(root))
            assert p is not None
            if action == "confirm":
                assert p["slot"] == "a" and p["state"] in ("pending", "confirmed")
            else:
                assert (p["slot"], p["state"]) in (("a", "pending"), ("lib", "confirmed"))
            if done:
                break
            budget += 1 if not MICROPYTHON else 3
        assert budget > 100


# --- firmware partition ----------------------------------------------------------------------
class FakePartition:
    """Enough of esp32.Partition for the updater: two slots, NOR-style erase on write."""
    valid = []

    def __init__(self, label, slots):
        self.label = label
        self.slots = slots
        self.booted = None

    def info(self):
        return (0, 0x10, 0, 0x180000, self.label, False)

    def get_next_update(self):
        return FakePartition("ota_1" if self.label == "ota_0" else "ota_0", self.slots)

    def ioctl(self, op, arg):
        return 0x180000 // 4096 if op == 4 else 0

    def writeblocks(self, block, buf):
        data = self.slots.setdefault(self.label, bytearray(b"\xff" * 0x20000))
        data[block * 4096:block * 4096 + len(buf)] = buf

    def readblocks(self, block, buf):
        data = self.slots.get(self.label, bytearray(b"\xff" * 0x20000))
        buf[:] = data[block * 4096:block * 4096 + len(buf)]

    def set_boot(self):
        if self.slots.get(self.label, b"\xff")[0] != 0xE9:
            raise OSError(5379, "ESP_ERR_OTA_VALIDATE_FAILED")
        self.slots["boot"] = self.label

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        cls.valid.append(1)


def test_firmware_image_is_streamed_verified_and_confirmed():
    st = PrefixStorage(tmpdir())
    slots = {}
    part = FakePartition("ota_0", slots)
    served = {BASE + "manifest.json": V.M_FW, BASE + "manifest.json.sig": V.S_FW,
              BASE + "micropython.bin": V.FW_IMAGE}
    up = Updater(st, Log(), keys=V.KEYS, fetch=fetcher(served, chunk=777), version="0.1.0",
                 partition=part)
    r = run(up.apply(BASE + "manifest.json"))
    assert r["ok"] and r["reboot"], r
    assert slots["boot"] == "ota_1"
    assert bytes(slots["ota_1"][:len(V.FW_IMAGE)]) == V.FW_IMAGE
    assert slots["ota_1"][len(V.FW_IMAGE)] == 0xFF
    fw = ota_boot.load_pointer(st)["fw"]
    assert (fw["state"], fw["label"], fw["version"]) == ("pending", "ota_1", "1.27.1")
    assert ota_boot.decide(st, Counter())[1]  # the watchdog runs on the trial boot
    # after the reboot the new image runs
    up2 = Updater(st, Log(), keys=V.KEYS, version="0.1.0", fetch=fetcher(served),
                  partition=FakePartition("ota_1", slots))
    up2.boot_check()
    n = len(FakePartition.valid)
    assert up2.confirm() and len(FakePartition.valid) == n + 1
    fw = ota_boot.load_pointer(st)["fw"]
    assert (fw["state"], fw["good_version"]) == ("confirmed", "1.27.1")
    r = run(up2.apply(BASE + "manifest.json"))
    assert r["ok"] and not r["reboot"]  # already running it


def test_firmware_bad_image_hash_or_rollback_by_the_bootloader():
    slots = {}
    st = PrefixStorage(tmpdir())
    bad = bytearray(V.FW_IMAGE)
    bad[5000] ^= 0xFF
    served = {BASE + "manifest.json": V.M_FW, BASE + "manifest.json.sig": V.S_FW,
              BASE + "micropython.bin": bytes(bad)}
    up = Updater(st, Log(), keys=V.KEYS, fetch=fetcher(served), version="0.1.0",
                 partition=FakePartition("ota_0", slots))
    r = run(up.apply(BASE + "manifest.json"))
    assert not r["ok"] and "sha256" in r["error"] and "boot" not in slots
    assert ota_boot.load_pointer(st) is None
    served[BASE + "micropython.bin"] = V.FW_IMAGE
    assert run(up.apply(BASE + "manifest.json"))["ok"]
    # the new image crashed and the bootloader went back to ota_0
    up2 = Updater(st, Log(), keys=V.KEYS, version="0.1.0", fetch=fetcher(served),
                  partition=FakePartition("ota_0", slots))
    up2.boot_check()
    fw = ota_boot.load_pointer(st)["fw"]
    assert fw["state"] == "failed" and "rolled back" in fw["why"]
    assert not up2.pending()
    r = run(up2.apply(BASE + "manifest.json"))
    assert not r["ok"] and "failed its health gate" in r["error"]


def test_sha256_hex_matches_hashlib():
    h = hashlib.sha256(V.FW_IMAGE).digest()
    assert hexlify(h).decode() == json.loads(V.M_FW)["files"][0]["sha256"]


# --- the health gate -------------------------------------------------------------------------
class _Reset(Exception):
    pass


def _raise_reset():
    raise _Reset()


def _guard_run(g, ms):
    import asyncio

    async def main():
        try:
            await asyncio.wait_for(g.run(), ms / 1000)
        except asyncio.TimeoutError:
            return "timeout"
        except _Reset:
            return "reset"

    return run(main())


def test_guard_confirms_a_healthy_trial_and_rejects_in_safe_mode_or_without_network():
    for case in ("healthy", "safe", "nonet"):
        st = PrefixStorage(tmpdir())
        up = updater(st, _tiny())
        run(up.apply(BASE + "manifest.json"))
        beats = []
        g = Guard(up, Log(), healthy=lambda: case != "nonet", min_run_ms=0,
                      deadline_ms=50, feed_ms=10, safe_mode=case == "safe", feed_wdt=False,
                      reset=_raise_reset, alive=lambda: beats.append(1))
        assert not g.may_sleep() or not g.watching
        out = _guard_run(g, 300)
        p = ota_boot.load_pointer(st)
        if case == "healthy":
            assert out == "timeout" and p["state"] == "confirmed" and not g.watching
            assert g.may_sleep() and len(beats) > 3  # still beating after the verdict
        else:
            assert out == "reset" and (p["slot"], p["failed"]) == ("lib", "0.2.1")
            assert ("safe mode" if case == "safe" else "health gate") in p["why"]
