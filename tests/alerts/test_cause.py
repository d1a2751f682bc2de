"""What explains a drop, against hand-computed cases, and the headline that says it first."""

from __future__ import annotations

from typing import Any

import pytest

from bot.alerts.cause import explain, headline, levels
from bot.alerts.detect import Evaluation, Metric, Reason
from bot.snapshots.queries import Past


def row(kind: str, id: str, positive: int, answers: int, **extra: Any) -> dict[str, Any]:
    return {"entity_kind": kind, "entity_id": id, "positive": positive, "answers": answers,
            "score": positive / answers if answers else None, **extra}  # fmt: skip


def past(positive: int, answers: int, pooled: tuple[int, int] | None = None, runs: int = 1) -> Past:
    xs, ns = pooled or (positive, answers)
    return Past(runs, positive, answers, positive / answers, xs, ns, 0.0, 0.0, 0, None, None)


def evaluation(kind: str, id: str, now: float, before: float, runs: int = 1) -> Evaluation:
    drop = (before - now) * 100
    return Evaluation(kind, id, None, Metric.CSAT, True, Reason("drop", {}), now, before, runs,
                      drop, 150, None, None, 0.001)  # fmt: skip


def test_one_skill_explains_the_whole_drop() -> None:
    # before: Orders 80/100, Billing 45/50, account 125/150 = 83.3 %
    # now:    Orders 50/100, Billing 45/50, account  95/150 = 63.3 %: 20 points lost
    # Orders' share: 100 answers × (0.80 − 0.50) ÷ 150 = 20.0 points, all of it
    rows = [row("total", "", 95, 150), row("skill", "orders", 50, 100, entity_name="Orders"),
            row("skill", "billing", 45, 50)]  # fmt: skip
    earlier = {("total", ""): past(125, 150), ("skill", "orders"): past(80, 100),
               ("skill", "billing"): past(45, 50)}  # fmt: skip
    ev = evaluation("total", "", 95 / 150, 125 / 150)
    kept = levels(rows, earlier, ev)
    assert kept["parts"][0][:6] == ["skill", "orders", "skill", "orders", 80, 100]
    (orders,) = explain(rows, kept, ev, ev.against)
    assert orders["entity_id"] == "orders" and orders["entity_name"] == "Orders"
    assert orders["lost"] == pytest.approx(20.0)
    assert orders["share"] == pytest.approx(1.0)
    assert (orders["now"], orders["before"], orders["answers"]) == (0.5, 0.8, 100)
    said = headline(ev, (orders,), None)
    assert (said["entity_id"], said["now"], said["change"]) == ("orders", 0.5, pytest.approx(-30))
    assert said["account_now"] == pytest.approx(95 / 150)
    assert said["account_change"] == pytest.approx(-20)


def test_two_skills_share_the_drop_by_their_answers() -> None:
    # before: A 90/100, B 90/100 (90 %); now: A 70/100, B 80/100 (75 %): 15 points lost
    # A: 100 × 0.20 ÷ 200 = 10 points (2/3), B: 100 × 0.10 ÷ 200 = 5 points (1/3)
    rows = [row("total", "", 150, 200), row("skill", "a", 70, 100), row("skill", "b", 80, 100)]
    earlier = {("skill", "a"): past(90, 100), ("skill", "b"): past(90, 100)}
    ev = evaluation("total", "", 0.75, 0.90)
    a, b = explain(rows, levels(rows, earlier, ev), ev, ev.against)
    assert (a["entity_id"], a["lost"], a["share"]) == ("a", pytest.approx(10), pytest.approx(2 / 3))
    assert (b["entity_id"], b["lost"], b["share"]) == ("b", pytest.approx(5), pytest.approx(1 / 3))


def test_answers_moving_between_skills_names_no_skill() -> None:
    # A stays at 80 %, B at 90 %; answers move from B to A: the account drops 2.5 points
    # (before 170/200 = 85 %, now 165/200 = 82.5 %) and no skill is to blame
    rows = [row("total", "", 165, 200), row("skill", "a", 120, 150), row("skill", "b", 45, 50)]
    earlier = {("skill", "a"): past(80, 100), ("skill", "b"): past(90, 100)}
    ev = evaluation("total", "", 0.825, 0.85)
    assert explain(rows, levels(rows, earlier, ev), ev, ev.against) == ()


def test_a_skill_names_the_agent_behind_its_drop() -> None:
    # skill 12 before: agent 1001 30/40, agent 1002 30/40 (75 %); now 1001 10/40, 1002 30/40
    # (50 %): 25 points lost, 1001: 40 × (0.75 − 0.25) ÷ 80 = 25 points, all of it
    rows = [row("total", "", 200, 300), row("skill", "12", 40, 80),
            row("skill_agent", "12:1001", 10, 40), row("skill_agent", "12:1002", 30, 40),
            row("skill_agent", "13:1001", 30, 40)]  # fmt: skip
    earlier = {("skill_agent", "12:1001"): past(30, 40), ("skill_agent", "12:1002"): past(30, 40),
               ("skill_agent", "13:1001"): past(10, 40)}  # fmt: skip
    ev = evaluation("skill", "12", 0.5, 0.75)
    kept = levels(rows, earlier, ev)
    assert {tuple(p[:2]) for p in kept["parts"]} == {("skill_agent", "12:1001"),
                                                     ("skill_agent", "12:1002")}  # fmt: skip
    (agent,) = explain(rows, kept, ev, ev.against)
    assert (agent["entity_kind"], agent["entity_id"]) == ("agent", "1001")
    assert (agent["lost"], agent["share"]) == (pytest.approx(25), pytest.approx(1.0))
    account = evaluation("total", "", 200 / 300, 0.7)
    said = headline(ev, (agent,), account)
    assert (said["entity_kind"], said["entity_id"], said["now"]) == ("skill", "12", 0.5)
    assert said["change"] == pytest.approx(-25)
    assert said["account_change"] == pytest.approx((200 / 300 - 0.7) * 100)


