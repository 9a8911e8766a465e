"""The board contract: the firmware, host_sim's board modules and the virtual board's modules
against the official stubs (micropython-esp32-stubs, pinned in pyproject.toml, installed by
scripts/setup.sh into .cache/typings) and, for `camera` (no stub package exists), against the
stubs written here from the drivers' sources (tests/stubs/camera.pyi = cnadler86,
tests/stubs/lemariva/camera.pyi = the legacy driver).

1. Every board name the firmware uses exists in the stub, and every call of it binds to a
   stub overload (the names are read from the firmware's source: tests/board_usage.py).
2. Every public name a shim module provides exists in the stub (module level and class
   members), unless listed in EXTRA_NAMES with its reason; constants equal the stub's
   values where the stub gives one.
3. Every shim function/method accepts the calls the stub promises, and accepts no call the
   stub refuses (no extra keywords, *args, **kwargs, positional arguments), unless listed in
   SIGNATURE_DIFFERENCES with its reason. A shim must never be more forgiving than the board.
docs/FIDELITY.md lists the same sources and differences.
"""
import importlib.util
import inspect
import os
import sys
import types

import pytest

from board_contract import Const, Func, Klass, Stubs, less_capable, more_forgiving, py_sig
from board_usage import scan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPINGS = os.path.join(ROOT, ".cache", "typings")
LOCAL = os.path.join(ROOT, "tests", "stubs")
MODULES = ("machine", "esp32", "network", "ntptime", "micropython", "camera")
EXTRAS = ("time", "asyncio", "gc", "sys")

# (shim set, dotted name) -> why the shim has a name the stub lacks
EXTRA_NAMES = {
    ("host_sim", "esp32.mcu_temperature"): "only on ESP32-S2/S3/C3 (ports/esp32/modesp32.c); "
        "the stub package was generated on a classic ESP32, where host_sim raises "
        "AttributeError for it (the board's chip decides)",
    ("host_sim", "esp32.gpio_deep_sleep_hold"): "ports/esp32/modesp32.c defines it on the "
        "classic ESP32 (SOC_GPIO_SUPPORT_HOLD_IO_IN_DSLP) and docs/library/esp32.rst documents "
        "it; the 1.29 stub package lacks it (firmware reaches it with getattr)",
}
_ESP32_PORT = "the esp32 port's C binding differs from the all-port stub: "
# (shim set, dotted name) -> (why its signature differs from the stub's, the differences
# allowed, exactly: a new difference, or one that went away, fails the test)
SIGNATURE_DIFFERENCES = {
    ("host_sim", "machine.WDT"): (
        _ESP32_PORT + "extmod/machine_wdt.c parses id and timeout as ordinary arguments; the "
        "stub marks them keyword-only", ["takes 2 positional arguments, the stub at most 0"]),
    ("host_sim", "machine.RTC"): (
        _ESP32_PORT + "ports/esp32/machine_rtc.c RTC() takes no arguments "
        "(mp_arg_check_num(..., 0, 0, false)); the stub has id= and datetime=",
        ["refuses 0 positional + ['datetime']", "refuses 1 positional + ['datetime']",
         "refuses 1 positional + []"]),
    ("host_sim", "machine.RTC.init"): (
        _ESP32_PORT + "machine_rtc.c init(date) requires the 8-tuple (FUN_OBJ_2); the stub "
        "also allows a bare init()", ["refuses 0 positional + []"]),
    ("host_sim", "machine.Pin"): (
        _ESP32_PORT + "ports/esp32/machine_pin.c takes hold= (keyword-only) and no alt=",
        ["refuses 3 positional + ['value', 'drive', 'alt']", "takes keyword 'hold'"]),
    ("host_sim", "machine.Pin.init"): (
        "as machine.Pin", ["refuses 2 positional + ['value', 'drive', 'alt']",
                           "takes keyword 'hold'"]),
    ("host_sim", "machine.Pin.irq"): (
        _ESP32_PORT + "machine_pin.c irq() takes handler, trigger, wake as ordinary arguments "
        "and neither priority= nor hard=",
        ["refuses 2 positional + ['priority', 'wake', 'hard']",
         "takes 3 positional arguments, the stub at most 2"]),
    ("host_sim", "machine.ADC"): (
        _ESP32_PORT + "its ADC takes only atten= after the pin (ports/esp32/machine_adc.c); "
        "sample_ns= is other ports'", ["refuses 1 positional + ['sample_ns', 'atten']"]),
    ("host_sim", "machine.PWM"): (
        _ESP32_PORT + "ports/esp32/machine_pwm.c also takes the 10-bit duty=",
        ["takes keyword 'duty'"]),
}
# the virtual board's machine follows the esp32 port as host_sim's does (it has no PWM)
SIGNATURE_DIFFERENCES.update({("vboard", k[1]): ("as host_sim: " + v[0], v[1])
                              for k, v in list(SIGNATURE_DIFFERENCES.items())
                              if k[0] == "host_sim" and k[1] != "machine.PWM"})


