"""The digest's thread: the full table as CSV when the message is cut, and the charts: the
CSAT trend of the account and its top entities (`top_entities`), the answers' spread.

matplotlib is imported and draws in a worker thread, never on the loop that acks Slack.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
import json
from collections.abc import Mapping, Sequence
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
TRENDED = 4  # entities beside the account in the trend chart


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
    charts = await asyncio.to_thread(importlib.import_module, "bot.render.charts")

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
    top = top_entities(rows)
    keys = [(TOTAL, ""), *((r["entity_kind"], r["entity_id"]) for r in top)]
    history = await store(  # one turn of the store's thread for every line
        lambda db: {key: snapshots.trend(db, digest.series, *key) for key in keys}
    )
    series = trend_series(history, top, words, lookup or no_names)
    account = next(iter(series.values()))
    if len(account) >= 2:
        title = words("charts.trend_title", digest=digest.name, runs=len(account))
        axis = words("charts.trend_axis")
        # drawing takes a good part of a second: off the loop that acks Slack
        png = await asyncio.to_thread(charts.csat_trend, title, series, axis, digest.timezone)
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


def top_entities(rows: Sequence[Mapping[str, Any]], n: int = TRENDED) -> list[Mapping[str, Any]]:
    """The `n` skills, agents or groups of a snapshot with the most answers (none without
    answers, no agent within a skill), most first; rows of equal answers in their order."""
    entities = [
        r
        for r in rows
        if r["entity_kind"] != TOTAL
        and membership(r["entity_kind"], r["entity_id"]) is None
        and (r.get("answers") or 0) > 0
    ]
    return sorted(entities, key=lambda r: -r["answers"])[:n]


def trend_series(
    history: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    top: Sequence[Mapping[str, Any]],
    words: Words,
    lookup: Lookup = no_names,
) -> dict[str, list[tuple[datetime, float | None, int]]]:
    """The trend chart's series, label → (moment, score, answers) oldest first: the
    account's first, then each of `top` named as the table names it (`history`: their
    rows by (kind, id), `snapshots.trend`'s), from the account's first point on. Two
    entities of one name keep their ids."""
    account = _points(history.get((TOTAL, ""), []))
    series = {words.entity(TOTAL, ""): account}
    since = account[0][0] if account else None
    for row in top:
        kind, id = row["entity_kind"], row["entity_id"]
        label = words.entity(kind, id, row.get("entity_name"), lookup)
        if label in series:
            label = f"{label} ({id})"
        points = _points(history.get((kind, id), []))
        series[label] = [p for p in points if since is None or p[0] >= since]
    return series


def _points(rows: Sequence[Mapping[str, Any]]) -> list[tuple[datetime, float | None, int]]:
    return [(datetime.fromisoformat(r["taken_at"]), r["score"], r["answers"] or 0) for r in rows]


COLUMNS = (
    "entity_kind",
    "entity_id",
    "entity_name",
    "answers",
    "score_pct",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "good",
    "bad",
    "chats",
    "logged_in_min",
    "chatting_min",
    "states_min",
    "reasons_min",
)


def table(
    rows: list[dict[str, Any]],
    words: Words,
    labels: Mapping[str, str] | None = None,
    lookup: Lookup | None = None,
) -> bytes:
    """Every row as CSV, the columns that have values, in numbers people read: the score
    as a percentage (`score_pct`), times in minutes (`logged_in_min`, `chatting_min`, and
    the JSON of `states_min` and `reasons_min`), each to one decimal; the id and the name
    the directory (`lookup`) or the words give it, state labels in words (`labels`: the
    vendor's names for states the bot has no id for). A name a spreadsheet would read as
    a formula is written as text."""
    lookup = lookup or no_names
    team = any(r.get("logged_in") is not None for r in rows)  # availability: the total is a team
    shown = []
    for row in rows:
        kind = "team" if team and row["entity_kind"] == TOTAL else row["entity_kind"]
        name = words.entity(kind, row["entity_id"], row.get("entity_name"), lookup)
        named = {
            **row,
            "entity_id": _as_text(row["entity_id"]),
            "entity_name": _as_text(name),
            "score_pct": _round(row.get("score"), 100),
            "logged_in_min": _round(row.get("logged_in"), 1 / 60),
            "chatting_min": _round(row.get("chatting"), 1 / 60),
        }
        if row.get("states"):
            seconds = json.loads(row["states"])
            states = {words.state(k, labels): _round(v, 1 / 60) for k, v in seconds.items()}
            named["states_min"] = json.dumps(states, ensure_ascii=False)
        if row.get("reasons"):
            seconds = json.loads(row["reasons"])
            reasons = {words.reason(k, lookup): _round(v, 1 / 60) for k, v in seconds.items()}
            named["reasons_min"] = json.dumps(reasons, ensure_ascii=False)
        shown.append(named)
    used = [c for c in COLUMNS if any(r.get(c) not in (None, "", "{}") for r in shown)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=used, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(shown)
    return out.getvalue().encode()


def _round(value: float | None, scale: float) -> float | None:
    """A score as a percentage (`scale` 100) or seconds as minutes (1/60), to 1 decimal."""
    return None if value is None else round(value * scale, 1)


def _as_text(value: str) -> str:
    """A cell a spreadsheet shows as text: `=`, `+`, `-`, `@` would start a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
