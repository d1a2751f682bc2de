"""History beyond the vendors' windows: LivePerson kept hour by hour in SQLite."""
