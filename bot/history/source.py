"""The `liveperson` source, with history: the last 24 hours live, anything longer from the store.

LivePerson answers at most the last 1440 minutes. A longer timeframe is answered from the
hourly pieces the collector keeps (`queries`), with no vendor call: the window is whole
hours, [floor_hour(now - T), floor_hour(now)) — or, until the newest hour is collected (a
few minutes after it ends), ending where the last collected hour ends — and the report
says which part of it the history covers (`Coverage`), so a week that was half collected
reads as half a week. Each answer is read in one transaction: one snapshot.

A timeframe of 24 hours or less goes to LivePerson exactly as before (same client, same
bucket cache): the newest hour is not collected yet, and a live answer is the freshest.

`csat_before` and `agent_states_before` answer the same timeframe for a window ending at
another moment: a weekly digest compares with the week before it, ending where its own
window starts, so both are whole hours of the same length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import LivePersonSettings
from bot.db import Store, reading
from bot.errors import UsageError
from bot.history import queries
from bot.metrics import (
    AgentStatesReport,
    Coverage,
    CsatReport,
    Window,
    floor_hour,
)
from bot.query import Query
from bot.sources.http import BucketCache, VendorHTTP
from bot.sources.liveperson import MAX_TIMEFRAME, VENDOR, LivePerson

DAY = 1440  # minutes: an interval of 1d means local calendar days (23 or 25 hours at DST)
HOUR = 60  # minutes: other intervals from history are whole hours
MOST_INTERVALS = 288  # as many as 24h in 5-minute intervals, the most a live answer has
HOUR_SPAN = timedelta(hours=1)
LATE = timedelta(hours=2)  # a last hour this close to now: its collection has not run yet


class HistoryBacked(LivePerson):
    """LivePerson for timeframes up to 24 hours, the bot's history beyond, up to `keep`.

    A subclass, so that everything that needs the vendor (the directory, the collector)
    sees the same LivePerson, and only `check` and the two reports choose."""

    def __init__(
        self,
        settings: LivePersonSettings,
        http: VendorHTTP,
        cache: BucketCache,
        store: Store,
        zone: ZoneInfo,
        keep: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(settings, http, cache, clock)
        self.store = store
        self.zone = zone
        self.keep = keep  # minutes: `[history] keep`, the longest timeframe answered

    @staticmethod
    def from_history(query: Query) -> bool:
        """Whether the store answers (no vendor call): a timeframe beyond LivePerson's."""
        return query.timeframe > MAX_TIMEFRAME

    def check(self, query: Query) -> None:
        """LivePerson's rules up to 24 hours; beyond, `keep` and intervals of whole hours
        (or 1d: local days), which is what the hourly pieces can be cut into."""
        if not self.from_history(query):
            super().check(query)
            return
        super().check(replace(query, timeframe=MAX_TIMEFRAME, interval=None))  # the ids
        if query.timeframe > self.keep:
            raise UsageError(
                "beyond_history", query.command, source=self.name,
                timeframe=query.timeframe, limit=self.keep,
            )  # fmt: skip
        interval = query.interval
        if interval is None:
            return
        slices = -(-query.timeframe // interval)
        if interval % HOUR or interval > query.timeframe or slices > MOST_INTERVALS:
            raise UsageError(
                "history_interval", query.command, source=self.name, interval=interval,
                timeframe=query.timeframe, most=MOST_INTERVALS, zone=self.zone.key,
            )  # fmt: skip

    # --- reports ----------------------------------------------------------------------

    async def csat(self, query: Query) -> CsatReport:
        if not self.from_history(query):
            return await super().csat(query)
        return await self.csat_before(query, self.clock())

    async def agent_states(self, query: Query) -> AgentStatesReport:
        if not self.from_history(query):
            return await super().agent_states(query)
        return await self.agent_states_before(query, self.clock())

    def window(
        self, query: Query, end: datetime, last: datetime | None
    ) -> tuple[datetime, datetime]:
        """The whole hours the history answers for the timeframe before `end`, `last` the
        end of the last hour collected.

        The collection of an hour runs a few minutes after it ends (HH:07): a window that
        ended at floor_hour(end) just after it would lack its newest hour, and a weekly
        digest would compare 167 hours with 168. So when the last collected hour ends at
        most `LATE` before floor_hour(end), the window ends there (its `Window` shows it);
        an older last hour is downtime, and the coverage says what is missing. A window
        ending before the last hour (the period a digest compares with) is not moved."""
        stop = floor_hour(end)
        if last is not None and stop - LATE <= last < stop:
            stop = last
        return floor_hour(stop - timedelta(minutes=query.timeframe)), stop

    async def csat_before(
        self, query: Query, end: datetime, with_agents: bool | None = None
    ) -> CsatReport:
        """The CSAT report of the timeframe before `end`, from the store alone.

        A skill's agents come with it when one skill is asked for (as `/csat skill 4`
        shows them), or when `with_agents` says so (a digest keeps them, for the alerts).
        The report and its coverage are read in one transaction: a collection committing
        meanwhile cannot give a coverage that counts an hour the numbers lack."""
        ids = query.canonical_ids
        agents = with_agents
        if agents is None:
            agents = query.unit == "skill" and isinstance(ids, tuple) and len(ids) == 1
        unit, asked = query.unit, query.timeframe

        def read(db: Database) -> CsatReport:
            queries.ensure_zone(db, self.zone)  # before the snapshot: it may write
            with reading(db):
                start, stop = self.window(query, end, _last(db, queries.CSAT))
                total, rows = queries.csat_report_rows(
                    db, start, stop, self.zone, unit, ids, agents
                )
                coverage = _coverage(db, queries.CSAT, asked, start, stop)
            return CsatReport(
                source=self.name,
                vendor=VENDOR,
                scope=query.unit,
                window=Window(start, start, stop),
                total=total,
                rows=rows,
                fetched_at=self.clock(),
                coverage=coverage,
            )

        return await self.store(read)

    async def agent_states_before(self, query: Query, end: datetime) -> AgentStatesReport:
        """The agent states of the timeframe before `end`, from the store alone (in one
        transaction, as `csat_before`); intervals of 1d are the zone's calendar days,
        others whole hours from the window's start."""
        ids = query.canonical_ids
        step: int | Literal["day"] | None = query.interval
        if step == DAY:
            step = "day"
        asked = query.timeframe

        def read(db: Database) -> AgentStatesReport:
            queries.ensure_zone(db, self.zone)  # before the snapshot: it may write
            with reading(db):
                start, stop = self.window(query, end, _last(db, queries.STATES))
                agents = queries.state_rows(db, start, stop, self.zone, ids)
                slices = (
                    queries.state_slices(db, start, stop, self.zone, ids, step)
                    if step is not None
                    else ()
                )
                coverage = _coverage(db, queries.STATES, asked, start, stop)
            return AgentStatesReport(
                source=self.name,
                vendor=VENDOR,
                window=Window(start, start, stop),
                agents=agents,
                intervals=slices,
                fetched_at=self.clock(),
                coverage=coverage,
            )

        return await self.store(read)


def _last(db: Database, kind: str) -> datetime | None:
    """The end of the last hour collected; None before the first collection."""
    hour = queries.last_hour(db, kind)
    return None if hour is None else hour + HOUR_SPAN


def _coverage(db: Database, kind: str, asked: int, start: datetime, end: datetime) -> Coverage:
    hours = queries.collected_hours(db, kind, start, end)
    return Coverage.of(asked, start, end, hours, queries.first_hour(db, kind))
