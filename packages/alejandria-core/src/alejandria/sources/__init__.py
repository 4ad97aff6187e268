"""Sources shipped with core."""
