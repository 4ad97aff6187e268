"""Looking after an installation: health checks (doctor), cleanup."""
