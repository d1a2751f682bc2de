"""SQLite through sqlite-utils: migrations, snapshots and digest runs.

One connection, owned by one thread: `Store` runs every function on its own worker
thread, so the connection never crosses threads whether the caller is the event loop
(`await store(fn)`), the scheduler or the CLI (`store.sync(fn)`). Writes are grouped
with `db.atomic()`; WAL with `synchronous=FULL` means a committed write survives a crash
and a crash mid-write leaves the previous state. The schema is in docs/storage.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

T = TypeVar("T")
migrations = Migrations("csat-bot")


@migrations()
def m001_snapshots_and_runs(db: Database) -> None:
    db["snapshot_runs"].create(
        {"id": int, "series": str, "source": str, "kind": str, "scope": str,
         "window_start": str, "window_end": str, "taken_at": str, "digest": str},
        pk="id", not_null={"series", "source", "kind", "scope", "taken_at"},
    )  # fmt: skip
    db["snapshot_runs"].create_index(["series", "taken_at"])
    db["snapshots"].create(
        {"id": int, "run_id": int, "entity_kind": str, "entity_id": str, "entity_name": str,
         "answers": int, "positive": int, "score": float,
         "s1": int, "s2": int, "s3": int, "s4": int, "s5": int,
         "good": int, "bad": int, "chats": int,
         "logged_in": int, "chatting": int, "states": str, "reasons": str},
        pk="id", foreign_keys=[("run_id", "snapshot_runs", "id")],
        not_null={"run_id", "entity_kind", "entity_id"},
    )  # fmt: skip
    db["snapshots"].create_index(["run_id", "entity_kind", "entity_id"])
    db["digest_runs"].create(
        {"id": int, "digest": str, "scheduled_for": str, "status": str, "started_at": str,
         "finished_at": str, "error": str, "channel": str, "message_ts": str},
        pk="id", not_null={"digest", "scheduled_for", "status"},
    )  # fmt: skip
    db["digest_runs"].create_index(["digest", "scheduled_for"], unique=True)


@migrations()
def m002_alerts(db: Database) -> None:
    db["alerts"].create(
        {"id": int, "problem": str, "source": str, "kind": str, "entity_kind": str,
         "entity_id": str, "entity_name": str, "metric": str, "status": str,
         "opened_at": str, "resolved_at": str, "channel": str, "ts": str,
         "opened_drop": float, "opened_against": float, "last_drop": float,
         "last_reason": str, "updates": int,
         "acked_by": str, "acked_at": str, "snoozed_until": str, "snoozed_by": str},
        pk="id", not_null={"problem", "status", "opened_at"},
    )  # fmt: skip
    db["alerts"].create_index(["problem", "id"])


@migrations()
def m003_responses_and_outbox(db: Database) -> None:
    """Survey responses the bot ingested, and the outbox that forwards them to MaestroQA."""
    db["responses"].create(
        {"id": str, "ticket_id": str, "submitted_at": str, "agent_id": str, "agent_email": str,
         "agent": str, "score": int, "min_score": int, "max_score": int, "score5": int,
         "comment": str, "score_label": str, "clarifying_answers": str, "raw": str,
         "received_at": str, "updated_at": str, "alerted_at": str},
        pk="id", not_null={"ticket_id", "submitted_at", "agent", "score", "score5", "raw"},
    )  # fmt: skip
    db["responses"].create_index(["ticket_id", "submitted_at"], unique=True)
    db["responses"].create_index(["submitted_at"])
    db["outbox"].create(
        {"id": int, "response_id": str, "payload": str, "status": str, "attempts": int,
         "next_attempt_at": str, "attempted_at": str, "last_error": str, "sent_at": str,
         "batch_id": str, "remote_id": str, "created_at": str},
        pk="id", foreign_keys=[("response_id", "responses", "id")],
        not_null={"response_id", "status", "next_attempt_at"},
    )  # fmt: skip
    db["outbox"].create_index(["response_id"], unique=True)
    db["outbox"].create_index(["status", "next_attempt_at"])


@contextmanager
def writing(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock first (BEGIN IMMEDIATE).

    sqlite-utils' atomic() begins deferred and reads before it writes; if another process
    (serve beside `python -m bot digest`, or the old and new process of a restart)
    commits in between, SQLite refuses at once instead of waiting. Taking the lock first
    makes the second writer wait its turn (busy_timeout).
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def open_db(path: str) -> Database:
    """The database at `path`, in WAL mode, durable on commit, migrated."""
    db = Database(path)
    if path != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    return db


class Store:
    """The database behind one worker thread; call functions of a `Database` through it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store")
        self._db: Database | None = None
        self.sync(lambda db: None)  # open and migrate now: errors surface at start-up

    def _run(self, fn: Callable[[Database], T]) -> T:
        if self._db is None:
            self._db = open_db(self.path)
        return fn(self._db)

    async def __call__(self, fn: Callable[[Database], T]) -> T:
        """Run `fn(db)` on the store's thread without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def sync(self, fn: Callable[[Database], T]) -> T:
        """Run `fn(db)` on the store's thread and wait (CLI, start-up)."""
        return self._executor.submit(self._run, fn).result()

    def close(self) -> None:
        def close(db: Database) -> None:
            db.close()
            self._db = None

        if self._db is not None:
            self.sync(close)
        self._executor.shutdown(wait=True)


def now_iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


# --- snapshots -------------------------------------------------------------------------


def save_snapshot(db: Database, run: dict[str, Any], rows: Iterable[dict[str, Any]]) -> int:
    """Store one snapshot (its run and every row) in one transaction; the run id."""
    with writing(db):
        run_id = db["snapshot_runs"].insert(run).last_pk
        db["snapshots"].insert_all(({**row, "run_id": run_id} for row in rows), batch_size=500)
    return int(run_id)


def previous_run(db: Database, series: str) -> dict[str, Any] | None:
    """The latest snapshot run of a series (read before storing the next one)."""
    found = list(db.query(
        "select * from snapshot_runs where series = ? order by taken_at desc, id desc limit 1",
        [series],
    ))  # fmt: skip
    return found[0] if found else None


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


# --- digest runs: exactly once per scheduled time ---------------------------------------------


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
            db["digest_runs"].update(
                exists[0]["id"], {"status": "running", "started_at": now_iso()}
            )
            return int(exists[0]["id"])
        if exists:
            return None
        return int(db["digest_runs"].insert({
            "digest": digest, "scheduled_for": scheduled_for, "status": "running",
            "started_at": now_iso(), "channel": channel,
        }).last_pk)  # fmt: skip


def finish_run(
    db: Database, run_id: int, status: str, error: str = "", message_ts: str = ""
) -> None:
    with writing(db):
        db["digest_runs"].update(run_id, {
            "status": status, "finished_at": now_iso(), "error": error, "message_ts": message_ts,
        })  # fmt: skip


def last_scheduled(db: Database, digest: str) -> str | None:
    """The latest scheduled time this digest was claimed for (ISO UTC)."""
    row = list(db.query(
        "select max(scheduled_for) as last from digest_runs "
        "where digest = ? and scheduled_for not like 'manual%'",
        [digest],
    ))  # fmt: skip
    return row[0]["last"] if row and row[0]["last"] else None
