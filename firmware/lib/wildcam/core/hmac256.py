"""HMAC-SHA256 over hashlib.sha256 (an ESP32 MicroPython build has no `hmac` module).

    mac = hmac_sha256(key_bytes, msg_bytes)          # 32 raw bytes
    hexmac = hmac_sha256_hex(key_bytes, msg_bytes)   # 64 lowercase hex characters

Used by the MQTT SAS tokens (wildcam.net.mqtt), AWS SigV4 / GOOG4 signing (wildcam.dest.sigv4) and
Azure SharedKey / SAS (wildcam.dest.azure). RFC 2104; checked against RFC 4231 vectors in
tests/portable/test_sigv4.py.
"""

import hashlib
from binascii import hexlify

_BLOCK = 64


def _pads(key):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    ipad = bytearray(_BLOCK)
    opad = bytearray(_BLOCK)
    for i in range(len(key)):
        ipad[i] = key[i]
        opad[i] = key[i]
    for i in range(_BLOCK):
        ipad[i] ^= 0x36
        opad[i] ^= 0x5C
    return ipad, opad


def hmac_sha256(key, msg):
    """Raw 32-byte HMAC-SHA256 of `msg` (bytes or str) under `key` (bytes or str)."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(msg, str):
        msg = msg.encode()
    ipad, opad = _pads(key)
    inner = hashlib.sha256(ipad)
    inner.update(msg)
    outer = hashlib.sha256(opad)
    outer.update(inner.digest())
    return outer.digest()


def hmac_sha256_hex(key, msg):
    return hexlify(hmac_sha256(key, msg)).decode()
