"""Names for ids: each source's directory, kept in SQLite, loaded on first need, refreshed."""
