"""Which TLS an https:// OTA URL gets (wiring.ota_tls): verified with `ota.ca`, none (the URL
is refused) without it, unverified only with an explicit `ota.insecure`, said loudly."""
import ssl

from wildcam.core import schema
from wildcam.wiring import ota_tls


class Cfg(dict):
    def get(self, key, default=None):
        return super().get(key, default)


class Log:
    def __init__(self):
        self.errors = []

    def error(self, msg, *a):
        self.errors.append(msg % a)


def test_ota_insecure_is_a_schema_key_off_by_default():
    row = [r for r in schema.SCHEMA if r[0] == "ota.insecure"]
    assert row and row[0][1] == "b" and row[0][2] is False


def test_no_ca_no_tls_unless_insecure_which_is_logged(tmp_path):
    log = Log()
    assert ota_tls(Cfg({"ota.ca": "", "ota.insecure": False}), str, log) is None
    assert log.errors == []
    ctx = ota_tls(Cfg({"ota.ca": "", "ota.insecure": True}), str, log)
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_NONE
    assert "WITHOUT verifying" in log.errors[0]


def test_a_ca_verifies_and_a_broken_ca_refuses_https(tmp_path):
    from host_sim.servers.pki import make_pki

    pki = make_pki(str(tmp_path))
    log = Log()
    ctx = ota_tls(Cfg({"ota.ca": "/ca.crt", "ota.insecure": True}),
                  lambda p: pki["ca.crt"], log)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname and log.errors == []
    bad = tmp_path / "junk.crt"
    bad.write_text("not a certificate")
    assert ota_tls(Cfg({"ota.ca": "/junk.crt"}), lambda p: str(bad), log) is None
    assert "https updates refused" in log.errors[0]
