"""`import wildcam; wildcam.config.show()` and friends, as at the serial REPL, on real
MicroPython: a fresh interpreter (so `wildcam.core.config` is resolved lazily), called again
after `import wildcam.app` (the helpers must survive the firmware's own imports). The
helpers work on the board's real paths, so they are not run under host_sim here."""
from host_sim import wasm

SCRIPT = r"""
import wildcam
assert wildcam.config.validate() is False          # no config yet: wifi.ssid required
assert wildcam.config.set("wifi.ssid", "forest") is True
assert wildcam.config.set("sync.max_queue_mb", 0) is False
import wildcam.app                                  # what main.py does: must not break it
assert wildcam.config.get("wifi.ssid") == "forest"
assert wildcam.config.validate() is True
wildcam.config.show()
print("REPL-OK", open("/config.json").read().count("forest"))
"""


def test_repl_config_helpers_under_real_micropython():
    r = wasm.run_script(SCRIPT, lib=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error: wifi.ssid: required" in r.stdout
    assert "error: sync.max_queue_mb: must be 1..1024, got 0" in r.stdout
    assert "REPL-OK 1" in r.stdout
    assert "wifi.password" in r.stdout and "(not set)" in r.stdout
