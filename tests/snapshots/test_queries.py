"""The snapshot tables: round trips, trends, history, and crash safety."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.check.samples import agent_states_report, csat_report, livechat_report
from bot.db import inserted, open_db, writing
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import away_share, compare, csat_rows, states_rows
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


def insert_all(db: Database, run: dict[str, Any], rows: list[dict[str, Any]]) -> int:
    """How `save_snapshot` wrote through sqlite-utils before: what it must still write."""
    with writing(db):
        run_id = inserted(db, "snapshot_runs", run)
        db.table("snapshots").insert_all(
            ({**row, "run_id": run_id} for row in rows), batch_size=500
        )
    return run_id


ODD = 'O\'Brien "Bob" Ñ 😀'  # quotes, beyond ASCII, beyond the BMP
MIXED = [
    csat_row("", 100, 80), states_row("7", 60, 6), csat_row("11", 60, 50),
    {"entity_kind": "agent", "entity_id": ODD, "entity_name": ODD, "score": None},
    {"entity_id": "9", "entity_kind": "skill", "answers": 2**62},  # the same keys, reordered
    {**csat_row("12", 5, 5), "run_id": 999}, csat_row("13", 7, 1),
]  # fmt: skip


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(csat_rows(csat_report(rows=40, agents=7)), id="csat by skill"),
        pytest.param(csat_rows(livechat_report()), id="good and bad"),
        pytest.param(states_rows(agent_states_report(agents=30)), id="availability"),
        pytest.param(MIXED, id="shapes mixed, a row's own run_id"),
        pytest.param([csat_row(str(i), 10 + i, i) for i in range(1200)], id="past a batch"),
    ],
)
def test_save_snapshot_writes_what_sqlite_utils_wrote_column_for_column(
    rows: list[dict[str, Any]],
) -> None:
    mine, theirs = open_db(":memory:"), open_db(":memory:")
    try:
        run = run_for("2026-03-02T08:00:00+00:00")
        insert_all(theirs, run, [csat_row("0", 1, 1)])  # not the first run in either file
        snapshots.save_snapshot(mine, run, [csat_row("0", 1, 1)])
        assert snapshots.save_snapshot(mine, run, iter(rows)) == insert_all(theirs, run, rows)
        select = "select *, typeof(score), typeof(answers) from snapshots order by id"
        assert mine.execute(select).fetchall() == theirs.execute(select).fetchall()
        assert not mine.conn.in_transaction
    finally:
        mine.close()
        theirs.close()


def test_a_key_the_table_has_no_column_for_is_refused_and_nothing_kept(
    fresh_db: Database,
) -> None:
    rows = [csat_row("11", 60, 50), {**csat_row("12", 5, 5), "mood": "fine"}]
    with pytest.raises(sqlite3.OperationalError, match="no column named mood"):
        snapshots.save_snapshot(fresh_db, run_for("2026-03-02T08:00:00+00:00"), rows)
    assert fresh_db.execute("select count(*) from snapshot_runs").fetchone() == (0,)
    assert fresh_db.execute("select count(*) from snapshots").fetchone() == (0,)


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


@pytest.mark.parametrize("kind", ["csat", "availability"])
def test_compared_rows_compare_as_the_whole_rows_do(fresh_db: Database, kind: str) -> None:
    """What a digest reads of the run before is enough for the comparison: the same changes."""
    rows = (
        csat_rows(csat_report())
        if kind == "csat"
        else [*states_rows(agent_states_report()), {**states_row("9", 0, 0), "states": None}]
    )
    run_id = snapshots.save_snapshot(
        fresh_db, run_for("2026-03-02T08:00:00+00:00", kind=kind), rows
    )
    current = [{**row, "answers": 1, "logged_in": 10, "states": "{}"} for row in rows]
    for now in (rows, current):
        expected = compare(now, snapshots.run_rows(fresh_db, run_id))
        assert compare(now, snapshots.compared_rows(fresh_db, run_id)) == expected
    assert any(c.answers or c.logged_in or c.away_share_points for c in expected.values())
    assert snapshots.compared_rows(fresh_db, run_id + 1) == {}


@pytest.mark.parametrize(
    "states",
    [
        '{"online": 3000, "away": 600}',
        '{"online": 3000, "away": 0, "not_accepting": 50}',  # Away first, as away_seconds
        '{"accepting": 100, "not_accepting": 50}',  # LiveChat
        '{"online": 3000}',
        '{"away": null, "not_accepting": 7}',
        '{"away": 1.5}',
        "{}",
        "[600]",
        '{"away": 9223372036854775807}',
        None,
    ],
)
def test_compared_rows_find_seconds_away_as_away_share_does(
    fresh_db: Database, states: str | None
) -> None:
    row = {**states_row("1001", 3600, 0), "states": states}
    run_id = snapshots.save_snapshot(fresh_db, run_for("2026-03-02T08:00:00+00:00"), [row])
    (read,) = snapshots.compared_rows(fresh_db, run_id).values()
    assert away_share(read) == away_share(row)


def test_compared_rows_read_states_that_are_not_json_as_no_time_away(fresh_db: Database) -> None:
    row = {**states_row("1001", 3600, 0), "states": '{"away": '}
    run_id = snapshots.save_snapshot(fresh_db, run_for("2026-03-02T08:00:00+00:00"), [row])
    assert snapshots.compared_rows(fresh_db, run_id)[("agent", "1001")]["away_seconds"] is None


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
