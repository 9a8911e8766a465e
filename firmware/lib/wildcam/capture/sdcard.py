"""Mounting the SD card at /sd.

The AI-Thinker board wires the card to SDMMC slot 1; 1-bit mode leaves GPIO 4 (flash LED),
12 and 13 (PIR) free for us, at the cost of some speed. A missing or unreadable card is not
fatal: `mount()` says so and the firmware keeps its queue on flash.
"""


def mount(storage, log):
    """True when /sd is usable (mounted now or before)."""
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
    except (OSError, AttributeError, ValueError) as e:
        log.warning("no SD card (%s): images cannot be stored; queue kept on flash", e)
        return False


def unmount():
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
