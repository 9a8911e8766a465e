"""Camtrap DP 1.0 and MegaDetector export of WildCAM data (`wildcam export`, tools/export.py).

One job per module, data flowing one way:
- `common`: times (ISO 8601 with the local offset), errors, the Camtrap DP URLs.
- `deployfile`: the deployment record `flash.py deploy --deployment` writes to the board
  (/deployment.json, reported in every heartbeat) and to `deployments.json` beside the config.
- `sources`: what a card copy, a synced cloud folder or a bucket/container holds (images with
  their sidecars, events, heartbeats), decrypted with the device key when sealed.
- `effort`: deployments as researchers define them: setup to pickup (or last sign of life),
  a new one after a move, effort from heartbeats and sleep records.
- `observations`: what the on-board detector knows (events, `unclassified`) and what a
  classifier's batch results say (MegaDetector / SpeciesNet JSON: animal/human/vehicle/blank).
- `package`: the package metadata (project file / options) and the files written.
- `megadetector`: the MegaDetector batch file (format 1.5) of the same media.
"""
