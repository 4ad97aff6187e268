"""Text analysis shared by indexing (storage) and querying (search): accent folding, languages."""
