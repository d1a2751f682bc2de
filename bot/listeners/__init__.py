"""Thin Slack handlers; each module has a `register(app, ...)`."""
