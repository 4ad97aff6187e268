"""Embedders shipped with core: two offline multilingual models and an OpenAI-compatible API."""
