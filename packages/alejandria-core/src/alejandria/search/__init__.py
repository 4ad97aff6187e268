"""Search backends shipped with core and the dispatch that picks one per query."""