def _stubs():
    if not os.path.isfile(os.path.join(TYPINGS, "machine.pyi")):
        pytest.fail("micropython-esp32-stubs missing in .cache/typings: run scripts/setup.sh",
                    pytrace=False)
    return Stubs(LOCAL, TYPINGS)


def _stub_module(name):
    return {"camera": "camera", "camera_lemariva": "lemariva.camera"}.get(name, name)


def _firmware_files():
    out = [os.path.join(ROOT, "boot.py"), os.path.join(ROOT, "main.py")]
    for d, _, files in os.walk(os.path.join(ROOT, "firmware", "lib", "wildcam")):
        out += [os.path.join(d, f) for f in files if f.endswith(".py")]
    return sorted(out)


def firmware_uses(stubs):
    uses = []
    for path in _firmware_files():
        with open(path, encoding="utf-8") as f:
            uses += scan(os.path.relpath(path, ROOT), f.read(), MODULES + EXTRAS, stubs)
    return uses


# --- 1. the firmware's names and calls ------------------------------------------------------
def test_the_firmware_uses_only_board_names_the_stubs_have():
    stubs = _stubs()
    uses = firmware_uses(stubs)
    seen = {u.name() for u in uses}
    # the scan itself is checked: these uses are in the firmware and must be found
    for must in ("machine.Pin.irq()", "machine.RTC.datetime()", "esp32.idf_heap_info()",
                 "camera.Camera()", "camera.Camera.free_buffer()", "camera.Camera.capture()",
                 "camera.Camera.frame_available()", "camera_lemariva.init()",
                 "network.WLAN.status()", "time.ticks_diff()", "asyncio.sleep_ms()",
                 "machine.Pin.IRQ_RISING"):
        assert must in seen, "the scan no longer sees %s" % must
    missing, bad_calls = check_uses(uses, stubs)
    assert not missing, "board names the stubs do not have:\n" + "\n".join(missing)
    assert not bad_calls, "calls no stub signature accepts:\n" + "\n".join(bad_calls)
    assert len(uses) > 150  # the firmware touches the board in many places


# firmware calls: keywords of the esp32 port that the all-port stub does not list
PORT_KEYWORDS = {
    "machine.Pin": ("hold",),  # ports/esp32/machine_pin.c: hold= (pad hold), keyword-only
    "machine.Pin.init": ("hold",),
}


def check_uses(uses, stubs):
    """(names the stubs lack, calls no stub overload binds), as printable lines."""
    from board_contract import binds
    missing, bad_calls = [], []
    for u in uses:
        if u.module in EXTRAS and u.path[0] not in _mp_extras(u.module):
            continue  # standard library (CPython and MicroPython alike): not a board name
        e = stubs.resolve(_stub_module(u.module), u.path)
        if e is None:
            missing.append("%s  %s" % (u.where(), u.name()))
            continue
        if u.call is None:
            continue
        sigs = e.sigs if isinstance(e, Func) else stubs.init_sigs(e) if isinstance(e, Klass) \
            else None
        call = u.call
        port_kw = PORT_KEYWORDS.get(u.name().rstrip("()"), ())
        if port_kw:  # keywords the esp32 port takes and the all-port stub lacks
            call = (call[0], [k for k in call[1] if k not in port_kw]) + tuple(call[2:])
        if sigs and not any(binds(s, *call) for s in sigs):
            bad_calls.append("%s  %s%s fits none of %s" % (u.where(), u.name(), u.call, sigs))
    return missing, bad_calls


