"""A weekly digest over LivePerson, from the history: week over week, no CSAT call to the vendor.

In process, as `test_run.py` runs digests: TOML -> build_parts -> the simulated LivePerson and
Slack; the store's history is filled first, as a week of `serve` collecting would have.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db import open_db
from bot.demo.sim.liveperson import AGENTS, SKILLS, SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.digests.run import Period
from bot.history import queries as q
from bot.metrics import ONLINE, AgentStates, Coverage, CsatCounts, CsatRow, StateTime, Window
from tests.digests.test_run import (
    BERLIN,
    context_texts,
    deployment,
    line_for,
    section_texts,
)
from tests.fakes.clock import FakeClock

H = timedelta(hours=1)


@pytest.fixture(scope="module")
def sim_slack() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def lp(liveperson: SimulatedLivePerson) -> Iterator[SimulatedLivePerson]:
    yield liveperson
    liveperson.overrides.clear()


@pytest.fixture
def pace(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    from bot import slack
    from bot.slack import Poster

    time = FakeClock(1000.0)
    monkeypatch.setattr(
        slack, "Poster", lambda web: Poster(web, monotonic=time.monotonic, sleep=time.sleep)
    )
    return time


def hour_of_csat(happy: int) -> list[CsatRow[CsatCounts]]:
    """Every agent of every skill: 4 answers an hour, `happy` of them 5s, the rest 1s."""
    rows = []
    for skill, agents in AGENTS.items():
        members = tuple(
            CsatRow("agent", a, None, CsatCounts.from_scores((4 - happy, 0, 0, 0, happy)))
            for a in agents
        )
        rows.append(CsatRow("skill", skill, None, sum((m.counts for m in members), CsatCounts()),
                            members))  # fmt: skip
    return rows


def hour_of_states(online: int) -> list[AgentStates]:
    time = StateTime(online, online // 2, online - online // 2, 0)
    return [AgentStates(a, None, time, ((ONLINE, time),)) for a in ("1001", "1002")]


def fill(db_path: Path, end: datetime, weeks: list[tuple[int, int]], hours_each: int = 168) -> None:
    """Hours before `end`, newest week first: (happy answers of 4, online seconds) per hour;
    of each week its last `hours_each` hours."""
    db = open_db(str(db_path))
    try:
        for back, (happy, online) in enumerate(weeks):
            hours = [end - back * 168 * H - (i + 1) * H for i in range(hours_each)]
            q.store_csat(db, {h: hour_of_csat(happy) for h in hours}, BERLIN, end)
            q.store_states(db, {h: hour_of_states(online) for h in hours}, BERLIN, end)
    finally:
        db.close()


@pytest.mark.anyio
async def test_a_weekly_digest_posts_week_over_week_from_the_history(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0WEEKLY01"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="csat-weekly", timeframe="7d",
                       cron="0 9 * * 1")  # fmt: skip
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fill(setup.db, end, [(2, 3600), (3, 1800)])  # this week 50% happy, the week before 75%
    asked = len(lp.data_calls())
    outcome = await setup.run("csat-weekly", datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert outcome.status == "posted"
    assert len(lp.data_calls()) == asked  # no CSAT call: the week came from the history
    (posted,) = sim_slack.posts(channel)
    assert posted["blocks"][0]["text"]["text"] == "CSAT · csat-weekly · last 7d"
    answers = sum(len(a) for a in AGENTS.values()) * 4 * 168
    assert section_texts(posted)[0].startswith(
        f"*50.0%* satisfied (4–5) · *{answers:,}* answers · *▼ 25.0 pts* week over week"
    )
    context = context_texts(posted)
    start = (end - 168 * H).astimezone(BERLIN)
    assert "compared with the previous 7d (" in context[0]
    assert f"{start:%d %b %H:%M}" in context[0]
    assert context[1] == "History covers all of 7d"
    for skill, name in SKILLS.items():
        assert line_for(posted, name) == ("50.0%", "▼ 25.0", f"{len(AGENTS[skill]) * 4 * 168:,}")
    members = setup.query("select count(*) n from snapshots where entity_kind = 'skill_agent'")
    assert members == [{"n": sum(len(a) for a in AGENTS.values())}]  # kept for the alerts


@pytest.mark.anyio
async def test_a_weekly_availability_digest_compares_with_the_week_before(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0WEEKLY02"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="availability-weekly",
                       kind="availability", skills="", timeframe="7d",
                       cron="0 9 * * 1")  # fmt: skip
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fill(setup.db, end, [(2, 3600), (3, 1800)])
    asked = len(lp.data_calls("agentactivity"))
    outcome = await setup.run("availability-weekly", datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert outcome.status == "posted"
    assert len(lp.data_calls("agentactivity")) == asked
    (posted,) = sim_slack.posts(channel)
    assert "logged in *336h* (▲ 168h week over week)" in section_texts(posted)[0]
    assert context_texts(posted)[1] == "History covers all of 7d"


@pytest.mark.anyio
async def test_the_first_weekly_digest_says_the_history_does_not_reach_the_week_before(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0WEEKLY03"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="csat-weekly", timeframe="7d",
                       cron="0 9 * * 1")  # fmt: skip
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fill(setup.db, end, [(2, 3600)])
    await setup.run("csat-weekly", datetime(2026, 3, 2, 8, tzinfo=UTC))
    (posted,) = sim_slack.posts(channel)
    assert "week over week" not in section_texts(posted)[0]
    assert (
        "nothing to compare with: the history does not reach back to the previous 7d"
        in (context_texts(posted)[0])
    )
    assert line_for(posted, "Billing")[1] == "new"


@pytest.mark.anyio
async def test_before_the_newest_hour_is_collected_both_weeks_are_whole_and_equal(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    """Monday 09:00: the 08:00–09:00 hour is collected at 09:07. The week ends at 08:00 and
    the week before at its start, so 168 hours are compared with 168, with no gap."""
    channel = "C0WEEKLY04"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="availability-weekly",
                       kind="availability", skills="", timeframe="7d",
                       cron="0 9 * * 1")  # fmt: skip
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fill(setup.db, end - H, [(2, 3600), (3, 3600)])  # the same every hour of both weeks
    await setup.run("availability-weekly", datetime(2026, 3, 2, 8, tzinfo=UTC))
    (posted,) = sim_slack.posts(channel)
    assert "logged in *336h* (" in section_texts(posted)[0]
    assert "▼" not in section_texts(posted)[0] and "▲" not in section_texts(posted)[0]
    context = context_texts(posted)
    assert context[1] == "History covers all of 7d"
    assert f"{(end - H).astimezone(BERLIN):%d %b %H:%M} " in context[0]  # where it really ends
    assert "of which" not in context[0]
    runs = setup.query("select window_end from snapshot_runs")
    assert runs == [{"window_end": (end - H).isoformat()}]


@pytest.mark.anyio
async def test_an_hour_of_the_week_before_is_not_enough_to_compare_with(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0WEEKLY05"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="availability-weekly",
                       kind="availability", skills="", timeframe="7d",
                       cron="0 9 * * 1")  # fmt: skip
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    fill(setup.db, end, [(2, 3600)])
    fill(setup.db, end - 168 * H, [(2, 3600)], hours_each=1)  # the bot began an hour earlier
    await setup.run("availability-weekly", datetime(2026, 3, 2, 8, tzinfo=UTC))
    (posted,) = sim_slack.posts(channel)
    assert "week over week" not in section_texts(posted)[0]
    assert "▲" not in section_texts(posted)[0]
    assert "not enough history to compare with the previous 7d (" in context_texts(posted)[0]
    assert context_texts(posted)[0].endswith("): the history has only 1 hour of it")


@pytest.mark.parametrize(("hours", "comparable"), [(168, True), (160, True), (159, False),
                                                   (1, False), (0, False)])  # fmt: skip
def test_a_period_is_compared_with_from_95_percent_of_its_hours(
    hours: int, comparable: bool
) -> None:
    end = datetime(2026, 3, 2, 8, tzinfo=UTC)
    start = end - 168 * H
    kept = [end - (i + 1) * H for i in reversed(range(hours))]
    coverage = Coverage.of(7 * 1440, start, end, kept, start - 30 * 24 * H)
    assert Period(7 * 1440, Window(start, start, end), coverage).comparable is comparable


@pytest.mark.parametrize(("hours", "comparable"), [(168, True), (160, True), (100, False)])
def test_a_week_the_history_lacks_much_of_is_not_compared_either(
    hours: int, comparable: bool
) -> None:
    """A week with three days missing against a whole week would read "▼ 70h"."""
    end = datetime(2026, 3, 2, 8, tzinfo=UTC)
    start = end - 168 * H
    whole = Coverage.of(7 * 1440, start - 168 * H, start, [start - (i + 1) * H for i in range(168)],
                        start - 30 * 24 * H)  # fmt: skip
    now = Coverage.of(7 * 1440, start, end, [end - (i + 1) * H for i in reversed(range(hours))],
                      start - 30 * 24 * H)  # fmt: skip
    period = Period(7 * 1440, Window(start - 168 * H, start - 168 * H, start), whole, now)
    assert period.comparable is comparable
    assert period.short_now is not comparable
