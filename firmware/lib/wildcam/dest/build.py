"""Builds the cloud storage destinations the config asks for (`cloud.dests`).

Each destination gets its own HTTP client (one kept-alive connection each), TLS with
certificate verification from `cloud.ca` for https endpoints, and its secrets from the
secrets file. A destination whose settings are incomplete is skipped with a clear log line
instead of failing the boot.
"""

from wildcam.core import clock


def _http(cfg, storage, url):
    from wildcam.net.http import HTTP

    tls = None
    if url.startswith("https"):
        from wildcam.net.stream import tls_context

        tls = tls_context(storage.real(cfg.get("cloud.ca")))
    return HTTP(timeout_s=cfg.get("cloud.timeout_s"), tls=tls)


def _s3(cfg, storage, device, common):
    from wildcam.dest.s3 import PresignService, S3Dest

    endpoint, bucket = cfg.get("s3.endpoint"), cfg.get("s3.bucket")
    if not bucket:
        raise ValueError("s3.bucket is not set")
    http = _http(cfg, storage, endpoint)
    presigner = None
    if cfg.get("s3.presign_url"):
        presigner = PresignService(_http(cfg, storage, cfg.get("s3.presign_url")),
                                   cfg.get("s3.presign_url"), cfg.secret("s3.presign_token"))
    elif not cfg.secret("s3.access_key"):
        raise ValueError("s3 needs s3.access_key/s3.secret_key secrets or s3.presign_url")
    return S3Dest(http, endpoint, bucket, cfg.get("s3.region"),
                  access_key=cfg.secret("s3.access_key") or None,
                  secret_key=cfg.secret("s3.secret_key") or None,
                  session_token=cfg.secret("s3.session_token") or None,
                  path_style=cfg.get("s3.path_style"), presigner=presigner, **common)


def _azure(cfg, storage, device, common):
    from wildcam.dest.azure import AzureDest

    url, container = cfg.get("azure.account_url"), cfg.get("azure.container")
    if not url or not container:
        raise ValueError("azure.account_url and azure.container are needed")
    if not (cfg.secret("azure.account_key") or cfg.secret("azure.sas")):
        raise ValueError("azure needs the azure.account_key or azure.sas secret")
    return AzureDest(_http(cfg, storage, url), url, container,
                     account_key=cfg.secret("azure.account_key") or None,
                     sas=cfg.secret("azure.sas") or None, **common)


def _gcs(cfg, storage, device, common):
    from wildcam.dest.gcs import ENDPOINT, GCSDest

    if not cfg.get("gcs.bucket") or not cfg.secret("gcs.access_id"):
        raise ValueError("gcs.bucket and the gcs.access_id/gcs.secret secrets are needed")
    return GCSDest(_http(cfg, storage, ENDPOINT), cfg.get("gcs.bucket"),
                   cfg.secret("gcs.access_id"), cfg.secret("gcs.secret"), **common)


def _plain(cfg, storage, device, common):
    from wildcam.dest.http import HttpDest

    url = cfg.get("http.url")
    if not url:
        raise ValueError("http.url is not set")
    return HttpDest(_http(cfg, storage, url), url, cfg.secret("http.token") or None,
                    cfg.get("http.method"), device=device, chunk=common["chunk"],
                    sealer=common.get("sealer"))


BUILDERS = {"s3": _s3, "azure": _azure, "gcs": _gcs, "http": _plain}


def _sealer(cfg, name, log):
    """A Sealer when `crypt.key` asks this destination to encrypt; raises ValueError when
    it should but cannot (never upload in clear what was meant to be encrypted)."""
    key = cfg.secret("crypt.key")
    only = [n.strip() for n in cfg.get("crypt.dests").split(",") if n.strip()]
    if not key or (only and name not in only):
        return None
    from wildcam.dest import crypt

    try:
        crypt.check()
    except (OSError, ValueError) as e:
        raise ValueError("encryption required but unavailable: %s" % e)
    return crypt.Sealer(crypt.parse_key(key))


def build(cfg, storage, device, log):
    """The configured cloud destinations, in `cloud.dests` order."""
    out = []
    names = [n.strip() for n in cfg.get("cloud.dests").split(",") if n.strip()]
    for name in names:
        common = {"device": device, "key_template": cfg.get("cloud.key_template"),
                  "now": clock.now, "chunk": cfg.get("cloud.chunk_kb") * 1024}
        try:
            sealer = _sealer(cfg, name, log)
            if sealer is not None:
                common["sealer"] = sealer
            out.append(BUILDERS[name](cfg, storage, device, common))
        except (ValueError, OSError, KeyError) as e:
            log.error("cloud destination %s skipped: %s", name, e)
    return out


def build_influx(cfg, storage, device, log):
    """The InfluxDB metrics destination, or None when `influx.url` is empty."""
    url = cfg.get("influx.url")
    if not url:
        return None
    from wildcam.dest.influx import InfluxDest

    try:
        return InfluxDest(_http(cfg, storage, url), url, db=cfg.get("influx.db") or None,
                          org=cfg.get("influx.org") or None,
                          bucket=cfg.get("influx.bucket") or None,
                          token=cfg.secret("influx.token") or None,
                          user=cfg.get("influx.user") or None,
                          password=cfg.secret("influx.password") or None, device=device)
    except (ValueError, OSError) as e:
        log.error("influx destination skipped: %s", e)
        return None
