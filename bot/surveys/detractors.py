"""Detractors as a loop: unhappy customers reach the team leads within seconds, grouped,
and each one is taken and handled from the message itself.

A detractor is a response at the bottom of its scale with a comment (`Item.detractor`).
The first one opens a group, every detractor in the next few seconds joins it, then one
message lists them in the `[alerts] channel`, each with "I'll take it" and "Handled": a
burst is one message, not fifty. The grouping is pure (`Grouping`, clock injected).

The leads (`[alerts] mention`) are called in at most once per `[detractors]
mention_every` and never in its `quiet_hours` (`should_mention`, pure, `now` an
argument); a message that does not call them in says when they were called in last.
Each message is recorded with its detractors (`surveys/queries.py`), so the pacing
survives a restart, a restart posts what a killed process had not, and a click redraws
the message in place (who took each one, who handled it, when, the note) and tells the
click in the message's thread in one line. The buttons reach `DetractorAlerts` through
`listeners/detractors.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.config import AlertRules, DetractorRules, QuietHours
from bot.db import Store
from bot.errors import ActionError, BotError, StoreError
from bot.render import Message, Renderer
from bot.render.safe import clean
from bot.slack import Poster
from bot.surveys import queries
from bot.surveys.items import Item
from bot.surveys.queries import Clicked, Posted
from bot.timefmt import iso_ms

log = logging.getLogger(__name__)
WINDOW = 5.0  # seconds a group stays open after its first detractor
# detractors listed in one message, each a section and its buttons; a longer burst is
# several messages. 2 blocks each, with the header, the call (or why not) and the footer:
# 43 of the 50 blocks Slack allows
LISTED = 20
RETRY = (30, 60, 120, 300, 900)  # seconds before a refused message is tried again
# at start, detractors this recent that were never posted are posted
REPLAY = timedelta(hours=24)
TAKE, HANDLED = "detractor_take", "detractor_handled"  # action ids; HANDLED is also the modal's
NOTE_CHARS = 1000  # what the Handled modal's note may hold (its input's max_length)
NAME_CHARS = 80  # of the name Slack gives a clicker
TEMPLATE = "detractors.yml.j2"


@dataclass(frozen=True)
class Detractor:
    """What a team lead needs to act on one unhappy customer, and who did."""

    id: str
    agent: str
    ticket_id: str
    score: int
    min_score: int
    max_score: int
    comment: str
    score_label: str = ""
    submitted_at: str = ""
    taken_by: str = ""  # a Slack user id
    taken_at: str = ""
    handled_by: str = ""
    handled_at: str = ""
    handled_note: str = ""

    @classmethod
    def of(cls, item: Item) -> Detractor:
        return cls(item.id, item.agent, item.ticket_id, item.score, item.min_score,
                   item.max_score, item.comment, item.score_label, item.submitted_at)  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Detractor:
        """From a `responses` row; a column not set yet (null) reads as ""."""
        found: dict[str, Any] = {}
        for f in fields(cls):
            found[f.name] = "" if row.get(f.name) is None else row[f.name]
        return cls(**found)


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


def recently(last: datetime | None, now: datetime, every: timedelta) -> bool:
    """Whether the leads were called in less than `every` ago. A call stamped later than
    `now` (another process's clock) counts only as far as it is within `every`."""
    return last is not None and abs(now - last) < every


def should_mention(
    last: datetime | None, now: datetime, every: timedelta, quiet: QuietHours | None,
    zone: ZoneInfo,
) -> bool:  # fmt: skip
    """Pure: whether a detractor message posted `now` calls in the leads. Never in the
    quiet hours (the wall clock in `zone`); otherwise when their last call (`last`) is
    `every` or more ago, or there was none. `every` zero: every message calls them in."""
    if quiet is not None and quiet.covers(now, zone):
        return False
    return not recently(last, now, every)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DetractorAlerts:
    """Groups detractors and posts each group to the alerts channel through `Poster`;
    carries out the clicks on their buttons and redraws their message."""

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
        rules: DetractorRules | None = None,
        now: Callable[[], datetime] = _utcnow,
        current: Callable[[], Awaitable[AlertRules]] | None = None,
    ) -> None:
        self.store = store
        self.renderer = renderer
        self.poster = poster
        self.channel = channel
        self.mention = mention
        self.current = current  # `[alerts]` in force now (its channel set in Slack, say)
        self.grouping = Grouping(window)
        self.clock = clock
        self.sleep = sleep
        self.rules = rules or DetractorRules()
        self.now = now
        self._tasks: set[asyncio.Task[None]] = set()  # groups waiting or posting
        self._posting = asyncio.Lock()  # a message reads the call the one before recorded
        self._drawing = asyncio.Lock()  # a redraw reads what every click before it wrote

    def add(self, found: list[Detractor]) -> None:
        """Called as responses are stored: the group posts when its window closes."""
        deadline = self.grouping.add(found, self.clock())
        if deadline is not None:
            self._keep(self._post_at(deadline))

    def _keep(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        """Post what a previous process stored but never got to post."""
        since = iso_ms(self.now() - REPLAY)
        rows = await self.store(lambda db: queries.unalerted(db, since))
        if rows:
            log.info("%d detractors were never posted; posting them now", len(rows))
            self.add([Detractor.from_row(row) for row in rows])

    async def idle(self) -> None:
        """Wait for the groups waiting or posting now (a retry they start is not waited for)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Every group waiting or posting stops; what was not recorded is posted by the
        next start."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _post_at(self, deadline: float) -> None:
        await self.sleep(max(0.0, deadline - self.clock()))
        group = self.grouping.due(max(self.clock(), deadline))
        if group:
            await self.post(group)

    async def post(self, group: list[Detractor]) -> None:
        """One message per `LISTED` detractors of the group, each with its buttons (only
        the first can call the leads in: the others come within `mention_every`). An
        empty group posts nothing; one Slack refuses is tried again (`RETRY`)."""
        for start in range(0, len(group), LISTED):
            await self._post_one(group[start : start + LISTED])

    async def _post_one(self, listed: list[Detractor], attempt: int = 0) -> None:
        if not listed:
            return
        async with self._posting:
            if self.current is not None:  # a channel or mention changed in Slack counts now
                try:
                    rules = await self.current()
                    self.channel, self.mention = rules.channel or "", rules.mention
                except Exception:  # the store: the channel last read still holds
                    log.exception("detractor alerts: the alert settings could not be read")
            if not self.channel:  # kept unposted: a start with a channel posts them
                log.warning("%d detractors not posted: no [alerts] channel", len(listed))
                return
            posted = await self._pace()
            try:
                message = self.message(listed, posted)
                ts = await self.poster.post(self.channel, message)
            except Exception as exc:
                wait = RETRY[min(attempt, len(RETRY) - 1)]
                if isinstance(exc, BotError):
                    log.warning("detractor alert not posted: %s; trying again in %d s", exc,
                                wait)  # fmt: skip
                else:
                    log.exception("detractor alert not posted; trying again in %d s", wait)
                self._keep(self._again(listed, attempt + 1, wait))
                return
            posted = replace(posted, ts=ts)
            listed_ids = [d.id for d in listed]
            try:
                await self.store(lambda db: queries.record_message(db, posted, listed_ids, []))
            except StoreError as exc:  # posted; the next process posts the group again
                log.error("detractor alert posted, but not recorded as posted: %s", exc)

    async def _again(self, listed: list[Detractor], attempt: int, wait: float) -> None:
        """A refused message, again after `wait` seconds (until it goes, or a restart
        replays what was never posted)."""
        await self.sleep(wait)
        await self._post_one(listed, attempt)

    async def _pace(self) -> Posted:
        """Whether the message about to go calls in the leads, and if not, why not."""
        now = self.now()
        posted = Posted(self.channel, "", iso_ms(now), mentioned=False)
        if not self.mention:
            return posted
        try:
            last_text = await self.store(queries.last_mentioned)
        except StoreError as exc:  # better called in twice than never
            log.error("when the leads were last called in could not be read: %s", exc)
            last_text = None
        last = datetime.fromisoformat(last_text) if last_text else None
        every, quiet = self.rules.every, self.rules.quiet_hours
        if should_mention(last, now, every, quiet, self.renderer.timezone):
            return replace(posted, mentioned=True)
        if recently(last, now, every):
            return replace(posted, held="recent", called_at=last_text or "")
        return replace(posted, held="quiet")

    def message(self, listed: list[Detractor], posted: Posted) -> Message:
        """The burst message: its detractors as they stand, and the call (or why not)."""
        return self.renderer.render(
            TEMPLATE, detractors=listed, more=posted.more,
            mention=Markup(self.mention) if posted.mentioned else "",  # configured: it may ping
            held=posted.held, called_at=posted.called_at,
        )  # fmt: skip

    # --- the buttons ----------------------------------------------------------------------

    async def take(self, response_id: str, user: str, name: str = "") -> None:
        """ "I'll take it": `user` takes it (over from whoever had it); an ActionError says
        why not (unknown, handled already), for the clicker only."""
        now = iso_ms(self.now())
        name = clean(name).strip()[:NAME_CHARS]
        clicked = await self.store(lambda db: queries.take(db, response_id, user, now, name))
        await self._told(_changed(clicked), user, "take", name)

    async def open_handled(self, response_id: str, trigger_id: str) -> None:
        """ "Handled": the modal that asks for a note, unless it was handled already."""
        row = await self.store(lambda db: queries.detractor(db, response_id))
        if row is None:
            raise ActionError("no_detractor")
        if row["handled_by"]:
            raise _already(row)
        await self.poster.open_view(trigger_id, self.handled_view(Detractor.from_row(row)))

    def handled_view(self, detractor: Detractor) -> dict[str, Any]:
        """The Handled modal: the template words its title, buttons and blocks; the
        response id rides in private_metadata."""
        found = self.renderer.render(TEMPLATE, modal=detractor)
        return {
            "type": "modal",
            "callback_id": HANDLED,
            "private_metadata": detractor.id,
            "title": {"type": "plain_text", "text": str(found["text"])[:24]},
            "submit": {"type": "plain_text", "text": str(found.get("submit", "OK"))[:24]},
            "close": {"type": "plain_text", "text": str(found.get("close", "Cancel"))[:24]},
            "blocks": found["blocks"],
        }

    async def handle(self, response_id: str, user: str, note: str, name: str = "") -> None:
        """The modal's submission: handled by `user`, with `note`; the first one is kept."""
        note = clean(note).strip()[:NOTE_CHARS]  # SQLite stores no lone surrogate
        now = iso_ms(self.now())
        name = clean(name).strip()[:NAME_CHARS]
        clicked = await self.store(
            lambda db: queries.handle(db, response_id, user, note, now, name)
        )
        await self._told(_changed(clicked), user, "handled", name)

    async def _told(self, clicked: Clicked, user: str, action: str, name: str = "") -> None:
        """The message redrawn with the click, and the click in its thread, naming the
        clicker by `name` (a mention in a new message would notify them)."""
        row = clicked.row
        if action == "take" and clicked.before == user:
            return  # took it already: the message says so
        channel, ts = row["message_channel"], row["message_ts"]
        if not channel or not ts:  # its message was never recorded: the click is
            return
        await self.redraw(channel, ts)
        line = self.renderer.render(
            TEMPLATE, click=action, by=user, by_name=name, before=clicked.before,
            detractor=Detractor.from_row(row),
        )  # fmt: skip
        await self.poster.post(channel, line, thread_ts=ts)

    async def redraw(self, channel: str, ts: str) -> None:
        """The message as its detractors stand now, in place."""
        async with self._drawing:  # the last redraw to start shows every click before it
            found, rows = await self.store(lambda db: queries.message(db, channel, ts))
            if not rows:
                return
            posted = Posted(channel, ts, "", mentioned=False)
            if found is not None:
                held, called_at = found["held"] or "", found["called_at"] or ""
                posted = Posted(channel, ts, found["posted_at"], bool(found["mentioned"]),
                                held, called_at, found["more"] or 0)  # fmt: skip
            message = self.message([Detractor.from_row(row) for row in rows], posted)
            await self.poster.update(channel, ts, message)

    def refusal(self, code: str, details: dict[str, Any]) -> Message:
        """Why a click did nothing, in the template's words."""
        return self.renderer.render(TEMPLATE, refusal=code, details=details)

    async def tell(self, user: str, response_id: str, code: str, details: dict[str, Any]) -> None:
        """Why a modal's submission did nothing, to the person who sent it only: it has no
        response_url, so it goes as an ephemeral message in the detractor's channel."""
        channel = self.channel
        with contextlib.suppress(StoreError):
            row = await self.store(lambda db: queries.detractor(db, response_id))
            channel = (row or {}).get("message_channel") or channel
        await self.poster.ephemeral(channel, user, self.refusal(code, details))


def _changed(clicked: Clicked | None) -> Clicked:
    if clicked is None:
        raise ActionError("no_detractor")
    if not clicked.changed:
        raise _already(clicked.row)
    return clicked


def _already(row: dict[str, Any]) -> ActionError:
    return ActionError("already_handled", by=row["handled_by"], at=row["handled_at"] or "",
                       note=row["handled_note"] or "")  # fmt: skip
