"""`Collector`: LivePerson's last 24 hours asked in nested windows, stored as hourly pieces.

One collection plans, per kind (CSAT, agent states), the hour boundaries newer than the
last hour stored (`pieces.plan`), asks LivePerson one window per boundary, all at once
(`VendorHTTP` keeps four in flight) and past the bucket cache (its fetch time would move
the windows), and subtracts them into hours.

It plans about 30 s past a minute (`wait_to_plan`): the windows then start 30 s after
their hours by our clock, so LivePerson's clock may be off ours by up to that much
either way and still start each CSAT window in its hour's first bucket. Every window of
one collection must be asked inside one 5-minute bucket, or the CSAT windows would no
longer start on the hour: when the bucket changed before the last answer, the collection
is asked again, once. Planning between seconds 15 and 45 leaves at least 15 s of the
bucket.

Answers arrive while the windows are asked, and all of them land in the newest (still
unfinished) hour. Asked wide to narrow they are lost to an older hour; a retry can ask a
narrower window first, and then an older hour counts them as well as, later, the newest.
So the CSAT windows are asked first, and the newest of them once more as soon as they are
all in (beside the agent states' windows): when its answers changed by more than
`pieces.ANSWERS_SLACK` plus what its own rate of answers brings in the seconds the CSAT
calls took, the collection is asked again, once (the same goes for a first answer of it
that was wrongly empty). Agent states are not asked again: their windows are exact and
slide with the clock, so calls in another order move seconds, not answers, between hours.

Before storing, the answers must nest (`pieces.csat_disagreement`,
`pieces.states_disagreement`): a narrower window that counts more than the wider one
around it, or an agent's hour longer than an hour, is a wrong answer (LivePerson's "no
data" for one window), which would store a whole wider window as one hour for good; the
collection then fails with `VendorBadResponse`. The states' tolerance is the seconds the
collection really took (from its plan to its last answer, queueing and retries included)
plus LivePerson's rounding: their windows slide by at most that between two calls.
Nothing is stored until every answer is in and checked, so a vendor failure stores
nothing and the next collection asks for the same hours again. The store keeps each hour
once, so two collectors (a restart, `python -m bot collect` beside `serve`) never count
an answer twice.

`run` (serve, socket) collects soon after start, then every hour at about HH:07:30 (the
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
from bot.errors import SourceError, StoreError, VendorBadResponse
from bot.history import pieces, queries
from bot.history.pieces import HOUR, Plan
from bot.metrics import CsatCounts, CsatRow, floor_to_bucket
from bot.offloop import off_loop
from bot.sources.liveperson import VENDOR, LivePerson

log = logging.getLogger(__name__)
CSAT, STATES = queries.CSAT, queries.STATES
KINDS = (CSAT, STATES)
RUN_AT = timedelta(minutes=7, seconds=30)  # past each hour: the hour before and its buckets over
START_DELAY = 20.0  # seconds after start: the first collection waits for start-up to settle
PLAN_SECONDS = (15.0, 45.0)  # seconds past the minute a collection may plan at
PLAN_AT = 30.0  # ... and the second it waits for when outside them
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
class Asked:
    """One collection's answers by kind and timeframe; by how many answers the newest CSAT
    window changed and how many it may (`_arrivals`); seconds from the plan to the last
    answer."""

    answers: dict[str, dict[int, Any]]
    moved: int
    allowed: float
    elapsed: float


@dataclass(frozen=True)
class CollectResult:
    at: datetime
    kinds: tuple[Collected, ...]

    def of(self, kind: str) -> Collected:
        return next((c for c in self.kinds if c.kind == kind), Collected(kind))


def _bucket(moment: datetime) -> datetime:
    return floor_to_bucket(moment)


def until_next_run(now: datetime) -> float:
    """Seconds from `now` to the next HH:07:30: a plan is made then with no wait."""
    at = pieces.floor_hour(now) + RUN_AT
    if at <= now:
        at += HOUR
    return (at - now).total_seconds()


def wait_to_plan(now: datetime) -> float:
    """Seconds to wait before planning at `now`: none when its seconds past the minute are
    within `PLAN_SECONDS`, else to the next second 30 (see the module's docstring)."""
    past = (now - now.replace(second=0, microsecond=0)).total_seconds()
    low, high = PLAN_SECONDS
    if low <= past <= high:
        return 0.0
    return (PLAN_AT if past < low else PLAN_AT + 60) - past


async def hourly(once: Callable[[], Awaitable[Any]], clock: Clock, sleep: Sleep) -> None:
    """`once` soon after start, then every hour at about HH:07:30, for ever: `serve` and
    `socket` run it with the digest process's collection (`worker.DigestWorker.collect`).

    A failure of one collection is logged and the next hour's is tried: nothing may end
    the loop but cancellation, or the history would silently stop growing."""
    await sleep(START_DELAY)
    while True:
        try:
            await once()
        except Exception:
            log.exception("history: the collection failed; the next one is in an hour")
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
            for attempt in (1, 2):
                await self._settle()
                lasts = await self.store(lambda db: {k: queries.last_hour(db, k) for k in KINDS})
                now = self.clock()
                plans = {kind: pieces.plan(now, lasts[kind]) for kind in KINDS}
                asked = await self._ask(plans, now)
                if _bucket(self.clock()) != _bucket(now):
                    why = "a 5-minute bucket ended during the collection"
                elif asked.moved > asked.allowed:
                    why = (
                        f"the newest window's answers changed by {asked.moved} during the"
                        " collection"
                    )
                else:
                    break
                if attempt == 1:
                    log.info("history: %s; again", why)
            else:
                raise SourceError(VENDOR, f"{why} twice; nothing stored")
            answers = asked.answers
            await off_loop(_check, plans, answers, asked.moved, asked.elapsed)
            return await self._store(now, plans, answers)

    async def _settle(self) -> None:
        """Plan about 30 s past a minute (`wait_to_plan`)."""
        wait = wait_to_plan(self.clock())
        if wait > 0:
            await self.sleep(wait)

    async def _ask(self, plans: dict[str, Plan], now: datetime) -> Asked:
        """Every CSAT window, then the newest of them again beside every states window (see
        the module's docstring); the first failure cancels the rest."""
        try:
            async with asyncio.TaskGroup() as group:
                csat = {
                    t: group.create_task(self.liveperson.csat_raw(t))
                    for t in plans[CSAT].timeframes
                }
            answers: dict[str, dict[int, Any]] = {
                CSAT: {t: task.result()[1] for t, task in csat.items()}
            }
            async with asyncio.TaskGroup() as group:
                # created first, so it takes a free slot of `VendorHTTP` before the states
                again = group.create_task(self._again(plans[CSAT], now))
                states = {
                    t: group.create_task(self.liveperson.states_raw(t))
                    for t in plans[STATES].timeframes
                }
        except BaseExceptionGroup as failed:
            first = failed.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        answers[STATES] = {t: task.result()[1] for t, task in states.items()}
        moved, allowed = _arrivals(plans[CSAT], answers[CSAT], *again.result())
        return Asked(answers, moved, allowed, (self.clock() - now).total_seconds())

    async def _again(
        self, plan: Plan, now: datetime
    ) -> tuple[tuple[CsatRow[CsatCounts], ...], float]:
        """The newest CSAT window asked once more, and the seconds from the plan to its
        answer: how long the CSAT calls took, arrivals meanwhile included."""
        if not plan.timeframes:
            return (), 0.0
        _, rows = await self.liveperson.csat_raw(plan.timeframes[-1])
        return rows, (self.clock() - now).total_seconds()

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
            # hours older than `[history] keep` would be deleted anyway: not worth a word
            missing = tuple(h for h in plan.missing if h >= now - self.keep)
            kinds.append(Collected(kind, tuple(sorted(stored)), skipped, missing))
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
        """Collect soon after start, then every hour at about HH:07:30; prune once a day."""
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


def _arrivals(
    plan: Plan,
    answers: dict[int, Any],
    again: Sequence[CsatRow[CsatCounts]],
    elapsed: float,
) -> tuple[int, float]:
    """By how many answers the newest CSAT window changed between its two calls, and how
    many may arrive in the `elapsed` seconds of the CSAT calls: a few, plus that window's
    own rate of answers (the larger of its two answers) for those seconds. A busy account
    answers steadily while it is asked; more than that is a window asked out of order."""
    if not plan.timeframes:
        return 0, 0.0
    newest = plan.timeframes[-1]
    moved = pieces.csat_changed(answers[newest], again)
    rate = max(pieces.answers_in(answers[newest]), pieces.answers_in(again)) / (newest * 60)
    return moved, pieces.ANSWERS_SLACK + rate * max(0.0, elapsed)


def _check(
    plans: dict[str, Plan], answers: dict[str, dict[int, Any]], moved: int, elapsed: float
) -> None:
    """The nested windows' answers must nest; `VendorBadResponse` saying which two do not.

    CSAT's slack grows with what arrived during the collection (`moved` answers); the
    states' with the seconds it took from the plan to its last answer (`elapsed`): their
    windows slide with the clock, and no two calls are further apart than that, however
    long a call queued or was retried."""
    wrong = pieces.csat_disagreement(
        plans[CSAT], answers[CSAT], pieces.ANSWERS_SLACK + moved
    ) or pieces.states_disagreement(
        plans[STATES], answers[STATES], pieces.SECONDS_SLACK + max(0.0, elapsed)
    )
    if wrong:
        raise VendorBadResponse(
            VENDOR, f"nested windows disagree, nothing stored (the next collection tries"
            f" again): {wrong}"
        )  # fmt: skip


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
