"""Facts about this board that several parts report: reset cause, identity, wake reason,
PSRAM; mounting its SD card (the App's storage and boot's slot choice both need it); and
holding the camera's power-down and the flash LED pins through deep sleep."""

_RESET_NAMES = ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET")


def reset_cause_name():
    import machine

    cause = machine.reset_cause()
    for name in _RESET_NAMES:
        if getattr(machine, name, None) == cause:
            return name[:-6].lower()
    return "unknown(%d)" % cause


def default_device_id():
    import binascii

    import machine

    return "wc-" + binascii.hexlify(machine.unique_id()).decode()[-6:]


def woken_by_pir():
    import machine

    try:
        return machine.reset_cause() == machine.DEEPSLEEP_RESET and \
            machine.wake_reason() in (machine.EXT0_WAKE, machine.EXT1_WAKE)
    except AttributeError:
        return False


PSRAM_MIN = 512 * 1024  # no internal RAM region of an ESP32 is this large (520 KB SRAM in all)
NO_PSRAM = ("this board has no PSRAM (or the firmware image does not enable it): the camera "
            "driver keeps its frame buffers there, so the camera stays off. Flash a SPIRAM "
            "image (e.g. ESP32_GENERIC-SPIRAM@AI_THINKER) on an ESP32-CAM with its 4 MB PSRAM")


def psram_bytes():
    """Size of the PSRAM this firmware can use, 0 when there is none. PSRAM is the only
    memory of an ESP32 that makes an ESP-IDF heap region larger than PSRAM_MIN; the regions
    esp32.idf_heap_info() lists include the one holding the MicroPython heap, so this holds
    whether a SPIRAM image gives PSRAM to the MicroPython heap or leaves it to ESP-IDF.
    Without an esp32 module (other ports, tests) the MicroPython heap's size is the hint."""
    try:
        import esp32
    except ImportError:
        import gc

        total = gc.mem_free() + gc.mem_alloc()
        return total if total >= PSRAM_MIN else 0
    best = 0
    for region in esp32.idf_heap_info(esp32.HEAP_DATA):
        if region[0] >= PSRAM_MIN and region[0] > best:
            best = region[0]
    return best


def mount_sd(storage, log=None):
    """Mount the SD card at /sd; True when it is usable (mounted now or before). The
    AI-Thinker board wires the card to SDMMC slot 1; 1-bit mode leaves GPIO 4 (flash LED),
    12 and 13 (PIR) free. A missing or unreadable card is not fatal: the firmware keeps its
    queue on flash, and boot (wildcam.ota.boot) falls back to the factory /lib when an app
    slot on the card cannot be read."""
    try:
        if storage.is_dir("/sd"):
            return True
    except OSError:
        pass
    try:
        import os

        import machine

        card = machine.SDCard(slot=1, width=1)
        os.mount(card, "/sd")
        return True
    except (OSError, AttributeError, ValueError, ImportError) as e:  # no card, no SDCard
        if log is not None:
            log.warning("no SD card (%s): images cannot be stored; queue kept on flash", e)
        return False


def unmount_sd():
    """Before deep sleep: unmount /sd (FAT flushed, the card left idle). Never fatal."""
    try:
        import vfs  # MicroPython >= 1.23; os.umount before

        vfs.umount("/sd")
    except ImportError:
        import os

        umount = getattr(os, "umount", None)
        if umount is not None:
            try:
                umount("/sd")
            except (OSError, ValueError):
                pass
    except (OSError, ValueError):
        pass


def hold_pins(pwdn, led):
    """Camera powered down (pwdn high) and flash LED off, held through deep sleep."""
    import machine

    if pwdn >= 0:
        machine.Pin(pwdn, machine.Pin.OUT, value=1, hold=True)  # pyright: ignore[reportCallIssue]  # stub gap: hold= (esp32 machine_pin.c)
    if led >= 0:
        machine.Pin(led, machine.Pin.OUT, value=0, hold=True)  # pyright: ignore[reportCallIssue]  # stub gap: as above
    try:
        import esp32

        keep = getattr(esp32, "gpio_deep_sleep_hold", None)  # classic ESP32 only
        if keep is not None:
            keep(True)  # held digital (non-RTC) pads keep their level in deep sleep too
    except ImportError:
        pass


def release_holds(pwdn, led):
    """At boot, before the camera starts: release the holds of the last sleep at the levels
    they held (releasing unconfigured would drop the pad to its default first)."""
    import machine

    if pwdn >= 0:
        machine.Pin(pwdn, machine.Pin.OUT, value=1, hold=False)  # pyright: ignore[reportCallIssue]  # stub gap: hold=; the driver powers it up
    if led >= 0:
        machine.Pin(led, machine.Pin.OUT, value=0, hold=False)  # pyright: ignore[reportCallIssue]  # stub gap: hold=
