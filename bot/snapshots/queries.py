"""The snapshot tables: one run per snapshot taken, one row per entity in it.

Every function takes the `Database` and runs on the store's thread (`await store(fn)`).

The drop alerts' history (`series_past`, `series_history`) pools only snapshots whose
windows overlap neither the current run's nor each other's (`disjoint_runs`): a watch
every 15 minutes over 24 hours would otherwise count the same answers in ninety-odd
snapshots of a day and look far more certain than it is. Windows that overlap by at most
`overlap_tolerance` (5 minutes, or 2 % of the current window if longer) count as apart: a
daily digest that ran a few seconds late still compares with yesterday's, and LivePerson
starts its windows on a 5-minute bucket.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any, NamedTuple

from sqlite_utils import Database

from bot.db import inserted, writing


def _away_seconds(states: str) -> str:
    """SQL for the seconds away in a `states` column, as `metrics.away_seconds` reads them:
    Away, else Not accepting (LiveChat); NULL when neither is there or it is not JSON."""
    return (
        f"case when json_valid({states}) then case when json_type({states}, '$.away') is not null"
        f" then json_extract({states}, '$.away') else json_extract({states}, '$.not_accepting')"
        " end end"
    )


def save_snapshot(db: Database, run: dict[str, Any], rows: Iterable[dict[str, Any]]) -> int:
    """Store one snapshot (its run and every row) in one transaction; the run id.

    Rows go in by a plain `executemany`, one per run of rows with the same keys (`rows.py`
    gives every row of a report the same ones): sqlite-utils' insert_all looks at every
    value of every row and took two to three times as long. Values are stored as they
    are (text, numbers, None: `states` and `reasons` are JSON text already); a key the
    table has no column for is refused as SQLite refuses it.
    """
    with writing(db):
        run_id = inserted(db, "snapshot_runs", run)
        for keys, same in groupby(rows, tuple):
            columns = [key for key in keys if key != "run_id"]
            names = ", ".join(_quoted(c) for c in [*columns, "run_id"])
            sql = f"insert into snapshots ({names}) values ({'?, ' * len(columns)}?)"
            if len(columns) == len(keys):  # the values in key order, the run id last
                db.conn.executemany(sql, ([*row.values(), run_id] for row in same))
            else:  # a row's own run_id is overridden, as before
                db.conn.executemany(sql, ([*map(row.get, columns), run_id] for row in same))
    return run_id


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_rows(db: Database, run_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    """A run's rows keyed by (entity_kind, entity_id), JSON columns decoded."""
    rows = {}
    for row in db.query("select * from snapshots where run_id = ?", [run_id]):
        for key in ("states", "reasons"):
            row[key] = json.loads(row[key]) if row.get(key) else {}
        rows[(row["entity_kind"], row["entity_id"])] = row
    return rows


