"""Real object-storage servers for tests/services and `python -m bench upload` (CPython only).

- `S3rver`: npm `@20minutes/s3rver` 4.0.4 started by `servers/s3rver.cjs` on a free
  loopback port, with our access key pair in its account model and its default key revoked:
  it verifies SigV4 on signed requests and presigned URLs.
- `Azurite`: npm `azurite` (blob service only) on loopback, in memory, with
  AWS-style fixed account `AZURITE_ACCOUNTS="<account>:<base64 key>"`: it verifies SharedKey
  and SAS.

Both can be stopped and started again on the same port (failover tests). They need node and
`npm ci` (scripts/setup.sh); `missing()` says what is not there.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_MODULES = os.path.join(ROOT, "node_modules")

S3_ACCESS = "AKIAWILDCAMTEST0001"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG+wildcam/test/secret0"
S3_BUCKET = "traps"
AZ_ACCOUNT = "wildcamacct"
AZ_KEY = "d2lsZGNhbS10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NQ=="
AZ_CONTAINER = "traps"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing():
    """None when node and the npm packages are installed, else what to do."""
    if not shutil.which("node"):
        return "node missing (scripts/setup.sh)"
    for pkg in ("@20minutes/s3rver", "azurite"):
        if not os.path.isdir(os.path.join(NODE_MODULES, pkg)):
            return "npm package %s missing (run scripts/setup.sh / npm ci)" % pkg
    return None


def _wait_port(proc, port, timeout, what):
    end = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError("%s exited: %s" % (what, err[-2000:]))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise RuntimeError("%s did not listen on %d" % (what, port))
            time.sleep(0.05)


class _Server:
    what = "server"

    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None

    def _cmd(self):
        raise NotImplementedError

    def _env(self):
        return dict(os.environ)

    def start(self, timeout=30):
        self.proc = subprocess.Popen(self._cmd(), cwd=ROOT, env=self._env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_port(self.proc, self.port, timeout, self.what)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def ensure(self):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port


class S3rver(_Server):
    what = "s3rver"

    def __init__(self, port=None, directory=None, access=S3_ACCESS, secret=S3_SECRET,
                 buckets=(S3_BUCKET,)):
        super().__init__(port)
        self.dir = directory or tempfile.mkdtemp(prefix="s3rver-")
        self.access = access
        self.secret = secret
        self.buckets = buckets
        self.region = "us-east-1"

    def _cmd(self):
        return ["node", os.path.join(ROOT, "tests", "services", "servers", "s3rver.cjs"),
                str(self.port), self.dir, self.access, self.secret, *self.buckets]

    def boto3(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access,
                            aws_secret_access_key=self.secret, region_name=self.region,
                            config=Config(s3={"addressing_style": "path"},
                                          signature_version="s3v4",
                                          retries={"max_attempts": 1}))


class Azurite(_Server):
    what = "azurite"

    def __init__(self, port=None, account=AZ_ACCOUNT, key=AZ_KEY):
        super().__init__(port)
        self.account = account
        self.key = key
        self.workdir = tempfile.mkdtemp(prefix="azurite-")

    def _cmd(self):
        return [os.path.join(NODE_MODULES, ".bin", "azurite-blob"), "--blobHost", "127.0.0.1",
                "--blobPort", str(self.port), "--inMemoryPersistence", "--skipApiVersionCheck",
                "--silent"]

    def _env(self):
        env = dict(os.environ)
        env["HOME"] = self.workdir  # azurite may write a debug/extent folder relative to cwd
        env["AZURITE_ACCOUNTS"] = "%s:%s" % (self.account, self.key)
        return env

    @property
    def endpoint(self):
        """Path-style account URL (the account name is the first path segment)."""
        return "http://127.0.0.1:%d/%s" % (self.port, self.account)

    def connection_string(self):
        return ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
                "BlobEndpoint=%s;" % (self.account, self.key, self.endpoint))

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string())

    def container(self, name=AZ_CONTAINER):
        svc = self.service()
        c = svc.get_container_client(name)
        try:
            c.create_container()
        except Exception as e:  # noqa: BLE001 - already there
            if "ContainerAlreadyExists" not in str(e):
                raise
        return c
