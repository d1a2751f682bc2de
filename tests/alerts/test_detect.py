"""Drop detection and the notify decision: statistics against known values, tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.decide import Action, AlertState, decide
from bot.alerts.detect import (
    Evaluation,
    Metric,
    Reason,
    drop_p_value,
    evaluate_availability,
    evaluate_csat,
    still_firing,
    wilson,
)
from bot.config import Rule

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("positive", "total", "low", "high"),
    [
        (80, 100, 0.7112, 0.8666),  # textbook values for 80/100 at 95 %
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_interval_matches_known_values(
    positive: int, total: int, low: float, high: float
) -> None:
    got = wilson(positive, total)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_wilson_without_answers_is_everything() -> None:
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("now", "before", "p"),
    [
        ((70, 100), (85, 100), 0.00554),  # z = 2.54
        ((14, 20), (17, 20), 0.1280),  # a small sample: the same drop is not credible
        ((85, 100), (70, 100), 0.99446),  # a rise
        ((50, 100), (50, 100), 0.5),
    ],
)
def test_two_proportion_test_matches_known_values(
    now: tuple[int, int], before: tuple[int, int], p: float
) -> None:
    assert drop_p_value(*now, *before) == pytest.approx(p, abs=1e-4)


def row(positive: int, answers: int, kind: str = "skill", id: str = "4") -> dict[str, Any]:
    return {"entity_kind": kind, "entity_id": id, "entity_name": f"Skill {id}",
            "positive": positive, "answers": answers}  # fmt: skip


def test_a_credible_drop_fires_with_its_numbers() -> None:
    ev = evaluate_csat(row(140, 200), [row(170, 200)], Rule(min_answers=20))
    assert ev.firing is True
    assert ev.drop == pytest.approx(15.0)
    assert ev.against_runs == 1
    assert ev.interval == pytest.approx(wilson(140, 200))
    assert ev.reason.code == "drop"
    assert ev.reason.numbers["points"] == pytest.approx(15.0)
    assert ev.reason.numbers["runs"] == 1
    assert ev.reason.numbers["p"] < 0.001


def test_a_small_sample_never_fires_nor_resolves() -> None:
    ev = evaluate_csat(row(2, 10), [row(170, 200)], Rule(min_answers=20))
    assert ev.firing is None
    assert ev.reason == Reason("few_answers", {"answers": 10, "needed": 20})


def test_a_drop_within_noise_does_not_fire() -> None:
    ev = evaluate_csat(row(14, 20), [row(17, 20)], Rule(min_answers=20))
    assert ev.firing is False
    assert ev.reason.code == "not_credible"


def test_a_big_drop_below_the_points_threshold_does_not_fire() -> None:
    ev = evaluate_csat(row(8600, 10000), [row(8800, 10000)], Rule(drop_points=5))
    assert ev.firing is False  # 2 points: credible but smaller than the team cares about
    assert ev.reason.code == "small_drop"
    assert ev.reason.numbers["needed"] == 5


def test_many_entities_at_once_raise_the_bar() -> None:
    """p ~ 0.006 is credible alone but not among 500 skills checked in one snapshot."""
    alone = evaluate_csat(row(70, 100), [row(85, 100)], Rule())
    among_many = evaluate_csat(row(70, 100), [row(85, 100)], Rule(), tests=500)
    assert (alone.firing, among_many.firing) == (True, False)


def test_the_baseline_catches_a_slow_slide() -> None:
    history = [row(160, 200), row(170, 200), row(172, 200), row(171, 200)]
    ev = evaluate_csat(row(150, 200), history, Rule(drop_points=5))
    assert ev.firing is True
    assert ev.against_runs == 4


def test_nothing_to_compare_with_is_fine() -> None:
    ev = evaluate_csat(row(150, 200), [], Rule())
    assert (ev.firing, ev.reason) == (False, Reason("nothing_earlier"))


def test_an_open_alert_is_judged_against_the_level_before_it() -> None:
    before = evaluate_csat(row(150, 200), [row(152, 200)], Rule())  # a small dip: not firing
    assert before.firing is False
    still = still_firing(before, before=0.85, rule=Rule())
    assert (still.firing, still.reason.code, still.reason.numbers["metric"]) == (
        True, "still_off", "csat"
    )  # fmt: skip
    assert still.reason.numbers["gap"] == pytest.approx(10.0)
    back = still_firing(before, before=0.76, rule=Rule())
    assert (back.firing, back.reason) == (
        False,
        Reason("back_within", {"margin": 2.5, "metric": "csat"}),
    )


def test_a_reason_round_trips_through_the_alerts_table() -> None:
    reason = Reason("drop", {"points": 7.6, "runs": 1, "p": 0.0001})
    assert Reason.load(reason.dump()) == reason
    assert Reason.load(None) is None
    # an alert stored before reasons had codes keeps its sentence
    assert Reason.load("down 7.6 points from the previous snapshot") == Reason(
        "text", {"text": "down 7.6 points from the previous snapshot"}
    )
    assert Reason.load('{"not": "a reason"}').code == "text"


def states(logged: int, away: int, id: str = "1001") -> dict[str, Any]:
    return {"entity_kind": "agent", "entity_id": id, "entity_name": f"Agent {id}",
            "logged_in": logged, "states": {"online": logged - away, "away": away}}  # fmt: skip


def test_logged_in_time_well_below_its_baseline_fires() -> None:
    history = [states(28800, 1800), states(28000, 1500), states(29500, 2000), states(28700, 1700)]
    found = {e.metric: e for e in evaluate_availability(states(14000, 900), history, Rule())}
    assert found[Metric.LOGGED_IN].firing is True
    assert found[Metric.AWAY_SHARE].firing is False


def test_away_share_well_above_its_baseline_fires() -> None:
    history = [states(28800, 1800), states(28000, 1500), states(29500, 2000), states(28700, 1700)]
    found = {e.metric: e for e in evaluate_availability(states(28800, 9000), history, Rule())}
    assert found[Metric.AWAY_SHARE].firing is True
    assert found[Metric.AWAY_SHARE].drop == pytest.approx((9000 / 28800 - 0.0606) * 100, abs=0.2)


def test_availability_needs_three_earlier_snapshots() -> None:
    evs = evaluate_availability(states(100, 90), [states(28800, 0)], Rule())
    assert [e.firing for e in evs] == [None, None]
    assert evs[0].reason == Reason("few_snapshots", {"snapshots": 1})


SMALL = Reason("few_answers", {"answers": 3, "needed": 20})


def ev(firing: bool | None, drop: float = 10.0) -> Evaluation:
    return Evaluation("total", "", None, Metric.CSAT, firing, SMALL, drop=drop)


FIRING = AlertState("firing", opened_drop=10.0)
LATER = NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("case", "alert", "evaluation", "action", "reason"),
    [
        ("first", None, ev(True), Action.OPEN, "first"),
        ("persists", FIRING, ev(True, 11), Action.THREAD, "persists"),
        ("worsens", FIRING, ev(True, 16), Action.WORSE, "worse than when it opened"),
        ("resolves", FIRING, ev(False), Action.RESOLVE, "recovered"),
        (
            "re-fires",
            AlertState("resolved", 10.0),
            ev(True),
            Action.OPEN,
            "re-fires after resolving",
        ),
        ("stays fine", AlertState("resolved", 10.0), ev(False), Action.NONE, "fine"),
        ("never fired", None, ev(False), Action.NONE, "fine"),
        (
            "snoozed",
            AlertState("firing", 10.0, snoozed_until=LATER),
            ev(True, 30),
            Action.SILENT,
            f"snoozed until {LATER:%Y-%m-%d %H:%M}",
        ),
        (
            "snooze over",
            AlertState("firing", 10.0, snoozed_until=NOW - timedelta(minutes=1)),
            ev(True, 11),
            Action.THREAD,
            "persists",
        ),
        (
            "acknowledged",
            AlertState("firing", 10.0, acked_by="U0LEAD"),
            ev(True, 11),
            Action.THREAD,
            "persists (acknowledged by U0LEAD)",
        ),
        (
            "snoozed but recovered",
            AlertState("firing", 10.0, snoozed_until=LATER),
            ev(False),
            Action.RESOLVE,
            "recovered",
        ),
        ("small sample", FIRING, ev(None), Action.NONE, f"no decision: {SMALL}"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_decide(
    case: str, alert: AlertState | None, evaluation: Evaluation, action: Action, reason: str
) -> None:
    assert decide(alert, evaluation, NOW, Rule()) == (action, reason)
