"""Taking pictures: triggers, the camera adapter, motion detection, EXIF, the SD card."""
