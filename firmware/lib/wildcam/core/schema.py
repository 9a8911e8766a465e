"""The configuration schema: every key the firmware reads, with its type, default and rule.

One row per key: (dotted key, type, default, rule, flags)
- type: "s" string, "i" int, "f" number, "b" bool, "l" list of strings
- default: None means required (no default)
- rule: (lo, hi) for numbers, (min_len, max_len) for strings and lists, a tuple of allowed
  strings for enums (`("a", "b")` with len != 2 numbers is ambiguous, so enums are marked
  with flag E), or None
- flags: E enum, S secret (kept in the secrets file, never printed)

Keys are sorted by section here only for readers; code never relies on dict order.
Bump VERSION and add a step to `wildcam.core.migrate` whenever a key is renamed or changes unit.
"""

VERSION = 2

E = 1  # enum
S = 2  # secret

SCHEMA = (
    # device identity
    ("device.id", "s", "", (0, 32), 0),  # "" = derived from machine.unique_id()
    ("device.name", "s", "", (0, 64), 0),
    ("device.site", "s", "", (0, 64), 0),
    ("device.lat", "f", 0.0, (-90, 90), 0),
    ("device.lon", "f", 0.0, (-180, 180), 0),
    # network
    ("wifi.ssid", "s", None, (1, 32), 0),
    ("wifi.password", "s", "", (0, 64), S),
    ("wifi.connect_timeout_s", "i", 20, (5, 120), 0),
    ("time.ntp_host", "s", "pool.ntp.org", (1, 64), 0),
    ("time.tz_offset_min", "i", 0, (-720, 840), 0),
    # capture
    ("capture.mode", "s", "pir", ("pir", "timelapse", "motion", "pir+timelapse"), E),
    ("capture.burst_count", "i", 3, (1, 10), 0),
    ("capture.burst_interval_ms", "i", 500, (100, 10000), 0),
    ("capture.quiet_s", "i", 30, (1, 3600), 0),
    ("capture.settle_frames", "i", 2, (0, 20), 0),
    ("capture.timelapse_s", "i", 0, (0, 86400), 0),
    ("capture.frame_size", "s", "VGA", ("QVGA", "VGA", "SVGA", "XGA", "HD", "UXGA"), E),
    ("capture.jpeg_quality", "i", 85, (10, 100), 0),  # higher is better (driver scales differ)
    ("capture.flash", "s", "auto", ("auto", "on", "off"), E),
    ("capture.dark_level", "i", 40, (0, 255), 0),  # mean gray below this = night: LED on
    # the camera board (wildcam.core.presets): pins passed to the driver explicitly
    ("camera.board", "s", "ai-thinker", ("ai-thinker", "ai-thinker-mod"), E),
    ("camera.pins", "s", "", (0, 160), 0),  # overrides: "pwdn=-1,data=5/18/19/21/36/39/34/35"
    # on-device motion detection (confirms PIR triggers; see docs/DETECTION.md)
    ("detect.enabled", "b", True, None, 0),
    ("detect.frame", "s", "QQVGA", ("96X96", "QQVGA"), E),
    ("detect.fps", "i", 4, (1, 10), 0),
    ("detect.frames", "i", 20, (4, 60), 0),  # at most this many frames per trigger
    ("detect.still_frames", "i", 6, (0, 60), 0),  # reject once this many saw nothing (0: off)
    ("detect.led_pct", "i", 70, (1, 100), 0),  # LED share lighting the look frames at night
    ("detect.threshold", "i", 5, (1, 64), 0),  # grey levels per 4x4 cell (docs/DETECTION.md)
    ("detect.min_area", "i", 1, (1, 64), 0),  # blocks
    ("detect.confirm", "i", 3, (1, 10), 0),  # consecutive frames with the same blob
    ("detect.roi", "s", "", (0, 128), 0),  # "-0,0,1,0.3" excludes the top 30 %
    ("detect.rejected", "s", "keep", ("delete", "keep"), E),  # an unconfirmed trigger's burst
    # pins (AI-Thinker ESP32-CAM defaults)
    ("pins.pir", "i", 13, (0, 39), 0),
    ("pins.flash_led", "i", 4, (-1, 39), 0),
    ("pins.battery_adc", "i", -2, (-2, 39), 0),  # -2: the board preset's divider; -1: none
    ("pins.safe_mode", "i", -1, (-1, 39), 0),  # held low at boot -> safe mode; -1 = none
    # storage
    ("storage.full_policy", "s", "delete_uploaded", ("stop", "delete_uploaded"), E),
    ("storage.min_free_mb", "i", 8, (1, 1024), 0),
    ("storage.exif", "b", True, None, 0),  # EXIF date/serial/GPS inside each JPEG
    # sync
    ("sync.max_queue_mb", "i", 64, (1, 1024), 0),
    ("sync.local_dir", "s", "", (0, 64), 0),  # "" = no local-directory destination
    ("sync.item_ttl_h", "i", 0, (0, 8760), 0),  # 0 = queued items never expire
    ("sync.defer_kb", "i", 64, (1, 4096), 0),  # media larger waits while the link is poor
    ("sync.windows", "s", "", (0, 128), 0),  # "05:30-06:00,18:00-18:45"; "" = always
    ("sync.rate_kbps", "i", 0, (0, 100000), 0),  # per-destination byte cap; 0 = none
    # cloud storage for images (docs/CLOUD.md); secrets in /secrets.json
    ("cloud.dests", "s", "", (0, 64), 0),  # "s3", "azure", "gcs", "http", comma-separated
    ("cloud.mode", "s", "failover", ("failover", "replicate"), E),
    ("cloud.key_template", "s", "{device}/{date}/{name}.{ext}", (1, 128), 0),
    ("cloud.chunk_kb", "i", 4, (1, 64), 0),
    ("cloud.timeout_s", "i", 15, (2, 120), 0),
    ("cloud.ca", "s", "/certs/ca.pem", (0, 64), 0),
    ("s3.endpoint", "s", "https://s3.amazonaws.com", (8, 128), 0),
    ("s3.bucket", "s", "", (0, 63), 0),
    ("s3.region", "s", "us-east-1", (1, 32), 0),
    ("s3.path_style", "b", True, None, 0),
    ("s3.presign_url", "s", "", (0, 128), 0),
    ("s3.access_key", "s", "", (0, 128), S),
    ("s3.secret_key", "s", "", (0, 128), S),
    ("s3.session_token", "s", "", (0, 2048), S),
    ("s3.presign_token", "s", "", (0, 256), S),
    ("azure.account_url", "s", "", (0, 128), 0),
    ("azure.container", "s", "", (0, 63), 0),
    ("azure.account_key", "s", "", (0, 128), S),
    ("azure.sas", "s", "", (0, 512), S),
    ("gcs.bucket", "s", "", (0, 63), 0),
    ("gcs.access_id", "s", "", (0, 128), S),
    ("gcs.secret", "s", "", (0, 128), S),
    ("http.url", "s", "", (0, 256), 0),
    ("http.method", "s", "PUT", ("PUT", "POST"), E),
    ("http.token", "s", "", (0, 512), S),
    ("crypt.key", "s", "", (0, 88), S),  # 64 hex digits or base64: AES-256-CTR before upload
    ("crypt.dests", "s", "", (0, 64), 0),  # which cloud dests encrypt; "" = all of them
    # InfluxDB metrics (health and events as line protocol)
    ("influx.url", "s", "", (0, 128), 0),  # "" = off
    ("influx.db", "s", "", (0, 64), 0),
    ("influx.org", "s", "", (0, 64), 0),
    ("influx.bucket", "s", "", (0, 64), 0),  # set: InfluxDB 2 API
    ("influx.user", "s", "", (0, 64), 0),
    ("influx.token", "s", "", (0, 256), S),
    ("influx.password", "s", "", (0, 128), S),
    # mqtt
    ("mqtt.host", "s", "", (0, 128), 0),  # "" = MQTT disabled
    ("mqtt.port", "i", 1883, (1, 65535), 0),
    ("mqtt.user", "s", "", (0, 64), 0),
    ("mqtt.password", "s", "", (0, 256), S),
    ("mqtt.tls", "b", False, None, 0),
    ("mqtt.topic_prefix", "s", "wildcam", (1, 64), 0),
    ("mqtt.keepalive_s", "i", 60, (10, 3600), 0),
    ("mqtt.ca", "s", "", (0, 64), 0),  # PEM file on flash, e.g. /certs/ca.pem (TLS)
    ("mqtt.cert", "s", "", (0, 64), 0),  # client certificate PEM (mutual TLS)
    ("mqtt.key", "s", "", (0, 64), 0),  # client key PEM (mutual TLS)
    ("mqtt.events", "b", True, None, 0),  # False: MQTT is the command mailbox only
    # remote management
    ("cmd.hmac_key", "s", "", (0, 128), S),  # "" = remote commands off
    ("cmd.revert_s", "i", 300, (30, 3600), 0),  # remote config kept only if the broker answers
    ("hass.discovery", "b", False, None, 0),  # Home Assistant MQTT discovery
    # OTA (docs/OTA.md)
    ("ota.url", "s", "", (0, 256), 0),  # manifest URL checked every ota.check_h; "" = off
    ("ota.check_h", "i", 24, (0, 720), 0),
    ("ota.gate_min_s", "i", 120, (30, 3600), 0),  # a new version must run this long...
    ("ota.gate_deadline_s", "i", 900, (120, 7200), 0),  # ...and reach the network by this
    ("ota.ca", "s", "", (0, 64), 0),  # CA PEM for https manifest URLs
    ("ota.insecure", "b", False, None, 0),  # https without ota.ca: unverified (logged loudly)
    # health
    ("health.interval_s", "i", 900, (60, 86400), 0),
    ("watchdog.timeout_s", "i", 60, (0, 600), 0),  # 0 = no hardware watchdog
    # logging
    ("log.level", "s", "info", ("debug", "info", "warning", "error"), E),
    ("log.files", "i", 4, (2, 16), 0),
    ("log.file_kb", "i", 16, (1, 256), 0),
    # power
    ("power.mode", "s", "mains", ("mains", "battery"), E),
    ("power.battery_divider", "f", 2.0, (1, 10), 0),  # battery volts / ADC pin volts
    ("power.low_pct", "i", 30, (0, 100), 0),  # below: 1-image bursts, rarer health, alerts only
    ("power.critical_pct", "i", 10, (0, 100), 0),  # below: no PIR, no radio, sleep to charge
    ("power.active_hours", "s", "", (0, 128), 0),  # e.g. "17:00-08:00"; "" = always
    ("power.awake_s", "i", 1, (1, 600), 0),  # stay awake this long after activity
    ("power.max_awake_s", "i", 120, (10, 3600), 0),  # at most this long to drain uploads
)

TYPE_NAMES = {"s": "text", "i": "a whole number", "f": "a number", "b": "true or false",
              "l": "a list of text"}


def row(key):
    """The schema row for `key`, or None."""
    for r in SCHEMA:
        if r[0] == key:
            return r
    return None


def keys():
    """All keys, sorted."""
    return sorted(r[0] for r in SCHEMA)


def is_secret(key):
    r = row(key)
    return r is not None and bool(r[4] & S)
