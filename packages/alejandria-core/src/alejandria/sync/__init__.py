"""Syncing a source: the pipeline with its read-ahead and media fetch, the work after a sync,
subscriptions, and the built-in ``files`` source."""
