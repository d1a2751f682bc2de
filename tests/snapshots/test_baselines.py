"""The drop alerts' history pools only snapshots whose windows do not overlap.

`series_past` and `series_history` walk back from the current run through the runs of its
series (`disjoint_runs`): each one taken must end where the one after it starts, give or
take `overlap_tolerance` of the current window. The numbers below are pinned by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlite_utils import Database

from bot.alerts.detect import summarize
from bot.db import writing
from bot.snapshots import queries as snapshots
from bot.snapshots.queries import WALK_LIMIT, Past, disjoint, disjoint_runs, overlap_tolerance
from tests.snapshots.sample import SERIES, csat_row, run_for

T0 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # the current run's end, in every test
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def store(
    db: Database, end: datetime | None, length: timedelta | None, rows: list[dict[str, Any]],
    series: str = SERIES, taken: datetime | None = None,
) -> int:  # fmt: skip
    """One run of `series` whose window is the `length` before `end` (None: no window)."""
    window = (
        {"window_start": iso(end - length), "window_end": iso(end)}
        if end is not None and length is not None
        else {"window_start": None, "window_end": None}
    )
    taken_at = taken or end
    assert taken_at is not None
    return snapshots.save_snapshot(db, {**run_for(iso(taken_at), series), **window}, rows)


def total(answers: int, positive: int) -> list[dict[str, Any]]:
    return [csat_row("", answers, positive)]


# --- the tolerance and the walk, pure ---------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "tolerance"),
    [
        (timedelta(0), timedelta(0)),  # a moment (no window kept) has no room to overlap
        (timedelta(minutes=10), timedelta(minutes=1)),  # a tenth of it: half would pool
        (timedelta(hours=1), timedelta(minutes=5)),  # 2 % is 72 s
        (timedelta(hours=4, minutes=10), timedelta(minutes=5)),  # 2 % is exactly 5 minutes
        (DAY, timedelta(minutes=28, seconds=48)),  # 2 % of 1440 minutes
        (7 * DAY, timedelta(hours=3, minutes=21, seconds=36)),
    ],
)
def test_the_tolerance_is_five_minutes_or_two_percent(
    length: timedelta, tolerance: timedelta
) -> None:
    assert overlap_tolerance(length) == tolerance


def test_the_tolerance_is_at_most_a_tenth_of_the_shorter_window() -> None:
    # after the timeframe changed from 15m to 24h, a 15-minute window may overlap 90 s
    assert overlap_tolerance(DAY, timedelta(minutes=15)) == timedelta(seconds=90)


def test_a_short_watch_that_overlaps_itself_by_half_pools_nothing_twice() -> None:
    # 10-minute windows every 5 minutes: each overlaps the one before by half
    end = datetime(2026, 3, 2, 12, tzinfo=UTC)
    earlier = [(10 - i, end - timedelta(minutes=5 * i) - timedelta(minutes=10),
                end - timedelta(minutes=5 * i)) for i in range(1, 10)]  # fmt: skip
    chosen = disjoint(end - timedelta(minutes=10), end, earlier, 7)
    assert chosen == [8, 6, 4, 2]  # every other one: 10 minutes apart


@pytest.mark.parametrize(
    ("length", "overlap", "apart"),
    [
        (DAY, timedelta(0), True),  # back to back
        (DAY, timedelta(seconds=3), True),  # yesterday's digest ran 3 s late
        (DAY, timedelta(minutes=28, seconds=48), True),  # exactly the tolerance
        (DAY, timedelta(minutes=28, seconds=49), False),
        (timedelta(hours=1), timedelta(minutes=5), True),
        (timedelta(hours=1), timedelta(minutes=5, seconds=1), False),
        (DAY, -DAY, True),  # a day between them
    ],
)
def test_an_earlier_window_is_apart_when_it_overlaps_by_at_most_the_tolerance(
    length: timedelta, overlap: timedelta, apart: bool
) -> None:
    start = T0 - length
    earlier = [(7, start + overlap - length, start + overlap)]
    assert disjoint(start, T0, earlier, 7) == ([7] if apart else [])


def test_the_walk_takes_the_newest_apart_from_the_last_taken_and_stops_at_runs() -> None:
    hour = timedelta(hours=1)
    start = T0 - hour
    earlier = [  # newest first: (id, start, end)
        (9, T0 - 90 * MINUTE, T0 - 30 * MINUTE),  # overlaps the current hour: passed by
        (8, start - hour, start),  # taken; the next must end by 07:00 (+5 min)
        (7, start - 90 * MINUTE, start - 30 * MINUTE),  # overlaps 8: passed by
        (6, None, None),  # unreadable: passed by
        (5, start - 2 * hour, start - hour + 4 * MINUTE),  # 4 minutes over: taken
        (4, start - 3 * hour, start - 2 * hour),  # taken: the third
        (3, start - 4 * hour, start - 3 * hour),  # apart too, but three are enough
    ]
    assert disjoint(start, T0, earlier, 3) == [8, 5, 4]
    assert disjoint(start, T0, earlier, 7) == [8, 5, 4, 3]
    assert disjoint(start, T0, earlier, 0) == []


# --- the store ----------------------------------------------------------------------------


def test_a_watch_every_15_minutes_over_24h_pools_one_snapshot_a_day(fresh_db: Database) -> None:
    """Three days of a watch every 15 minutes (289 runs, run k ends at k × 15 minutes).

    Before, the 7 runs of the last 105 minutes were pooled: the same answers seven times.
    Now the current window starts at k = 192, so the newest run that ends by then plus the
    28.8 minutes of tolerance is k = 193 (it overlaps by 15 minutes); the next must end by
    its start (k = 97) plus 28.8 minutes: k = 98; then k = 3; before k = 0 there is nothing.
    """
    ids = {
        k: store(fresh_db, T0 - (288 - k) * 15 * MINUTE, DAY, total(1000 + k, k))
        for k in range(289)
    }
    current = ids[288]
    assert disjoint_runs(fresh_db, SERIES, current, 7) == [ids[193], ids[98], ids[3]]
    past = snapshots.series_past(fresh_db, SERIES, current, 7, 7)
    assert past == {
        ("total", ""): Past(
            runs=3, positive=193, answers=1193, score=193 / 1193,
            positive_sum=193 + 98 + 3, answers_sum=3000 + 193 + 98 + 3,
            logged_mean=0.0, logged_spread=0.0, shares=0, share_mean=None, share_spread=None,
        )
    }  # fmt: skip
    history = snapshots.series_history(fresh_db, SERIES, current, 7)
    assert [row["positive"] for row in history[("total", "")]] == [193, 98, 3]
    assert summarize(history[("total", "")], 7) == past[("total", "")]
    # one earlier run: the newest apart, not the one 15 minutes before
    assert disjoint_runs(fresh_db, SERIES, current, 1) == [ids[193]]


def test_a_daily_digest_that_ran_3_seconds_late_still_uses_yesterday(fresh_db: Database) -> None:
    """Eight mornings at 09:00, yesterday's 3 s late (its window 3 s into today's); a manual
    run yesterday afternoon (it overlaps today's window) and another series in between."""
    ids = []
    for day in range(7, 0, -1):
        late = timedelta(seconds=3) if day == 1 else timedelta(0)
        ids.append(store(fresh_db, T0 - day * DAY + late, DAY, total(100 * day, 10 * day)))
        store(fresh_db, T0 - day * DAY, DAY, total(1, 1), series="digest:other")
    store(fresh_db, T0 - 19 * timedelta(hours=1), DAY, total(5, 0))  # manual, at 14:00
    current = store(fresh_db, T0, DAY, total(100, 50))
    assert disjoint_runs(fresh_db, SERIES, current, 7) == ids[::-1]
    past = snapshots.series_past(fresh_db, SERIES, current, 7, 7)[("total", "")]
    assert (past.runs, past.positive, past.answers) == (7, 10, 100)  # yesterday's
    assert (past.positive_sum, past.answers_sum) == (280, 2800)  # 10·(1+…+7), 100·(1+…+7)


def test_liveperson_windows_start_on_a_5_minute_bucket(fresh_db: Database) -> None:
    """At 09:03 a 24-hour report covers 09:00 yesterday to now: yesterday's ran to 09:02."""
    yesterday = store(fresh_db, T0 - DAY + 2 * MINUTE, DAY + 2 * MINUTE, total(10, 5))
    current = store(fresh_db, T0 + 3 * MINUTE, DAY + 3 * MINUTE, total(10, 5))
    assert disjoint_runs(fresh_db, SERIES, current, 7) == [yesterday]


def test_no_run_older_than_the_walks_bound_is_read(fresh_db: Database) -> None:
    """A day-old snapshot behind WALK_LIMIT runs that overlap the current one is not
    reached; behind one fewer it is."""
    old = store(fresh_db, T0 - DAY, DAY, total(50, 40))
    # each ends 30 minutes or more into the current window (past the 28.8 of tolerance)
    ends = (T0 - DAY + 30 * MINUTE + i * timedelta(seconds=4) for i in range(WALK_LIMIT))
    with writing(fresh_db):  # the runs that overlap, without rows: quicker than save_snapshot
        fresh_db.conn.executemany(
            "insert into snapshot_runs (series, source, kind, scope, window_start, window_end,"
            " taken_at, digest) values (?, ?, ?, ?, ?, ?, ?, ?)",
            ((SERIES, "liveperson", "csat", "skill", iso(end - DAY), iso(end), iso(end), "x")
             for end in ends),
        )  # fmt: skip
    current = store(fresh_db, T0, DAY, [])
    assert disjoint_runs(fresh_db, SERIES, current, 7) == []
    assert snapshots.series_past(fresh_db, SERIES, current, 7, 7) == {}
    with writing(fresh_db):
        fresh_db.conn.execute("delete from snapshot_runs where id = ?", [old + 1])
    assert disjoint_runs(fresh_db, SERIES, current, 7) == [old]
    assert snapshots.series_past(fresh_db, SERIES, current, 7, 7)[("total", "")].runs == 1


def test_runs_without_a_window_are_apart_by_when_they_were_taken(fresh_db: Database) -> None:
    """A run without a window stands for the moment it was taken: taken before the current
    window starts (give or take the tolerance), it is pooled, and such runs never overlap
    each other, as all runs were pooled before windows were kept."""
    days_ago = [store(fresh_db, None, None, total(10, d), taken=T0 - d * DAY) for d in (3, 2)]
    quarter = [
        store(fresh_db, None, None, total(10, 9), taken=T0 - DAY - m * MINUTE) for m in (30, 15)
    ]
    yesterday = store(fresh_db, None, None, total(10, 1), taken=T0 - DAY)
    inside = store(fresh_db, None, None, total(10, 0), taken=T0 - DAY + timedelta(hours=1))
    current = store(fresh_db, T0, DAY, total(10, 5))
    expected = [yesterday, *quarter[::-1], *days_ago[::-1]]
    assert disjoint_runs(fresh_db, SERIES, current, 7) == expected
    assert inside not in expected  # taken 23 hours ago: inside today's window
    # a current run without a window is the moment it was taken: the run just before it is
    # apart, and the walk goes on from that one's window (the tolerance: 5 minutes)
    later = store(fresh_db, None, None, total(10, 5), taken=T0 + MINUTE)
    assert disjoint_runs(fresh_db, SERIES, later, 9) == [current, *expected]


def test_runs_that_all_lack_a_window_are_all_pooled(fresh_db: Database) -> None:
    """Old data: every 15 minutes, no windows; pooled newest first, as before."""
    old = [store(fresh_db, None, None, total(10, m), taken=T0 - m * MINUTE) for m in (60, 45, 30)]
    current = store(fresh_db, None, None, total(10, 5), taken=T0)
    assert disjoint_runs(fresh_db, SERIES, current, 7) == old[::-1]
    assert snapshots.series_past(fresh_db, SERIES, current, 7, 7)[("total", "")].runs == 3


def test_a_run_the_table_does_not_hold_has_nothing_earlier(fresh_db: Database) -> None:
    store(fresh_db, T0 - DAY, DAY, total(10, 5))
    assert disjoint_runs(fresh_db, SERIES, 999, 7) == []
    assert snapshots.series_past(fresh_db, SERIES, 999, 7, 7) == {}
    assert snapshots.series_history(fresh_db, SERIES, 999, 7) == {}


def test_each_entitys_baseline_is_its_newest_of_the_runs_chosen(fresh_db: Database) -> None:
    """Five mornings apart, with overlapping runs every 6 hours between them whose numbers
    would show if they leaked in. Run i (1 = yesterday): the total 100·i answers, 10·i
    positive; skill 11 (not in yesterday's) 10 + i and i; skill 12 1000 + i and 500 + i."""
    leak = [csat_row("", 10**6, 0), csat_row("11", 10**6, 0), csat_row("12", 10**6, 0)]
    chosen = []
    for i in range(5, 0, -1):
        rows = [csat_row("", 100 * i, 10 * i), csat_row("12", 1000 + i, 500 + i)]
        rows += [csat_row("11", 10 + i, i)] if i > 1 else []
        chosen.append(store(fresh_db, T0 - i * DAY, DAY, rows))
        for hours in (6, 12, 18):
            store(fresh_db, T0 - i * DAY + timedelta(hours=hours), DAY, leak)
    current = store(fresh_db, T0, DAY, [csat_row("", 100, 10)])
    assert disjoint_runs(fresh_db, SERIES, current, 5) == chosen[::-1]
    limits = {"total:": 5, "skill:12": 1}
    found = snapshots.series_past(fresh_db, SERIES, current, 5, 3, limits)
    counts = {key: (p.runs, p.positive, p.answers, p.positive_sum, p.answers_sum)
              for key, p in found.items()}  # fmt: skip
    assert counts == {
        ("total", ""): (5, 10, 100, 150, 1500),  # its own 5: all of them
        ("skill", "11"): (3, 2, 12, 2 + 3 + 4, 12 + 13 + 14),  # the default 3: runs 2, 3, 4
        ("skill", "12"): (1, 501, 1001, 501, 1001),  # its own 1: yesterday's
    }
    history = snapshots.series_history(fresh_db, SERIES, current, 5)
    for key, rows in history.items():
        assert summarize(rows, limits.get(f"{key[0]}:{key[1]}", 3)) == found[key]
