"""Survey responses for tests: MaestroQA's documented example, variants of it, and
storing them the way the endpoint does."""

from __future__ import annotations

import json
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


def _body(items: list[Any], ascii_only: bool = True) -> bytes:
    return json.dumps({"data": items}, ensure_ascii=ascii_only).encode()


_MIXED = [
    item(), item(ticket_id=922250816602, score=0, comment="Awful"), item(score=9),
    item(comment="Très bien ✓", score_label="Ñ"), item(submitted_at="2021-10-05T16:48:00+02:00"),
    {**item(ticket_id="X1"), "extra": {"deep": [1, 2.5, -3, "x", None, True]}},
    item(ticket_id="X2", clarifying_answers=None, agent_id=DROP), ["not an object"],
]  # fmt: skip
# (body, whether read_document finds it sound): what the endpoint reads both ways
BODIES = {
    "ascii escapes": (_body(_MIXED), True),
    "UTF-8 as it is": (_body([*_MIXED, item(ticket_id="E", comment="😀")], False), True),
    "beyond the BMP escaped": (_body([item(comment="😀")]), False),  # a pair: walked
    "a pair escaped": (
        _body([item(comment="ok \ud83d\ude00")]).replace(b"\\ud83d", b"\\uD83D"),
        False,
    ),
    "a lone surrogate escaped": (_body([item(comment="cut \ud83d")]), False),
    "a surrogate encoded": (_body([item()]).replace(b"Great", b"\xed\xa0\xbd"), False),
    "NaN": (_body([item(), item(ticket_id="N")]).replace(b'"score": 3', b'"score": NaN'), False),
    "a long number": (_body([{**item(), "n": 10**4500 // 10**500}]), False),
    "a number just short of that": (_body([{**item(), "n": 10**3999}]), True),
    "1e999": (_body([{**item(), "n": 1.5}]).replace(b"1.5", b"1e999"), False),
    "a UTF-8 BOM": (b"\xef\xbb\xbf" + _body(_MIXED), False),
    "UTF-16": (_body(_MIXED).decode().encode("utf-16"), False),
}
