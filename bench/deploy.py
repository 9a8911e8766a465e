"""Deploy speed: `flash.py deploy` through mpremote (the default) and through ampy
(`--tool ampy`), and ampy's own `put`, each on a fresh virtual board (tools/vboard.py: the
real MicroPython 1.27 wasm build behind a pty).

    python -m bench deploy          # writes bench/results/deploy.json

Figures: seconds for a first deploy (every file copied) and for a second one (nothing
changed: connect, hash, verify), and the copy rate of one folder (wildcam/core, compiled)
with one `mpremote fs cp` and with ampy's CLI `put` (32 bytes per raw-REPL exec, a soft
reset per file). The virtual board refuses mpremote's raw-paste mode (see
docs/HOST_TOOLS.md), so mpremote runs at plain raw-REPL speed here; on a real board
raw-paste makes it faster, never slower, so these figures understate it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from bench.common import ROOT, write_result

sys.path.insert(0, str(ROOT))
from tools import flash  # noqa: E402
from tools.vboard import VirtualBoard  # noqa: E402

SITE = {"wifi": {"ssid": "forest"}, "device": {"site": "north"}, "mqtt": {"host": "10.1.1.1"}}


def _deploy(argv) -> float:
    t0 = time.monotonic()
    with redirect_stdout(StringIO()) as out:
        rc = flash.main(argv)
    if rc != 0:
        raise RuntimeError("deploy failed:\n" + out.getvalue())
    return time.monotonic() - t0


def _timed(argv) -> float:
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (argv[2], r.stdout, r.stderr))
    return time.monotonic() - t0


def run() -> dict:
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        site = Path(tmp, "site.json")
        site.write_text(json.dumps(SITE))
        with redirect_stdout(StringIO()):
            flash.main(["provision", "--ids", "wc-b1", "--out", tmp + "/fleet"])
        for tool in ("mpremote", "ampy"):
            argv = ["deploy", "--tool", tool, "--config", str(site), "--identity",
                    tmp + "/fleet/wc-b1", "--build-dir", tmp + "/build"]
            with VirtualBoard() as vb:
                res["deploy_%s_s" % tool] = round(_deploy(argv + ["--port", vb.port]), 1)
                res["redeploy_%s_s" % tool] = round(_deploy(argv + ["--port", vb.port]), 1)
        lib = Path(tmp, "build", "lib")
        files = [p for p in lib.rglob("*.mpy")]
        res["deploy_files"] = len(files) + 4  # + boot.py, main.py, config, secrets
        res["deploy_mpy_bytes"] = sum(p.stat().st_size for p in files)
        core = lib / "wildcam" / "core"
        core_bytes = sum(p.stat().st_size for p in core.iterdir())
        res["core_files"] = len(list(core.iterdir()))
        res["core_bytes"] = core_bytes
        py = sys.executable
        with VirtualBoard() as vb:
            s = _timed([py, "-m", "mpremote", "connect", vb.port, "fs", "mkdir", ":/core", "+",
                        "fs", "cp", *sorted(str(p) for p in core.iterdir()), ":/core/"])
            res["mpremote_cp_kb_s"] = round(core_bytes / s / 1024, 2)
        with VirtualBoard() as vb:
            s = _timed([py, "-m", "ampy.cli", "--port", vb.port, "put", str(core), "/core"])
            res["ampy_put_kb_s"] = round(core_bytes / s / 1024, 2)
    res["ampy_vs_mpremote_deploy"] = round(res["deploy_mpremote_s"] / res["deploy_ampy_s"], 2)
    write_result("deploy", res)
    return res


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
