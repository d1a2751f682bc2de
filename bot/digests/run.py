"""One use case: a digest run. Fetch -> rows -> compare -> render -> store while posting.

A scheduled run first claims its scheduled time in SQLite, so it posts exactly once
however often the scheduler (or a restart) fires it. The snapshot is stored while the
message is posted: what was fetched is kept even when Slack refuses the message, and the
alerts see it; but "since the previous digest" means the last digest that was posted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlite_utils import Database

from bot.config import Digest
from bot.db import Store, writing
from bot.digests import queries
from bot.digests.attachments import TOP, attach
from bot.errors import BotError, DigestError, StoreError
from bot.history.source import HistoryBacked
from bot.metrics import AgentStatesReport, Coverage, CsatReport, Window
from bot.names.service import Names
from bot.offloop import off_loop
from bot.query import Query
from bot.render import Message, Renderer
from bot.schedule import scheduled_key
from bot.slack import Poster
from bot.slackconfig.catalog import Catalog
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import TOTAL, Key, compare, csat_rows, states_rows
from bot.sources import Sources
from bot.timefmt import now_iso

log = logging.getLogger(__name__)
COMPARABLE = 95  # % of the previous period's hours the history must hold to compare with it


class DetractorCounts(Protocol):
    """How the detractors received in [since, until) fared: `total`, `handled`, `taken`,
    `open`. The survey feature's query (`surveys/queries.detractor_counts`), wired in by
    `app.py`: features never import each other, and its table's queries stay its own."""

    def __call__(self, db: Database, since: datetime, until: datetime) -> Mapping[str, int]: ...


class Review(Protocol):
    """What looks at every stored snapshot (the drop alerts): wired in by `app.py`."""

    def review(
        self, series: str, source: str, kind: str, run_id: int, rows: list[dict[str, Any]],
        digest: str, told_for: str | None = None,
    ) -> Awaitable[Any]: ...  # fmt: skip


@dataclass(frozen=True)
class Period:
    """The period a digest over more than 24 hours compares with: the one of the same length
    just before its window, from the history (a weekly digest: week over week)."""

    minutes: int  # the timeframe
    window: Window
    coverage: Coverage | None
    current: Coverage | None = None  # what the history holds of the digest's own window

    @property
    def comparable(self) -> bool:
        """Whether the history holds enough of both periods (`COMPARABLE` of their hours)
        to compare them: one hour of last week against a whole week would read "▲ 160h",
        and a week with three days missing against a whole one "▼ 70h"."""
        return all(
            c is None or c.covered * 100 >= COMPARABLE * c.length
            for c in (self.coverage, self.current)
        )

    @property
    def short_now(self) -> bool:
        """Whether it is the digest's own window the history lacks (the words differ)."""
        c = self.current
        return c is not None and c.covered * 100 < COMPARABLE * c.length


@dataclass(frozen=True)
class Outcome:
    """What a run did: posted (with its ts), skipped (already claimed), or dry."""

    status: Literal["posted", "stored", "skipped", "dry-run"]
    message: Message | None = None
    ts: str = ""
    rows: int = 0


