"""The history tables: stored once, summed exactly over days and edge hours, days in the zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from bot.db import open_db, writing
from bot.history import queries as q
from bot.metrics import AWAY, ONLINE, AgentStates, CsatCounts, CsatRow, StateTime

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(str(tmp_path / "bot.db"))
    yield database
    database.close()


def counts(n: int, happy: int) -> CsatCounts:
    return CsatCounts.from_scores((n - happy, 0, 0, 0, happy))


def skill(sid: str, *agents: tuple[str, CsatCounts]) -> CsatRow[CsatCounts]:
    rows = tuple(CsatRow("agent", a, None, c) for a, c in agents)
    return CsatRow("skill", sid, None, sum((r.counts for r in rows), CsatCounts()), rows)


def hourly(start: datetime, hours: int) -> dict[datetime, list[CsatRow[CsatCounts]]]:
    """Skill 4 (agents 7 and 8) and skill 5 (agent 7): 3 + 1 answers and 2 an hour."""
    return {
        start + i * H: [
            skill("4", ("7", counts(3, 2)), ("8", counts(1, 1))),
            skill("5", ("7", counts(2, 0))),
        ]
        for i in range(hours)
    }


def test_a_window_sums_whole_days_and_edge_hours_exactly(db: Database) -> None:
    start = datetime(2026, 11, 20, 5, tzinfo=UTC)
    stored = q.store_csat(db, hourly(start, 24 * 5), BERLIN, start)
    assert len(stored) == 120
    begin, end = start + 3 * H, start + 100 * H  # edges on both sides of whole days
    total, rows = q.csat_report_rows(db, begin, end, BERLIN, "skill", "all", with_agents=True)
    assert total == counts(6 * 97, 3 * 97)
    by_id = {r.id: r for r in rows}
    assert by_id["4"].counts == counts(4 * 97, 3 * 97)
    assert {a.id: a.counts for a in by_id["4"].agents} == {
        "7": counts(3 * 97, 2 * 97),
        "8": counts(97, 97),
    }
    assert [(a.id, a.counts) for a in by_id["5"].agents] == [("7", counts(2 * 97, 0))]
    _, lean = q.csat_report_rows(db, begin, end, BERLIN, "skill", ("5",))
    assert [(r.id, r.counts, r.agents) for r in lean] == [("5", counts(2 * 97, 0), ())]
    _, agents = q.csat_report_rows(db, begin, end, BERLIN, "agent", "all")
    assert {r.id: r.counts for r in agents} == {"7": counts(5 * 97, 2 * 97), "8": counts(97, 97)}
    account, none = q.csat_report_rows(db, begin, end, BERLIN, "account", None)
    assert (account, none) == (total, ())


def test_an_hour_is_stored_once_however_often_it_is_given(db: Database) -> None:
    start = datetime(2026, 11, 20, 5, tzinfo=UTC)
    q.store_csat(db, hourly(start, 10), BERLIN, start)
    again = q.store_csat(db, hourly(start + 5 * H, 10), BERLIN, start)  # overlaps 5 hours
    assert again == [start + i * H for i in range(10, 15)]
    total, _ = q.csat_report_rows(db, start, start + 15 * H, BERLIN, "account", None)
    assert total.total == 6 * 15
    days = db.execute("select sum(total) from csat_days where agent = ''").fetchone()[0]
    assert days == 6 * 15  # the rollup did not count the overlap either
    assert q.first_hour(db, q.CSAT) == start
    assert q.last_hour(db, q.CSAT) == start + 14 * H


def test_an_hour_without_answers_is_collected_with_no_rows(db: Database) -> None:
    hour = datetime(2026, 11, 20, 3, tzinfo=UTC)
    assert q.store_csat(db, {hour: [skill("4", ("7", CsatCounts()))]}, BERLIN, hour) == [hour]
    assert q.collected_hours(db, q.CSAT, hour, hour + H) == [hour]
    assert db.execute("select count(*) from csat_hours").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("day", "length"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 11, 20), 24)],
)
def test_local_days_have_the_hours_the_clock_gives_them(day: date, length: int) -> None:
    assert len(q.day_hours(day.toordinal(), BERLIN)) == length


def test_states_per_local_day_across_the_autumn_change(db: Database) -> None:
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)  # Sun 25 Oct 00:00 in Berlin (CEST)
    agent = AgentStates(
        "7", None, StateTime(3600, 600, 3000, 0),
        ((ONLINE, StateTime(3000, 600, 2400, 0)), (AWAY, StateTime(600, 0, 600, 0))),
        (("lunch", StateTime(600, 0, 600, 0)),),
    )  # fmt: skip
    q.store_states(db, {start + i * H: [agent] for i in range(49)}, BERLIN, start)
    slices = q.state_slices(db, start, start + 49 * H, BERLIN, "all", "day")
    assert [(s.end - s.start) // H for s in slices] == [25, 24]
    assert slices[0].agents[0].logged_in.total == 25 * 3600
    assert slices[0].agents[0].state(AWAY).total == 25 * 600
    assert slices[0].agents[0].reasons == (("lunch", StateTime(25 * 600, 0, 25 * 600, 0)),)
    (whole,) = q.state_rows(db, start, start + 49 * H, BERLIN, ("7",))
    assert whole.logged_in.total == 49 * 3600
    assert [k for k, _ in whole.states] == [ONLINE, AWAY]
    assert q.state_rows(db, start, start + 49 * H, BERLIN, ("8",)) == ()


def test_series_per_day_and_week_in_the_zone(db: Database) -> None:
    start = datetime(2026, 11, 15, 23, tzinfo=UTC)  # Mon 16 Nov 00:00 in Berlin
    q.store_csat(db, hourly(start, 24 * 14), BERLIN, start)
    days = q.csat_series(db, start, start + 14 * 24 * H, BERLIN, "skill", ("4",))
    assert [d for d, _ in days["4"]][:2] == [date(2026, 11, 16), date(2026, 11, 17)]
    assert all(c == counts(96, 72) for _, c in days["4"]) and len(days["4"]) == 14
    assert days[""] == days["4"]
    weeks = q.csat_series(db, start + 5 * H, start + 14 * 24 * H, BERLIN, "agent", "all", "week")
    assert [d for d, _ in weeks["8"]] == [date(2026, 11, 16), date(2026, 11, 23)]
    assert weeks["8"][0][1].total == 7 * 24 - 5 and weeks[""][1][1].total == 6 * 24 * 7


def test_a_new_zone_adds_the_days_up_again(db: Database) -> None:
    start = datetime(2026, 11, 20, 0, tzinfo=UTC)
    q.store_csat(db, hourly(start, 48), BERLIN, start)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert q.ensure_zone(db, tokyo) is True
    assert q.ensure_zone(db, tokyo) is False
    day = date(2026, 11, 21).toordinal()  # Tokyo's 21 Nov: 20 Nov 15:00 - 21 Nov 15:00 UTC
    row = db.execute("select sum(total) from csat_days where day = ? and agent = ''", [day])
    assert row.fetchone()[0] == 6 * 24


def test_prune_forgets_what_is_older_than_kept(db: Database) -> None:
    start = datetime(2026, 11, 1, 0, tzinfo=UTC)
    q.store_csat(db, hourly(start, 24 * 10), BERLIN, start)
    cut = start + 5 * 24 * H + 10 * H  # 6 Nov 10:00 UTC: cut at 6 Nov 00:00 Berlin
    assert q.prune(db, cut, BERLIN) > 0
    assert q.first_hour(db, q.CSAT) == datetime(2026, 11, 5, 23, tzinfo=UTC)
    total, _ = q.csat_report_rows(db, start, start + 10 * 24 * H, BERLIN, "account", None)
    assert total.total == 6 * (24 * 5 + 1)  # 5 Nov 23:00 UTC to the end, days and hours alike


def test_the_busiest_are_ranked_and_counted_in_sql(db: Database) -> None:
    start = datetime(2026, 11, 20, 5, tzinfo=UTC)
    q.store_csat(db, hourly(start, 24 * 3), BERLIN, start)  # agent 7: 5 an hour, agent 8: 1
    q.store_csat(db, {start + 72 * H: [skill("6", ("9", counts(1, 1)), ("10", counts(1, 0)))]},
                 BERLIN, start)  # fmt: skip
    begin, end = start + 3 * H, start + 73 * H  # whole days and edge hours
    assert q.csat_top(db, begin, end, BERLIN, "agent", 2) == (("7", "8"), 4)
    assert q.csat_top(db, begin, end, BERLIN, "agent", 9) == (
        ("7", "8", "10", "9"),
        4,
    )  # ties by id
    assert q.csat_top(db, begin, end, BERLIN, "skill", 1) == (("4",), 3)
    assert q.csat_top(db, begin, end, BERLIN, "agent", 0) == ((), 4)  # the count alone
    assert q.csat_top(db, end, end + 5 * H, BERLIN, "agent", 4) == ((), 0)


def test_the_account_of_all_is_the_skills_totals_and_only_the_busiest_are_read(
    db: Database,
) -> None:
    start = datetime(2026, 11, 15, 23, tzinfo=UTC)  # Mon 16 Nov 00:00 in Berlin
    pieces = hourly(start, 24 * 9)
    for hour in list(pieces)[:24]:  # 16 Nov: 10 more answers an hour nobody was assigned
        four = pieces[hour][0]
        pieces[hour][0] = CsatRow("skill", "4", None, four.counts + counts(10, 10), four.agents)
    q.store_csat(db, pieces, BERLIN, start)
    end = start + 9 * 24 * H - 5 * H  # the last day's hours are edges
    account = q.csat_series(db, start, end, BERLIN, "account", None)[""]
    for step in ("day", "week"):
        everyone = q.csat_series(db, start, end, BERLIN, "agent", "all", step)
        busiest = q.csat_series(db, start, end, BERLIN, "agent", "all", step, only=("8",))
        assert set(everyone) == {"", "7", "8"} and set(busiest) == {"", "8"}
        assert everyone[""] == busiest[""] and everyone["8"] == busiest["8"]
        if step == "day":
            assert everyone[""] == account and account[0][1].total == 24 * 16
            assert everyone["7"][-1] == (date(2026, 11, 24), counts(5 * 19, 2 * 19))
    assert [d for d, _ in busiest[""]] == [date(2026, 11, 16), date(2026, 11, 23)]
    assert busiest[""][0][1].total == 6 * 24 * 7 + 10 * 24  # the skills' totals, not the agents'
    together = q.csat_series(db, start, end, BERLIN, "agent", ("7", "8"))
    assert together[""][0][1].total == 6 * 24  # the ids asked, together


def test_a_zone_changed_by_another_process_before_a_store_mixes_no_days(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (an older configuration) adds the days up in Tokyo's zone just
    before this one stores: the hours this one adds must go into days of the zone kept."""
    start = datetime(2026, 11, 20, 0, tzinfo=UTC)
    q.store_csat(db, hourly(start, 24), BERLIN, start)
    other = open_db(str(tmp_path / "bot.db"))
    real, flipped = writing, []

    def writing_after_a_flip(database: Database) -> Any:
        if database is db and not flipped:  # this process's first transaction
            flipped.append(q.ensure_zone(other, ZoneInfo("Asia/Tokyo")))
        return real(database)

    monkeypatch.setattr(q, "writing", writing_after_a_flip)
    q.store_csat(db, hourly(start + 24 * H, 24), BERLIN, start)
    other.close()
    assert flipped == [True]
    (kept,) = db.execute("select value from history_meta where key = 'zone'").fetchone()
    zone = ZoneInfo(kept)
    days: dict[int, int] = {}
    for hour, total in db.execute("select hour, total from csat_hours where agent = ''"):
        days[q.day_of(hour, zone)] = days.get(q.day_of(hour, zone), 0) + total
    rolled = dict(db.execute("select day, sum(total) from csat_days where agent = '' group by day"))
    assert rolled == days  # every day of the rollup in the zone the history says
