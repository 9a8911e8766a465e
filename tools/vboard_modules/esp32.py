"""The virtual board's `esp32`: a classic ESP32 (the ESP32-CAM's chip) with 4 MB of PSRAM, as
host_sim/mpy/esp32.py models it (held to micropython-esp32-stubs 1.29 by
tests/test_board_contract.py; docs/FIDELITY.md, "Virtual board").

- raw_temperature(): the classic chip's uncalibrated sensor in degrees Fahrenheit; there is
  no die here, so it reads a typical running value (113 F, 45 C); no mcu_temperature()
  (that is the ESP32-S2/S3/C3's);
- idf_heap_info(): the internal DRAM regions and a 4 MB PSRAM region;
- NVS(namespace): values set since the last commit() are lost at a reset; committed ones
  survive every reset of the node process;
- wake_on_ext0/ext1 are remembered (nothing drives the pins, so they never wake the board).
Not here: Partition (OTA of the whole firmware image), RMT, ULP.
"""
import _vboard

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
HEAP_DATA = 4
HEAP_EXEC = 1
_DRAM_REGIONS = (7280, 16648, 94608, 15072, 113840)
_PSRAM = 4 * 1024 * 1024
_wake = {}


def raw_temperature():
    return 113


def idf_heap_info(capabilities):
    out = [(n, n * 3 // 4, n // 2, n // 2) for n in _DRAM_REGIONS]
    if capabilities & HEAP_DATA:
        out.append((_PSRAM, _PSRAM - 65536, _PSRAM // 2, _PSRAM // 2))
    return out


def wake_on_ext0(pin=None, level=WAKEUP_ALL_LOW):
    _wake["ext0"] = (pin, level)


def wake_on_ext1(pins=None, level=WAKEUP_ALL_LOW):
    _wake["ext1"] = (pins, level)


def wake_on_touch(wake):
    pass


def wake_on_ulp(wake):
    pass


_pending = {}  # (namespace, key) -> (kind, value) or None (erased), lost at a reset


class NVS:
    def __init__(self, namespace):
        self._ns = namespace

    def _get(self, key, kind):
        k = (self._ns, key)
        if k in _pending:
            v = _pending[k]
        else:
            raw = _vboard.kv_get("nvs:%s:%s" % k)  # "i:123" or "b:<hex>"
            v = None if raw is None else (raw[0], raw[2:])
        if v is None:
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")
        if v[0] != kind:
            raise OSError(-4354, "ESP_ERR_NVS_TYPE_MISMATCH")
        return v[1]

    def set_i32(self, key, value):
        value = int(value)
        if not -2 ** 31 <= value < 2 ** 31:
            raise OverflowError("value does not fit in i32")
        _pending[(self._ns, key)] = ("i", str(value))

    def get_i32(self, key):
        return int(self._get(key, "i"))

    def set_blob(self, key, value):
        import binascii

        _pending[(self._ns, key)] = ("b", binascii.hexlify(bytes(value)).decode())

    def get_blob(self, key, buffer):
        import binascii

        data = binascii.unhexlify(self._get(key, "b"))
        if len(buffer) < len(data):
            raise OSError(-4366, "ESP_ERR_NVS_INVALID_LENGTH")
        buffer[:len(data)] = data
        return len(data)

    def erase_key(self, key):
        k = (self._ns, key)
        there = _pending[k] is not None if k in _pending else \
            _vboard.kv_get("nvs:%s:%s" % k) is not None
        if not there:
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")
        _pending[k] = None

    def commit(self):
        for (ns, key), v in list(_pending.items()):
            if ns != self._ns:
                continue
            _vboard.kv_set("nvs:%s:%s" % (ns, key), None if v is None else v[0] + ":" + v[1])
            del _pending[(ns, key)]
