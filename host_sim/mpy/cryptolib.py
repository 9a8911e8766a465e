"""MicroPython's `cryptolib` for CPython (host simulator and tests), on the `cryptography`
package: `aes(key, mode, iv)` with `encrypt(in_buf[, out_buf])` / `decrypt(...)`.

Modes: 1 ECB, 2 CBC (whole 16-byte blocks, as on the board) and 6 CTR (any length; the
counter state carries over between calls, so a stream can be encrypted chunk by chunk).
As on the board, one object either encrypts or decrypts (CTR: both are the same)."""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODE_ECB = 1
MODE_CBC = 2
MODE_CTR = 6


class aes:  # noqa: N801 - MicroPython's name
    def __init__(self, key, mode, IV=None):  # noqa: N803
        key = bytes(key)
        if len(key) not in (16, 32):
            raise ValueError("key")
        if mode == MODE_ECB:
            m = modes.ECB()
        elif mode == MODE_CBC:
            m = modes.CBC(bytes(IV or bytes(16)))
        elif mode == MODE_CTR:
            if IV is None or len(IV) != 16:
                raise ValueError("CTR needs a 16-byte IV")
            m = modes.CTR(bytes(IV))
        else:
            raise ValueError("mode")
        self._mode = mode
        self._cipher = Cipher(algorithms.AES(key), m)
        self._ctx = None
        self._dir = None

    def _run(self, direction, in_buf, out_buf):
        if self._dir is None:
            self._dir = direction
            self._ctx = (self._cipher.encryptor() if direction == "e" or self._mode == MODE_CTR
                         else self._cipher.decryptor())
        elif self._dir != direction and self._mode != MODE_CTR:
            raise OSError("can't encrypt & decrypt")
        data = bytes(in_buf)
        if self._mode != MODE_CTR and len(data) % 16:
            raise ValueError("blksize % 16")
        res = self._ctx.update(data)
        if out_buf is None:
            return res
        if len(out_buf) < len(data):
            raise ValueError("output too small")
        memoryview(out_buf)[:len(res)] = res
        return None

    def encrypt(self, in_buf, out_buf=None):
        return self._run("e", in_buf, out_buf)

    def decrypt(self, in_buf, out_buf=None):
        return self._run("d", in_buf, out_buf)
