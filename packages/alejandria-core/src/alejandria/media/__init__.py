"""Stored media: kinds, processing and its processors, transcribers, embedded videos, and the
upkeep of the store (verify, dedup, gc)."""
