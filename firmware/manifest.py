# MicroPython build manifest: freeze WildCAM into a firmware image (a board without PSRAM).
#
# Frozen bytecode runs from flash instead of the heap: `python -m bench footprint` measures
# ~221 KB of heap after boot with .mpy files on the filesystem and ~40 KB of it objects, so
# a frozen build fits the ~100 KB heap of a board without PSRAM. Build with the camera
# driver's ESP32 board, e.g. (from a micropython checkout, ports/esp32):
#   make BOARD=ESP32_GENERIC_CAM FROZEN_MANIFEST=/path/to/wildcam/firmware/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
package("wildcam", base_path="lib", opt=3)  # relative to this file
# no micropython-lib packages: MQTT is wildcam.net.mqtt's own asyncio client (issue 16)
