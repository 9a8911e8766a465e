"""Public keys this firmware trusts for OTA (written by `tools/ota.py keygen`).

KEYS: ((key_id, n), ...): RSA moduli (e = 65537). More than one entry allows a key
rotation: ship the new key in an update signed with the old one, then sign with the new.
An empty tuple means this build accepts no update at all (OTA refuses with a clear error).
The private keys never leave the signing laptop.
"""

KEYS = ()
