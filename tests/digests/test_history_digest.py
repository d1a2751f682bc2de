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
from bot.history import queries as q
from bot.metrics import ONLINE, AgentStates, CsatCounts, CsatRow, StateTime
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


def fill(db_path: Path, end: datetime, weeks: list[tuple[int, int]]) -> None:
    """Hours before `end`, newest week first: (happy answers of 4, online seconds) per hour."""
    db = open_db(str(db_path))
    try:
        for back, (happy, online) in enumerate(weeks):
            hours = [end - (back + 1) * 168 * H + i * H for i in range(168)]
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
