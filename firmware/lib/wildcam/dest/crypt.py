"""Optional client-side encryption before upload: AES-256-CTR through `cryptolib`.

    sealer = Sealer(parse_key(cfg.secret("crypt.key")))     # 32-byte per-device key
    S3Dest(..., sealer=sealer)   # also AzureDest, HttpDest, GCSDest

A stolen SD card's upload copies aside, a leaked bucket then shows only ciphertext.

Object format: `IV (16 random bytes) || AES-256-CTR(key, IV, plaintext)`, the counter being
the IV as a 128-bit big-endian number incremented per 16-byte block (NIST SP 800-38A, what
mbedTLS, OpenSSL and `cryptography` do): `openssl enc -d -aes-256-ctr -K <key hex> -iv <first
16 bytes hex>` decrypts the rest; tools/decrypt.py does it with the device key.

- Streamed: each chunk a MediaReader (or Azure's RangeReader) yields is encrypted in place
  in its own buffer after it was hashed, so RAM stays one chunk whatever the file size.
- Sizes and hashes: the body is 16 bytes longer than the file (Content-Length = size + 16);
  a hash the protocol sends before the body (S3/GCS `x-amz-content-sha256`) is the
  ciphertext's, computed by a first pass with the same IV (`Sealed.sha256()`; with
  `unsigned_payload` there is none). The plaintext SHA-256 stays in the `sha256` metadata
  (so `has()` still recognises an uploaded file) and is still checked against the outbox
  record after the upload (`verify()`), as without encryption.
- Metadata when sealing (`Sealer.meta`): only the item fields (key, kind, created, sha256)
  plus `enc` = "aes-256-ctr" and `enc_key` (a key fingerprint, for key rotation); the
  sidecar's scalars (score, trigger ...) are left out. Content-Type is
  application/octet-stream. Items without media (events as JSON) are sealed whole.
- CTR gives confidentiality, not integrity: someone who can write to the bucket can flip
  bits undetected by the cipher; the decrypt tool compares the plaintext with the `sha256`
  metadata when it has it. Never reuse a (key, IV) pair for different data: the IV is
  random per object (`os.urandom`, the ESP32's hardware RNG); a retried body within one
  attempt re-sends the same bytes.

Caveat: `cryptolib.aes(key, 6, iv)` (MODE_CTR) exists only where the MicroPython build
enables MICROPY_PY_CRYPTOLIB_CTR (the ESP32 port does, with mbedTLS; some ports and the
WebAssembly build have no cryptolib at all). `check()` tells at boot; the host simulator
uses host_sim/mpy/cryptolib.py (the `cryptography` package).
"""

import hashlib
import os
from binascii import a2b_base64, hexlify, unhexlify

MODE_CTR = 6
IV_LEN = 16
SCHEME = "aes-256-ctr"
OCTET = "application/octet-stream"


def parse_key(text):
    """32 key bytes from the secret's text: 64 hex digits or base64 of 32 bytes."""
    try:
        if isinstance(text, (bytes, bytearray)):
            if len(text) == 32:
                return bytes(text)
            text = bytes(text).decode()  # hex or base64 given as bytes
        text = (text or "").strip()
        key = unhexlify(text) if len(text) == 64 else a2b_base64(text.encode())
    except ValueError:  # UnicodeError is one too
        key = b""
    if len(key) != 32:
        raise ValueError("crypt.key must be 32 bytes as 64 hex digits or base64")
    return bytes(key)


def key_id(key):
    """A short fingerprint of a key (not the key): which key sealed an object."""
    return hexlify(hashlib.sha256(b"wildcam-key-id:" + key).digest()[:4]).decode()


def counter_block(iv, blocks):
    """The CTR counter `blocks` 16-byte blocks after `iv` (128-bit big-endian, wrapping)."""
    n = (int.from_bytes(iv, "big") + blocks) & ((1 << 128) - 1)
    return n.to_bytes(16, "big")


