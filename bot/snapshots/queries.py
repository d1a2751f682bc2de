"""The snapshot tables: one run per snapshot taken, one row per entity in it.

Every function takes the `Database` and runs on the store's thread (`await store(fn)`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from bot.db import inserted, writing


def save_snapshot(db: Database, run: dict[str, Any], rows: Iterable[dict[str, Any]]) -> int:
    """Store one snapshot (its run and every row) in one transaction; the run id."""
    with writing(db):
        run_id = inserted(db, "snapshot_runs", run)
        db.table("snapshots").insert_all(
            ({**row, "run_id": run_id} for row in rows), batch_size=500
        )
    return run_id


def run_rows(db: Database, run_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    """A run's rows keyed by (entity_kind, entity_id), JSON columns decoded."""
    rows = {}
    for row in db.query("select * from snapshots where run_id = ?", [run_id]):
        for key in ("states", "reasons"):
            row[key] = json.loads(row[key]) if row.get(key) else {}
        rows[(row["entity_kind"], row["entity_id"])] = row
    return rows


def trend(
    db: Database, series: str, entity_kind: str, entity_id: str, limit: int = 30
) -> list[dict[str, Any]]:
    """The last `limit` values of one entity in a series, oldest first."""
    return list(reversed(list(db.query(
        "select r.taken_at, r.window_end, s.* from snapshots s "
        "join snapshot_runs r on r.id = s.run_id "
        "where r.series = ? and s.entity_kind = ? and s.entity_id = ? "
        "order by r.taken_at desc, r.id desc limit ?", [series, entity_kind, entity_id, limit],
    ))))  # fmt: skip


def series_history(
    db: Database, series: str, before_run: int, runs: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each entity's rows in the `runs` snapshots of a series before `before_run`, newest first."""
    ids = [r["id"] for r in db.query(
        "select id from snapshot_runs where series = ? and id < ? order by id desc limit ?",
        [series, before_run, runs],
    )]  # fmt: skip
    history: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run_id in ids:
        for key, row in run_rows(db, run_id).items():
            history.setdefault(key, []).append(row)
    return history
