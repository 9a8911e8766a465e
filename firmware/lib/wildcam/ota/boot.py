"""Which code folder boots: the A/B slot decision, made by boot.py before anything else.

    path = select()            # "/slots/a", "/slots/b" or "/lib"; never raises

Files:
- `/lib/wildcam/...`: the factory install written by tools/flash.py; never touched by OTA
  (it also holds this module: boot.py always decides with the factory's copy).
- app slots, complete installs staged by OTA (wildcam.ota.slot): "a" and "b" on the
  internal flash (`/slots/a`, `/slots/b`) when the flash has room for another copy, "sa"
  and "sb" on the SD card (`/sd/slots/a`, `/sd/slots/b`) when it has not (docs/OTA.md:
  a 4 MB board's 960 KB LittleFS holds one copy of the firmware next to its data, not two).
  A slot being staged holds the file `staging` (MARK) until its last file is verified: such
  a slot is never booted, whatever the pointer says.
- `/slots/active`: the pointer, canonical JSON written with `write_atomic` (the one atomic
  switch). Fields: `slot` (what boots: "a" | "b" | "sa" | "sb" | "lib"), `state`
  ("confirmed" | "pending"), `version`, `created` (of that slot's manifest), `good` /
  `good_version` / `good_created` (the last confirmed install, where a rollback goes),
  `gen` (install number: keys the boot counter), `tries_max`, `failed` (last version
  rolled back) and `fw` (a pending firmware-partition update, see wildcam.ota.updater).
  No pointer = factory /lib.
- A slot on the SD card is mounted here first; without the card (or with a card that does
  not hold the slot) the factory /lib boots and the pointer is left alone for the day the
  card is back (a pending slot is rolled back as usual).

A pending slot boots at most `tries_max` times: every boot of it (except a wake from deep
sleep, which the firmware chose) increments a counter kept in NVS (committed, so it survives
power cuts and every kind of reset), and the watchdog is started so that a version that
hangs or raises at import (the board would sit in the REPL) resets. Once the counter passes
`tries_max` the pointer is switched back to `good`. The running firmware confirms the slot
after its health gate (wildcam.ota.updater.Guard) or rejects it, which also switches back.

This module is imported from /lib by boot.py and kept small; its pointer format must stay
readable by older factory installs.
"""

import json

POINTER = "/slots/active"
SLOTS = "/slots"
SD_SLOTS = "/sd/slots"
LIB = "/lib"
MARK = "staging"  # in a slot's root while it is being staged (holds "<version> <created>")
FLASH_SLOTS = ("a", "b")
SD_SLOT_NAMES = ("sa", "sb")
NVS_NS = "wcota"
WDT_MS = 60000
TRIES_MAX = 3


def slot_path(slot):
    if slot == "lib":
        return LIB
    if slot in SD_SLOT_NAMES:
        return SD_SLOTS + "/" + slot[1]
    return SLOTS + "/" + slot


def on_sd(slot):
    return slot in SD_SLOT_NAMES


def complete(storage, slot):
    """True when `slot` holds a whole install: its package folder and no staging mark."""
    if slot == "lib":
        return True
    root = slot_path(slot)
    return storage.is_dir(root + "/wildcam") and not storage.exists(root + "/" + MARK)


def load_pointer(storage):
    """The pointer as a dict, or None (missing, torn beyond recovery, or nonsense)."""
    try:
        raw = storage.read_atomic(POINTER)
        if not raw:
            return None
        p = json.loads(raw)
        if not isinstance(p, dict) or p.get("slot") not in ("a", "b", "sa", "sb", "lib"):
            return None
        return p
    except (OSError, ValueError, TypeError):
        return None


def save_pointer(storage, p):
    from wildcam.core import jsonutil

    storage.makedirs(SLOTS)
    storage.write_atomic(POINTER, jsonutil.dumps(p).encode())


class NvsCounter:
    """Boot counter of a pending install in NVS (namespace `wcota`): (gen, tries)."""

    def __init__(self, ns=NVS_NS):
        import esp32

        self._nvs = esp32.NVS(ns)

    def _get(self, key):
        try:
            return self._nvs.get_i32(key)
        except OSError:
            return -1

    def get(self, gen):
        return self._get("tries") if self._get("gen") == gen else 0

    def bump(self, gen):
        tries = self.get(gen) + 1
        self._nvs.set_i32("gen", gen)
        self._nvs.set_i32("tries", tries)
        self._nvs.commit()
        return tries


