"""The snapshot tables: round trips, trends, history, and crash safety."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.db import open_db
from bot.snapshots import queries as snapshots
from tests.fakes.process import ROOT, clean_env
from tests.snapshots.sample import SERIES, csat_row, run_for, states_row

# --- snapshots ------------------------------------------------------------------------------


def test_save_snapshot_stores_the_run_and_every_row(fresh_db: Database) -> None:
    run = run_for("2026-03-02T08:00:00+00:00")
    rows = [csat_row("", 100, 80), csat_row("11", 60, 50), csat_row("12", 40, 30)]
    run_id = snapshots.save_snapshot(fresh_db, run, iter(rows))  # any iterable, even one pass
    assert list(fresh_db.query("select * from snapshot_runs")) == [{"id": run_id, **run}]
    empty = dict.fromkeys(fresh_db.table("snapshots").columns_dict)
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


def test_trend_is_oldest_first_limited_and_per_entity(fresh_db: Database) -> None:
    taken = [f"2026-03-0{d}T08:00:00+00:00" for d in range(1, 6)]
    for day, moment in enumerate(taken, start=1):
        snapshots.save_snapshot(
            fresh_db, run_for(moment), [csat_row("", 100, 70 + day), csat_row("11", 10, day)]
        )
    snapshots.save_snapshot(fresh_db, run_for(taken[-1], series="digest:x"), [csat_row("", 5, 1)])
    empty = dict.fromkeys(fresh_db.table("snapshots").columns_dict)
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
from bot.db import open_db
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
    db = open_db(str(path))
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