def test_the_pooled_baseline_is_used_when_the_drop_was_judged_on_it() -> None:
    rows = [row("total", "", 50, 100), row("skill", "a", 50, 100)]
    earlier = {("skill", "a"): past(60, 100, pooled=(560, 700), runs=7)}
    ev = evaluation("total", "", 0.5, 0.8, runs=7)
    (a,) = explain(rows, levels(rows, earlier, ev), ev, ev.against)
    assert a["before"] == pytest.approx(0.8)  # 560/700, not yesterday's 60 %
    assert a["lost"] == pytest.approx(30)


def test_later_updates_compare_with_the_level_kept_at_the_opening() -> None:
    rows = [row("total", "", 95, 150), row("skill", "orders", 50, 100), row("skill", "b", 45, 50)]
    kept = {"metric": "csat", "parts": [["skill", "orders", "skill", "orders", 80, 100],
                                        ["skill", "b", "skill", "b", 45, 50]]}  # fmt: skip
    # yesterday Orders was at 50 % too: against yesterday nothing moved, against the
    # level before the alert Orders still explains every lost point
    ev = evaluation("total", "", 95 / 150, 95 / 150)
    (orders,) = explain(rows, kept, ev, 125 / 150)
    assert (orders["lost"], orders["share"]) == (pytest.approx(20), pytest.approx(1.0))


def test_recovered_parts_are_not_named() -> None:
    rows = [row("total", "", 125, 150), row("skill", "orders", 80, 100), row("skill", "b", 45, 50)]
    kept = {"metric": "csat", "parts": [["skill", "orders", "skill", "orders", 80, 100],
                                        ["skill", "b", "skill", "b", 40, 50]]}  # fmt: skip
    ev = evaluation("total", "", 125 / 150, 125 / 150)
    assert explain(rows, kept, ev, 125 / 150) == ()


def test_logged_in_time_is_explained_by_the_agents_who_lost_it() -> None:
    rows = [{"entity_kind": "total", "entity_id": "", "logged_in": 10_000},
            {"entity_kind": "agent", "entity_id": "1", "logged_in": 2_000},
            {"entity_kind": "agent", "entity_id": "2", "logged_in": 8_000}]  # fmt: skip
    kept = {"metric": "logged_in", "parts": [["agent", "1", "agent", "1", 8_000.0, 1],
                                             ["agent", "2", "agent", "2", 8_000.0, 1]]}  # fmt: skip
    ev = Evaluation("total", "", None, Metric.LOGGED_IN, True, Reason("logged_in_low", {}),
                    10_000, 16_000, 7, 37.5)  # fmt: skip
    (one,) = explain(rows, kept, ev, 16_000)
    assert (one["entity_id"], one["lost"], one["share"]) == ("1", 6_000, 1.0)


def test_an_alert_without_parts_has_a_headline_of_its_own() -> None:
    ev = evaluation("total", "", 0.6, 0.7)
    said = headline(ev, (), None)
    assert (said["entity_kind"], said["now"], said["change"]) == ("total", 0.6, pytest.approx(-10))
    assert "account_now" not in said


def test_an_agent_the_report_leaves_out_lost_all_their_time() -> None:
    rows = [{"entity_kind": "total", "entity_id": "", "logged_in": 8_000},
            {"entity_kind": "agent", "entity_id": "2", "logged_in": 8_000}]  # fmt: skip
    kept = {"metric": "logged_in", "parts": [["agent", "1", "agent", "1", 8_000.0, 1],
                                             ["agent", "2", "agent", "2", 8_000.0, 1]]}  # fmt: skip
    ev = Evaluation("total", "", None, Metric.LOGGED_IN, True, Reason("logged_in_low", {}),
                    8_000, 16_000, 7, 50.0)  # fmt: skip
    (one,) = explain(rows, kept, ev, 16_000)
    assert (one["entity_id"], one["now"], one["lost"], one["share"]) == ("1", 0.0, 8_000, 1.0)


def test_a_skill_keeps_its_agents_however_busy_another_skill_is() -> None:
    # a busy skill with 300 big agents, and Orders with 3 small ones, one of them dropping
    rows = [row("total", "", 0, 1), row("skill", "big", 0, 1), row("skill", "orders", 20, 60)]
    earlier: dict[tuple[str, str], Past] = {("skill", "big"): past(9_000, 10_000),
                                            ("skill", "orders"): past(50, 60)}  # fmt: skip
    for i in range(300):
        rows.append(row("skill_agent", f"big:{i}", 30, 40))
        earlier[("skill_agent", f"big:{i}")] = past(30, 40)
    for agent, (now, before) in {"a1": (0, 18), "a2": (10, 16), "a3": (10, 16)}.items():
        rows.append(row("skill_agent", f"orders:{agent}", now, 20))
        earlier[("skill_agent", f"orders:{agent}")] = past(before, 20)
    ev = evaluation("total", "", 0.5, 0.9)
    kept = levels(rows, earlier, ev)
    assert {p[1] for p in kept["within"] if p[6] == "orders"} == {
        "orders:a1", "orders:a2", "orders:a3"
    }  # fmt: skip
    orders = next(p for p in explain(rows, kept, ev, ev.against) if p["entity_id"] == "orders")
    assert orders["within"][0]["entity_id"] == "a1"
