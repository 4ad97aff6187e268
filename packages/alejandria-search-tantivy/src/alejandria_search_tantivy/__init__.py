"""BM25 full-text search for Alejandria on a Tantivy index kept as derived data."""
