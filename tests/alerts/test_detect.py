"""Drop detection and the notify decision: statistics against known values, tables of cases."""

from __future__ import annotations

import math
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


# --- the statistics against numbers worked out by hand ------------------------------------
#
# Wilson at 95 %, z = 1.959964, z² = 3.841459:
#   centre = (p + z²/2n) / (1 + z²/n),  half = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)
# 8/10:  1 + z²/n = 1.3841459; centre = (0.8 + 0.1920729) / 1.3841459 = 0.7167404;
#        half = 1.959964 · √(0.016 + 0.0096037) / 1.3841459 = 1.959964 · 0.1600115 / 1.3841459
#             = 0.2265782  →  (0.4902, 0.9433)
# 0/10:  centre = half = 0.1920729 / 1.3841459 = 0.1387663  →  (0, 0.2775)
# 10/10: the mirror of 0/10  →  (1 − 0.2775, 1) = (0.7225, 1)
# 50/100: 1 + z²/n = 1.0384146; centre = 0.5; half = 1.959964 · √(0.0025 + 0.0000960)
#        / 1.0384146 = 1.959964 · 0.0509513 / 1.0384146 = 0.0961683  →  (0.4038, 0.5962)
# 1/1:   centre = (1 + 1.9207297) / 4.841459 = 0.6032753; half = 1.959964 · √0.9603649
#        / 4.841459 = 0.3967247  →  (0.2065, 1)


@pytest.mark.parametrize(
    ("positive", "total", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_interval_matches_hand_computed_values(
    positive: int, total: int, low: float, high: float
) -> None:
    assert wilson(positive, total) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_stays_within_zero_to_one_at_the_edges() -> None:
    """0/n starts at 0 and n/n ends at 1, to rounding (10/10 ends at 1 − 2⁻⁵³, 0/1000
    starts at 2⁻⁶²), and never beyond."""
    for total in (1, 2, 10, 1000):
        low, high = wilson(0, total)
        assert low == pytest.approx(0.0, abs=1e-15) and low >= 0.0 and high < 1.0
        low, high = wilson(total, total)
        assert high == pytest.approx(1.0, abs=1e-15) and high <= 1.0 and low > 0.0


# One-sided two-proportion test, pooled: p̂ = (x₁ + x₂)/(n₁ + n₂),
# z = (x₂/n₂ − x₁/n₁) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)), p = Q(z) = ½·erfc(z/√2).
# 40/100 now, 60/100 before: p̂ = 0.5, √(0.25 · 0.02) = √0.005 = 0.0707107,
#   z = 0.2 / 0.0707107 = 2.8284271 (= 2√2), p = ½·erfc(2) = 0.0023388675
# 0/10 now, 10/10 before: p̂ = 0.5, √(0.25 · 0.2) = √0.05, z = 1/√0.05 = √20 = 4.4721360,
#   p = ½·erfc(√10) = 0.0000038721
# 9/10 now, 20/20 before: p̂ = 29/30, √(29/30 · 1/30 · 0.15) = 0.0695222, z = 0.1 / 0.0695222
#   = 1.4383899, p = 0.0751617
# Q(z) checked by its Taylor series, ½ − φ-integral Σ (−1)^k z^(2k+1) / (2^k k! (2k+1)) / √(2π),
# summed to 300 terms in 50-digit decimals: 0.00233886749052363, 0.00000387210821552,
# 0.07516172773933416.


@pytest.mark.parametrize(
    ("now", "before", "p"),
    [
        ((40, 100), (60, 100), 0.0023388674905),
        ((60, 100), (40, 100), 1 - 0.0023388674905),  # a rise: the other tail
        ((0, 10), (10, 10), 0.0000038721082155),
        ((10, 10), (20, 20), 1.0),  # no spread, no drop
        ((9, 10), (20, 20), 0.0751617277393),  # from a perfect score: credible? no
        ((5, 10), (0, 0), 1.0),  # nothing before
        ((0, 0), (5, 10), 1.0),  # nothing now
    ],
)
def test_two_proportion_test_matches_hand_computed_values(
    now: tuple[int, int], before: tuple[int, int], p: float
) -> None:
    assert drop_p_value(*now, *before) == pytest.approx(p, rel=1e-8, abs=1e-10)


def test_two_proportion_z_is_two_root_two_for_40_against_60() -> None:
    """The p-value above is the normal tail at exactly z = 2√2: ½·erfc(2)."""
    assert drop_p_value(40, 100, 60, 100) == pytest.approx(0.5 * math.erfc(2), rel=1e-12)