def _mp_extras(module):
    return {"time": ("ticks_ms", "ticks_us", "ticks_cpu", "ticks_add", "ticks_diff",
                     "sleep_ms", "sleep_us"),
            "asyncio": ("sleep_ms", "wait_for_ms", "ThreadSafeFlag"),
            "gc": ("mem_free", "mem_alloc"), "sys": ("print_exception",)}[module]


# --- 2./3. the shims ------------------------------------------------------------------------
def _public(obj):
    """(name, value, is a method) of the public names of a module or class."""
    for name, value in sorted(vars(obj).items()):
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        method = inspect.isclass(obj) and inspect.isfunction(value)
        if inspect.isclass(obj) and isinstance(value, (staticmethod, classmethod)):
            value, method = value.__func__, isinstance(value, classmethod)
        yield name, value, method


def _check(shim_set, dotted, value, entry, stubs, problems, method=False):
    key = (shim_set, dotted)
    if entry is None:
        _extra_seen.add(key)
        if key not in EXTRA_NAMES:
            problems.append("%s: %s is not in the stub" % (shim_set, dotted))
        return
    if isinstance(entry, Const):
        if entry.value is not None and not callable(value) and not isinstance(value, property) \
                and value != entry.value and key not in EXTRA_NAMES:
            problems.append("%s: %s = %r, the stub says %r" % (shim_set, dotted, value,
                                                               entry.value))
        return
    if isinstance(entry, Klass) and inspect.isclass(value):
        init = stubs.init_sigs(entry)
        if init:
            _compare(shim_set, dotted, py_sig(value), init, problems)
        for name, member, meth in _public(value):
            _check(shim_set, dotted + "." + name, member, stubs.member(entry, name), stubs,
                   problems, meth)
        return
    if isinstance(entry, Func) and callable(value):
        _compare(shim_set, dotted, py_sig(value, method), entry.sigs, problems)


_compared = set()
_extra_seen = set()


def _compare(shim_set, dotted, sig, stub_sigs, problems):
    if sig is None:
        return
    if shim_set == "vboard":
        # MicroPython has no positional-only parameters (`/` is a SyntaxError there), so a
        # module written in Python cannot refuse a keyword for them as the C bindings do:
        # its parameters count as positional-only where the stub's are
        po = {i for st in stub_sigs for i, p in enumerate(st) if p[1] == "po"}
        sig = [(n, "po" if k == "pk" and i in po else k, d) for i, (n, k, d) in enumerate(sig)]
    why = sorted(set(more_forgiving(sig, stub_sigs) + less_capable(sig, stub_sigs)))
    allowed = SIGNATURE_DIFFERENCES.get((shim_set, dotted))
    if allowed is not None:
        _compared.add((shim_set, dotted))
        if why != sorted(allowed[1]):
            problems.append("%s: %s differs from the stub in %s, allowed: %s" % (
                shim_set, dotted, why, sorted(allowed[1])))
        return
    if why:
        problems.append("%s: %s%s vs stub %s: %s" % (shim_set, dotted, sig, stub_sigs,
                                                      "; ".join(why)))


def _host_sim_modules():
    import camera  # noqa: F401 - the shims, as host_sim.install() put them on sys.path
    import esp32
    import machine
    import micropython
    import network
    import ntptime

    from host_sim.hw import cnadler86, lemariva
    esp = types.SimpleNamespace(**{n: v for n, v, _ in _public(esp32)}, **esp32._CHIP_NAMES)
    return {"machine": machine, "esp32": esp, "network": network, "ntptime": ntptime,
            "micropython": micropython,
            "camera": types.SimpleNamespace(**cnadler86.NAMES),
            "lemariva.camera": types.SimpleNamespace(**lemariva.NAMES)}