class Digests:
    """Runs configured digests with the bot's shared sources, store, templates and poster."""

    def __init__(
        self,
        digests: dict[str, Digest],
        sources: Sources,
        store: Store,
        renderer: Renderer,
        poster: Poster | None,
        alerting: Review | None = None,
        names: Names | None = None,
        detractors: DetractorCounts | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.digests = digests  # the file's
        self.catalog = catalog  # and those made in Slack, read at each run
        self.detractors = detractors
        self.names = names
        self.sources = sources
        self.store = store
        self.renderer = renderer
        self.poster = poster
        self.alerting = alerting

    async def get(self, name: str) -> Digest:
        """The digest of that name: the file's, else one made in Slack (read now, so an
        edit made a second ago is what runs)."""
        if name in self.digests:
            return self.digests[name]
        found = await self.catalog.digest(name) if self.catalog is not None else None
        if found is None:
            names = await self.catalog.names() if self.catalog is not None else self.digests
            known = ", ".join(sorted(names)) or "none"
            raise DigestError(
                f"No digest named {name!r} in the configuration (configured: {known})."
            )
        return found

    async def run(
        self, name: str, scheduled_for: datetime | None = None, dry_run: bool = False
    ) -> Outcome:
        """Run one digest now; `scheduled_for` makes it a scheduled run, posted once."""
        digest = await self.get(name)
        if scheduled_for is not None and not await self._active(name):
            log.info("digest %s is paused (or set aside); its run for %s skipped", name,
                     scheduled_for)  # fmt: skip
            return Outcome("skipped")
        run_id, told_for = None, None
        if not dry_run:
            key = (
                scheduled_key(scheduled_for, digest.timezone)
                if scheduled_for
                else (f"manual {datetime.now(UTC).isoformat()}")
            )
            run_id = await self.store(lambda db: queries.claim_run(db, name, key, digest.channel))
            if run_id is None:
                log.info("digest %s for %s already ran; skipping", name, key)
                return Outcome("skipped")
            if scheduled_for is not None:  # the alerts speak once per scheduled time
                told_for = scheduled_for.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
        try:
            outcome = await self._run(digest, run_id, told_for)
        except Exception as exc:
            # a usage problem or a source nobody set up, in the templates' words
            reason = self.renderer.said(exc) if isinstance(exc, BotError) else str(exc)
            if run_id is not None:
                try:
                    await self.store(lambda db: queries.finish_run(db, run_id, "failed", reason))
                except StoreError as lost:  # the database is the trouble: say both
                    log.error("digest %s: its failure could not be recorded: %s", name, lost)
            if isinstance(exc, BotError):
                raise DigestError(reason) from exc
            raise
        if run_id is not None:
            try:
                await self.store(
                    lambda db: queries.finish_run(db, run_id, outcome.status, "", outcome.ts)
                )
            except StoreError as lost:  # posted is posted; it stays claimed, never posted twice
                log.error("digest %s: %s, but recording it failed: %s", name, outcome.status, lost)
        return outcome

    async def _active(self, name: str) -> bool:
        """Whether a scheduled time of `name` may run: one made in Slack may have been paused
        since its job was made (in this process, or in another whose jobs are older)."""
        if name in self.digests or self.catalog is None:
            return True
        entry = await self.catalog.entry(name)
        return entry is None or entry.active

    async def _run(
        self, digest: Digest, digest_run: int | None, told_for: str | None = None
    ) -> Outcome:
        """Fetch, compare, render, then store while posting; `digest_run` None is a dry run
        (nothing kept); `told_for` the scheduled time the alerts speak for."""
        query, source = self.sources.resolve(digest.query())
        report: CsatReport | AgentStatesReport

        async def shown_before() -> tuple[dict[str, Any] | None, dict[Any, Any]]:
            previous = await self.store(lambda db: queries.last_shown(db, digest.name))
            if previous is None:
                return None, {}
            return previous, await self.store(
                lambda db: snapshots.compared_rows(db, previous["id"])
            )

        # what people saw last is read while the vendor answers; the CPU work of a big
        # account (rows, comparison, message) runs off the loop
        earlier = asyncio.ensure_future(shown_before())
        naming = asyncio.ensure_future(self._names_ready(source.name))
        period: Period | None = None
        before_period: dict[Key, Any] = {}
        try:
            if isinstance(source, HistoryBacked) and source.from_history(query):
                report, rows, period, before_period = await _periods(digest.kind, source, query)
            elif digest.kind == "csat":
                report = csat = await source.csat(query)
                rows = await off_loop(csat_rows, csat)
            else:
                report = states = await source.agent_states(query)
                rows = await off_loop(states_rows, states)
        except BaseException:
            earlier.add_done_callback(lambda t: t.cancelled() or t.exception())  # not wanted
            naming.cancel()
            raise
        await naming
        taken_at = now_iso(report.fetched_at or datetime.now(UTC))
        previous, before = await earlier
        if period is not None:  # week over week, not since the previous digest
            before = before_period if period.comparable else {}
        detractors = await self._detractors(digest, report, previous, taken_at)
        changes = await off_loop(compare, rows, before)
        message = await off_loop(
            self.renderer.render,
            digest.template_file,
            digest=digest,
            query=query,
            report=report,
            changes=changes,
            previous=previous,
            top=TOP,
            total_key=(TOTAL, ""),
            detractors=detractors,
            period=period,
        )
        if self.names is not None:  # ids shown without a name: the directory looks again
            for kind, ids in self.renderer.take_missed().items():
                self.names.unknown(report.source, kind, ids)
        if digest_run is None:  # a dry run: nothing stored, nothing posted
            return Outcome("dry-run", message, rows=len(rows))
        run = {
            "series": digest.series,
            "source": report.source,
            "kind": digest.kind,
            "scope": query.unit,
            "window_start": now_iso(report.window.start),
            "window_end": now_iso(report.window.end),
            "taken_at": taken_at,
            "digest": digest.name,
        }
        # stored while Slack takes the message: the store's thread then has the GIL to
        # itself (beside the render it took 0.8 s instead of 0.3), and the snapshot is kept
        # whether or not Slack takes the message
        storing = asyncio.ensure_future(
            self.store(lambda db: _store_snapshot(db, run, rows, digest_run))
        )
        ts = ""
        try:
            if digest.post:  # else a watch: snapshots and alerts, no message
                ts = await self._post(digest, message)
        finally:
            run_id = await storing
            try:
                if ts:  # after the store: the trend chart shows this snapshot too
                    await self._attach(digest, report, rows, ts)
            finally:  # alerts follow every stored snapshot, even when the post failed
                await self._review(digest, report.source, run_id, rows, told_for)
        if not digest.post:
            return Outcome("stored", None, "", len(rows))
        return Outcome("posted", message, ts, len(rows))

    async def _detractors(
        self, digest: Digest, report: CsatReport | AgentStatesReport,
        shown: dict[str, Any] | None, taken_at: str,
    ) -> Mapping[str, int] | None:  # fmt: skip
        """How the detractors received since the last posted digest (or in this one's
        window, for the first) fared, for a CSAT digest of the `ingested` source or one
        that had some; None: nothing to say, or the count could not be read. Each window
        ends where the next begins: at the snapshots' `taken_at`, to the second."""
        if self.detractors is None or digest.kind != "csat":
            return None
        since = datetime.fromisoformat(shown["taken_at"]) if shown else report.window.start
        until = datetime.fromisoformat(taken_at)
        count = self.detractors
        try:
            found = await self.store(lambda db: count(db, since, until))
        except Exception:  # the digest goes out without the line
            log.exception("digest %s: the detractors could not be counted", digest.name)
            return None
        return found if report.source == "ingested" or found["total"] else None

    async def _names_ready(self, source: str) -> None:
        """The source's directory, read (or fetched on first need) while the vendor answers;
        a directory that cannot be had leaves the digest with ids, never without a post."""
        if self.names is None:
            return
        try:
            await self.names.ready(source)
        except Exception:
            log.exception("the %s directory could not be read; the digest shows ids", source)

    async def _post(self, digest: Digest, message: Message) -> str:
        if self.poster is None:
            raise DigestError("Slack is not configured: set SLACK_BOT_TOKEN to post digests.")
        return await self.poster.post(digest.channel, message)

    async def _attach(
        self,
        digest: Digest,
        report: CsatReport | AgentStatesReport,
        rows: list[dict[str, Any]],
        ts: str,
    ) -> None:
        assert self.poster is not None  # the message was posted
        try:  # posted is posted: a failed attachment must not make it post again
            names = self.renderer.names

            def lookup(kind: str, id: str) -> str | None:  # the digest's source names its ids
                return names(kind, id, report.source)

            await attach(
                self.poster, self.store, self.renderer.words, digest, report, rows, ts, lookup
            )
        except Exception:
            log.exception("digest %s: attaching to its thread failed", digest.name)

    async def _review(
        self, digest: Digest, source: str, run_id: int, rows: list[dict[str, Any]],
        told_for: str | None = None,
    ) -> None:  # fmt: skip
        if self.alerting is None:
            return
        try:  # an alert that cannot be posted does not undo the digest
            await self.alerting.review(
                digest.series, source, digest.kind, run_id, rows, digest.name, told_for
            )
        except Exception:
            log.exception("digest %s: reviewing alerts failed", digest.name)


async def _periods(
    kind: str, source: HistoryBacked, query: Query
) -> tuple[CsatReport | AgentStatesReport, list[dict[str, Any]], Period, dict[Key, Any]]:
    """A digest beyond 24 hours, from the history: its report and rows, and the period of
    the same length just before it, as `compare` reads it. A skill's agents come along,
    as a live digest's do (the alerts explain a drop by them)."""
    report: CsatReport | AgentStatesReport
    earlier: CsatReport | AgentStatesReport
    now = source.clock()
    if kind == "csat":
        report = await source.csat_before(query, now, with_agents=True)
        earlier = await source.csat_before(query, report.window.start, with_agents=True)
        rows, past = await off_loop(csat_rows, report), await off_loop(csat_rows, earlier)
    else:
        report = await source.agent_states_before(query, now)
        earlier = await source.agent_states_before(query, report.window.start)
        rows, past = await off_loop(states_rows, report), await off_loop(states_rows, earlier)
    period = Period(query.timeframe, earlier.window, earlier.coverage, report.coverage)
    return report, rows, period, {(r["entity_kind"], r["entity_id"]): r for r in past}


def _store_snapshot(
    db: Database, run: dict[str, Any], rows: list[dict[str, Any]], digest_run: int
) -> int:
    """The snapshot and the digest run's link to it, in one transaction: never one alone."""
    with writing(db):
        snapshot = snapshots.save_snapshot(db, run, rows)
        queries.record_snapshot(db, digest_run, snapshot)
    return snapshot
