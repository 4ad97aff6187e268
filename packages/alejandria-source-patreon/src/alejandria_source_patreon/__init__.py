"""Alejandria source for Patreon."""
