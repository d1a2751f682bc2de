"""`Collector`: LivePerson's last 24 hours asked in nested windows, stored as hourly pieces.

One collection plans, per kind (CSAT, agent states), the hour boundaries newer than the
last hour stored (`pieces.plan`), asks LivePerson one window per boundary, all at once
(`VendorHTTP` keeps four in flight) and past the bucket cache (its fetch time would move
the windows), and subtracts them into hours. Every window of one collection must be
asked inside one 5-minute bucket, or the CSAT windows would no longer start on the hour:
when the bucket changed before the last answer, the collection is asked again, once.
Nothing is stored until every answer is in, so a vendor failure stores nothing and the
next collection asks for the same hours again. The store keeps each hour once, so two
collectors (a restart, `python -m bot collect` beside `serve`) never count an answer twice.

`run` (serve, socket) collects soon after start, then every hour at about HH:07 (the
hour before is over and its last bucket closed), and deletes what `[history] keep` no
longer keeps once a day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import Store
from bot.errors import SourceError, StoreError
from bot.history import pieces, queries
from bot.history.pieces import HOUR, Plan
from bot.metrics import floor_to_bucket
from bot.offloop import off_loop
from bot.sources.liveperson import VENDOR, LivePerson

log = logging.getLogger(__name__)
CSAT, STATES = queries.CSAT, queries.STATES
KINDS = (CSAT, STATES)
RUN_MINUTE = 7  # collect at HH:07: the hour before is over, its last bucket closed
START_DELAY = 20.0  # seconds after start: the first collection waits for start-up to settle
BUCKET_MARGIN = 15.0  # seconds: a collection this close to a bucket's end waits for the next
PRUNE_EVERY = timedelta(days=1)
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Collected:
    """What one collection did for one kind: hours newly stored, hours another collection
    had stored already, hours no window reached any more (the bot was down too long)."""

    kind: str
    stored: tuple[datetime, ...] = ()
    skipped: tuple[datetime, ...] = ()
    missing: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class CollectResult:
    at: datetime
    kinds: tuple[Collected, ...]

    def of(self, kind: str) -> Collected:
        return next((c for c in self.kinds if c.kind == kind), Collected(kind))


def _bucket(moment: datetime) -> datetime:
    return floor_to_bucket(moment)


def until_next_run(now: datetime) -> float:
    """Seconds from `now` to the next HH:07."""
    at = pieces.floor_hour(now) + timedelta(minutes=RUN_MINUTE)
    if at <= now:
        at += HOUR
    return (at - now).total_seconds()


async def hourly(once: Callable[[], Awaitable[Any]], clock: Clock, sleep: Sleep) -> None:
    """`once` soon after start, then every hour at about HH:07, for ever: `serve` and
    `socket` run it with the digest process's collection (`worker.DigestWorker.collect`)."""
    await sleep(START_DELAY)
    while True:
        await once()
        await sleep(until_next_run(clock()))


