"""The SQLite store: schema and migrations, round trips, exactly-once claims, crash safety
and concurrent use from threads and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
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
from tests.fakes.process import ROOT, clean_env

SERIES = "digest:csat-daily"


@pytest.fixture
def fresh_db() -> Iterator[Database]:
    db = db_module.open_db(":memory:")
    yield db
    db.close()


def run_for(taken_at: str, series: str = SERIES, **extra: Any) -> dict[str, Any]:
    return {
        "series": series,
        "source": "liveperson",
        "kind": "csat",
        "scope": "skill",
        "window_start": "2026-03-01T08:00:00+00:00",
        "window_end": taken_at,
        "taken_at": taken_at,
        "digest": "csat-daily",
        **extra,
    }


def csat_row(entity_id: str, answers: int, positive: int) -> dict[str, Any]:
    kind = "total" if entity_id == "" else "skill"
    scores = (1, 1, answers - positive - 2, positive // 2, positive - positive // 2)
    return {
        "entity_kind": kind,
        "entity_id": entity_id,
        "entity_name": "Total" if kind == "total" else f"Skill {entity_id}",
        "answers": answers,
        "positive": positive,
        "score": positive / answers,
        **{f"s{i}": n for i, n in enumerate(scores, start=1)},
    }


def states_row(entity_id: str, logged_in: int, away: int) -> dict[str, Any]:
    return {
        "entity_kind": "agent",
        "entity_id": entity_id,
        "entity_name": f"Agent {entity_id}",
        "logged_in": logged_in,
        "chatting": logged_in // 2,
        "states": json.dumps({"Online": logged_in - away, "Away": away}),
        "reasons": json.dumps({"Reason 7": away}),
    }


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
    }  # fmt: skip
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


# --- snapshots ------------------------------------------------------------------------------


def test_save_snapshot_stores_the_run_and_every_row(fresh_db: Database) -> None:
    run = run_for("2026-03-02T08:00:00+00:00")
    rows = [csat_row("", 100, 80), csat_row("11", 60, 50), csat_row("12", 40, 30)]
    run_id = snapshots.save_snapshot(fresh_db, run, iter(rows))  # any iterable, even one pass
    assert list(fresh_db.query("select * from snapshot_runs")) == [{"id": run_id, **run}]
    empty = dict.fromkeys(snapshot_columns(fresh_db))
    expected = {
        (row["entity_kind"], row["entity_id"]): {
            **empty, **row, "id": i, "run_id": run_id, "states": {}, "reasons": {}
        }
        for i, row in enumerate(rows, start=1)
    }  # fmt: skip
    assert snapshots.run_rows(fresh_db, run_id) == expected


def test_run_rows_decode_states_and_reasons(fresh_db: Database) -> None:
    rows = [states_row("1001", 3600, 600), states_row("1002", 1800, 0)]
    run_id = snapshots.save_snapshot(
        fresh_db, run_for("2026-03-02T08:00:00+00:00", kind="availability", scope="agent"), rows
    )
    found = snapshots.run_rows(fresh_db, run_id)
    assert {key: (r["states"], r["reasons"]) for key, r in found.items()} == {
        ("agent", "1001"): ({"Online": 3000, "Away": 600}, {"Reason 7": 600}),
        ("agent", "1002"): ({"Online": 1800, "Away": 0}, {"Reason 7": 0}),
    }
    assert snapshots.run_rows(fresh_db, run_id + 1) == {}


def test_previous_run_is_the_latest_of_its_series(fresh_db: Database) -> None:
    assert snapshots.previous_run(fresh_db, SERIES) is None
    monday = snapshots.save_snapshot(fresh_db, run_for("2026-03-02T08:00:00+00:00"), [])
    tuesday = snapshots.save_snapshot(fresh_db, run_for("2026-03-03T08:00:00+00:00"), [])
    snapshots.save_snapshot(fresh_db, run_for("2026-03-01T08:00:00+00:00"), [])  # stored late
    snapshots.save_snapshot(fresh_db, run_for("2026-03-09T08:00:00+00:00", series="digest:x"), [])
    assert snapshots.previous_run(fresh_db, SERIES) == {
        "id": tuesday,
        **run_for("2026-03-03T08:00:00+00:00"),
    }
    # two runs with the same vendor time (one 5-minute bucket): the later stored wins
    again = snapshots.save_snapshot(fresh_db, run_for("2026-03-03T08:00:00+00:00"), [])
    assert snapshots.previous_run(fresh_db, SERIES)["id"] == again  # type: ignore[index]
    assert monday < tuesday < again


def test_trend_is_oldest_first_limited_and_per_entity(fresh_db: Database) -> None:
    taken = [f"2026-03-0{d}T08:00:00+00:00" for d in range(1, 6)]
    for day, moment in enumerate(taken, start=1):
        snapshots.save_snapshot(
            fresh_db, run_for(moment), [csat_row("", 100, 70 + day), csat_row("11", 10, day)]
        )
    snapshots.save_snapshot(fresh_db, run_for(taken[-1], series="digest:x"), [csat_row("", 5, 1)])
    empty = dict.fromkeys(snapshot_columns(fresh_db))
    expected = [
        {"taken_at": moment, "window_end": moment,
         **empty, **csat_row("", 100, 70 + day), "id": 2 * day - 1, "run_id": day}
        for day, moment in enumerate(taken, start=1)
    ]  # fmt: skip
    assert snapshots.trend(fresh_db, SERIES, "total", "") == expected
    assert snapshots.trend(fresh_db, SERIES, "total", "", limit=2) == expected[-2:]
    assert [p["positive"] for p in snapshots.trend(fresh_db, SERIES, "skill", "11")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert snapshots.trend(fresh_db, SERIES, "skill", "99") == []


# --- digest runs ------------------------------------------------------------------------------


def test_claim_run_claims_a_scheduled_time_once(fresh_db: Database) -> None:
    key = "2026-03-02T09:00 Europe/Berlin"
    first = runs.claim_run(fresh_db, "csat-daily", key, "C0123456789")
    assert isinstance(first, int)
    assert runs.claim_run(fresh_db, "csat-daily", key, "C0123456789") is None
    other = runs.claim_run(fresh_db, "availability-daily", key, "C0123456789")
    assert isinstance(other, int) and other != first
    (row,) = fresh_db.query("select * from digest_runs where id = ?", [first])
    started = row.pop("started_at")
    assert row == {
        "id": first, "digest": "csat-daily", "scheduled_for": key, "status": "running",
        "finished_at": None, "error": None, "channel": "C0123456789", "message_ts": None,
    }  # fmt: skip
    assert started.endswith("+00:00")


def test_finish_run_records_the_outcome(fresh_db: Database) -> None:
    posted = runs.claim_run(fresh_db, "csat-daily", "2026-03-02T09:00 Europe/Berlin", "C1")
    failed = runs.claim_run(fresh_db, "csat-daily", "2026-03-03T09:00 Europe/Berlin", "C1")
    assert posted is not None and failed is not None
    runs.finish_run(fresh_db, posted, "posted", message_ts="1700000000.000100")
    runs.finish_run(fresh_db, failed, "failed", error="LivePerson is unavailable")
    rows = {
        r["id"]: (r["status"], r["error"], r["message_ts"], bool(r["finished_at"]))
        for r in fresh_db.query("select * from digest_runs")
    }
    assert rows == {
        posted: ("posted", "", "1700000000.000100", True),
        failed: ("failed", "LivePerson is unavailable", "", True),
    }


def test_last_scheduled_is_the_latest_claimed_time(fresh_db: Database) -> None:
    assert runs.last_scheduled(fresh_db, "csat-daily") is None
    for key in ("2026-03-02T09:00 Europe/Berlin", "2026-03-04T09:00 Europe/Berlin",
                "2026-03-03T09:00 Europe/Berlin"):  # fmt: skip
        runs.claim_run(fresh_db, "csat-daily", key, "C1")
    runs.claim_run(fresh_db, "other", "2026-03-09T09:00 Europe/Berlin", "C1")
    assert runs.last_scheduled(fresh_db, "csat-daily") == "2026-03-04T09:00 Europe/Berlin"


def test_last_scheduled_ignores_manual_runs(fresh_db: Database) -> None:
    runs.claim_run(fresh_db, "csat-daily", "2026-03-02T09:00 Europe/Berlin", "C1")
    runs.claim_run(fresh_db, "csat-daily", "manual 2026-03-03T10:00:00+00:00", "C1")
    assert runs.last_scheduled(fresh_db, "csat-daily") == "2026-03-02T09:00 Europe/Berlin"


# --- crash safety -----------------------------------------------------------------------


def test_a_failing_rows_iterator_leaves_no_run_and_no_rows(fresh_db: Database) -> None:
    kept = snapshots.save_snapshot(
        fresh_db, run_for("2026-03-02T08:00:00+00:00"), [csat_row("", 9, 8)]
    )

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(1200):  # past two insert batches of 500
            if i == 1100:
                raise RuntimeError("the vendor answer ran out half-way")
            yield csat_row(str(i), 10, 5)

    with pytest.raises(RuntimeError, match="half-way"):
        snapshots.save_snapshot(fresh_db, run_for("2026-03-03T08:00:00+00:00"), rows())
    assert [r["id"] for r in fresh_db.query("select id from snapshot_runs")] == [kept]
    assert fresh_db.execute("select count(*), max(run_id) from snapshots").fetchone() == (1, kept)
    assert not fresh_db.conn.in_transaction


CRASHING_CHILD = r"""
import json, os, signal, sys
from bot import db as db_module
from bot.digests import queries as runs
from bot.snapshots import queries as snapshots

