"""Configuration made in Slack's Home tab: stored in SQLite, audited, laid beside the file's."""
