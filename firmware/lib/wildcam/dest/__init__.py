"""Destinations the sync engine delivers to: object stores, HTTP, InfluxDB, MQTT, a local
folder.
"""
