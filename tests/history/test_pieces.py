"""The collection plan and the nested-window arithmetic, against the simulated account's
timeline (whose hours are known) and by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.demo.sim.liveperson import (
    AGENTS,
    BUCKET,
    agent_states,
    hour_scores,
    timeline_csat,
    timeline_states,
)
from bot.history.pieces import (
    ANSWERS_SLACK,
    Plan,
    csat_changed,
    csat_difference,
    csat_disagreement,
    csat_pieces,
    plan,
    states_difference,
    states_disagreement,
    states_pieces,
)
from bot.metrics import AgentStates, CsatCounts, CsatRow, StateTime
from bot.sources.liveperson import parse_agent_activity, parse_csat

H = timedelta(hours=1)
DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


# --- the plan ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "first", "newest"),
    [
        (at(13, 7), at(14, day=-1), at(13)),  # T(13:00) = 7; T(14:00 yesterday) = 1387
        (at(13, 0, 30), at(13, day=-1), at(12)),  # T(13:00) = 0: the window cannot start there
        (at(13), at(13, day=-1), at(12)),  # T(13:00 yesterday) = 1440 exactly
        (at(13, 4, 59), at(14, day=-1), at(13)),
        (at(13, 5), at(14, day=-1), at(13)),
    ],
)
def test_a_first_collection_asks_every_hour_boundary_LivePerson_still_reaches(
    now: datetime, first: datetime, newest: datetime
) -> None:
    got = plan(now, None)
    hours = [h for h, _ in got.boundaries]
    assert hours[0] == first and hours[-1] == newest
    assert hours == [first + i * H for i in range(len(hours))]
    assert all(1 <= t <= 1440 for t in got.timeframes)
    assert all(t == int((now - h).total_seconds() // 60) for h, t in got.boundaries)
    assert got.hours == tuple(hours[:-1])  # the newest only subtracts: it is not over yet
    assert len(got.hours) == 23 and got.missing == ()


def test_later_collections_start_after_the_last_hour_collected() -> None:
    got = plan(at(13, 7), at(11))
    assert got.boundaries == ((at(12), 67), (at(13), 7))
    assert got.hours == (at(12),) and got.missing == ()


def test_nothing_to_ask_when_the_last_finished_hour_is_collected() -> None:
    assert plan(at(13, 7), at(12)) == Plan(at(13, 7), ())
    assert plan(at(13, 0, 30), at(11)) == Plan(at(13, 0, 30), ())  # 12:00 cannot be had yet
    assert plan(at(13, 7), at(12)).timeframes == ()


def test_hours_no_window_reaches_after_a_long_downtime_are_missing() -> None:
    got = plan(at(13, 7), at(10, day=-2))
    assert got.missing == tuple(at(11, day=-2) + i * H for i in range(27))
    assert got.missing[-1] == at(13, day=-1)
    assert got.hours[0] == at(14, day=-1)
    # down just over a day: the one hour whose start is more than 1440 minutes back
    assert plan(at(13, 7), at(12, day=-1)).missing == (at(13, day=-1),)
    assert plan(at(13, 7), at(13, day=-1)).missing == ()


# --- CSAT against the simulated timeline -----------------------------------------------


def csat_answer(now: datetime, timeframe: int, silent: frozenset[int] = frozenset()) -> tuple:
    """What the simulated account answers for skillIds=all, parsed as the collector reads it."""
    end = now.timestamp()
    start = (end - timeframe * 60) // BUCKET * BUCKET
    per_skill = {}
    for skill, members in AGENTS.items():
        agents = {a: timeline_csat(a, skill, start, end, silent=silent) for a in members}
        per_skill[skill] = {"metricsPerAgent": {a: scores_of(s) for a, s in agents.items()}}
    return parse_csat({"skillsMetrics": {"metricsPerSkill": per_skill}}, "skill")[1]


def scores_of(scores: list[int]) -> dict[str, int]:
    return {f"csat_score{i + 1}_answers": n for i, n in enumerate(scores)}


def expected_csat(hour: datetime, silent: frozenset[int] = frozenset()) -> dict:
    found = {}
    for skill, members in AGENTS.items():
        for agent in members:
            scores = hour_scores(agent, skill, int(hour.timestamp()), silent=silent)
            if any(scores):
                found[(skill, agent)] = CsatCounts.from_scores(tuple(scores))  # type: ignore[arg-type]
    return found


def flat(rows: tuple[CsatRow[CsatCounts], ...]) -> dict:
    return {(row.id, agent.id): agent.counts for row in rows for agent in row.agents}


@pytest.mark.parametrize(
    "now",
    [
        at(13, 7),
        at(13, 0, 30),
        at(13, 4, 59),
        at(13, 5),
        at(13),
        at(13, 59, 59) + timedelta(microseconds=999_000),
    ],
    ids=["HH:07", "HH:00:30", "HH:04:59", "HH:05:00", "HH:00:00", "HH:59:59"],
)
def test_each_piece_is_exactly_its_hour_whatever_the_bucket(now: datetime) -> None:
    got = plan(now, None)
    answers = {t: csat_answer(now, t) for t in got.timeframes}
    pieces = csat_pieces(got, answers)
    assert list(pieces) == list(got.hours)
    for hour, rows in pieces.items():
        assert flat(rows) == expected_csat(hour), hour
        for row in rows:  # the skill's own difference; in the simulation, its agents' sum
            assert row.counts == sum((a.counts for a in row.agents), CsatCounts())


@pytest.mark.parametrize("skew", [-29.0, -0.05, 0.05, 29.0])
def test_planned_at_second_30_the_pieces_hold_with_liveperson_s_clock_off_by_seconds(
    skew: float,
) -> None:
    now = at(13, 7, 30)
    got = plan(now, None)
    behind = now + timedelta(seconds=skew)  # LivePerson's `now` when it answers
    pieces = csat_pieces(got, {t: csat_answer(behind, t) for t in got.timeframes})
    for hour, rows in pieces.items():
        assert flat(rows) == expected_csat(hour), hour


def test_planned_a_few_ms_past_a_minute_a_clock_behind_moves_every_window() -> None:
    """Why the collector waits for second 30: at HH:07:00.003 a LivePerson 50 ms behind
    starts each window in the bucket before its hour."""
    now = at(13, 7) + timedelta(milliseconds=3)
    got = plan(now, None)
    behind = now - timedelta(milliseconds=50)
    pieces = csat_pieces(got, {t: csat_answer(behind, t) for t in got.timeframes})
    assert any(flat(rows) != expected_csat(hour) for hour, rows in pieces.items())


def test_an_hour_nobody_answered_in_is_a_piece_with_no_rows() -> None:
    now = at(13, 7)
    silent = frozenset({int(at(9).timestamp())})
    got = plan(now, None)
    pieces = csat_pieces(got, {t: csat_answer(now, t, silent) for t in got.timeframes})
    assert pieces[at(9)] == ()
    assert flat(pieces[at(10)]) == expected_csat(at(10))


def test_pieces_of_two_collections_add_up_to_the_hours_once() -> None:
    first = plan(at(13, 7), None)
    second = plan(at(15, 7), first.hours[-1])
    assert second.hours == (at(13), at(14))
    pieces = csat_pieces(second, {t: csat_answer(at(15, 7), t) for t in second.timeframes})
    assert flat(pieces[at(13)]) == expected_csat(at(13))
    assert not set(first.hours) & set(second.hours)


def row(skill: str, agents: dict[str, tuple[int, ...]], total: tuple[int, ...] | None = None):
    members = tuple(
        CsatRow("agent", a, None, CsatCounts.from_scores(s))  # type: ignore[arg-type]
        for a, s in agents.items()
    )
    counts = (
        CsatCounts.from_scores(total)  # type: ignore[arg-type]
        if total
        else sum((m.counts for m in members), CsatCounts())
    )
    return CsatRow("skill", skill, None, counts, members)


def test_a_difference_below_zero_counts_zero_and_rows_of_nothing_are_left_out() -> None:
    wider = (
        row("4", {"1": (1, 0, 0, 2, 5), "2": (0, 0, 0, 0, 1)}),
        row("5", {"3": (0, 0, 0, 0, 2)}),
    )
    narrower = (
        # an answer for agent 1 arrived between the two calls: more in the narrower window
        row("4", {"1": (2, 0, 0, 1, 3), "2": (0, 0, 0, 0, 1)}),
        row("5", {"3": (0, 0, 0, 0, 2)}),
        row("6", {"4": (1, 1, 1, 1, 1)}),  # only in the narrower: nothing to store
    )
    got = csat_difference(wider, narrower)
    piece = CsatCounts((0, 0, 0, 1, 2), 3, 3)  # the one answer less on 1 does not count
    assert got == (CsatRow("skill", "4", None, piece, (CsatRow("agent", "1", None, piece),)),)


def test_a_skill_s_total_is_its_own_difference_not_its_agents_sum() -> None:
    wider = (row("4", {"1": (0, 0, 0, 0, 3)}, total=(1, 0, 0, 0, 3)),)  # one answer, no agent
    narrower = (row("4", {"1": (0, 0, 0, 0, 1)}, total=(0, 0, 0, 0, 1)),)
    (got,) = csat_difference(wider, narrower)
    assert got.counts == CsatCounts((1, 0, 0, 0, 2), 3, 2)
    assert got.agents[0].counts == CsatCounts((0, 0, 0, 0, 2), 2, 2)


# --- agent states -----------------------------------------------------------------------


def states_answer(now: datetime, timeframe: int) -> tuple[AgentStates, ...]:
    end = now.timestamp()
    every = sorted({a for members in AGENTS.values() for a in members})
    body = {
        "agentsMetrics": {
            "metricsPerAgent": {a: timeline_states(a, end - timeframe * 60, end) for a in every},
            "metricsTotals": [],
        }
    }
    return parse_agent_activity(body, None, None)[0]  # type: ignore[arg-type]


def hour_states(hour: datetime) -> tuple[AgentStates, ...]:
    every = sorted({a for members in AGENTS.values() for a in members})
    salt = int(hour.timestamp())
    body = {"agentsMetrics": {"metricsPerAgent": {a: agent_states(a, 3600, salt) for a in every}}}
    return states_difference(parse_agent_activity(body, None, None)[0], ())  # type: ignore[arg-type]


@pytest.mark.parametrize("now", [at(13, 7), at(13, 4), at(13, 59)])
def test_each_state_piece_is_its_hour_when_the_clock_is_on_a_minute(now: datetime) -> None:
    got = plan(now, None)
    pieces = states_pieces(got, {t: states_answer(now, t) for t in got.timeframes})
    assert list(pieces) == list(got.hours)
    for hour, agents in pieces.items():
        assert agents == hour_states(hour), hour


def test_seconds_past_the_minute_shift_a_state_piece_by_those_seconds() -> None:
    now = at(13, 7, 30)  # agentactivity's windows are exact: each starts 30 s past the hour
    got = plan(now, None)
    pieces = states_pieces(got, {t: states_answer(now, t) for t in got.timeframes})
    for hour, agents in pieces.items():
        want = {a.id: a.logged_in.total for a in hour_states(hour)}
        have = {a.id: a.logged_in.total for a in agents}
        assert want.keys() == have.keys()
        assert all(abs(have[a] - want[a]) <= 30 for a in want)  # 30 s of the next hour instead


def test_states_subtract_part_by_part_and_never_go_below_zero() -> None:
    t = StateTime
    wider = (
        AgentStates("1", "Ana", t(100, 60, 40, 5), (("online", t(80, 60, 20, 5)),),
                    (("lunch", t(20, 0, 20, 0)),)),
        AgentStates("2", None, t(10, 0, 10, 0), (("away", t(10, 0, 10, 0)),)),
    )  # fmt: skip
    narrower = (
        AgentStates("1", "Ana", t(40, 10, 35, 0), (("online", t(30, 10, 25, 0)),),
                    (("lunch", t(20, 0, 20, 0)),)),
        AgentStates("2", None, t(10, 0, 10, 0), (("away", t(10, 0, 10, 0)),)),
    )  # fmt: skip
    assert states_difference(wider, narrower) == (
        AgentStates("1", None, t(60, 50, 5, 5), (("online", t(50, 50, 0, 5)),), ()),
    )


# --- do the answers nest? -------------------------------------------------------------


def nested_csat() -> tuple[Plan, dict]:
    now = at(13, 7, 30)
    got = plan(now, None)
    return got, {t: csat_answer(now, t) for t in got.timeframes}


def test_answers_of_nested_windows_nest() -> None:
    got, answers = nested_csat()
    assert csat_disagreement(got, answers) is None
    states = {t: states_answer(at(13, 7, 30), t) for t in got.timeframes}
    assert states_disagreement(got, states) is None


def test_a_wider_window_answered_empty_disagrees_with_the_narrower_inside_it() -> None:
    """Its hour would be nothing and the hour before it the whole wider window."""
    got, answers = nested_csat()
    answers[607] = ()  # 03:00's window: "no data"
    assert csat_disagreement(got, answers) == (
        "the 607-minute window (from 03:00 UTC) and the 547-minute window (from 04:00 UTC)"
        f" inside it: 0 answers in the wider, {sum(r.counts.total for r in answers[547])} in"
        " the narrower"
    )


def test_an_answer_arriving_after_a_quiet_hour_is_within_the_slack() -> None:
    """Nobody answered from 12:00 to 13:07; one answer arrives between the two calls: the
    wider window counts nothing, the narrower one answer."""
    got = Plan(at(13, 7, 30), ((at(12), 67), (at(13), 7)))
    one, three = (row("4", {"1": (0, 0, 0, 0, 1)}),), (row("4", {"1": (0, 0, 0, 0, 3)}),)
    assert csat_disagreement(got, {67: (), 7: one}) is None
    assert csat_disagreement(got, {67: (), 7: three}) == (
        "the 67-minute window (from 12:00 UTC) and the 7-minute window (from 13:00 UTC)"
        " inside it: 0 answers in the wider, 3 in the narrower"
    )


def test_a_skill_that_shrinks_disagrees_beyond_the_slack_only() -> None:
    wider = (row("4", {"1": (0, 0, 0, 0, 10)}), row("5", {"2": (0, 0, 0, 0, 20)}))
    two_more = (row("4", {"1": (0, 0, 0, 0, 12)}), row("5", {"2": (0, 0, 0, 0, 1)}))
    three_more = (row("4", {"1": (0, 0, 0, 0, 13)}),)
    got = Plan(at(13, 7, 30), ((at(12), 67), (at(13), 7)))
    assert csat_disagreement(got, {67: wider, 7: two_more}) is None  # arrived meanwhile
    assert csat_disagreement(got, {67: wider, 7: three_more}) == (
        "the 67-minute window (from 12:00 UTC) and the 7-minute window (from 13:00 UTC)"
        " inside it: skill 4 has 10 answers in the wider, 13 in the narrower"
    )
    assert csat_disagreement(got, {67: wider, 7: three_more}, slack=3) is None
    assert ANSWERS_SLACK == 2


def test_the_account_disagrees_when_many_skills_grow_a_little() -> None:
    wider = tuple(row(str(k), {"1": (0, 0, 0, 0, 5)}) for k in range(4))
    narrower = tuple(row(str(k), {"1": (0, 0, 0, 0, 6)}) for k in range(4))  # +1 each
    got = Plan(at(13, 7, 30), ((at(12), 67), (at(13), 7)))
    assert "20 answers in the wider, 24 in the narrower" in str(
        csat_disagreement(got, {67: wider, 7: narrower})
    )


def test_an_agent_logged_in_longer_in_the_narrower_window_disagrees() -> None:
    t = StateTime
    got = Plan(at(13, 7, 30), ((at(12), 67), (at(13), 7)))
    wider = (AgentStates("1", None, t(3600, 0, 3600, 0)), AgentStates("2", None, t(400)))
    rounded = (AgentStates("1", None, t(400)), AgentStates("2", None, t(402)))  # ±1 s each
    longer = (AgentStates("1", None, t(400)), AgentStates("2", None, t(410)))
    assert states_disagreement(got, {67: wider, 7: rounded}) is None
    assert states_disagreement(got, {67: wider, 7: longer}) == (
        "the 67-minute window (from 12:00 UTC) and the 7-minute window (from 13:00 UTC)"
        " inside it: agent 2 logged in 400 s in the wider, 410 s in the narrower"
    )
    assert states_disagreement(got, {67: wider, 7: longer}, slack=10) is None
    assert "nobody logged in in the wider, 810 s" in str(
        states_disagreement(got, {67: (), 7: longer}, slack=0)
    )


def test_how_much_an_answer_for_one_window_changed() -> None:
    first = (row("4", {"1": (0, 0, 0, 0, 10)}), row("5", {"2": (1, 0, 0, 0, 0)}))
    again = (row("4", {"1": (0, 0, 0, 0, 13)}), row("6", {"3": (0, 0, 0, 0, 2)}))
    assert csat_changed(first, again) == 3 + 1 + 2
    assert csat_changed(first, first) == 0


def test_a_state_piece_longer_than_its_hour_disagrees() -> None:
    """The newest window answered "no data": 12:00 would be the whole 67-minute window, more
    seconds than the hour has, though no narrower window counts more than its wider."""
    t = StateTime
    got = Plan(at(13, 7, 30), ((at(12), 67), (at(13), 7)))
    whole = (AgentStates("7", None, t(4020, 0, 4020, 0), (("online", t(4020)),)),)
    assert states_disagreement(got, {67: whole, 7: ()}) == (
        "the 67-minute window (from 12:00 UTC) and the 7-minute window (from 13:00 UTC)"
        " inside it: agent 7 has 4020 s logged in in the hour between them, which lasts 3600 s"
    )
    hour = (AgentStates("7", None, t(3602), (("online", t(3602)),)),)
    assert states_disagreement(got, {67: hour, 7: ()}) is None  # the hour, rounded
    assert states_disagreement(got, {67: hour, 7: ()}, slack=1) is not None
    assert states_disagreement(got, {67: whole, 7: ()}, slack=420) is None  # slid so long
    away = (AgentStates("7", None, t(3600), reasons=(("9", t(3700)),)),)
    assert "agent 7 has 3700 s away for reason 9 in the hour" in str(
        states_disagreement(got, {67: away, 7: ()})
    )