def _check_set(shim_set, modules):
    stubs = _stubs()
    problems = []
    for mod, ns in modules.items():
        for name, value, _ in _public(ns):
            _check(shim_set, "%s.%s" % (mod.split(".")[-1], name), value, stubs.get(mod, name),
                   stubs, problems)
    for key in SIGNATURE_DIFFERENCES:
        if key[0] == shim_set and key not in _compared:
            problems.append("%s: allowance for %s matches nothing (stale)" % key)
    for key in EXTRA_NAMES:
        if key[0] == shim_set and key not in _extra_seen:
            problems.append("%s: extra-name allowance for %s matches nothing (stale)" % key)
    return problems


def test_host_sim_board_modules_follow_the_stubs():
    problems = _check_set("host_sim", _host_sim_modules())
    assert not problems, "\n".join(problems)


def test_host_sim_extras_of_time_asyncio_gc_sys_follow_the_stubs():
    from host_sim import patches
    stubs = _stubs()
    problems = []
    for mod, name, fn in patches.EXTRAS:
        _check("host_sim", "%s.%s" % (mod, name), fn, stubs.get(mod, name), stubs, problems)
    assert not problems, "\n".join(problems)


def _load_vboard(name):
    sys.modules.setdefault("_vboard", types.ModuleType("_vboard"))
    path = os.path.join(ROOT, "tools", "vboard_modules", name + ".py")
    spec = importlib.util.spec_from_file_location("vboard_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_virtual_board_modules_follow_the_stubs():
    mods = {"machine": _load_vboard("machine"), "esp32": _load_vboard("esp32"),
            "camera": _load_vboard("camera")}
    problems = _check_set("vboard", mods)
    assert not problems, "\n".join(problems)


def test_the_virtual_camera_shares_host_sims_figures():
    """One source for the frame rates (the cnadler86 README benchmark) and the AI-Thinker
    wiring (src/camera_pins.h): the virtual board's copy must not drift."""
    from host_sim.hw import camera_model, images
    cam = _load_vboard("camera")
    assert cam._FPS == camera_model._FPS
    assert cam._DIMS == camera_model.FRAME_DIMS[:16]
    wiring = dict(images.AI_THINKER_WIRING, data_pins=list(images.AI_THINKER_WIRING["data_pins"]))
    assert cam._PINS == wiring


def test_the_contract_catches_planted_mismatches():
    """Each check fails on a planted mismatch: a name the stub lacks, a call no overload
    accepts, a shim more forgiving than the stub, a shim name the stub lacks."""
    stubs = _stubs()
    src = ("import esp32\nimport machine\nimport time\n\n\nclass T:\n"
           "    def start(self, cb):\n        self._pin = machine.Pin(13, machine.Pin.IN)\n"
           "        self._pin.irq(handler=cb, priorty=1)\n        time.sleep_ms(ms=1)\n"
           "        return esp32.mcu_temperature()\n")
    missing, bad_calls = check_uses(scan("planted.py", src, MODULES + EXTRAS, stubs), stubs)
    assert missing == ["planted.py:11  esp32.mcu_temperature()",
                       "planted.py:11  esp32.mcu_temperature"], missing
    assert [c.split(" fits")[0] for c in bad_calls] == [
        "planted.py:9  machine.Pin.irq()(0, ['handler', 'priorty'], False, False)",
        "planted.py:10  time.sleep_ms()(0, ['ms'], False, False)"], bad_calls

    problems = []

    def feed(self, *args):  # takes what WDT.feed() does not
        pass

    _check("host_sim", "machine.WDT.feed", feed, stubs.resolve("machine", ["WDT", "feed"]),
           stubs, problems, method=True)
    _check("host_sim", "machine.frobnicate", lambda: None, stubs.get("machine", "frobnicate"),
           stubs, problems)
    _check("host_sim", "machine.Pin.OUT", 2, stubs.resolve("machine", ["Pin", "OUT"]), stubs,
           problems)
    assert len(problems) == 3, problems
    assert "takes *args" in problems[0] and "is not in the stub" in problems[1]
    assert "machine.Pin.OUT = 2, the stub says 3" in problems[2]
