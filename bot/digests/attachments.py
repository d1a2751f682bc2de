"""The digest's thread: the full table as CSV when the message is cut, and the charts.

matplotlib is imported and draws in a worker thread, never on the loop that acks Slack.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.config import Digest
from bot.db import Store
from bot.metrics import AgentStatesReport, CsatCounts, CsatReport, membership
from bot.offloop import off_loop
from bot.render.words import Lookup, Words, no_names
from bot.slack import Poster
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import TOTAL

TOP = 15  # entities in the message; the full table goes in the thread as a file


async def attach(
    poster: Poster,
    store: Store,
    words: Words,
    digest: Digest,
    report: CsatReport | AgentStatesReport,
    rows: list[dict[str, Any]],
    ts: str,
    lookup: Lookup | None = None,
) -> None:
    """The thread under the digest: charts, and the full table when the message is cut;
    `lookup` names ids as the directory does."""
    # matplotlib loads (most of a second, once) and draws in a worker thread
    charts = await asyncio.to_thread(importlib.import_module, "bot.digests.charts")

    entities = len(rows) - 1
    shown = sum(
        1
        for r in rows
        if r["entity_kind"] != TOTAL and membership(r["entity_kind"], r["entity_id"]) is None
    )
    if shown > TOP:
        names = report.labels if isinstance(report, AgentStatesReport) else {}
        csv_bytes = await off_loop(table, rows, words, names, lookup)  # 20,000 rows: off the loop
        await poster.upload(
            digest.channel,
            ts,
            f"{digest.name}.csv",
            csv_bytes,
            words("files.table", digest=digest.name, rows=entities),
        )
    if not isinstance(report, CsatReport):  # availability: no charts
        return
    history = await store(lambda db: snapshots.trend(db, digest.series, TOTAL, ""))
    points = [
        (datetime.fromisoformat(h["taken_at"]), h["score"], h["answers"] or 0) for h in history
    ]
    if len(points) >= 2:
        title = words("charts.trend_title", digest=digest.name, runs=len(points))
        axis = words("charts.trend_axis")
        # drawing takes a good part of a second: off the loop that acks Slack
        png = await asyncio.to_thread(charts.csat_trend, title, points, axis)
        await poster.upload(
            digest.channel, ts, f"{digest.name}-trend.png", png, words("files.trend")
        )
    total = report.total
    if total.total:
        if isinstance(total, CsatCounts):
            labels, counts = ["1", "2", "3", "4", "5"], list(total.scores)
        else:
            labels, counts = [words("charts.good"), words("charts.bad")], [total.good, total.bad]
        title = words("charts.answers_title", digest=digest.name)
        png = await asyncio.to_thread(
            charts.distribution, title, labels, counts, words("charts.answers_axis")
        )
        await poster.upload(
            digest.channel, ts, f"{digest.name}-answers.png", png, words("files.answers")
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


def table(
    rows: list[dict[str, Any]],
    words: Words,
    labels: Mapping[str, str] | None = None,
    lookup: Lookup | None = None,
) -> bytes:
    """Every row as CSV, the columns that have values: the id and the name the directory
    (`lookup`) or the words give it, state labels in words (`labels`: the vendor's names
    for states the bot has no id for). A name a spreadsheet would read as a formula is
    written as text."""
    lookup = lookup or no_names
    team = any(r.get("logged_in") is not None for r in rows)  # availability: the total is a team
    shown = []
    for row in rows:
        kind = "team" if team and row["entity_kind"] == TOTAL else row["entity_kind"]
        name = words.entity(kind, row["entity_id"], row.get("entity_name"), lookup)
        named = {**row, "entity_id": _as_text(row["entity_id"]), "entity_name": _as_text(name)}
        if row.get("states"):
            seconds = json.loads(row["states"])
            named["states"] = json.dumps({words.state(k, labels): v for k, v in seconds.items()})
        if row.get("reasons"):
            seconds = json.loads(row["reasons"])
            reasons = {words.reason(k, lookup): v for k, v in seconds.items()}
            named["reasons"] = json.dumps(reasons, ensure_ascii=False)
        shown.append(named)
    used = [c for c in COLUMNS if any(r.get(c) not in (None, "", "{}") for r in shown)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=used, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(shown)
    return out.getvalue().encode()


def _as_text(value: str) -> str:
    """A cell a spreadsheet shows as text: `=`, `+`, `-`, `@` would start a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
