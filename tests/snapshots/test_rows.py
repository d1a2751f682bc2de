"""Reports -> snapshot rows, and what changed since the previous snapshot (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.check.samples import NOW, agent_states_report, livechat_report
from bot.metrics import CsatCounts, CsatReport, CsatRow, bucket_window
from bot.snapshots.rows import TOTAL, Change, away_share, compare, csat_rows, states_rows


def decoded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their JSON columns read back, so formatting does not matter."""
    return [
        {k: json.loads(v) if k in ("states", "reasons") else v for k, v in row.items()}
        for row in rows
    ]


def test_csat_rows_for_a_one_to_five_report() -> None:
    skill = CsatRow(
        "skill", "4", None, CsatCounts.from_scores((1, 0, 1, 2, 6)),
        agents=(CsatRow("agent", "1001", None, CsatCounts.from_scores((1, 0, 1, 2, 6))),),
    )  # fmt: skip
    unassigned = CsatRow("skill", "-1", None, CsatCounts.from_scores((0, 2, 2, 2, 4)))
    report = CsatReport(
        "liveperson", "LivePerson", "skill", bucket_window(NOW, 60),
        CsatCounts.from_scores((1, 2, 3, 4, 10)), (skill, unassigned), fetched_at=NOW,
    )  # fmt: skip
    assert csat_rows(report) == [
        {"entity_kind": TOTAL, "entity_id": "", "entity_name": None, "answers": 20,
         "score": 0.7, "positive": 14, "s1": 1, "s2": 2, "s3": 3, "s4": 4, "s5": 10},
        {"entity_kind": "skill", "entity_id": "4", "entity_name": None, "answers": 10,
         "score": 0.8, "positive": 8, "s1": 1, "s2": 0, "s3": 1, "s4": 2, "s5": 6},
        # an agent within a skill is its own entity: one agent may serve several skills
        {"entity_kind": "skill_agent", "entity_id": "4:1001",
         "entity_name": None, "answers": 10,
         "score": 0.8, "positive": 8, "s1": 1, "s2": 0, "s3": 1, "s4": 2, "s5": 6},
        {"entity_kind": "skill", "entity_id": "-1", "entity_name": None, "answers": 10,
         "score": 0.6, "positive": 6, "s1": 0, "s2": 2, "s3": 2, "s4": 2, "s5": 4},
    ]  # fmt: skip


def test_csat_rows_for_an_empty_report_keep_the_total_without_a_score() -> None:
    report = CsatReport("liveperson", "LivePerson", "account", bucket_window(NOW, 60),
                        CsatCounts(), fetched_at=NOW)  # fmt: skip
    assert csat_rows(report) == [
        {"entity_kind": TOTAL, "entity_id": "", "entity_name": None, "answers": 0,
         "score": None, "positive": 0, "s1": 0, "s2": 0, "s3": 0, "s4": 0, "s5": 0},
    ]  # fmt: skip


def test_csat_rows_for_a_good_bad_report() -> None:
    assert csat_rows(livechat_report()) == [
        {"entity_kind": TOTAL, "entity_id": "", "entity_name": None, "answers": 49,
         "score": 32 / 49, "positive": 32, "good": 32, "bad": 17, "chats": 83},
        {"entity_kind": "agent", "entity_id": "smith@example.com",
         "entity_name": "smith@example.com", "answers": 2, "score": 0.0, "positive": 0,
         "good": 0, "bad": 2, "chats": 2},
        {"entity_kind": "agent", "entity_id": "agent@example.com",
         "entity_name": "agent@example.com", "answers": 19, "score": 13 / 19, "positive": 13,
         "good": 13, "bad": 6, "chats": 19},
    ]  # fmt: skip


def test_states_rows_hold_the_team_and_each_agent_with_json_states() -> None:
    rows = states_rows(agent_states_report(2))
    assert all(isinstance(r["states"], str) and isinstance(r["reasons"], str) for r in rows)
    assert decoded(rows) == [
        {"entity_kind": TOTAL, "entity_id": "", "entity_name": None, "logged_in": 14400,
         "chatting": 4972, "states": {"online": 9428, "back_soon": 4722, "away": 0},
         "reasons": {"2642559712": 72}},
        {"entity_kind": "agent", "entity_id": "2", "entity_name": None, "logged_in": 7200,
         "chatting": 2486, "states": {"online": 4714, "back_soon": 2361, "away": 0},
         "reasons": {"2642559712": 72}},
        {"entity_kind": "agent", "entity_id": "3", "entity_name": None, "logged_in": 7200,
         "chatting": 2486, "states": {"online": 4714, "back_soon": 2361, "away": 0},
         "reasons": {}},
    ]  # fmt: skip


