"""Object-storage servers: npm `@20minutes/s3rver` 4.0.4 and npm `azurite` (blob only).

- `S3rver`: started by `s3rver.cjs` beside this file, with our access key pair in its
  account model and its default key revoked: it verifies SigV4 on signed requests and
  presigned URLs, and refuses a request more than 15 minutes off its clock
  (RequestTimeTooSkewed). Objects live in `directory` (they survive a restart).
- `Azurite`: `azurite-blob` on loopback with a fixed account
  (`AZURITE_ACCOUNTS="<account>:<base64 key>"`): it verifies SharedKey and SAS (its start
  and expiry against its clock). In memory by default; `location=DIR` keeps blobs on disk
  so they survive a kill and restart.

Both need node and `npm ci` (scripts/setup.sh); `missing()` says what is not there.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from . import HERE, NODE_MODULES, Server

S3_ACCESS = "AKIAWILDCAMTEST0001"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG+wildcam/test/secret0"
S3_BUCKET = "traps"
AZ_ACCOUNT = "wildcamacct"
AZ_KEY = "d2lsZGNhbS10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NQ=="
AZ_CONTAINER = "traps"


def missing() -> str | None:
    """None when node and the npm packages are installed, else what to do."""
    if not shutil.which("node"):
        return "node missing (scripts/setup.sh)"
    for pkg in ("@20minutes/s3rver", "azurite"):
        if not os.path.isdir(os.path.join(NODE_MODULES, pkg)):
            return "npm package %s missing (run scripts/setup.sh / npm ci)" % pkg
    return None


class S3rver(Server):
    what = "s3rver"

    def __init__(self, port=None, directory=None, access=S3_ACCESS, secret=S3_SECRET,
                 buckets=(S3_BUCKET,), clock=None, region="us-east-1"):
        super().__init__(port, clock)
        self.dir = directory or tempfile.mkdtemp(prefix="s3rver-")
        self.access = access
        self.secret = secret
        self.buckets = buckets
        self.region = region

    def _cmd(self):
        return ["node", os.path.join(HERE, "s3rver.cjs"), str(self.port), self.dir,
                self.access, self.secret, *self.buckets]

    def boto3(self, access=None, secret=None):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint,
                            aws_access_key_id=access or self.access,
                            aws_secret_access_key=secret or self.secret,
                            region_name=self.region,
                            config=Config(s3={"addressing_style": "path"},
                                          signature_version="s3v4",
                                          retries={"max_attempts": 1}))


class Azurite(Server):
    what = "azurite"

    def __init__(self, port=None, account=AZ_ACCOUNT, key=AZ_KEY, clock=None, location=None):
        super().__init__(port, clock)
        self.account = account
        self.key = key
        self.location = location
        self.workdir = tempfile.mkdtemp(prefix="azurite-")

    def _cmd(self):
        store = ["--location", self.location] if self.location else ["--inMemoryPersistence"]
        return [os.path.join(NODE_MODULES, ".bin", "azurite-blob"), "--blobHost", "127.0.0.1",
                "--blobPort", str(self.port), *store, "--skipApiVersionCheck", "--silent"]

    def _env(self):
        env = dict(os.environ)
        env["HOME"] = self.workdir  # azurite may write a debug/extent folder relative to cwd
        env["AZURITE_ACCOUNTS"] = "%s:%s" % (self.account, self.key)
        return env

    @property
    def endpoint(self):
        """Path-style account URL (the account name is the first path segment)."""
        return "http://127.0.0.1:%d/%s" % (self.port, self.account)

    def connection_string(self, key=None):
        return ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
                "BlobEndpoint=%s;" % (self.account, key or self.key, self.endpoint))

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string())

    def container(self, name=AZ_CONTAINER):
        c = self.service().get_container_client(name)
        try:
            c.create_container()
        except Exception as e:  # noqa: BLE001 - already there
            if "ContainerAlreadyExists" not in str(e):
                raise
        return c
