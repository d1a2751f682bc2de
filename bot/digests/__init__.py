"""Scheduled digests: run (fetch, snapshot, compare, post), their thread, their schedule."""
