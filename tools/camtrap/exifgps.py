"""Read the few EXIF facts the export needs from a JPEG (GPS position, the local time's UTC
offset) and coarsen the GPS position of a copied JPEG in place (same bytes elsewhere), so a
package made with --coarsen never carries the exact place in its media."""
from __future__ import annotations

import struct


def _tiff(data: bytes) -> tuple[int, str] | None:
    """(offset of the TIFF header, struct byte order) of the Exif APP1 segment."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, n = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xE1 and data[i + 4:i + 10] == b"Exif\x00\x00":
            t = i + 10
            return t, ">" if data[t:t + 2] == b"MM" else "<"
        if marker == 0xDA:
            return None
        i += 2 + n
    return None


def _entries(data, t, bo, off):
    n = struct.unpack(bo + "H", data[t + off:t + off + 2])[0]
    for k in range(n):
        e = t + off + 2 + 12 * k
        tag, typ, count = struct.unpack(bo + "HHI", data[e:e + 8])
        yield tag, typ, count, e + 8


def _gps_ifd(data, t, bo):
    first = struct.unpack(bo + "I", data[t + 4:t + 8])[0]
    for tag, typ, count, vpos in _entries(data, t, bo, first):
        if tag == 0x8825:
            return struct.unpack(bo + "I", data[vpos:vpos + 4])[0]
    return None


def _exif_ifd(data, t, bo):
    first = struct.unpack(bo + "I", data[t + 4:t + 8])[0]
    for tag, typ, count, vpos in _entries(data, t, bo, first):
        if tag == 0x8769:
            return struct.unpack(bo + "I", data[vpos:vpos + 4])[0]
    return None


def _ascii(data, t, bo, typ, count, vpos) -> str:
    raw = data[vpos:vpos + count] if count <= 4 else data[
        t + struct.unpack(bo + "I", data[vpos:vpos + 4])[0]:][:count]
    return raw.split(b"\x00")[0].decode("ascii", "replace")


def read(data: bytes) -> dict:
    """{"lat", "lon", "OffsetTimeOriginal", "DateTimeOriginal", ...} found in the JPEG."""
    out: dict = {}
    found = _tiff(data)
    if not found:
        return out
    t, bo = found
    try:
        ex = _exif_ifd(data, t, bo)
        names = {0x9003: "DateTimeOriginal", 0x9011: "OffsetTimeOriginal", 0xA431: "BodySerialNumber"}
        if ex is not None:
            for tag, typ, count, vpos in _entries(data, t, bo, ex):
                if tag in names and typ == 2:
                    out[names[tag]] = _ascii(data, t, bo, typ, count, vpos)
        g = _gps_ifd(data, t, bo)
        if g is not None:
            vals, refs = {}, {}
            for tag, typ, count, vpos in _entries(data, t, bo, g):
                if tag in (1, 3) and typ == 2:
                    refs[tag] = _ascii(data, t, bo, typ, count, vpos)
                if tag in (2, 4) and typ == 5 and count == 3:
                    off = t + struct.unpack(bo + "I", data[vpos:vpos + 4])[0]
                    r = struct.unpack(bo + "6I", data[off:off + 24])
                    vals[tag] = (off, r[0] / r[1] + r[2] / r[3] / 60 + r[4] / r[5] / 3600)
            if 2 in vals and 4 in vals:
                out["lat"] = -vals[2][1] if refs.get(1) == "S" else vals[2][1]
                out["lon"] = -vals[4][1] if refs.get(3) == "W" else vals[4][1]
                out["_gps"] = (vals[2][0], vals[4][0], bo)
    except (struct.error, ZeroDivisionError, IndexError):
        pass
    return out


def _dms(deg: float) -> tuple:
    deg = abs(deg)
    d = int(deg)
    m = int((deg - d) * 60)
    s = round(((deg - d) * 60 - m) * 60 * 100)
    return d, 1, m, 1, s, 100


def coarsen(data: bytearray, step: float) -> bool:
    """Round the GPS position in `data` (a whole JPEG) to `step` degrees, in place."""
    got = read(bytes(data))
    if "_gps" not in got:
        return False
    lat_off, lon_off, bo = got["_gps"]
    for off, v in ((lat_off, got["lat"]), (lon_off, got["lon"])):
        data[off:off + 24] = struct.pack(bo + "6I", *_dms(round(v / step) * step))
    return True