class FileCounter:
    """The same counter in a small file (boards or tests without NVS)."""

    def __init__(self, storage, path=SLOTS + "/tries"):
        self._st = storage
        self._path = path

    def get(self, gen):
        try:
            raw = self._st.read_atomic(self._path)
            g, t = raw.decode().split()
            return int(t) if int(g) == gen else 0
        except (OSError, ValueError, AttributeError):
            return 0

    def bump(self, gen):
        tries = self.get(gen) + 1
        self._st.makedirs(SLOTS)
        self._st.write_atomic(self._path, ("%d %d" % (gen, tries)).encode())
        return tries


def default_counter(storage):
    try:
        return NvsCounter()
    except (ImportError, OSError):
        return FileCounter(storage)


def _deep_sleep_wake():
    try:
        import machine

        return machine.reset_cause() == machine.DEEPSLEEP_RESET
    except Exception:  # noqa: BLE001 - no machine module (tests): not a wake
        return False


def _start_wdt(ms):
    try:
        import machine

        machine.WDT(timeout=ms)
    except Exception:  # noqa: BLE001 - no watchdog here (tests)
        pass


def rollback(storage, p, why):
    """Switch the pointer back to the last confirmed install; returns the new pointer."""
    q = {}
    for k in p:
        q[k] = p[k]
    q["slot"] = p.get("good", "lib")
    q["version"] = p.get("good_version")
    q["created"] = p.get("good_created", 0)
    q["state"] = "confirmed"
    q["failed"] = p.get("version")
    q["why"] = why
    save_pointer(storage, q)
    return q


def _mount(storage):
    from wildcam.core import board

    return board.mount_sd(storage)


def decide(storage, counter, deep_wake=False, mount=_mount):
    """The decision (pure storage logic, tested on its own): returns (pointer or None,
    watch) after counting this boot and rolling back when needed; `watch` is True while an
    app slot or a firmware image awaits confirmation (the watchdog then runs). `mount()`
    makes the SD card readable when a slot lives there."""
    p = load_pointer(storage)
    if p is None:
        return None, False
    if on_sd(p["slot"]) or on_sd(p.get("good", "lib")):
        try:
            mount(storage)
        except Exception:  # noqa: BLE001 - no card: the slot is missing, handled below
            pass
    fw = p.get("fw")
    fw_pending = isinstance(fw, dict) and fw.get("state") == "pending"
    pending = p.get("state") == "pending"
    if pending or fw_pending:
        gen = int(p.get("gen", 0))
        tries = counter.get(gen) if deep_wake else counter.bump(gen)
        if tries > int(p.get("tries_max", TRIES_MAX)):
            why = "no confirmation after %d boots" % (tries - 1)
            if pending:
                p = rollback(storage, p, why)
                pending = False
            if fw_pending:  # the bootloader went back already; stop watching
                fw["state"] = "failed"
                fw["why"] = why
                p["fw"] = fw
                save_pointer(storage, p)
                fw_pending = False
    if not complete(storage, p["slot"]):
        if pending or p.get("good", "lib") != p["slot"]:
            p = rollback(storage, p, "slot %s is missing" % p["slot"])
            if not complete(storage, p["slot"]):
                p["slot"] = "lib"  # the fallback is gone too (no card): factory /lib
        else:
            p["slot"] = "lib"  # a confirmed slot vanished: the factory install boots
        pending = False
    return p, pending or fw_pending


def import_failed(why, storage=None):
    """main.py could not import the app from the slot boot.py chose (a damaged file on a
    card, say). A slot on trial is left to the trial counter (the caller resets: the boot
    counts); a confirmed slot is given up for the factory /lib, recorded as `failed` with
    `why`, so the board never sits at the REPL or loops on it. Never raises."""
    try:
        if storage is None:
            from wildcam.core.storage import Storage

            storage = Storage()
        p = load_pointer(storage)
        if p is None or p["slot"] == "lib" or p.get("state") == "pending":
            return p
        q = rollback(storage, p, "import failed: %s" % why)
        q["slot"] = q["good"] = "lib"
        q["version"] = q["good_version"] = None  # the factory's: wildcam.core.version says
        q["created"] = q["good_created"] = 0
        save_pointer(storage, q)
        return q
    except Exception as e:  # noqa: BLE001
        print("ota_boot:", e)
        return None


def select(storage=None, counter=None, wdt_ms=WDT_MS):
    """The folder to put first on sys.path. Never raises: any trouble boots /lib."""
    try:
        if storage is None:
            from wildcam.core.storage import Storage

            storage = Storage()
        if counter is None:
            counter = default_counter(storage)
        p, watch = decide(storage, counter, _deep_sleep_wake())
        if watch:
            _start_wdt(wdt_ms)
        return LIB if p is None else slot_path(p["slot"])
    except Exception as e:  # noqa: BLE001 - boot must go on
        print("ota_boot:", e)
        return LIB
