"""Snapshots: every entity's numbers as a digest or watch saw them, kept to compare and alert."""
