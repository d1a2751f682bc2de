"""The digest_runs table: each scheduled time of a digest is claimed once, then finished.

A run also records which snapshot it took (`snapshot_run_id`): the next digest compares
with the snapshot of the last run that was posted, the numbers people actually saw.

Every function takes the `Database` and runs on the store's thread (`await store(fn)`).
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.db import inserted, writing
from bot.timefmt import now_iso


def claim_run(db: Database, digest: str, scheduled_for: str, channel: str) -> int | None:
    """Record that `digest` runs for `scheduled_for`; None when it already did (or does).

    A run that failed may be claimed again (the next catch-up retries it); one that was
    running when the process died stays claimed: it may have posted already.
    """
    with writing(db):
        exists = list(db.query(
            "select id, status from digest_runs where digest = ? and scheduled_for = ?",
            [digest, scheduled_for],
        ))  # fmt: skip
        if exists and exists[0]["status"] == "failed":
            db.table("digest_runs").update(
                exists[0]["id"], {"status": "running", "started_at": now_iso()}
            )
            return int(exists[0]["id"])
        if exists:
            return None
        return inserted(db, "digest_runs", {
            "digest": digest, "scheduled_for": scheduled_for, "status": "running",
            "started_at": now_iso(), "channel": channel,
        })  # fmt: skip


def finish_run(
    db: Database, run_id: int, status: str, error: str = "", message_ts: str = ""
) -> None:
    with writing(db):
        db.table("digest_runs").update(run_id, {
            "status": status, "finished_at": now_iso(), "error": error, "message_ts": message_ts,
        })  # fmt: skip


def record_snapshot(db: Database, run_id: int, snapshot_run_id: int) -> None:
    """The snapshot this run took (stored before it posts)."""
    with writing(db):
        db.table("digest_runs").update(run_id, {"snapshot_run_id": snapshot_run_id})


def last_shown(db: Database, digest: str) -> dict[str, Any] | None:
    """The snapshot run of `digest`'s latest posted run: what its channel last saw."""
    found = list(db.query(
        "select s.* from digest_runs d join snapshot_runs s on s.id = d.snapshot_run_id "
        "where d.digest = ? and d.status = 'posted' "
        "order by s.taken_at desc, s.id desc limit 1",
        [digest],
    ))  # fmt: skip
    return found[0] if found else None


def latest_runs(db: Database) -> dict[str, dict[str, Any]]:
    """Each digest's latest run (the home view's "last run"), by digest name."""
    rows = db.execute_returning_dicts(
        "select * from digest_runs where id in (select max(id) from digest_runs group by digest)"
    )
    return {row["digest"]: row for row in rows}
