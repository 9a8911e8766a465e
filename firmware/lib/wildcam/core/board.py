"""Facts about this board that several parts report: reset cause, identity, wake reason."""

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
