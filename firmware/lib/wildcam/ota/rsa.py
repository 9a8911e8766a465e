"""RSA signature check for OTA manifests, in pure MicroPython (no cryptolib needed).

    ok = verify(n, signature_bytes, sha256_digest)

RSA-2048 (or larger) PKCS#1 v1.5 with SHA-256 and the public exponent 65537 (RFC 8017,
RSASSA-PKCS1-v1_5-VERIFY): one modular exponentiation with a small exponent (16 squarings
and one multiplication of 2048-bit integers), then a byte comparison with the one
EMSA-PKCS1-v1_5 encoding the digest can have. Verification needs no secret, so it need not
be constant-time. Keys shorter than 2048 bits are refused.
"""

# DER prefix of DigestInfo(AlgorithmIdentifier sha256, NULL), then the 32-byte digest
_DER_SHA256 = b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
E = 65537
MIN_BYTES = 256


def modulus_bytes(n):
    """Length in bytes of the modulus `n` (MicroPython ints have no bit_length)."""
    return (len("%x" % n) + 1) // 2


def _pow65537(s, n):
    try:
        return pow(s, E, n)
    except (TypeError, NotImplementedError, ValueError):  # a build without 3-argument pow
        x = s
        for _ in range(16):
            x = x * x % n
        return x * s % n


def encoded(digest, k):
    """EM = 00 01 FF..FF 00 DigestInfo: the only valid encoding of `digest` for k bytes."""
    return b"\x00\x01" + b"\xff" * (k - 3 - len(_DER_SHA256) - 32) + b"\x00" + _DER_SHA256 + \
        bytes(digest)


def verify(n, sig, digest):
    """True when `sig` (bytes) is a PKCS#1 v1.5 SHA-256 signature of the 32-byte `digest`
    under the public key (n, 65537)."""
    k = modulus_bytes(n)
    if k < MIN_BYTES or len(sig) != k or len(digest) != 32:
        return False
    s = int.from_bytes(bytes(sig), "big")
    if s >= n:
        return False
    m = _pow65537(s, n)
    return m.to_bytes(k, "big") == encoded(digest, k)


def key_id(n):
    """Short, stable name of a public key: first 16 hex digits of SHA-256 over n's bytes."""
    import hashlib
    from binascii import hexlify

    return hexlify(hashlib.sha256(n.to_bytes(modulus_bytes(n), "big")).digest()).decode()[:16]
