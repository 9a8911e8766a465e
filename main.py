# main.py - hands the board to the WildCAM app (wildcam/app.py), the one composition root.
# Ctrl-C at the serial console stops it and leaves you at the REPL: `import wildcam`.
# If the app slot boot.py chose cannot even be imported (a damaged file on the card), the
# factory /lib's wildcam.ota.boot gives a confirmed slot up (a slot on trial is left to its
# boot counter) and the board resets, rather than sit at the REPL.
try:
    import wildcam.app
except Exception as e:  # noqa: BLE001
    import sys

    sys.print_exception(e)
    for _p in [p for p in sys.path if p.startswith("/slots") or p.startswith("/sd/slots")]:
        sys.path.remove(_p)
    for _m in [m for m in sys.modules if m == "wildcam" or m.startswith("wildcam.")]:
        del sys.modules[_m]
    try:
        from wildcam.ota import boot as _boot

        _boot.import_failed("%s: %s" % (type(e).__name__, e))
    except Exception as e2:  # noqa: BLE001
        print("main.py:", e2)
    import time

    import machine

    time.sleep_ms(2000)
    machine.reset()

wildcam.app.main()
