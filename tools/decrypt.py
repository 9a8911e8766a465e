"""Decrypt objects a WildCAM uploaded with client-side encryption (wildcam.dest.crypt).

Object format: IV (16 bytes) || AES-256-CTR(device key, IV, plaintext). The key is the
device's `crypt.key` secret (64 hex digits or base64 of 32 bytes).

    python -m tools.decrypt --key-file wc-a1b2c3.key in.jpg -o out.jpg [--sha256 HEX]
    python -m tools.decrypt --key HEX --check-meta meta.json obj.bin -o out.bin

From Python (export tools): `decrypt_bytes(key, blob)`, `decrypt_stream(key, src, dst)`,
`is_sealed(metadata)`, `verify(plain_sha256, metadata)`. Streams in 64 KB chunks.
CTR has no integrity check of its own: give the object's `sha256` metadata (the plaintext
hash the camera recorded) with --sha256 / --check-meta, and a mismatch is an error.
"""
import argparse
import binascii
import hashlib
import json
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV_LEN = 16
SCHEME = "aes-256-ctr"


def parse_key(text):
    if isinstance(text, (bytes, bytearray)) and len(text) == 32:
        return bytes(text)
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 64 else binascii.a2b_base64(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("the key must be 32 bytes: 64 hex digits or base64")
    return key


def key_id(key):
    """The fingerprint the camera puts in `enc_key` metadata (wildcam.dest.crypt.key_id)."""
    return hashlib.sha256(b"wildcam-key-id:" + key).digest()[:4].hex()


def is_sealed(metadata):
    return (metadata or {}).get("enc") == SCHEME


def _cipher(key, iv):
    return Cipher(algorithms.AES(parse_key(key)), modes.CTR(iv)).decryptor()


def decrypt_bytes(key, blob):
    if len(blob) < IV_LEN:
        raise ValueError("object shorter than its IV")
    c = _cipher(key, blob[:IV_LEN])
    return c.update(blob[IV_LEN:]) + c.finalize()


def decrypt_stream(key, src, dst, chunk=65536):
    """Decrypt file object `src` into `dst`; returns (bytes written, hex sha256)."""
    iv = src.read(IV_LEN)
    if len(iv) != IV_LEN:
        raise ValueError("object shorter than its IV")
    c = _cipher(key, iv)
    h = hashlib.sha256()
    n = 0
    while True:
        part = src.read(chunk)
        if not part:
            break
        out = c.update(part)
        h.update(out)
        dst.write(out)
        n += len(out)
    dst.write(c.finalize())
    return n, h.hexdigest()


def verify(plain_sha256, metadata=None, key=None, expect=None):
    """Raise ValueError when the plaintext hash or key fingerprint disagree with metadata."""
    md = metadata or {}
    want = expect or md.get("sha256")
    if want and want != plain_sha256:
        raise ValueError("plaintext sha256 %s != %s (wrong key or damaged object)" % (
            plain_sha256[:12], want[:12]))
    if key is not None and md.get("enc_key") and md["enc_key"] != key_id(parse_key(key)):
        raise ValueError("object sealed with key %s, not this key (%s)" % (
            md["enc_key"], key_id(parse_key(key))))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.decrypt", description=__doc__.split(
        "\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--key", help="device key: 64 hex digits or base64")
    g.add_argument("--key-file", help="file holding the key")
    ap.add_argument("input")
    ap.add_argument("-o", "--output", required=True, help="plaintext file ('-' for stdout)")
    ap.add_argument("--sha256", help="expected plaintext sha256 (the object's metadata)")
    ap.add_argument("--check-meta", help="JSON file of the object's metadata")
    a = ap.parse_args(argv)
    key = parse_key(a.key if a.key else open(a.key_file).read())
    meta = json.load(open(a.check_meta)) if a.check_meta else None
    if meta is not None:
        verify("", dict(meta, sha256=None), key)  # key fingerprint first
    out = sys.stdout.buffer if a.output == "-" else open(a.output, "wb")
    try:
        with open(a.input, "rb") as src:
            n, digest = decrypt_stream(key, src, out)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    verify(digest, meta, key, a.sha256)
    print("%d bytes, sha256 %s" % (n, digest), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
