"""The job queue: Celery tasks as thin wrappers over the pipeline, mirrored in ``jobs``."""
