"""Storage: board paths, atomic replacement on LittleFS and FAT, recovery (portable)."""

from cutting import CuttingStorage, PowerCut
from portable_support import PrefixStorage, raises, tmpdir

from wildcam.core import storage
from wildcam.core.storage import EEXIST, ENOENT, basename, dirname, is_safe_name, join


class FatStorage(PrefixStorage):
    """FAT semantics (the SD card): rename refuses an existing target."""

    def rename(self, src, dst):
        if self.exists(dst):
            raise OSError(EEXIST, "exists")  # 2 args: CPython sets .errno only then
        PrefixStorage.rename(self, src, dst)


class FatCutting(CuttingStorage):
    def rename(self, src, dst):
        if self.exists(dst):
            raise OSError(EEXIST, "exists")
        CuttingStorage.rename(self, src, dst)


def _put(st, path, data):
    st.makedirs(dirname(path))
    with st.open(path, "wb") as f:
        f.write(data)


def test_join_dirname_basename_use_board_paths():
    assert join("/sd", "DCIM", "IMG_1.JPG") == "/sd/DCIM/IMG_1.JPG"
    assert join("/sd/", "/DCIM") == "/sd/DCIM"
    assert join("/", "config.json") == "/config.json"
    assert join("", "a", "", "b") == "a/b"
    assert dirname("/sd/DCIM/IMG_1.JPG") == "/sd/DCIM"
    assert dirname("/config.json") == "/"
    assert dirname("config.json") == ""
    assert basename("/sd/DCIM/IMG_1.JPG") == "IMG_1.JPG"
    assert basename("/sd/") == ""


def test_is_safe_name_refuses_anything_that_could_escape_its_folder():
    for good in ("IMG_0001.JPG", "a", "x" * 64, "2024-05-01T10.json", ".hidden"):
        assert is_safe_name(good), good
    for bad in ("", ".", "..", "a/b", "/", "a\\b", "x" * 65, "nl\n", "nul\x00", "tab\t"):
        assert not is_safe_name(bad), repr(bad)


def test_makedirs_creates_parents_and_accepts_existing_folders():
    st = PrefixStorage(tmpdir())
    st.makedirs("/sd/DCIM/100WILD")
    assert st.is_dir("/sd") and st.is_dir("/sd/DCIM") and st.is_dir("/sd/DCIM/100WILD")
    st.makedirs("/sd/DCIM/100WILD")  # again: fine
    st.makedirs("/")
    st.makedirs("")
    _put(st, "/sd/file", b"x")
    assert not st.is_dir("/sd/file")
    raises(OSError, st.makedirs, "/sd/file/below")


def test_listdir_is_sorted_whatever_the_creation_order():
    st = PrefixStorage(tmpdir())
    names = ["b.jpg", "a.jpg", "c.jpg", "A.jpg", "10.jpg", "9.jpg"]
    for n in names:
        _put(st, "/d/" + n, n.encode())
    assert st.listdir("/d") == sorted(names)
    assert st.listdir("/d") == ["10.jpg", "9.jpg", "A.jpg", "a.jpg", "b.jpg", "c.jpg"]


def test_missing_file_raises_oserror_enoent_and_exists_is_false():
    st = PrefixStorage(tmpdir())
    e = raises(OSError, st.read, "/nope.json")
    assert e.errno == ENOENT
    assert not st.exists("/nope.json")
    assert not st.is_dir("/nope")
    assert st.read_atomic("/nope.json") is None
    assert not st.remove_quiet("/nope.json")


def test_write_atomic_replaces_and_read_atomic_reads_it_back():
    st = PrefixStorage(tmpdir())
    st.write_atomic("/state.json", b'{"v": 1}')
    assert st.read_atomic("/state.json") == b'{"v": 1}'
    st.write_atomic("/state.json", b'{"v": 2, "more": true}')
    assert st.read_atomic("/state.json") == b'{"v": 2, "more": true}'
    assert st.size("/state.json") == len(b'{"v": 2, "more": true}')
    assert st.listdir("/") == ["state.json"]  # no temp or .new left behind


def test_recover_discards_a_torn_tmp_and_keeps_the_old_file():
    st = PrefixStorage(tmpdir())
    st.write_atomic("/cfg", b"old")
    _put(st, "/cfg.tmp", b"ne")  # power cut while writing the temp
    assert st.recover("/cfg") is True
    assert st.read("/cfg") == b"old"
    assert st.listdir("/") == ["cfg"]


def test_recover_rolls_forward_a_complete_new_file():
    st = PrefixStorage(tmpdir())
    _put(st, "/cfg", b"old")
    _put(st, "/cfg.new", b"new")  # cut after the temp became .new, before the switch
    assert st.read_atomic("/cfg") == b"new"
    assert st.listdir("/") == ["cfg"]
    st2 = PrefixStorage(tmpdir())
    _put(st2, "/cfg.new", b"new")  # cut after the old one was removed
    _put(st2, "/cfg.tmp", b"junk")
    assert st2.recover("/cfg") is True
    assert st2.read("/cfg") == b"new"
    assert st2.listdir("/") == ["cfg"]


def test_fat_rename_refusal_takes_the_new_file_route():
    st = FatStorage(tmpdir())
    _put(st, "/a", b"a")
    _put(st, "/b", b"b")
    e = raises(OSError, st.rename, "/a", "/b")  # the simulation really refuses
    assert e.errno == EEXIST and e.args[0] == EEXIST
    st.remove("/a")
    st.remove("/b")
    st.makedirs("/sd")
    st.write_atomic("/sd/meta.json", b"one")
    st.write_atomic("/sd/meta.json", b"two")
    st.write_atomic("/sd/meta.json", b"three")
    assert st.read_atomic("/sd/meta.json") == b"three"
    assert st.listdir("/sd") == ["meta.json"]


def test_fat_power_cut_at_every_step_leaves_old_or_new():
    outcomes = set()
    budget = 0
    while True:
        root = tmpdir()
        FatStorage(root).write_atomic("/m.json", b"OLD-CONTENT")
        st = FatCutting(root, budget)
        try:
            st.write_atomic("/m.json", b"NEW-CONTENT!")
            done = True
        except PowerCut:
            done = False
        got = FatStorage(root).read_atomic("/m.json")  # next boot
        assert got in (b"OLD-CONTENT", b"NEW-CONTENT!"), (budget, got)
        assert FatStorage(root).listdir("/") == ["m.json"], budget
        outcomes.add(got)
        if done:
            assert got == b"NEW-CONTENT!"
            break
        budget += 1
        assert budget < 200
    assert outcomes == {b"OLD-CONTENT", b"NEW-CONTENT!"}


def test_a_write_after_an_interrupted_switch_is_not_undone_later():
    # Cut on FAT after the old file was removed: only `.new` is left. If the next write
    # ignores it, a later read_atomic would roll the stale `.new` over the newer data.
    for cls in (PrefixStorage, FatStorage):
        st = cls(tmpdir())
        _put(st, "/cursor.new", b"v1")
        st.write_atomic("/cursor", b"v2")
        assert st.read_atomic("/cursor") == b"v2", cls.__name__
        assert st.listdir("/") == ["cursor"]


def test_free_bytes_and_constants():
    st = PrefixStorage(tmpdir())
    total, free = st.statvfs("/")
    assert total >= free >= 0
    assert st.free_bytes("/") >= 0
    assert (storage.ENOENT, storage.EEXIST, storage.ENOSPC) == (2, 17, 28)
