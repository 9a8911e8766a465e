"""Pieces of tools/flash.py: esptool and mpremote at their process boundary (proc), what
their failures mean (diagnose), erase/write (esp), the board over mpremote (board), deploy,
provision."""
