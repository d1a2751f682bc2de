"""The `ingested` source: stored survey responses as CSAT, per agent, on the 1-5 scale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.commands import grammar
from bot.db import Store
from bot.errors import UsageError
from bot.metrics import CsatCounts, CsatRow
from bot.query import Query
from bot.sources import Sources
from bot.surveys.items import Item, validate_item
from bot.surveys.source import Ingested
from tests.fakes.clock import FakeClock
from tests.surveys.responses import save_items
from tests.words import said

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Ingested]:
    store = Store(str(tmp_path / "bot.db"))
    responses = [
        # (agent, score, min, max, submitted): a 0-10 survey, a 1-7 one, plain 1-5
        ("7", 10, 0, 10, "2026-03-02T11:00:00Z"),  # -> 5
        ("7", 6, 0, 10, "2026-03-01T12:30:00Z"),  # -> 3
        ("7", 0, 0, 10, "2026-02-20T12:00:00Z"),  # -> 1, 10 days ago
        ("ann@example.com", 4, 1, 7, "2026-03-02T09:00:00Z"),  # -> 3
        ("ann@example.com", 5, 1, 5, "2026-03-02T13:00:00Z"),  # -> 5, in the future: not yet
        ("9", 4, 1, 5, "2026-02-28T12:00:00Z"),  # -> 4
    ]
    items = []
    for n, (agent, score, low, high, when) in enumerate(responses):
        key = "agent_email" if "@" in agent else "agent_id"
        raw: dict[str, Any] = {"ticket_id": f"T{n}", key: agent, "score": score,
                               "min_score": low, "max_score": high,
                               "submitted_at": when}  # fmt: skip
        item = validate_item(raw)
        assert isinstance(item, Item)
        items.append(item)
    store.sync(lambda db: save_items(db, items, "2026-03-02T12:00:00.000Z"))
    yield Ingested(store, FakeClock(NOW))
    store.close()


def counts(*scores: int) -> CsatCounts:
    return CsatCounts.from_scores(scores)  # type: ignore[arg-type]


async def test_whole_account_over_seven_days(source: Ingested) -> None:
    query = grammar.parse("/csat", "ingested 7d")
    assert isinstance(query, Query)
    report = await source.csat(query)
    assert report.total == counts(0, 0, 2, 1, 1)
    assert report.rows == ()
    assert (report.source, report.vendor, report.scope) == (
        "ingested",
        "Ingested surveys",
        "account",
    )
    assert report.window.start == datetime(2026, 2, 23, 12, 0, tzinfo=UTC)
    assert not report.window.widened


async def test_per_agent(source: Ingested) -> None:
    report = await source.csat(Query("/csat", "ingested", "agent", "all", 30 * 1440))
    assert report.rows == (
        CsatRow("agent", "7", "7", counts(1, 0, 1, 0, 1)),
        CsatRow("agent", "9", "9", counts(0, 0, 0, 1, 0)),
        CsatRow("agent", "ann@example.com", "ann@example.com", counts(0, 0, 1, 0, 0)),
    )
    assert report.total == counts(1, 0, 2, 1, 1)
    only = await source.csat(Query("/csat", "ingested", "agent", ("ann@example.com",), 1440))
    assert [r.id for r in only.rows] == ["ann@example.com"]


async def test_no_responses_in_the_window(source: Ingested) -> None:
    report = await source.csat(Query("/csat", "ingested", timeframe=30))
    assert report.total == CsatCounts()
    assert report.total.score is None


def test_units_and_agent_states(source: Ingested) -> None:
    sources = Sources({"ingested": source})
    query, found = sources.resolve(Query("/csat", None, "agent", "all", 7 * 1440))
    assert (query.source, found) == ("ingested", source)
    with pytest.raises(UsageError) as caught:
        sources.resolve(Query("/csat", "ingested", "skill", "all", 60))
    assert said(caught.value).startswith("Ingested surveys has no skills")
    with pytest.raises(UsageError) as caught:
        sources.resolve(Query("/agent-states", "ingested", "agent", "all", 60))
    assert "CSAT only" in said(caught.value)
