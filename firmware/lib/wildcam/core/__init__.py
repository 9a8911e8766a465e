"""Foundations every other part builds on: config, log, storage, clock, JSON, retry,
supervisor. Imports nothing above it.
"""
