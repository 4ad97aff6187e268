"""Serving stored media over HTTP: validators, byte ranges and safe headers (``responses``)."""
