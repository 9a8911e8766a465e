"""Client-side encryption plumbing (wildcam.dest.crypt) under CPython and real MicroPython: key
parsing, the CTR counter, ciphers positioned mid-stream, Sealed bodies vs SealedRanges
(Azure blocks) giving the same bytes for any cut, metadata. The cipher is injected (a toy
keystream) because the WebAssembly MicroPython has no cryptolib; under CPython the real
AES-256-CTR (host_sim/mpy/cryptolib.py) is checked against NIST SP 800-38A too."""

import hashlib
from binascii import hexlify, unhexlify

from portable_support import MICROPYTHON, raises

from wildcam.dest import crypt

KEY = bytes(range(32))


class ToyCTR:
    """Keystream block i = sha256(key + counter_i)[:16], counter as in CTR: enough to check
    the offset and chunking logic (not a cipher)."""

    def __init__(self, key, mode, iv):
        assert mode == 6 and len(iv) == 16
        self.key = key
        self.ctr = iv
        self.block = None
        self.used = 16

    def encrypt(self, inp, out=None):
        res = bytearray(len(inp))
        for i in range(len(inp)):
            if self.used == 16:
                self.block = hashlib.sha256(self.key + self.ctr).digest()
                self.ctr = crypt.counter_block(self.ctr, 1)
                self.used = 0
            res[i] = inp[i] ^ self.block[self.used]
            self.used += 1
        if out is None:
            return bytes(res)
        out[:len(res)] = res


def _plain(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def _chunks(data, size):
    return lambda: [bytearray(data[i:i + size]) for i in range(0, len(data), size)]


def test_parse_key_hex_base64_and_errors():
    assert crypt.parse_key(hexlify(KEY).decode()) == KEY
    assert crypt.parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") == KEY
    assert crypt.parse_key(KEY) == KEY
    for bad in ("", "00" * 16, "zz" * 32, "c2hvcnQ="):
        assert isinstance(raises(ValueError, crypt.parse_key, bad), ValueError)
    assert crypt.key_id(KEY) == crypt.key_id(KEY) and len(crypt.key_id(KEY)) == 8
    assert crypt.key_id(KEY) != crypt.key_id(bytes(32))


def test_counter_block_big_endian_with_wrap():
    assert crypt.counter_block(bytes(16), 1) == bytes(15) + b"\x01"
    assert crypt.counter_block(b"\x00" * 15 + b"\xff", 1) == bytes(14) + b"\x01\x00"
    assert crypt.counter_block(b"\xff" * 16, 2) == bytes(15) + b"\x01"


def test_sealed_body_and_cipher_at_any_offset():
    data = _plain(1000)
    iv = bytes(range(100, 116))
    whole = ToyCTR(KEY, 6, iv).encrypt(data)
    s = crypt.Sealed(_chunks(data, 77), KEY, iv, aes=ToyCTR)
    body = b"".join(bytes(p) for p in s.chunks())
    assert body == iv + whole
    assert s.sha256() == hexlify(hashlib.sha256(body).digest()).decode()
    for off in (0, 1, 15, 16, 17, 500, 999):
        c = crypt.cipher_at(KEY, iv, off, ToyCTR)
        assert c.encrypt(data[off:]) == whole[off:]


class Ranges:
    def __init__(self, data):
        self.data = data
        self.calls = []

    def chunks(self, off, n):
        self.calls.append((off, n))
        for i in range(off, off + n, 50):
            yield bytearray(self.data[i:min(off + n, i + 50)])

    def verify(self):
        return "ok"


def test_sealed_ranges_match_the_sealed_body_for_any_cut():
    data = _plain(700)
    iv = bytes(range(16))
    body = iv + ToyCTR(KEY, 6, iv).encrypt(data)
    for block in (5, 16, 33, 64, 256, 716):
        rd = Ranges(data)
        sr = crypt.SealedRanges(rd, KEY, iv, aes=ToyCTR)
        got = b""
        for off in range(0, len(body), block):
            got += b"".join(bytes(p) for p in sr.chunks(off, min(block, len(body) - off)))
        assert got == body, block
        assert sr.verify() == "ok"


def test_sealer_iv_seal_and_meta():
    ivs = [bytes([i]) * 16 for i in (1, 2, 3)]
    s = crypt.Sealer(hexlify(KEY).decode(), urandom=lambda n: ivs.pop(0), aes=ToyCTR)
    a = s.wrap(_chunks(b"x", 1))
    b = s.wrap(_chunks(b"x", 1))
    assert a.iv != b.iv  # a new IV per object
    sealed = s.seal(b'{"a":1}')
    assert sealed[:16] == b"\x03" * 16 and len(sealed) == 16 + 7
    assert ToyCTR(KEY, 6, sealed[:16]).encrypt(sealed[16:]) == b'{"a":1}'
    meta = s.meta([("created", "1"), ("key", "k"), ("kind", "detection"), ("score", "0.9"),
                   ("sha256", "ab"), ("trigger", "pir")])
    assert meta == [("created", "1"), ("enc", "aes-256-ctr"), ("enc_key", crypt.key_id(KEY)),
                    ("key", "k"), ("kind", "detection"), ("sha256", "ab")]


def test_real_aes_256_ctr_or_a_clear_error():
    try:
        import cryptolib  # noqa: F401 - CPython: host_sim/mpy shim; wasm MicroPython: none
    except ImportError:
        assert MICROPYTHON
        assert isinstance(raises(OSError, crypt.check), OSError)
        return
    crypt.check()  # NIST SP 800-38A F.5.5 first block
    # F.5.5, all four blocks, fed in odd-sized chunks (counter state carried over)
    key = unhexlify("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    iv = unhexlify("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    pt = unhexlify("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                   "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
    ct = ("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
          "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6")
    s = crypt.Sealed(lambda: [bytearray(pt[:5]), bytearray(pt[5:37]), bytearray(pt[37:])],
                     key, iv)
    assert hexlify(b"".join(bytes(p) for p in s.chunks())[16:]).decode() == ct