db = db_module.open_db(sys.argv[1])
base = {"series": "digest:csat-daily", "source": "liveperson", "kind": "availability",
        "scope": "agent", "digest": "csat-daily"}
snapshots.save_snapshot(db, {**base, "taken_at": "2026-03-02T08:00:00+00:00"},
                    [{"entity_kind": "total", "entity_id": "", "logged_in": 7200}])
print("committed", flush=True)
filler = json.dumps({f"Reason {i}": i for i in range(300)})  # ~5 kB a row: pages spill

def rows():
    for i in range(3000):
        if i == 2500:  # deep inside the transaction, after several batches were written
            os.kill(os.getpid(), signal.SIGKILL)
        yield {"entity_kind": "agent", "entity_id": str(i), "logged_in": i, "reasons": filler}

snapshots.save_snapshot(db, {**base, "taken_at": "2026-03-03T08:00:00+00:00"}, rows())
print("not reached", flush=True)
"""


@pytest.mark.e2e
def test_a_process_killed_mid_write_loses_only_the_unfinished_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, str(path)],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.returncode == -9, child.stderr
    assert child.stdout == "committed\n"
    db = db_module.open_db(str(path))
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    runs = [(r["id"], r["taken_at"]) for r in db.query("select * from snapshot_runs")]
    assert runs == [(1, "2026-03-02T08:00:00+00:00")]
    rows = [
        (r["run_id"], r["entity_kind"], r["logged_in"]) for r in db.query("select * from snapshots")
    ]
    assert rows == [(1, "total", 7200)]
    # and the file takes new writes after recovery
    assert snapshots.save_snapshot(db, run_for("2026-03-04T08:00:00+00:00"), []) == 2
    db.close()


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
