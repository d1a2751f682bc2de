"""Detractors' loop for tests: a store, a poster that records what Slack would have been
asked, and `DetractorAlerts` on one fake clock."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import DEFAULT_TEMPLATES, DetractorRules, Links
from bot.db import Store
from bot.errors import SlackError
from bot.render import Message, Renderer
from bot.surveys import queries
from bot.surveys.detractors import Detractor, DetractorAlerts
from bot.surveys.items import Item, validate_item
from bot.timefmt import iso_ms
from tests.fakes.clock import FakeClock
from tests.fakes.hostile import pings
from tests.surveys.responses import save_items

BERLIN = ZoneInfo("Europe/Berlin")


@functools.cache
def renderer() -> Renderer:
    """One for every test: Jinja and the templates load once."""
    made = Renderer(DEFAULT_TEMPLATES, BERLIN)
    made.links = Links(ticket="https://help.example/t/{ticket_id}")
    return made


@dataclass
class FakePoster:
    """What Slack would have been asked: posts (thread posts too), updates, ephemerals, modals."""

    posts: list[tuple[str, Message, str | None]] = field(default_factory=list)
    updates: list[tuple[str, str, Message]] = field(default_factory=list)
    ephemerals: list[tuple[str, str, Message]] = field(default_factory=list)
    views: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: int = 0  # this many next posts Slack refuses
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def post(self, channel: str, message: Message, thread_ts: str | None = None,
                   broadcast: bool = False) -> str:  # fmt: skip
        assert not broadcast
        if self.fail:
            self.fail -= 1
            raise SlackError("Slack refused the message", "channel_not_found")
        self.posts.append((channel, message, thread_ts))
        return f"100.{next(self._ts):06d}"

    async def update(self, channel: str, ts: str, message: Message) -> None:
        self.updates.append((channel, ts, message))

    async def ephemeral(self, channel: str, user: str, message: Message) -> None:
        self.ephemerals.append((channel, user, message))

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self.views.append((trigger_id, view))

    def top(self) -> list[Message]:
        return [m for _, m, thread in self.posts if thread is None]

    def thread(self) -> list[Message]:
        return [m for _, m, thread in self.posts if thread is not None]


class Loop:
    """A store, a poster and `DetractorAlerts` on one fake clock."""

    def __init__(
        self, rules: DetractorRules | None = None, mention: str = "<!subteam^S0LEADS>",
        path: Path | None = None,
    ) -> None:  # fmt: skip
        """On a database in memory, or at `path`."""
        self.store = Store(str(path) if path else ":memory:")
        self.clock = FakeClock()
        self.poster = FakePoster()
        self.alerts = self.made(renderer(), rules, mention)

    def made(
        self, renderer: Renderer, rules: DetractorRules | None, mention: str
    ) -> DetractorAlerts:
        """`DetractorAlerts` as a process makes it (a second one: a restart)."""
        clock = self.clock
        return DetractorAlerts(self.store, renderer, self.poster, "C0LEADS", mention,  # type: ignore[arg-type]
                               5.0, clock.monotonic, clock.sleep, rules, clock)  # fmt: skip

    def stored(self, *tickets: str, comment: str = "bad") -> list[Detractor]:
        items = []
        for ticket in tickets:
            said = f"{comment} {ticket}" if comment else ""
            item = validate_item({"submitted_at": "2026-03-02T10:00:00Z", "ticket_id": ticket,
                                  "agent_id": "4242", "score": 1, "comment": said})  # fmt: skip
            assert isinstance(item, Item)
            items.append(item)
        now = iso_ms(self.clock.now)
        self.store.sync(lambda db: save_items(db, items, now))
        return [Detractor.of(i) for i in items]

    async def burst(self, *tickets: str, comment: str = "bad") -> list[Detractor]:
        found = self.stored(*tickets, comment=comment)
        self.alerts.add(found)
        await self.alerts.idle()
        return found

    def row(self, detractor: Detractor) -> dict[str, Any]:
        found = self.store.sync(lambda db: queries.detractor(db, detractor.id))
        assert found is not None
        return found

    def events(self, detractor: Detractor) -> list[tuple[str, str, str]]:
        rows = self.store.sync(lambda db: queries.events(db, detractor.id))
        return [(r["user"], r["action"], r["note"]) for r in rows]


_LEGIT = re.compile(
    r"<!subteam\^S0LEADS>|<@U0[A-Z]+>|<https://help\.example/t/[^|<>]+\|"
    r"|<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9: -]+UTC>"
)


def unpinged(text: str) -> bool:
    """Whether `text` mentions nobody and links nowhere but what the bot put there: the
    configured call, the clickers, Slack's dates, the ticket links."""
    return not pings(_LEGIT.sub("", text))
