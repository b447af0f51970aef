"""Shipped rules presets, loaded by name with ``extends: <name>``."""
