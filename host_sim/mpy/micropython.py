"""Simulated `micropython` module."""
import asyncio as _asyncio
import sys as _sys


def const(expr, /):
    return expr


def native(f, /):
    return f


def viper(f, /):
    return f


def asm_xtensa(f, /):
    return f


def schedule(func, arg, /):
    """Run func(arg) soon, from the loop, as the same board's firmware."""
    from host_sim.context import board_or_none
    b = board_or_none()
    loop = _asyncio.get_running_loop() if b is None else b.sim.loop
    if b is not None:
        loop.call_soon(b.run_in_boot, func, arg, what="schedule")
    else:
        loop.call_soon(func, arg)


def mem_info(verbose=None, /):
    import gc
    alloc, free = gc.mem_alloc(), gc.mem_free()
    print("stack: 736 out of 15360\nGC: total: %d, used: %d, free: %d"
          % (alloc + free, alloc, free), file=_sys.stdout)


def qstr_info(verbose=None, /):
    print("qstr pool: n_pool=1, n_qstr=0, n_str_data_bytes=0, n_total_bytes=0")


def stack_use():
    return 736


_opt = 0


def opt_level(level=None, /):
    global _opt
    if level is None:
        return _opt
    _opt = level


def alloc_emergency_exception_buf(size, /):
    pass


def heap_lock():
    return 0


def heap_unlock():
    return 0


def kbd_intr(chr):
    pass
