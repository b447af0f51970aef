"""Bridgework: the daemon, its pipeline and its command line."""
