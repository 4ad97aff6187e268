"""HTTP for sources and model APIs: pooled clients, rate limits, backoff, resumable downloads."""
