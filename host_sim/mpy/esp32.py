"""Simulated `esp32` module: Partition (OTA with rollback), NVS, ext0/ext1 wake, the chip's
temperature sensor, idf_heap_info. State is per board and persists in the board folder.

Chip-aware (MicroPython ports/esp32/modesp32.c): `raw_temperature()` exists only on the
classic ESP32 (the ESP32-CAM's chip; degrees Fahrenheit, uncalibrated, an int), and
`mcu_temperature()` (degrees Celsius) only on the ESP32-S2/S3/C3. Both resolve per board
through module __getattr__, so `hasattr(esp32, "mcu_temperature")` answers per chip.
"""
from host_sim.context import board_or_none as _board_or_none
from host_sim.context import get_board as _board
from host_sim.hw import esp32_state as _S

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
HEAP_DATA = 4
HEAP_EXEC = 1


def _gpio(pin):
    return pin.id if hasattr(pin, "id") else int(pin)


_KEEP = object()  # a wake_on_ext* argument left out keeps the current setting (modesp32.c)


def wake_on_ext0(pin=_KEEP, level=_KEEP, /):
    b = _board()
    old_pin, old_level = b.ext0 if b.ext0 is not None else (None, False)
    pin = old_pin if pin is _KEEP else pin
    level = old_level if level is _KEEP else level
    b.ext0 = None if pin is None else (_gpio(pin), bool(level))


def wake_on_ext1(pins=_KEEP, level=_KEEP, /):
    b = _board()
    old_pins, old_level = b.ext1 if b.ext1 is not None else ((), False)
    pins = old_pins if pins is _KEEP else pins
    level = old_level if level is _KEEP else level
    b.ext1 = None if not pins else (tuple(_gpio(p) for p in pins), bool(level))


def wake_on_touch(wake, /):
    pass


def wake_on_ulp(wake, /):
    pass


def _mcu_temperature():
    return int(round(_board().die_temperature_c()))


def _raw_temperature():
    return int(_board().die_temperature_c() * 9 / 5 + 32)


def _gpio_deep_sleep_hold(enable, /):
    """modesp32.c: gpio_deep_sleep_hold_en()/_dis(): held digital (non-RTC) pads keep their
    configuration in deep sleep too. Built where the chip holds digital pads only all
    together (SOC_GPIO_SUPPORT_HOLD_IO_IN_DSLP && !..._SINGLE_IO_...): the classic ESP32."""
    _board().deep_sleep_hold = bool(enable)


_BY_CHIP = {"raw_temperature": ("esp32",), "mcu_temperature": ("esp32s2", "esp32s3", "esp32c3"),
            "gpio_deep_sleep_hold": ("esp32",)}
_CHIP_NAMES = {"raw_temperature": _raw_temperature, "mcu_temperature": _mcu_temperature,
               "gpio_deep_sleep_hold": _gpio_deep_sleep_hold}


def __getattr__(name):
    chips = _BY_CHIP.get(name)
    if chips is not None:
        b = _board_or_none()
        if b is not None and b.chip in chips:
            return _CHIP_NAMES[name]
        raise AttributeError("module 'esp32' has no attribute %r on %s" % (
            name, b.chip if b is not None else "a board-less host"))
    raise AttributeError("module 'esp32' has no attribute %r" % name)


# internal DRAM regions of an ESP32 with MicroPython running (sizes as a board reports them)
_DRAM_REGIONS = (7280, 16648, 94608, 15072, 113840)


def idf_heap_info(capabilities):
    """4-tuples (total, free, largest free block, minimum free) per IDF heap region: the
    internal DRAM regions, plus the PSRAM region on a board that has PSRAM."""
    b = _board()
    out = [(n, n * 3 // 4, n // 2, n // 2) for n in _DRAM_REGIONS]
    if b.psram and capabilities & HEAP_DATA:
        free = b.heap_free()
        out.append((b.heap_size, free, free // 2, free // 2))
    return out


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = _S.TYPE_APP
    TYPE_DATA = _S.TYPE_DATA

    def __init__(self, id, block_size=4096, /):
        self._board = _board()
        ota = self._board.ota
        if id == Partition.RUNNING:
            id = ota.running
        elif id == Partition.BOOT:
            id = ota.meta["boot"]
        self._row = _S.entry(id)
        self.block_size = block_size

    @staticmethod
    def find(type=TYPE_APP, subtype=0xFF, /, label=None):
        b = _board()
        out = []
        for row in _S.TABLE:
            if row[1] == type and (subtype == 0xFF or row[2] == subtype) and \
                    (label is None or row[0] == label):
                p = Partition.__new__(Partition)
                p._board, p._row, p.block_size = b, row, 4096
                out.append(p)
        return out

    def info(self):
        label, typ, sub, addr, size = self._row
        return (typ, sub, addr, size, label, False)

    def _label(self):
        return self._row[0]

    def readblocks(self, block_num, buf, offset=0):
        data = self._board.ota.read(self._label(), block_num * self.block_size + offset,
                                    len(buf))
        buf[:] = data

    def writeblocks(self, block_num, buf, offset=None, /):
        start = block_num * self.block_size
        if offset is None:
            nblocks = -(-len(buf) // self.block_size)
            for i in range(nblocks):
                self._board.ota.erase(self._label(), block_num + i)
            self._board.ota.program(self._label(), start, bytes(buf), True)
        else:
            self._board.ota.program(self._label(), start + offset, bytes(buf), False)

    def ioctl(self, op, arg=None):
        if op == 4:
            return self._row[4] // self.block_size
        if op == 5:
            return self.block_size
        if op == 6:
            self._board.ota.erase(self._label(), arg)
            return 0
        return 0

    def set_boot(self):
        self._board.ota.set_boot(self._label())

    def get_next_update(self):
        cur = self._board.ota.running
        nxt = "ota_1" if cur == "ota_0" else "ota_0"
        p = Partition.__new__(Partition)
        p._board, p._row, p.block_size = self._board, _S.entry(nxt), 4096
        return p

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        _board().ota.mark_valid()

    def __eq__(self, other):
        return isinstance(other, Partition) and other._row == self._row

    def __hash__(self):
        return hash(self._row)

    def __repr__(self):
        label, typ, sub, addr, size = self._row
        return "<Partition type=%d, subtype=%d, address=%d, size=%d, label=%s, encrypted=0>" \
            % (typ, sub, addr, size, label)


class NVS:
    def __init__(self, namespace, /):
        self._board = _board()
        self._ns = namespace

    def _get(self, key, kind):
        v = self._board.nvs.get(self._ns, key)
        if v is None:
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")
        if v[0] != kind:
            raise OSError(-4354, "ESP_ERR_NVS_TYPE_MISMATCH")
        return v[1]

    def set_i32(self, key, value, /):
        value = int(value)
        if not -2**31 <= value < 2**31:
            raise OverflowError("value does not fit in i32")
        self._board.nvs.set(self._ns, key, "i32", value)

    def get_i32(self, key, /):
        return self._get(key, "i32")

    def set_blob(self, key, value, /):
        self._board.nvs.set(self._ns, key, "blob", bytes(value).hex())

    def get_blob(self, key, buffer, /):
        data = bytes.fromhex(self._get(key, "blob"))
        if len(buffer) < len(data):
            raise OSError(-4366, "ESP_ERR_NVS_INVALID_LENGTH")
        buffer[:len(data)] = data
        return len(data)

    def erase_key(self, key, /):
        if not self._board.nvs.erase(self._ns, key):
            raise OSError(-4354, "ESP_ERR_NVS_NOT_FOUND")

    def commit(self):
        self._board.nvs.commit(self._ns)