def test_states_rows_keep_the_order_of_states() -> None:
    (team, *_) = states_rows(agent_states_report(1))
    assert list(json.loads(team["states"])) == ["online", "back_soon", "away"]


# --- compare ----------------------------------------------------------------------------------


def csat(entity_id: str, answers: int, score: float | None) -> dict[str, Any]:
    kind = TOTAL if entity_id == "" else "skill"
    return {"entity_kind": kind, "entity_id": entity_id, "answers": answers, "score": score}


def availability(
    entity_id: str, logged_in: int, states: dict[str, int], *, raw: bool
) -> dict[str, Any]:
    """A states row as states_rows makes it (`raw`: JSON text) or run_rows reads it back."""
    return {
        "entity_kind": "agent", "entity_id": entity_id, "logged_in": logged_in,
        "states": json.dumps(states) if raw else states,
    }  # fmt: skip


def keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["entity_kind"], r["entity_id"]): r for r in rows}


def test_compare_csat_scores_in_points_and_answers() -> None:
    previous = keyed([csat("", 100, 0.75), csat("4", 40, 0.5), csat("9", 3, 1.0)])
    current = [csat("", 120, 0.5), csat("4", 30, 0.75), csat("5", 7, 0.25), csat("6", 0, None)]
    previous |= keyed([csat("6", 4, 0.5)])
    assert compare(current, previous) == {
        (TOTAL, ""): Change(score_points=-25.0, answers=20),
        ("skill", "4"): Change(score_points=25.0, answers=-10),
        ("skill", "5"): Change(),  # new since the previous snapshot
        ("skill", "6"): Change(score_points=None, answers=-4),  # nobody answered this time
    }  # skill 9 is gone: only what is shown now is compared


def test_compare_on_the_first_snapshot_marks_everything_new() -> None:
    current = [csat("", 10, 0.5), csat("4", 10, 0.5)]
    assert compare(current, {}) == {(TOTAL, ""): Change(), ("skill", "4"): Change()}


@pytest.mark.parametrize(
    ("away_label", "before_away", "now_away", "points"),
    [
        ("away", 900, 1800, 25.0),  # LivePerson
        ("not_accepting", 450, 0, -12.5),  # LiveChat
        ("away", 900, 900, 0.0),
    ],
)
def test_compare_availability_logged_in_and_away_share(
    away_label: str, before_away: int, now_away: int, points: float
) -> None:
    before = availability("1001", 3600, {"online": 3600 - before_away, away_label: before_away},
                          raw=False)  # fmt: skip
    now = availability("1001", 3600, {"online": 3600 - now_away, away_label: now_away}, raw=True)
    assert compare([now], keyed([before])) == {
        ("agent", "1001"): Change(score_points=None, answers=None, logged_in=0,
                                  away_share_points=points),
    }  # fmt: skip


def test_compare_logged_in_delta_without_away_share_when_nobody_was_logged_in() -> None:
    before = availability("1002", 0, {}, raw=False)
    now = availability("1002", 5400, {"online": 5400, "away": 600}, raw=True)
    assert compare([now], keyed([before])) == {
        ("agent", "1002"): Change(logged_in=5400, away_share_points=None)
    }


@pytest.mark.parametrize(
    ("row", "share"),
    [
        ({"logged_in": 3600, "states": {"away": 900}}, 0.25),
        ({"logged_in": 3600, "states": json.dumps({"not_accepting": 1800})}, 0.5),
        ({"logged_in": 3600, "states": {"away": 0, "not_accepting": 1800}}, 0.0),  # away first
        ({"logged_in": 3600, "states": {"online": 3600}}, None),
        ({"logged_in": 0, "states": {"away": 10}}, None),
        ({"logged_in": None, "states": None}, None),
    ],
)
def test_away_share(row: dict[str, Any], share: float | None) -> None:
    assert away_share(row) == share


def test_away_share_from_stored_json() -> None:
    assert away_share({"states": '{"online": 300, "away": 100}', "logged_in": 400}) == 0.25