class Collector:
    """Collects LivePerson's hourly pieces into the store (see the module's docstring)."""

    def __init__(
        self,
        liveperson: LivePerson,
        store: Store,
        zone: ZoneInfo,
        clock: Clock = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
        keep: timedelta = timedelta(days=400),
    ) -> None:
        self.liveperson = liveperson
        self.store = store
        self.zone = zone
        self.clock = clock
        self.sleep = sleep
        self.keep = keep
        self._lock = asyncio.Lock()  # one collection at a time in a process
        self._pruned: datetime | None = None

    async def collect(self) -> CollectResult:
        """One collection; a `SourceError` when LivePerson failed (nothing is stored then)."""
        async with self._lock:
            await self._clear_of_bucket_end()
            for attempt in (1, 2):
                lasts = await self.store(lambda db: {k: queries.last_hour(db, k) for k in KINDS})
                now = self.clock()
                plans = {kind: pieces.plan(now, lasts[kind]) for kind in KINDS}
                answers = await self._ask(plans)
                if _bucket(self.clock()) == _bucket(now):
                    break
                if attempt == 1:
                    log.info("history: a 5-minute bucket ended during the collection; again")
            else:
                raise SourceError(
                    VENDOR, "a 5-minute bucket ended during the collection twice; nothing stored"
                )
            return await self._store(now, plans, answers)

    async def _clear_of_bucket_end(self) -> None:
        """Start early in a bucket, so that every answer can come in inside it."""
        now = self.clock()
        left = (_bucket(now) + timedelta(minutes=5) - now).total_seconds()
        if left < BUCKET_MARGIN:
            await self.sleep(left + 1)

    async def _ask(self, plans: dict[str, Plan]) -> dict[str, dict[int, Any]]:
        """Every window of every plan at once; the first failure cancels the rest."""
        try:
            async with asyncio.TaskGroup() as group:
                csat = {
                    t: group.create_task(self.liveperson.csat_raw(t))
                    for t in plans[CSAT].timeframes
                }
                states = {
                    t: group.create_task(self.liveperson.states_raw(t))
                    for t in plans[STATES].timeframes
                }
        except BaseExceptionGroup as failed:
            first = failed.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        return {
            CSAT: {t: task.result()[1] for t, task in csat.items()},
            STATES: {t: task.result()[1] for t, task in states.items()},
        }

    async def _store(
        self, now: datetime, plans: dict[str, Plan], answers: dict[str, dict[int, Any]]
    ) -> CollectResult:
        csat = await off_loop(pieces.csat_pieces, plans[CSAT], answers[CSAT])
        states = await off_loop(pieces.states_pieces, plans[STATES], answers[STATES])
        zone = self.zone
        stored_csat = await self.store(lambda db: queries.store_csat(db, csat, zone, now))
        stored_states = await self.store(lambda db: queries.store_states(db, states, zone, now))
        kinds = []
        for kind, stored in ((CSAT, stored_csat), (STATES, stored_states)):
            plan, fresh = plans[kind], set(stored)
            skipped = tuple(h for h in plan.hours if h not in fresh)
            kinds.append(Collected(kind, tuple(sorted(stored)), skipped, plan.missing))
        result = CollectResult(now, tuple(kinds))
        for done in result.kinds:
            if done.missing:
                log.warning(
                    "history: %d %s hours could no longer be collected (%s): the bot was"
                    " down longer than LivePerson keeps",
                    len(done.missing), done.kind, span(done.missing, zone),
                )  # fmt: skip
        return result

    async def run(self) -> None:
        """Collect soon after start, then every hour at about HH:07; prune once a day."""
        await hourly(self.once, self.clock, self.sleep)

    async def once(self) -> CollectResult | None:
        """One collection and, once a day, the pruning; a failure is one log line (the
        next collection asks for the same hours again)."""
        result = None
        try:
            result = await self.collect()
        except (SourceError, StoreError) as exc:
            log.warning("history: nothing collected (the next collection tries again): %s", exc)
        except Exception:  # a bug must not end the hourly collection
            log.exception("history: the collection failed")
        else:
            for line in lines(result, self.zone):
                log.info("history: %s", line)
        try:
            await self.prune()
        except StoreError as exc:
            log.warning("history: old hours not deleted: %s", exc)
        return result

    async def prune(self) -> int:
        """What `[history] keep` no longer keeps, deleted, at most once a day."""
        now = self.clock()
        if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
            return 0
        before, zone = now - self.keep, self.zone
        deleted = await self.store(lambda db: queries.prune(db, before, zone))
        self._pruned = now
        if deleted:
            log.info("history: %d rows older than %s deleted", deleted, span([before], zone))
        return deleted


# --- what a collection did, in words ----------------------------------------------------

NAMES = {CSAT: "CSAT", STATES: "agent states"}


def span(hours: Sequence[datetime], zone: ZoneInfo) -> str:
    """Hours as people read them in the configured zone: from the first's start to the
    last's end."""
    first, last = min(hours), max(hours) + HOUR
    fmt = "%Y-%m-%d %H:%M"
    return f"{first.astimezone(zone):{fmt}} to {last.astimezone(zone):{fmt}} {zone.key}"


def _hours(n: int) -> str:
    return f"{n} hour{'s' if n != 1 else ''}"


def lines(result: CollectResult, zone: ZoneInfo) -> list[str]:
    """One line per kind and outcome, for `python -m bot collect` and the log."""
    out = []
    for kind in result.kinds:
        name = NAMES.get(kind.kind, kind.kind)
        if kind.stored:
            out.append(f"{name}: stored {_hours(len(kind.stored))}, {span(kind.stored, zone)}")
        if kind.skipped:
            out.append(
                f"{name}: {_hours(len(kind.skipped))} already stored, skipped"
                f" ({span(kind.skipped, zone)})"
            )
        if kind.missing:
            out.append(
                f"{name}: {_hours(len(kind.missing))} missing, {span(kind.missing, zone)}:"
                " the bot was not collecting and LivePerson keeps only 24 hours"
            )
        if not (kind.stored or kind.skipped or kind.missing):
            out.append(f"{name}: nothing new (the last finished hour is stored)")
    return out