def compared_rows(db: Database, run_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    """A run's rows as `rows.compare` reads them: the values it compares, no more.

    A digest compares every entity with the digest before it: for 20,000 agents, reading
    every column and decoding two JSON columns per row (`run_rows`) cost more than the
    comparison itself. SQLite finds each row's seconds away in its `states` as it reads
    it (as `metrics.away_seconds` does: Away, else Not accepting), here on the store's
    thread while the vendor answers, not in the comparison.
    """
    cursor = db.conn.execute(
        "select entity_kind, entity_id, score, answers, logged_in, "
        f"{_away_seconds('states')} from snapshots where run_id = ?",
        [run_id],
    )
    return {
        (kind, id): {"score": score, "answers": answers, "logged_in": logged, "away_seconds": away}
        for kind, id, score, answers, logged, away in cursor
    }


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


# The run walk reads at most this many earlier runs of a series: with a watch every
# 15 minutes, 200 days of them. Beyond it the history is not looked at.
WALK_LIMIT = 20_000
OVERLAP_AT_LEAST = timedelta(minutes=5)  # LivePerson's buckets
OVERLAP_SHARE = 0.02  # of the current window's length, when that is more
OVERLAP_MOST = 0.1  # of the shorter window: the most two windows may overlap and be apart


def overlap_tolerance(length: timedelta, other: timedelta | None = None) -> timedelta:
    """How much two windows may overlap and still count as apart, for a current window this
    long: 5 minutes, or 2 % of it when that is more (28.8 minutes of 24 hours); never more
    than a tenth of the shorter of the two (`other`: the earlier one), so short windows
    that overlap by half are never pooled."""
    shorter = length if other is None else min(length, other)
    return min(max(OVERLAP_AT_LEAST, length * OVERLAP_SHARE), shorter * OVERLAP_MOST)


def disjoint(
    start: datetime, end: datetime,
    earlier: Iterable[tuple[int, datetime | None, datetime | None]], runs: int,
) -> list[int]:  # fmt: skip
    """Pure: the ids of up to `runs` earlier windows, newest first, apart from [start, end]
    and from each other.

    `earlier` is (id, start, end) newest first. Walking back, a window is taken when it ends
    at or before the start of the one taken last (at first the current one), give or take
    `overlap_tolerance` of the current window; one that cannot be read (None) is passed by.
    """
    boundary, chosen = start, list[int]()
    for id, begins, ends in earlier:
        if len(chosen) >= runs:
            break
        if begins is None or ends is None:
            continue
        if ends <= boundary + overlap_tolerance(end - start, ends - begins):
            chosen.append(id)
            boundary = min(boundary, begins)  # never forward, whatever a window says
    return chosen


def _moment(text: str | None) -> datetime | None:
    """A stored moment (UTC ISO 8601; one without an offset read as UTC), None unreadable."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


# A run without a window (rows from before windows were kept) stands for the moment it was
# taken: such runs are apart from each other by `taken_at` alone, and pooled as they were.
_WINDOW = "coalesce(window_start, taken_at), coalesce(window_end, taken_at)"


def disjoint_runs(db: Database, series: str, before_run: int, runs: int) -> list[int]:
    """The ids of up to `runs` snapshots of a series before `before_run`, newest first,
    whose windows overlap neither `before_run`'s nor each other's (`disjoint`).

    Reads only ids and windows, newest first through the (series, taken_at) index, and
    stops once it has `runs` of them (at most `WALK_LIMIT` rows). A `before_run` the table
    does not hold has nothing earlier.
    """
    current = db.execute(f"select {_WINDOW} from snapshot_runs where id = ?", [before_run])
    found = current.fetchone()
    start, end = (_moment(t) for t in found) if found else (None, None)
    if start is None or end is None or runs < 1:
        return []
    cursor = db.execute(
        f"select id, {_WINDOW} from snapshot_runs where series = ? and id < ? "
        "order by taken_at desc, id desc limit ?",
        [series, before_run, WALK_LIMIT],
    )
    try:
        return disjoint(start, end, ((i, _moment(s), _moment(e)) for i, s, e in cursor), runs)
    finally:
        cursor.close()


def series_history(
    db: Database, series: str, before_run: int, runs: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each entity's rows in the snapshots `disjoint_runs` chooses, newest first.

    The rows `series_past` reduces, read whole: the reference its tests hold it to.
    """
    history: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run_id in disjoint_runs(db, series, before_run, runs):
        for key, row in run_rows(db, run_id).items():
            history.setdefault(key, []).append(row)
    return history


class Past(NamedTuple):
    """One entity's earlier rows in a series, reduced to what the drop alerts compare with.

    Its baseline is its newest `runs` rows (at most its rule's `baseline_runs`); the sums,
    means and spreads are over those, `positive`, `answers` and `score` the newest row's.
    """

    runs: int
    positive: int | None
    answers: int | None
    score: float | None
    positive_sum: int  # CSAT answers, null as 0
    answers_sum: int
    logged_mean: float  # logged-in seconds, null as 0
    logged_spread: float  # population standard deviation
    shares: int  # rows with an Away share (away or not_accepting seconds ÷ logged-in)
    share_mean: float | None
    share_spread: float | None


# One GROUP BY over the rows of the runs chosen (`:ids`, newest first: `pos` 0 is the
# newest). SQLite takes a bare column of a query with one min() from the row that has the
# min, so positive, answers and score are the newest row's. Only when some entity pools
# fewer runs than are chosen does each row need its rank within its entity (a window
# function, which costs a second sort).
_PAST = """
with runs as (select value as id, key as pos from json_each(:ids)),
earlier as (
  select s.entity_kind as kind, s.entity_id as id, r.pos, s.positive, s.answers, s.score,
    coalesce(s.logged_in, 0) as logged,
    case when coalesce(s.logged_in, 0) != 0 then ({away}) * 1.0 / s.logged_in end as share
    {rank}
  from runs r join snapshots s on s.run_id = r.id {limits}
)
select kind, id, count(*), min(pos), positive, answers, score,
  sum(cast(coalesce(positive, 0) as integer)), sum(cast(coalesce(answers, 0) as integer)),
  sum(logged), sum(logged * logged), count(share), sum(share), sum(share * share)
from earlier {kept} group by kind, id
"""
_ALL = _PAST.format(rank="", limits="", kept="", away=_away_seconds("s.states"))
_RANKED = _PAST.format(
    away=_away_seconds("s.states"),
    rank=", row_number() over (partition by s.entity_kind, s.entity_id order by r.pos)"
    " as rn, coalesce(l.value, :baseline) as baseline",
    limits="left join (select key, value from json_each(:limits)) l"
    " on l.key = s.entity_kind || ':' || s.entity_id",
    kept="where rn <= baseline",
)


def series_past(
    db: Database, series: str, before_run: int, runs: int, baseline: int,
    limits: Mapping[str, int] | None = None,
) -> dict[tuple[str, str], Past]:  # fmt: skip
    """Each entity's `Past` in up to `runs` snapshots of a series before `before_run`.

    Only snapshots whose windows overlap neither `before_run`'s nor each other's
    (`disjoint_runs`): a watch every 15 minutes over 24 hours counts each answer in about
    96 snapshots a day, and pooling them would treat one day's answers as 96 days' worth,
    so a test of a drop would be far surer than the answers allow. The previous snapshot
    (`Past.positive`, `answers`, `score`) is likewise the newest one that does not overlap.

    One query over the chosen runs, aggregated in SQLite: one small tuple per entity
    whatever the number of runs, and no JSON decoded in Python. An entity's baseline is its
    newest `baseline` rows among them; `limits` gives some entities their own number by
    `kind:id` (alert thresholds). Means and spreads come from sums and sums of squares, in
    integers for whole seconds (nothing cancels), so they agree with `statistics` to the
    last bit or two.
    """
    ids = disjoint_runs(db, series, before_run, runs)
    if not ids:
        return {}
    limits = dict(limits or {})
    ranked = baseline < len(ids) or any(n < len(ids) for n in limits.values())
    params = {"ids": json.dumps(ids), "baseline": baseline, "limits": json.dumps(limits)}
    found: dict[tuple[str, str], Past] = {}
    for row in db.execute(_RANKED if ranked else _ALL, params):
        kind, id, n, _, positive, answers, score, xs, ns, ls, lss, count, ss, sss = row
        found[(kind, id)] = Past(
            n, positive, answers, score, xs, ns, *_spread(ls, lss, n),
            count, *(_spread(ss, sss, count) if count else (None, None)),
        )  # fmt: skip
    return found


def _spread(total: float, squares: float, n: int) -> tuple[float, float]:
    """Mean and population standard deviation from a sum and a sum of squares (n > 0)."""
    if isinstance(total, int) and isinstance(squares, int):  # whole numbers: no cancellation
        return total / n, math.sqrt((n * squares - total * total) / (n * n))
    mean = total / n
    return mean, math.sqrt(max(squares / n - mean * mean, 0.0))
