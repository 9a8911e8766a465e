"""Signed over-the-air updates: manifest verification, slot staging, boot selection, health
gate.
"""
