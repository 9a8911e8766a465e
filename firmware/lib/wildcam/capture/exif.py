"""A minimal EXIF (APP1) segment for camera-trap JPEGs, built without any library.

It carries what research tools read first: Make, Model, DateTime / DateTimeOriginal (local
time) with its UTC offset (OffsetTime / OffsetTimeOriginal / OffsetTimeDigitized, "+02:00",
EXIF 2.31), the device's serial (BodySerialNumber), ImageDescription (the event id), and GPS
latitude/longitude when configured. `segment()` returns the bytes to insert right after
the JPEG's SOI marker (FF D8); `jpeg_parts()`/`write_jpeg()` stream a camera frame with the
segment inserted, in fixed-size chunks, without copying the frame.

Layout: big-endian TIFF ("MM"), IFD0 -> Exif IFD and GPS IFD; all values that do not fit
in 4 bytes live after the IFDs, offsets from the TIFF header as the standard requires.
"""

import struct

ASCII = 2
SHORT = 3
LONG = 4
RATIONAL = 5
_SIZES = {ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8}


def _dms(deg):
    """Degrees -> ((d,1),(m,1),(s*100,100)) rationals for GPS."""
    deg = abs(deg)
    d = int(deg)
    m_full = (deg - d) * 60
    m = int(m_full)
    s = round((m_full - m) * 60 * 100)
    if s >= 6000:
        s -= 6000
        m += 1
    if m >= 60:
        m -= 60
        d += 1
    return ((d, 1), (m, 1), (s, 100))


def _value(typ, v):
    """(count, bytes) of a tag value."""
    if typ == ASCII:
        raw = v.encode() + b"\x00"
        return len(raw), raw
    if typ == SHORT:
        return 1, struct.pack(">H", v)
    if typ == LONG:
        return 1, struct.pack(">I", v)
    if typ == RATIONAL:
        vals = v if isinstance(v[0], tuple) else (v,)
        return len(vals), b"".join(struct.pack(">II", a, b) for a, b in vals)
    if typ == 1 or typ == 7:  # BYTE, UNDEFINED: raw bytes
        return len(v), bytes(v)
    raise ValueError("tag type %d" % typ)


def _ifd(entries, base, next_ifd=0):
    """One IFD at TIFF offset `base`: (bytes of the IFD plus its out-of-line data).
    `entries` is a list of (tag, type, value); tags are written in ascending order."""
    entries = sorted(entries, key=lambda e: e[0])
    n = len(entries)
    data_off = base + 2 + n * 12 + 4
    head = struct.pack(">H", n)
    extra = b""
    for tag, typ, v in entries:
        count, raw = _value(typ, v)
        if len(raw) <= 4:
            head += struct.pack(">HHI", tag, typ, count) + raw + b"\x00" * (4 - len(raw))
        else:
            head += struct.pack(">HHII", tag, typ, count, data_off + len(extra))
            extra += raw
            if len(extra) % 2:
                extra += b"\x00"
    return head + struct.pack(">I", next_ifd) + extra


def offset_text(minutes):
    """"+02:00" / "-05:30" for a UTC offset in minutes (the EXIF OffsetTime* format)."""
    sign = "-" if minutes < 0 else "+"
    m = abs(int(minutes))
    return "%s%02d:%02d" % (sign, m // 60, m % 60)


def segment(when=None, make="WildCAM", model="ESP32-CAM", serial=None, description=None,
            lat=None, lon=None, software=None, offset_min=None):
    """APP1 Exif segment bytes (marker included). `when` is local "YYYY:MM:DD HH:MM:SS" or
    None when the clock is unset (then no date tags: better none than a wrong one);
    `offset_min` is the local time's UTC offset, written as OffsetTime* with the dates."""
    ifd0 = [(0x010F, ASCII, make), (0x0110, ASCII, model)]  # type: list
    if software:
        ifd0.append((0x0131, ASCII, software))
    if description:
        ifd0.append((0x010E, ASCII, description))
    if when:
        ifd0.append((0x0132, ASCII, when))
    exif = [(0x9000, 7, b"0232")]  # type: list  # ExifVersion (UNDEFINED), then ASCII tags
    if when:
        exif.append((0x9003, ASCII, when))  # DateTimeOriginal
        exif.append((0x9004, ASCII, when))  # DateTimeDigitized
        if offset_min is not None:
            off = offset_text(offset_min)
            exif.append((0x9010, ASCII, off))  # OffsetTime (of DateTime)
            exif.append((0x9011, ASCII, off))  # OffsetTimeOriginal
            exif.append((0x9012, ASCII, off))  # OffsetTimeDigitized
    if serial:
        exif.append((0xA431, ASCII, serial))  # BodySerialNumber
    gps = None
    if lat is not None and lon is not None and (lat or lon):
        gps = [(0x0000, 1, (2, 3, 0, 0)), (0x0001, ASCII, "N" if lat >= 0 else "S"),
               (0x0002, RATIONAL, _dms(lat)), (0x0003, ASCII, "E" if lon >= 0 else "W"),
               (0x0004, RATIONAL, _dms(lon))]
    # sizes are needed for offsets: lay out IFD0 with placeholder pointers first
    probe = _ifd(ifd0 + [(0x8769, LONG, 0)] + ([(0x8825, LONG, 0)] if gps else []), 8)
    exif_off = 8 + len(probe)
    exif_ifd = _ifd(exif, exif_off)
    gps_off = exif_off + len(exif_ifd)
    ifd0_full = ifd0 + [(0x8769, LONG, exif_off)] + ([(0x8825, LONG, gps_off)] if gps else [])
    body = b"MM\x00\x2a" + struct.pack(">I", 8) + _ifd(ifd0_full, 8) + exif_ifd
    if gps:
        body += _ifd(gps, gps_off)
    payload = b"Exif\x00\x00" + body
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_parts(frame, app1, chunk=4096):
    """The bytes of `frame` (a JPEG starting with FF D8) with `app1` right after the SOI
    marker, as successive memoryviews of at most `chunk` bytes (none copied but app1).
    The marker is read with struct (unsigned, no copy): the maintained camera driver's
    frames are memoryviews of SIGNED bytes, where mv[0] of a JPEG is -1, not 0xFF."""
    mv = memoryview(frame)
    if len(mv) < 2 or struct.unpack_from(">H", mv, 0)[0] != 0xFFD8:
        raise ValueError("not a JPEG frame")
    yield mv[:2]
    yield app1
    for off in range(2, len(mv), chunk):
        yield mv[off:off + chunk]


def write_jpeg(f, frame, app1, chunk=4096, update=None):
    """Write `frame` with `app1` (see jpeg_parts) to open file `f`; returns bytes written.
    `update(part)` sees every byte written (hash)."""
    n = 0
    for p in jpeg_parts(frame, app1, chunk):
        f.write(p)
        if update:
            update(p)
        n += len(p)
    return n
