"""Vendor answers kept as files under tests/data/, as the vendors' documents print them."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def data(name: str) -> str:
    """The text of `tests/data/<name>`."""
    return (DATA / name).read_text(encoding="utf-8")
