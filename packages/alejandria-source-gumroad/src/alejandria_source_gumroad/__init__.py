"""Alejandria source for Gumroad."""
