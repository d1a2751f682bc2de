"""One use case: a digest run. Fetch -> snapshot -> compare -> render -> post -> attach.

A scheduled run first claims its scheduled time in SQLite, so it posts exactly once
however often the scheduler (or a restart) fires it. The snapshot is stored before
posting: what was fetched is kept even when Slack refuses the message.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot import store
from bot.alerting import Alerting
from bot.errors import BotError
from bot.grammar import Query, parse_duration
from bot.metrics import AgentStatesReport, CsatReport
from bot.render import Message, Renderer
from bot.schedule import scheduled_key
from bot.slack import Poster
from bot.snapshots import TOTAL, compare, csat_rows, states_rows
from bot.sources import Sources
from bot.store import Store

log = logging.getLogger(__name__)
TOP = 15  # entities in the message; the full table goes in the thread as a file
UNIT_KEYS = {"skills": "skill", "agents": "agent", "groups": "group"}


class DigestError(BotError):
    """A digest that could not run: unknown name, or a step that failed."""


@dataclass(frozen=True)
class Digest:
    """One `[[digest]]` of the configuration, checked."""

    name: str
    kind: Literal["csat", "availability"]
    channel: str
    cron: str
    zone: ZoneInfo
    timeframe: int
    source: str | None = None
    unit: str = "account"
    ids: tuple[str, ...] | Literal["all"] | None = None
    template: str = ""
    post: bool = True  # false: a watch that only snapshots and alerts

    @property
    def series(self) -> str:
        """Where its snapshots are kept, so each run compares with its own previous one."""
        return f"digest:{self.name}"

    def query(self) -> Query:
        command = "/csat" if self.kind == "csat" else "/agent-states"
        return Query(command, self.source, self.unit, self.ids, self.timeframe)


def digests_from(raw: tuple[dict[str, Any], ...], zone: ZoneInfo) -> dict[str, Digest]:
    """Digests from configuration already checked by `config.load`."""
    found = {}
    for item in raw:
        kind = item.get("kind", "csat")
        unit, ids = ("agent", "all") if kind == "availability" else ("account", None)
        for key, name in UNIT_KEYS.items():
            if key in item:
                value = item[key]
                unit, ids = name, "all" if value == "all" else tuple(str(v) for v in value)
        found[item["name"]] = Digest(
            name=item["name"],
            kind=kind,
            channel=item["channel"],
            cron=item["cron"],
            zone=ZoneInfo(item["timezone"]) if "timezone" in item else zone,
            timeframe=parse_duration(str(item.get("timeframe", "24h"))),
            source=item.get("source"),
            unit=unit,
            ids=ids,
            template=item.get("template", f"digest_{kind}.yml.j2"),
            post=item.get("post", True),
        )
    return found


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
        alerting: Alerting | None = None,
    ) -> None:
        self.digests = digests
        self.sources = sources
        self.store = store
        self.renderer = renderer
        self.poster = poster
        self.alerting = alerting

    def get(self, name: str) -> Digest:
        if name not in self.digests:
            known = ", ".join(sorted(self.digests)) or "none"
            raise DigestError(
                f"No digest named {name!r} in the configuration (configured: {known})."
            )
        return self.digests[name]

    async def run(
        self, name: str, scheduled_for: datetime | None = None, dry_run: bool = False
    ) -> Outcome:
        """Run one digest now; `scheduled_for` makes it a scheduled run, posted once."""
        digest = self.get(name)
        run_id = None
        if not dry_run:
            key = (
                scheduled_key(scheduled_for, digest.zone)
                if scheduled_for
                else (f"manual {datetime.now(UTC).isoformat()}")
            )
            run_id = await self.store(lambda db: store.claim_run(db, name, key, digest.channel))
            if run_id is None:
                log.info("digest %s for %s already ran; skipping", name, key)
                return Outcome("skipped")
        try:
            outcome = await self._run(digest, dry_run)
        except Exception as exc:
            if run_id is not None:
                reason = str(exc)
                await self.store(lambda db: store.finish_run(db, run_id, "failed", reason))
            if isinstance(exc, BotError):
                raise DigestError(str(exc)) from exc
            raise
        if run_id is not None:
            await self.store(
                lambda db: store.finish_run(db, run_id, outcome.status, "", outcome.ts)
            )
        return outcome

    async def _run(self, digest: Digest, dry_run: bool) -> Outcome:
        query, source = self.sources.resolve(digest.query())
        if digest.kind == "csat":
            report: CsatReport | AgentStatesReport = await source.csat(query)
            rows = csat_rows(report)  # type: ignore[arg-type]
        else:
            report = await source.agent_states(query)
            rows = states_rows(report)  # type: ignore[arg-type]
        taken_at = store.now_iso(report.fetched_at or datetime.now(UTC))
        previous = await self.store(lambda db: store.previous_run(db, digest.series))
        before = await self.store(lambda db: store.run_rows(db, previous["id"])) if previous else {}
        changes = compare(rows, before)
        if not dry_run:
            run = {
                "series": digest.series,
                "source": report.source,
                "kind": digest.kind,
                "scope": query.unit,
                "window_start": store.now_iso(report.window.start),
                "window_end": store.now_iso(report.window.end),
                "taken_at": taken_at,
                "digest": digest.name,
            }
            run_id = await self.store(lambda db: store.save_snapshot(db, run, rows))
        message = self.renderer.render(
            digest.template,
            digest=digest,
            query=query,
            report=report,
            changes=changes,
            previous=previous,
            top=TOP,
            total_key=(TOTAL, ""),
        )
        if dry_run:
            return Outcome("dry-run", message, rows=len(rows))
        try:
            if not digest.post:  # a watch: snapshots and alerts, no message
                return Outcome("stored", None, "", len(rows))
            if self.poster is None:
                raise DigestError("Slack is not configured: set SLACK_BOT_TOKEN to post digests.")
            ts = await self.poster.post(digest.channel, message)
            try:  # posted is posted: a failed attachment must not make it post again
                await self._attach(digest, report, rows, ts)
            except Exception:
                log.exception("digest %s: attaching to its thread failed", digest.name)
            return Outcome("posted", message, ts, len(rows))
        finally:  # alerts follow every stored snapshot, even when the digest post failed
            if self.alerting is not None:
                try:  # and an alert that cannot be posted does not undo the digest
                    await self.alerting.review(
                        digest.series,
                        report.source,
                        digest.kind,
                        run_id,
                        rows,
                        f"digest {digest.name}",
                    )
                except Exception:
                    log.exception("digest %s: reviewing alerts failed", digest.name)

    async def _attach(
        self, digest: Digest, report: Any, rows: list[dict[str, Any]], ts: str
    ) -> None:
        """The thread under the digest: charts, and the full table when the message is cut."""
        # matplotlib loads (most of a second, once) and draws in a worker thread
        charts = await asyncio.to_thread(importlib.import_module, "bot.charts")

        assert self.poster is not None
        entities = len(rows) - 1
        shown = sum(1 for r in rows if r["entity_kind"] != TOTAL and "_" not in r["entity_kind"])
        if shown > TOP:
            await self.poster.upload(
                digest.channel,
                ts,
                f"{digest.name}.csv",
                table(rows),
                f"{digest.name}: all {entities} rows",
            )
        if digest.kind != "csat":
            return
        history = await self.store(lambda db: store.trend(db, digest.series, TOTAL, ""))
        points = [
            (datetime.fromisoformat(h["taken_at"]), h["score"], h["answers"] or 0) for h in history
        ]
        if len(points) >= 2:
            title = f"CSAT · {digest.name} · last {len(points)} runs"
            # drawing takes a good part of a second: off the loop that acks Slack
            png = await asyncio.to_thread(charts.csat_trend, title, points)
            await self.poster.upload(
                digest.channel, ts, f"{digest.name}-trend.png", png, "CSAT trend"
            )
        total = report.total
        if total.total:
            if report.scale == "1-5":
                labels, counts = ["1", "2", "3", "4", "5"], list(total.scores)
            else:
                labels, counts = ["good", "bad"], [total.good, total.bad]
            png = await asyncio.to_thread(
                charts.distribution, f"Answers · {digest.name}", labels, counts
            )
            await self.poster.upload(
                digest.channel, ts, f"{digest.name}-answers.png", png, "Answers"
            )


COLUMNS = (
    "entity_kind",
    "entity_id",
    "entity_name",
    "answers",
    "score",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "good",
    "bad",
    "chats",
    "logged_in",
    "chatting",
    "states",
    "reasons",
)


def table(rows: list[dict[str, Any]]) -> bytes:
    """Every row as CSV, the columns that have values."""
    used = [c for c in COLUMNS if any(r.get(c) not in (None, "", "{}") for r in rows)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=used, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()
