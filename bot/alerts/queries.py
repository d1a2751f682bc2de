"""The alerts table: one row per alert; a problem (source, kind, entity, metric) may have
several; and `alert_events`: every click on one.

Every function takes the `Database` and runs on the store's thread (`await store(fn)`).
Rows come back as dicts with `last_reason` as a `Reason` (its code and numbers are stored
as JSON) and `headline` and `parts` as dicts, and go in the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.alerts.detect import Reason
from bot.db import inserted


def latest_alerts(db: Database, source: str, kind: str) -> dict[str, dict[str, Any]]:
    """The latest alert of every problem of one source and kind, by problem key."""
    rows = db.query(
        "select * from alerts where id in (select max(id) from alerts "
        "where source = ? and kind = ? group by problem)",
        [source, kind],
    )
    return {row["problem"]: row for row in _read(rows)}


def get_alert(db: Database, alert_id: int) -> dict[str, Any] | None:
    found = _read(db.query("select * from alerts where id = ?", [alert_id]))
    return found[0] if found else None


def alerts_by_id(db: Database, alert_ids: Iterable[int]) -> list[dict[str, Any]]:
    """These alerts as they stand (one query)."""
    return _read(db.query(
        "select * from alerts where id in (select value from json_each(?))",
        [json.dumps(list(alert_ids))],
    ))  # fmt: skip


def newest_of(db: Database, problem: str) -> int | None:
    """The id of the newest alert of a problem: a click on any older one is stale."""
    found = db.execute("select max(id) from alerts where problem = ?", [problem]).fetchone()
    return found[0] if found else None


def insert_event(db: Database, event: dict[str, Any]) -> int:
    """A click, as it happened; its id."""
    return inserted(db, "alert_events", event)


def event_told(db: Database, event_id: int, ts: str) -> None:
    """The thread message that told a click."""
    db.table("alert_events").update(event_id, {"ts": ts})


def events_of(db: Database, alert_id: int) -> list[dict[str, Any]]:
    """Every click on an alert, oldest first."""
    return list(db.query("select * from alert_events where alert_id = ? order by id", [alert_id]))


def insert_alert(db: Database, alert: dict[str, Any]) -> int:
    """A new alert; its id."""
    return inserted(db, "alerts", _written(alert))


def update_alert(db: Database, alert_id: int, changes: dict[str, Any]) -> None:
    db.table("alerts").update(alert_id, _written(changes))


def posted(db: Database, alert_ids: Iterable[int]) -> dict[int, str]:
    """The `ts` of those of these alerts whose top message is known to have gone out."""
    found = db.execute(
        "select id, ts from alerts where ts is not null and id in (select value from json_each(?))",
        [json.dumps(list(alert_ids))],
    )
    return {alert_id: ts for alert_id, ts in found.fetchall()}


def alert_windows(
    db: Database, source: str, metric: str, since: datetime, until: datetime
) -> list[tuple[str, str, datetime, datetime]]:
    """(entity kind, entity id, start, end) of every alert of one source and metric whose
    window meets [since, until): from the window it opened on to its resolution, an open
    one until `until`. A trend's chart shades them, so a dip and its alert read together."""
    rows = db.execute(
        "select entity_kind, entity_id, coalesce(window_start, opened_at), resolved_at "
        "from alerts where source = ? and metric = ?",
        [source, metric],
    ).fetchall()
    found = []
    for kind, id, start, end in rows:
        try:
            low = _moment(start)
            high = _moment(end) if end else until
        except (TypeError, ValueError):
            continue  # a moment the bot did not write: no window to shade
        if low < until and high > since:
            found.append((str(kind), str(id or ""), low, max(low, high)))
    return found


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _read(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**row, "last_reason": Reason.load(row.get("last_reason")),
         "headline": _json(row.get("headline")), "parts": _json(row.get("parts"))}
        for row in rows
    ]  # fmt: skip


def _json(stored: str | None) -> dict[str, Any] | None:
    if not stored:
        return None
    try:
        found = json.loads(stored)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _written(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    reason = values.get("last_reason")
    if isinstance(reason, Reason):
        out["last_reason"] = reason.dump()
    for key in ("headline", "parts"):
        if isinstance(values.get(key), dict):
            out[key] = json.dumps(values[key])
    return out


def open_alerts(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """The alerts still firing, newest first: the newest of each problem (an older one a
    newer replaced is not open any more, whatever its row says)."""
    return _read(db.execute_returning_dicts(
        "select * from alerts where id in (select max(id) from alerts group by problem)"
        " and status = 'firing' order by id desc limit ?",
        [limit],
    ))  # fmt: skip
