"""EXIF segment, SD-space policy and battery estimate (portable)."""

import struct

from portable_support import PrefixStorage, tmpdir

from wildcam.capture import exif
from wildcam.capture.sdspace import JOURNAL, SdSpace
from wildcam.capture.sensors import percent


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a)

    warning = info


def _order(tiff, off):
    n = struct.unpack(">H", tiff[off:off + 2])[0]
    return [struct.unpack(">H", tiff[off + 2 + 12 * i:off + 4 + 12 * i])[0] for i in range(n)]


def _tags(tiff, off):
    n = struct.unpack(">H", tiff[off:off + 2])[0]
    out = {}
    for i in range(n):
        tag, typ, count, val = struct.unpack(">HHII", tiff[off + 2 + 12 * i:off + 14 + 12 * i])
        out[tag] = (typ, count, val)
    return out


def test_exif_segment_is_a_valid_tiff_with_sorted_tags():
    seg = exif.segment("2026:06:01 12:00:03", serial="cam-7", description="ev-1",
                       lat=47.5, lon=-122.25)
    assert seg[:2] == b"\xff\xe1" and struct.unpack(">H", seg[2:4])[0] == len(seg) - 2
    assert seg[4:10] == b"Exif\x00\x00"
    tiff = seg[10:]
    assert tiff[:8] == b"MM\x00\x2a\x00\x00\x00\x08"
    ifd0 = _tags(tiff, 8)
    assert _order(tiff, 8) == sorted(ifd0)  # readers expect ascending tags
    typ, count, off = ifd0[0x0132]  # DateTime
    assert tiff[off:off + count] == b"2026:06:01 12:00:03\x00"
    exif_ifd = _tags(tiff, ifd0[0x8769][2])
    typ, count, off = exif_ifd[0xA431]  # BodySerialNumber: 6 bytes, stored at an offset
    assert tiff[off:off + count] == b"cam-7\x00"
    gps = _tags(tiff, ifd0[0x8825][2])
    assert gps[1][2] >> 24 == ord("N")  # 1-byte refs are stored inline
    assert gps[3][2] >> 24 == ord("W")


def test_exif_records_the_local_utc_offset_beside_the_local_time():
    seg = exif.segment("2026:06:01 04:00:01", offset_min=120)
    tiff = seg[10:]
    exif_ifd = _tags(tiff, _tags(tiff, 8)[0x8769][2])
    for tag in (0x9010, 0x9011, 0x9012):  # OffsetTime, OffsetTimeOriginal, ...Digitized
        typ, count, off = exif_ifd[tag]
        assert (typ, count) == (2, 7) and tiff[off:off + count] == b"+02:00\x00"
    assert exif.offset_text(-330) == "-05:30" and exif.offset_text(0) == "+00:00"
    unset = exif.segment(None, offset_min=60)[10:]  # no date, so no offset either
    assert 0x9011 not in _tags(unset, _tags(unset, 8)[0x8769][2])


def test_exif_without_a_clock_has_no_dates_and_no_gps_without_position():
    seg = exif.segment(None, serial="cam-7")
    ifd0 = _tags(seg[10:], 8)
    assert 0x0132 not in ifd0 and 0x8825 not in ifd0


def test_write_jpeg_inserts_after_soi_and_streams_everything():
    frame = b"\xff\xd8" + bytes(range(256)) * 40 + b"\xff\xd9"
    app1 = exif.segment(None)

    class Sink:
        def __init__(self):
            self.data = b""

        def write(self, b):
            self.data += bytes(b)

    out, seen = Sink(), []
    n = exif.write_jpeg(out, frame, app1, chunk=1000, update=lambda p: seen.append(len(p)))
    assert out.data == frame[:2] + app1 + frame[2:] and n == len(out.data) == sum(seen)


class SmallCard(PrefixStorage):
    """A card whose free space is what the test says, minus what is on it."""

    def __init__(self, root, capacity):
        PrefixStorage.__init__(self, root)
        self.capacity = capacity

    def free_bytes(self, path="/"):
        used = 0
        for folder in ("/sd/DCIM/a",):
            if self.exists(folder):
                for n in self.listdir(folder):
                    used += self.size(folder + "/" + n)
        return self.capacity - used


def test_full_card_deletes_only_uploaded_images_oldest_first():
    st = SmallCard(tmpdir(), 10000)
    st.makedirs("/sd/DCIM/a")
    for i in range(6):
        with st.open("/sd/DCIM/a/%d.jpg" % i, "wb") as f:
            f.write(b"x" * 1000)
        with st.open("/sd/DCIM/a/%d.json" % i, "wb") as f:
            f.write(b"{}")
    space = SdSpace(st, 3000, "delete_uploaded", Log())
    for i in (0, 1, 2, 3):  # 4 and 5 are still waiting for upload
        space.note_uploaded("/sd/DCIM/a/%d.jpg" % i)
    assert space.ensure(2500)  # free 3988 -> needs 1512 more: deletes 0 and 1
    left = st.listdir("/sd/DCIM/a")
    assert "0.jpg" not in left and "1.jpg" not in left and "0.json" not in left
    assert "2.jpg" in left and "4.jpg" in left and "5.jpg" in left
    assert st.read(JOURNAL) == b"/sd/DCIM/a/2.jpg\n/sd/DCIM/a/3.jpg\n"
    assert not space.ensure(9000)  # cannot make that much room: refuse
    assert "4.jpg" in st.listdir("/sd/DCIM/a")  # never a file not yet uploaded


def test_stop_policy_refuses_without_deleting():
    st = SmallCard(tmpdir(), 2000)
    st.makedirs("/sd/DCIM/a")
    space = SdSpace(st, 1500, "stop", Log())
    space.note_uploaded("/sd/DCIM/a/old.jpg")
    assert not space.ensure(1000) and space.refused == 1


def test_battery_percent_curve():
    assert percent(None) is None
    assert percent(3.2) == 0 and percent(4.3) == 100
    assert percent(3.8) == 45 and percent(4.0) == 78  # 70 + 15 * 0.05 / 0.1, rounded
