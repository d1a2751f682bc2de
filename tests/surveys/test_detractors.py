"""Detractor alerts: grouping with an injected clock, posting, and replay after a restart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import DEFAULT_TEMPLATES
from bot.db import Store
from bot.errors import SlackError
from bot.render import Message, Renderer
from bot.surveys.detractors import LISTED, Detractor, DetractorAlerts, Grouping
from bot.surveys.items import Item, validate_item
from bot.surveys.queries import unalerted
from bot.timefmt import iso_ms
from tests.fakes.clock import FakeClock
from tests.surveys.responses import save_items

pytestmark = pytest.mark.anyio


def det(n: int) -> Detractor:
    return Detractor(f"id{n}", "1001", f"T{n}", 1, 1, 5, f"comment {n}")


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # (time, detractors added or None to ask what is due) -> the groups that came out
        ([(0, [1]), (4.9, None), (5.0, None)], [[1]]),
        ([(0, [1]), (2, [2, 3]), (4.99, [4]), (5, None)], [[1, 2, 3, 4]]),
        ([(0, [1]), (5, None), (6, [2]), (10, None), (11, None)], [[1], [2]]),
        ([(0, [1]), (1, [1]), (5, None)], [[1]]),  # the same response twice is listed once
        ([(0, []), (100, None)], []),
    ],
    ids=["one", "burst", "two-bursts", "dedup", "nothing"],
)
def test_grouping(events: list[tuple[float, list[int] | None]], expected: list[list[int]]) -> None:
    grouping = Grouping(window=5.0)
    out = []
    for now, added in events:
        if added is None:
            group = grouping.due(now)
            if group:
                out.append([int(d.id[2:]) for d in group])
        else:
            grouping.add([det(n) for n in added], now)
    assert out == expected


def test_add_returns_the_deadline_only_when_it_opens_a_group() -> None:
    grouping = Grouping(window=5.0)
    assert grouping.add([det(1)], 10.0) == 15.0
    assert grouping.add([det(2)], 12.0) is None
    assert grouping.deadline == 15.0


@dataclass
class FakePoster:
    fail: bool = False
    posts: list[tuple[str, Message]] = field(default_factory=list)

    async def post(self, channel: str, message: Message, **_: Any) -> str:
        if self.fail:
            raise SlackError("not_in_channel", "not_in_channel")
        self.posts.append((channel, message))
        return "1.1"


def stored(store: Store, *tickets: str) -> list[Item]:
    items = []
    for ticket in tickets:
        item = validate_item({"submitted_at": "2026-03-02T10:00:00Z", "ticket_id": ticket,
                              "agent_email": "a@b.c", "score": 0, "min_score": 0,
                              "max_score": 10, "comment": f"bad {ticket}"})  # fmt: skip
        assert isinstance(item, Item)
        items.append(item)
    store.sync(lambda db: save_items(db, items, iso_ms(datetime.now(UTC))))
    return items


async def test_a_burst_is_one_message_and_marked_alerted(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "bot.db"))
    poster, clock = FakePoster(), FakeClock(100.0)
    alerts = DetractorAlerts(store, Renderer(DEFAULT_TEMPLATES), poster, "C0LEADS",  # type: ignore[arg-type]
                             "<!subteam^S0LEADS>", 5.0, clock.monotonic, clock.sleep)  # fmt: skip
    items = stored(store, *[f"T{i}" for i in range(LISTED + 3)])
    alerts.add([Detractor.of(i) for i in items[:2]])
    alerts.add([Detractor.of(i) for i in items[2:]])
    await alerts.idle()
    assert clock.sleeps == [5.0]
    # a burst longer than a message lists is two messages, each detractor with its buttons;
    # only the first calls the leads in
    ((channel, message), (_, rest)) = poster.posts
    assert channel == "C0LEADS"
    assert message["blocks"][0]["text"]["text"].startswith(f":rotating_light: {LISTED} unhappy")
    assert "<!subteam^S0LEADS>" in message["blocks"][1]["text"]["text"]
    assert rest["blocks"][0]["text"]["text"].startswith(":rotating_light: 3 unhappy")
    assert "<!subteam" not in str(rest["blocks"])
    assert str(rest["blocks"]).count("detractor_take") == 3
    assert "T0" in message["text"]
    assert store.sync(lambda db: unalerted(db, "2000-01-01T00:00:00.000Z")) == []
    store.close()


async def test_a_failed_post_is_posted_by_the_next_process(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "bot.db"))
    clock = FakeClock(100.0)
    broken = DetractorAlerts(store, Renderer(DEFAULT_TEMPLATES), FakePoster(fail=True),  # type: ignore[arg-type]
                             "C0LEADS", "", 5.0, clock.monotonic, clock.sleep)  # fmt: skip
    items = stored(store, "A", "B")
    broken.add([Detractor.of(i) for i in items])
    await broken.idle()
    await broken.aclose()  # its retries stop: the next process posts it
    poster = FakePoster()
    fresh = DetractorAlerts(store, Renderer(DEFAULT_TEMPLATES), poster, "C0LEADS", "", 5.0,  # type: ignore[arg-type]
                            clock.monotonic, clock.sleep)  # fmt: skip
    await fresh.start()
    await fresh.idle()
    ((_, message),) = poster.posts
    assert "2 unhappy customers" in message["text"]
    assert "bad A" in str(message["blocks"]) and "bad B" in str(message["blocks"])
    await fresh.aclose()
    store.close()


async def test_the_channel_and_mention_set_in_slack_count_at_the_next_post(tmp_path: Path) -> None:
    from bot.config import AlertRules

    store = Store(str(tmp_path / "bot.db"))
    poster, clock = FakePoster(), FakeClock(100.0)
    rules = [AlertRules()]  # no channel yet: nothing is posted, the detractors stay unposted

    async def current() -> AlertRules:
        return rules[0]

    alerts = DetractorAlerts(store, Renderer(DEFAULT_TEMPLATES), poster, "", "", 5.0,  # type: ignore[arg-type]
                             clock.monotonic, clock.sleep, current=current)  # fmt: skip
    items = stored(store, "T1")
    await alerts.post([Detractor.of(items[0])])
    assert poster.posts == []
    assert len(store.sync(lambda db: unalerted(db, "2000-01-01T00:00:00.000Z"))) == 1
    rules[0] = AlertRules(channel="C0SLACKSET", mention="<!subteam^S0LEADS>")
    await alerts.post([Detractor.of(items[0])])
    ((channel, message),) = poster.posts
    assert channel == "C0SLACKSET" and "<!subteam^S0LEADS>" in str(message["blocks"])
    store.close()
