"""Log ring on flash: bounded, survives reboots, paged reads, never raises on I/O (portable)."""

from portable_support import PrefixStorage, tmpdir

from wildcam.core.log import DEBUG, ERROR, INFO, WARNING, Log


def _log(st, **kw):
    kw.setdefault("files", 3)
    kw.setdefault("file_bytes", 400)
    kw.setdefault("buffer_bytes", 64)
    kw.setdefault("console", False)
    return Log(st, **kw)


def test_ring_is_bounded_in_files_and_bytes():
    st = PrefixStorage(tmpdir())
    log = _log(st)
    lg = log.get("t")
    for i in range(500):
        lg.info("line %d with some padding text", i)
    log.flush()
    names = st.listdir("/log")
    assert names == ["0.log", "1.log", "2.log"]
    for n in names:
        assert st.size("/log/" + n) <= 400
    newest = log.read(0, 1)[0]
    assert newest.endswith("t: line 499 with some padding text")


def test_reads_page_newest_first_across_files():
    st = PrefixStorage(tmpdir())
    log = _log(st, file_bytes=300)
    lg = log.get("p")
    for i in range(30):
        lg.info("n=%d", i)
    page0 = log.read(0, 4)
    page1 = log.read(1, 4)
    assert [l.split("n=")[1] for l in page0] == ["29", "28", "27", "26"]
    assert [l.split("n=")[1] for l in page1] == ["25", "24", "23", "22"]


def test_ring_continues_after_a_reboot():
    st = PrefixStorage(tmpdir())
    log = _log(st)
    for i in range(40):
        log.get("a").info("before %d", i)
    log.flush()
    again = _log(st)
    again.get("b").info("after reboot")
    again.flush()
    lines = again.read(0, 3)
    assert lines[0].endswith("b: after reboot")
    assert lines[1].endswith("a: before 39")


def test_levels_filter_and_counts():
    st = PrefixStorage(tmpdir())
    log = _log(st, level=WARNING)
    lg = log.get("x")
    lg.debug("no")
    lg.info("no")
    lg.warning("yes %s", "w")
    lg.error("yes e")
    lines = log.read(0, 10)
    assert len(lines) == 2
    assert " W x: yes w" in lines[1] and " E x: yes e" in lines[0]
    assert log.counts[WARNING] == 1 and log.counts[ERROR] == 1 and log.counts[INFO] == 0
    assert DEBUG < INFO < WARNING < ERROR


def test_errors_are_flushed_at_once():
    st = PrefixStorage(tmpdir())
    log = _log(st, buffer_bytes=4096)
    log.get("x").info("buffered")
    assert log.bytes_written == 0
    log.get("x").error("urgent")
    assert log.bytes_written > 0
    assert "urgent" in st.read("/log/0.log").decode()


def test_exception_is_logged_with_traceback():
    st = PrefixStorage(tmpdir())
    log = _log(st, file_bytes=4000)

    def boom():
        raise ValueError("kaputt")

    try:
        boom()
    except ValueError as e:
        log.get("x").exc(e, "task %s failed", "cap")
    text = st.read("/log/0.log").decode()
    assert "task cap failed" in text
    assert "ValueError: kaputt" in text
    assert "boom" in text


class _BrokenStorage(PrefixStorage):
    def open(self, path, mode="rb"):
        if "a" in mode or "w" in mode:
            raise OSError(28)
        return PrefixStorage.open(self, path, mode)


def test_a_failing_flash_drops_lines_but_never_raises():
    st = _BrokenStorage(tmpdir())
    log = _log(st)
    lg = log.get("x")
    for i in range(20):
        lg.error("cannot be stored %d", i)
    assert log.dropped == 20


def test_bad_format_arguments_do_not_raise():
    st = PrefixStorage(tmpdir())
    log = _log(st)
    log.get("x").error("two %s %s", "only-one")
    assert "two %s %s" in log.read(0, 1)[0]


def test_timestamps_use_the_clock_when_set():
    st = PrefixStorage(tmpdir())
    log = _log(st, clock=lambda: 1780315203)  # 2026-06-01T12:00:03Z
    log.get("x").error("hi")
    assert log.read(0, 1)[0].startswith("2026-06-01T12:00:03Z E x: hi")
    unset = _log(PrefixStorage(tmpdir()), clock=lambda: None)
    unset.get("x").error("hi")
    assert unset.read(0, 1)[0].startswith("+")
