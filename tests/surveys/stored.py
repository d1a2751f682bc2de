"""Survey responses stored the way the endpoint stores them, for tests that need some."""

from __future__ import annotations

from sqlite_utils import Database

from bot.surveys.items import Action, Item
from bot.surveys.queries import save_groups


def save_items(db: Database, items: list[Item], now: str) -> list[Action]:
    """One request's items in one transaction, as the endpoint's group commit writes them."""
    return save_groups(db, [(items, now)])[0]
