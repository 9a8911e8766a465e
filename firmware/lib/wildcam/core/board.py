"""Facts about this board that several parts report: reset cause, identity, wake reason,
PSRAM."""

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
