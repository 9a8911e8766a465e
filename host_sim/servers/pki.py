"""A throwaway PKI made with the openssl command line: a CA, a server certificate for
127.0.0.1/localhost, a client certificate and an unrelated CA (tests/services and
`python -m bench upload`)."""
import os
import shutil
import subprocess


def _which(name):
    return shutil.which(name) or next(
        (p for p in ("/usr/sbin/" + name, "/usr/bin/" + name) if os.path.exists(p)), None)


def _run(*cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """CA, server cert (SAN 127.0.0.1/localhost), client cert, and an unrelated CA."""
    ssl = _which("openssl")

    def key(name):
        _run(ssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", name + ".key", cwd=d)

    def ca(name):
        key(name)
        _run(ssl, "req", "-x509", "-new", "-key", name + ".key", "-days", "2", "-subj",
             "/CN=%s" % name, "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", name + ".crt", cwd=d)

    def leaf(name, cn, ext):
        key(name)
        _run(ssl, "req", "-new", "-key", name + ".key", "-subj", "/CN=%s" % cn,
             "-out", name + ".csr", cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        _run(ssl, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt",
             cwd=d)

    ca("ca")
    ca("otherca")
    leaf("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\n")
    leaf("client", "wc-client", "extendedKeyUsage=clientAuth\n")
    return {n: os.path.join(d, n) for n in
            ("ca.crt", "otherca.crt", "server.crt", "server.key", "client.crt", "client.key")}