def cipher_at(key, iv, offset=0, aes=None):
    """An AES-256-CTR cipher positioned at byte `offset` of the ciphertext (after the IV)."""
    if aes is None:
        import cryptolib

        aes = cryptolib.aes
    c = aes(key, MODE_CTR, counter_block(iv, offset // 16))
    skip = offset % 16
    if skip:
        c.encrypt(bytearray(skip))
    return c


def check(aes=None):
    """Raise OSError/ValueError when this build cannot do AES-256-CTR (known-answer test,
    NIST SP 800-38A F.5.5, first block)."""
    key = unhexlify("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    iv = unhexlify("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    buf = bytearray(unhexlify("6bc1bee22e409f96e93d7e117393172a"))
    try:
        cipher_at(key, iv, 0, aes).encrypt(buf, buf)
    except (ImportError, ValueError, TypeError) as e:
        raise OSError("AES-256-CTR unavailable (cryptolib without CTR?): %s" % e)
    if bytes(buf) != unhexlify("601ec313775789a5b7a7f504bbf3d228"):
        raise ValueError("cryptolib CTR gives wrong output")


class Sealed:
    """Encrypts the chunks of a plaintext stream: `chunks()` yields the IV, then each
    plaintext chunk encrypted in place. `plain()` returns a fresh iterable of plaintext
    chunks (writable buffers: MediaReader memoryviews) on every call."""

    def __init__(self, plain, key, iv, aes=None):
        self._plain = plain
        self.key = key
        self.iv = iv
        self._aes = aes
        self._digest = None

    def chunks(self):
        c = cipher_at(self.key, self.iv, 0, self._aes)
        yield self.iv
        for part in self._plain():
            c.encrypt(part, part)
            yield part

    def sha256(self):
        """Hex SHA-256 of the whole body (IV + ciphertext): one pass, nothing sent."""
        if self._digest is None:
            h = hashlib.sha256()
            for part in self.chunks():
                h.update(part)
            self._digest = hexlify(h.digest()).decode()
        return self._digest


class SealedRanges:
    """Byte ranges of the sealed body (IV + ciphertext) from a reader of plaintext ranges
    (wildcam.dest.azure.RangeReader: `chunks(off, n)`, `verify()`): Azure blocks."""

    def __init__(self, rd, key, iv, aes=None):
        self.rd = rd
        self.key = key
        self.iv = iv
        self._aes = aes

    def chunks(self, off, n):
        end = off + n
        if off < IV_LEN:
            yield self.iv[off:min(IV_LEN, end)]
            off = IV_LEN
        if end > off:
            p = off - IV_LEN
            c = cipher_at(self.key, self.iv, p, self._aes)
            for part in self.rd.chunks(p, end - off):
                c.encrypt(part, part)
                yield part

    def verify(self):
        return self.rd.verify()


class Sealer:
    """One device key; makes a random IV per object."""

    def __init__(self, key, urandom=None, aes=None):
        self.key = parse_key(key)
        self.key_id = key_id(self.key)
        self._rand = urandom or os.urandom
        self._aes = aes

    def new_iv(self):
        iv = bytes(self._rand(IV_LEN))
        if len(iv) != IV_LEN:
            raise OSError("no random IV")
        return iv

    def wrap(self, plain):
        """A Sealed body over `plain()` (callable returning plaintext chunks)."""
        return Sealed(plain, self.key, self.new_iv(), self._aes)

    def ranges(self, rd):
        return SealedRanges(rd, self.key, self.new_iv(), self._aes)

    def seal(self, data):
        """IV + ciphertext of small bytes (an event's JSON)."""
        iv = self.new_iv()
        buf = bytearray(data)
        cipher_at(self.key, iv, 0, self._aes).encrypt(buf, buf)
        return iv + bytes(buf)

    def meta(self, pairs):
        """Metadata pairs for a sealed object (sorted): item fields and the scheme only."""
        out = [(k, v) for k, v in pairs if k in ("created", "key", "kind", "sha256")]
        out.append(("enc", SCHEME))
        out.append(("enc_key", self.key_id))
        out.sort()
        return out
