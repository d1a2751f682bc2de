"""Survey responses for tests: MaestroQA's documented example, variants of it, and
storing them the way the endpoint does."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.surveys.items import Action, Item, validate_item
from bot.surveys.queries import NotStored, save_groups

BASE = {
    "submitted_at": "2021-10-05T14:48:00.000Z",
    "ticket_id": "922250816601",
    "agent_id": "12345",
    "agent_email": "bob@maestroqa.com",
    "score": 5,
    "comment": "Great service!",
    "score_label": "Perfect",
    "min_score": 0,
    "max_score": 5,
    "clarifying_answers": [
        {
            "question": "Did you like the product experience?",
            "comment": "It was OK, not as good as the support service",
            "score_label": "Meh",
            "score": 3,
            "min_score": "0",  # the document calls these strings
            "max_score": "5",
        }
    ],
}


def item(**changes: Any) -> dict[str, Any]:
    raw = {**BASE, **changes}
    return {k: v for k, v in raw.items() if v is not DROP}


DROP = object()


def valid(**changes: Any) -> Item:
    found = validate_item(item(**changes))
    assert isinstance(found, Item), found
    return found


def save_items(db: Database, items: list[Item], now: str) -> list[Action | NotStored]:
    """One request's items in one transaction, as the endpoint's group commit writes them."""
    return save_groups(db, [(items, now)])[0]
