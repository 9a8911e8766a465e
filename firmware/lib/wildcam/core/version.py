"""The firmware's version (semantic); OTA compares it to refuse downgrades."""

VERSION = "0.1.0"
