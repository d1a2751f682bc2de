"""The SQLite store: schema and migrations, and one connection serving threads, the event
loop and other processes at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot import db as db_module
from bot.alerts.detect import Reason
from bot.alerts.queries import get_alert
from bot.db import Store
from bot.digests import queries as runs
from bot.snapshots import queries as snapshots
from tests.snapshots.sample import SERIES, csat_row, run_for


def snapshot_columns(db: Database) -> list[str]:
    return list(db["snapshots"].columns_dict)


def registered_migrations() -> list[str]:
    """Every migration the bot defines, in order (pending on an empty database)."""
    return [m.name for m in db_module.migrations.pending(Database(memory=True))]


# --- schema and migrations --------------------------------------------------------------


def test_migrations_create_the_documented_tables_and_indexes(fresh_db: Database) -> None:
    assert {"snapshot_runs", "snapshots", "digest_runs"} <= set(fresh_db.table_names())
    assert fresh_db["snapshot_runs"].columns_dict == {
        "id": int, "series": str, "source": str, "kind": str, "scope": str,
        "window_start": str, "window_end": str, "taken_at": str, "digest": str,
    }  # fmt: skip
    assert fresh_db["snapshots"].columns_dict == {
        "id": int, "run_id": int, "entity_kind": str, "entity_id": str, "entity_name": str,
        "answers": int, "positive": int, "score": float,
        "s1": int, "s2": int, "s3": int, "s4": int, "s5": int,
        "good": int, "bad": int, "chats": int,
        "logged_in": int, "chatting": int, "states": str, "reasons": str,
    }  # fmt: skip
    assert fresh_db["digest_runs"].columns_dict == {
        "id": int, "digest": str, "scheduled_for": str, "status": str, "started_at": str,
        "finished_at": str, "error": str, "channel": str, "message_ts": str,
        "snapshot_run_id": int,
    }  # fmt: skip
    assert fresh_db["health"].columns_dict == {"id": int, "written_at": str}
    indexes = {
        table: {(tuple(i.columns), bool(i.unique)) for i in fresh_db[table].indexes}
        for table in ("snapshot_runs", "snapshots", "digest_runs")
    }
    assert indexes == {
        "snapshot_runs": {(("series", "taken_at"), False)},
        "snapshots": {(("run_id", "entity_kind", "entity_id"), False)},
        "digest_runs": {(("digest", "scheduled_for"), True)},
    }


def test_migrations_are_idempotent_on_a_file(tmp_path: Path) -> None:
    path = str(tmp_path / "bot.db")
    first = db_module.open_db(path)
    snapshots.save_snapshot(first, run_for("2026-03-02T08:00:00+00:00"), [csat_row("", 10, 8)])
    first.close()
    again = db_module.open_db(path)  # a restart: nothing re-created, nothing lost
    applied = [
        (r["migration_set"], r["name"])
        for r in again.query("select migration_set, name from _sqlite_migrations order by id")
    ]
    assert applied == [("csat-bot", name) for name in registered_migrations()]
    assert registered_migrations()[0] == "m001_snapshots_and_runs"
    assert again.execute("select count(*) from snapshots").fetchone() == (1,)
    assert db_module.migrations.pending(again) == []
    again.close()


def test_a_database_from_before_ids_keeps_working(tmp_path: Path) -> None:
    """m004: labels and made-up names become ids; an old alert keeps its sentence."""
    path = str(tmp_path / "old.db")
    old = Database(path)
    db_module.migrations.apply(old, stop_before="m004_ids_not_labels")
    run = {"id": 1, "series": SERIES, "source": "liveperson", "kind": "availability",
           "scope": "agent", "taken_at": "x"}  # fmt: skip
    old["snapshot_runs"].insert(run)
    legacy = [
        ("total", "", "Team", {"Online": 10, "Away": 5}, {"Reason 26": 5}),
        ("agent", "1004", "Agent 1004", {"Back soon": 1, "State 7": 2, "Lunch": 3}, {}),
        ("agent", "a@x.com", "a@x.com", {"Accepting chats": 1, "Not accepting": 2}, {}),
        ("skill", "12", "Skill 12", None, None),
        ("skill", "-1", "Unassigned", None, None),
        ("skill_agent", "12:1004", "Agent 1004 in Skill 12", None, None),
        ("skill", "13", "Billing", None, None),  # a name a vendor gave stays
    ]
    for kind, id, name, states, reasons in legacy:
        old["snapshots"].insert({
            "run_id": 1, "entity_kind": kind, "entity_id": id, "entity_name": name,
            "states": json.dumps(states) if states is not None else None,
            "reasons": json.dumps(reasons) if reasons is not None else None,
        })  # fmt: skip
    alert = {"problem": "p", "status": "firing", "opened_at": "x", "entity_kind": "skill",
             "entity_id": "12", "entity_name": "Skill 12",
             "last_reason": "down 24.1 points from the previous snapshot"}  # fmt: skip
    old["alerts"].insert(alert)
    old.close()
    db = db_module.open_db(path)
    rows = list(db.query(
        "select entity_name, states, reasons from snapshots order by id"
    ))  # fmt: skip
    assert [r["entity_name"] for r in rows] == [None, None, "a@x.com", None, None, None, "Billing"]
    assert [json.loads(r["states"]) if r["states"] else None for r in rows[:3]] == [
        {"online": 10, "away": 5},
        {"back_soon": 1, "state:7": 2, "Lunch": 3},
        {"accepting": 1, "not_accepting": 2},
    ]
    assert json.loads(rows[0]["reasons"]) == {"26": 5}
    found = get_alert(db, 1)
    assert found is not None
    assert found["entity_name"] is None
    assert found["last_reason"] == Reason(
        "text", {"text": "down 24.1 points from the previous snapshot"}
    )


def test_a_database_from_before_the_detractor_loop_keeps_its_responses(tmp_path: Path) -> None:
    """m011: who took and handled each detractor, where its message is; every click; each
    message and whether it called in the leads. A detractor posted before it has none."""
    path = str(tmp_path / "old.db")
    old = Database(path)
    db_module.migrations.apply(old, stop_before="m011_detractor_loop")
    old["responses"].insert({"id": "r1", "ticket_id": "T1", "submitted_at": "x", "agent": "a",
                             "score": 1, "score5": 1, "raw": "{}", "alerted_at": "y"})  # fmt: skip
    old.close()
    db = db_module.open_db(path)
    row = next(db.query("select * from responses"))
    assert {k: row[k] for k in ("id", "alerted_at", "taken_by", "handled_by", "message_ts")} == {
        "id": "r1", "alerted_at": "y", "taken_by": None, "handled_by": None, "message_ts": None
    }  # fmt: skip
    assert {"taken_at", "handled_at", "handled_note", "message_channel"} <= set(row)
    assert db["detractor_events"].columns_dict == {
        "id": int, "response_id": str, "at": str, "user": str, "action": str, "note": str,
        "user_name": str,
    }  # fmt: skip
    assert db["detractor_messages"].columns_dict == {
        "id": int, "channel": str, "ts": str, "posted_at": str, "mentioned": int, "held": str,
        "called_at": str, "more": int,
    }  # fmt: skip
    indexes = {t: {(tuple(i.columns), bool(i.unique)) for i in db[t].indexes}
               for t in ("detractor_events", "detractor_messages")}  # fmt: skip
    assert indexes == {
        "detractor_events": {(("response_id", "id"), False)},
        "detractor_messages": {(("channel", "ts"), True), (("mentioned", "posted_at"), False)},
    }
    db.close()


def test_a_database_from_before_links_gives_posted_runs_their_snapshot(tmp_path: Path) -> None:
    """m006: a posted run shows the latest snapshot of its digest taken before it finished."""
    path = str(tmp_path / "old.db")
    old = Database(path)
    db_module.migrations.apply(old, stop_before="m006_digest_runs_snapshot")
    for day in (2, 3, 4):
        old["snapshot_runs"].insert(
            {
                "series": SERIES,
                "source": "liveperson",
                "kind": "csat",
                "scope": "skill",
                "taken_at": f"2026-03-0{day}T08:00:00",
            }
        )
    old["snapshot_runs"].insert(
        {
            "series": "digest:other",
            "source": "liveperson",
            "kind": "csat",
            "scope": "skill",
            "taken_at": "2026-03-04T08:00:30",
        }
    )
    for day, status in ((2, "posted"), (3, "failed"), (4, "posted")):
        old["digest_runs"].insert(
            {
                "digest": "csat-daily",
                "scheduled_for": f"d{day}",
                "status": status,
                "finished_at": f"2026-03-0{day}T08:01:00",
            }
        )
    old.close()
    db = db_module.open_db(path)
    assert [(r["status"], r["snapshot_run_id"]) for r in
            db.query("select status, snapshot_run_id from digest_runs order by id")] == [
        ("posted", 1), ("failed", None), ("posted", 3),
    ]  # fmt: skip
    assert runs.last_shown(db, "csat-daily")["id"] == 3  # type: ignore[index]


def test_file_databases_are_wal_durable_and_enforce_foreign_keys(tmp_path: Path) -> None:
    db = db_module.open_db(str(tmp_path / "bot.db"))
    pragmas = {
        name: db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                       "busy_timeout": 5000}  # fmt: skip
    db.close()


def test_a_row_for_a_missing_run_is_refused(fresh_db: Database) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"):
        fresh_db["snapshots"].insert({"run_id": 99, "entity_kind": "total", "entity_id": ""})


# --- concurrency --------------------------------------------------------------------------


def test_store_serves_many_threads_at_once(tmp_path: Path) -> None:
    subject = Store(str(tmp_path / "bot.db"))
    threads: set[str] = set()

    def write(i: int) -> int | None:
        def fn(db: Database) -> int | None:
            threads.add(threading.current_thread().name)
            snapshots.save_snapshot(
                db, run_for(f"2026-03-02T08:{i:02d}:00+00:00"), [csat_row("", 10 + i, 5)]
            )
            return runs.claim_run(db, "csat-daily", f"2026-03-02T08:{i:02d} UTC", "C1")

        return subject.sync(fn)

    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(write, range(40)))
    assert all(isinstance(c, int) for c in claims) and len(set(claims)) == 40
    counts = subject.sync(lambda db: db.execute(
        "select (select count(*) from snapshot_runs), (select count(*) from snapshots), "
        "(select count(*) from digest_runs)").fetchone())  # fmt: skip
    assert counts == (40, 40, 40)
    assert len(threads) == 1 and threads.pop().startswith("store")  # one owner thread
    subject.close()


@pytest.mark.anyio
async def test_store_serves_the_event_loop_and_threads_together(tmp_path: Path) -> None:
    subject = Store(str(tmp_path / "bot.db"))
    key = "2026-03-02T09:00 Europe/Berlin"

    async def from_loop(i: int) -> int:
        return await subject(
            lambda db: snapshots.save_snapshot(db, run_for(f"2026-03-02T09:{i:02d}:00+00:00"), [])
        )

    def from_thread(i: int) -> int | None:
        return subject.sync(lambda db: runs.claim_run(db, "csat-daily", key, "C1"))

    with ThreadPoolExecutor(4) as pool:
        claims = pool.map(from_thread, range(20))
        ids = await asyncio.gather(*(from_loop(i) for i in range(30)))
        claimed = list(claims)
    assert sorted(ids) == list(range(1, 31))
    assert len([c for c in claimed if c is not None]) == 1  # the same time: claimed once
    assert await subject(
        lambda db: db.execute("select count(*) from snapshot_runs").fetchone()
    ) == (30,)
    subject.close()


WRITES: dict[str, Any] = {
    "save_snapshot": lambda db: snapshots.save_snapshot(
        db, run_for("2026-03-02T09:00:00+00:00"), [csat_row("", 10, 8)]
    ),
    "claim_run": lambda db: runs.claim_run(db, "csat-daily", "2026-03-02T09:00 UTC", "C1"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_survives_another_process_committing_meanwhile(tmp_path: Path, write: str) -> None:
    """Two processes, interleaved on purpose: the other one writes just before our INSERT.

    Today the other commit lands at once and our INSERT fails; with BEGIN IMMEDIATE the
    other writer waits for our commit instead (the join below stops waiting after 1 s).
    """
    path = str(tmp_path / "bot.db")
    mine = db_module.open_db(path)
    other_process = ThreadPoolExecutor(1)  # its own connection, on its own thread
    their_write: list[Future[int]] = []

    def write_theirs() -> int:
        theirs = db_module.open_db(path)
        try:
            return snapshots.save_snapshot(theirs, run_for("2026-03-01T09:00:00+00:00", "x"), [])
        finally:
            theirs.close()

    def other_process_commits(sql: str, params: Any) -> None:
        if sql.startswith("INSERT") and not their_write:
            their_write.append(other_process.submit(write_theirs))
            with contextlib.suppress(TimeoutError):
                their_write[0].result(timeout=1.0)

    try:
        with mine.tracer(other_process_commits):
            result = WRITES[write](mine)
        assert isinstance(result, int)
        assert isinstance(their_write[0].result(), int)
        counts = mine.execute(
            "select (select count(*) from snapshot_runs), (select count(*) from digest_runs)"
        ).fetchone()
        assert counts == ((2, 0) if write == "save_snapshot" else (1, 1))
    finally:
        mine.close()
        other_process.shutdown()
