"""Detractor alerts: unhappy customers reach the team leads within seconds, grouped.

A detractor is a response at the bottom of its scale with a comment (`Item.detractor`).
The first one opens a group, every detractor in the next few seconds joins it, then one
message lists them in the `[alerts] channel`: a burst is one message, not fifty. The
grouping is pure (`Grouping`, clock injected); `DetractorAlerts` posts and marks the
responses `alerted_at`, so a restart posts what a killed process had not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup

from bot.db import Store
from bot.errors import BotError, StoreError
from bot.render import Renderer
from bot.slack import Poster
from bot.surveys.items import Item
from bot.surveys.queries import mark_alerted, unalerted
from bot.timefmt import iso_ms

log = logging.getLogger(__name__)
WINDOW = 5.0  # seconds a group stays open after its first detractor
LISTED = 20  # detractors listed in one message; the rest are counted
REPLAY = timedelta(hours=1)  # at start, detractors this recent that were never posted are


@dataclass(frozen=True)
class Detractor:
    """What a team lead needs to act on one unhappy customer."""

    id: str
    agent: str
    ticket_id: str
    score: int
    min_score: int
    max_score: int
    comment: str
    score_label: str = ""
    submitted_at: str = ""

    @classmethod
    def of(cls, item: Item) -> Detractor:
        return cls(item.id, item.agent, item.ticket_id, item.score, item.min_score,
                   item.max_score, item.comment, item.score_label, item.submitted_at)  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Detractor:
        return cls(**{key: row[key] for key in cls.__dataclass_fields__})


class Grouping:
    """Pure: detractors arriving within `window` seconds of the first go out together."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self.deadline: float | None = None
        self._group: dict[str, Detractor] = {}

    def add(self, found: Iterable[Detractor], now: float) -> float | None:
        """Add to the open group (or open one); the deadline when this opened it."""
        found = [d for d in found if d.id not in self._group]
        if not found:
            return None
        self._group.update((d.id, d) for d in found)
        if self.deadline is None:
            self.deadline = now + self.window
            return self.deadline
        return None

    def due(self, now: float) -> list[Detractor]:
        """The group once its window has passed (and a fresh start); else nothing."""
        if self.deadline is None or now < self.deadline:
            return []
        group, self._group, self.deadline = list(self._group.values()), {}, None
        return group


class DetractorAlerts:
    """Groups detractors and posts each group to the alerts channel through `Poster`."""

    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        poster: Poster,
        channel: str,
        mention: str = "",
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.renderer = renderer
        self.poster = poster
        self.channel = channel
        self.mention = mention
        self.grouping = Grouping(window)
        self.clock = clock
        self.sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def add(self, found: list[Detractor]) -> None:
        """Called as responses are stored: the group posts when its window closes."""
        deadline = self.grouping.add(found, self.clock())
        if deadline is not None:
            self._task = asyncio.get_running_loop().create_task(self._post_at(deadline))

    async def start(self) -> None:
        """Post what a previous process stored but never got to post."""
        since = iso_ms(datetime.now(UTC) - REPLAY)
        rows = await self.store(lambda db: unalerted(db, since))
        if rows:
            log.info("%d detractors were never posted; posting them now", len(rows))
            self.add([Detractor.from_row(row) for row in rows])

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _post_at(self, deadline: float) -> None:
        await self.sleep(max(0.0, deadline - self.clock()))
        group = self.grouping.due(max(self.clock(), deadline))
        if group:
            await self.post(group)

    async def post(self, group: list[Detractor]) -> None:
        """One message for the group; failures are logged and retried at the next start."""
        message = self.renderer.render(
            "detractors.yml.j2", detractors=group[:LISTED], more=max(0, len(group) - LISTED),
            mention=Markup(self.mention),  # configured: it may ping
        )  # fmt: skip
        try:
            await self.poster.post(self.channel, message)
        except BotError as exc:
            log.warning("detractor alert not posted: %s", exc)
            return
        except Exception:
            log.exception("detractor alert not posted")
            return
        now = iso_ms(datetime.now(UTC))
        try:
            await self.store(lambda db: mark_alerted(db, [d.id for d in group], now))
        except StoreError as exc:  # posted; the next process posts the group again
            log.error("detractor alert posted, but not recorded as posted: %s", exc)
