"""The digest's thread: which entities the trend draws, and the CSV in numbers people read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlite_utils import Database

from bot.check.samples import agent_states_report, csat_report
from bot.config import Digest
from bot.digests import attachments
from bot.digests.attachments import COLUMNS, table, top_entities, trend_series
from bot.render import charts
from bot.render.words import builtin
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import csat_rows, states_rows
from tests.snapshots.sample import csat_row, run_for

WORDS = builtin()


def row(kind: str, id: str, answers: int | None, name: str | None = None) -> dict[str, Any]:
    return {"entity_kind": kind, "entity_id": id, "entity_name": name, "answers": answers,
            "score": 0.5 if answers else None}  # fmt: skip


# --- the trend's entities --------------------------------------------------------------------


def test_the_top_entities_have_the_most_answers_and_are_no_memberships() -> None:
    rows = [
        row("total", "", 500),
        row("skill", "1", 40),
        row("skill_agent", "2:77", 300),  # an agent within a skill: not its own line
        row("skill", "2", 120),
        row("skill", "3", 0),  # no answers: nothing to draw
        row("skill", "4", 90),
        row("skill", "5", 90),  # as many as skill 4: after it, as in the rows
        row("skill", "6", 100),
        row("skill", "7", None),
    ]
    assert [r["entity_id"] for r in top_entities(rows)] == ["2", "6", "4", "5"]
    assert [r["entity_id"] for r in top_entities(rows, n=2)] == ["2", "6"]
    assert top_entities([row("total", "", 10)]) == []


def test_the_sample_reports_top_skills() -> None:
    rows = csat_rows(csat_report(rows=6))
    top = top_entities(rows)
    assert [r["entity_kind"] for r in top] == ["skill"] * 4
    answers = [r["answers"] for r in rows if r["entity_kind"] == "skill"]
    assert [r["answers"] for r in top] == sorted(answers, reverse=True)[:4]


def history_row(day: int, score: float | None, answers: int | None) -> dict[str, Any]:
    taken = datetime(2025, 11, 24, 8, tzinfo=UTC) + timedelta(days=day)
    return {"taken_at": taken.isoformat(), "score": score, "answers": answers}


def test_the_trend_series_are_the_account_then_each_entity_by_name() -> None:
    top = [
        row("skill", "11", 60, "Billing"),
        row("skill", "12", 40),
        row("agent", "7", 30, "Billing"),
    ]
    history = {
        ("total", ""): [history_row(1, 0.8, 100), history_row(2, 0.75, 90)],
        ("skill", "11"): [history_row(0, 0.9, 5), history_row(1, 0.7, 60), history_row(2, None, 0)],
        ("skill", "12"): [history_row(2, 0.5, None)],
    }
    names = {("skill", "12"): "Orders"}
    series = trend_series(history, top, WORDS, lambda k, i: names.get((k, i)))
    day = datetime(2025, 11, 24, 8, tzinfo=UTC)
    assert series == {
        "Total": [(day + timedelta(days=1), 0.8, 100), (day + timedelta(days=2), 0.75, 90)],
        # before the account's first point: left out
        "Billing": [(day + timedelta(days=1), 0.7, 60), (day + timedelta(days=2), None, 0)],
        "Orders": [(day + timedelta(days=2), 0.5, 0)],  # named by the directory
        "Billing (7)": [],  # a name two entities share carries the id
    }


class Thread:
    """A Poster that keeps what is uploaded."""

    def __init__(self) -> None:
        self.files: list[tuple[str, bytes, str]] = []

    async def upload(
        self, channel: str, ts: str | None, name: str, data: bytes, title: str
    ) -> None:
        self.files.append((name, data, title))


def on(db: Database) -> Callable[[Callable[[Database], Any]], Any]:
    """The store's call, on this database and this thread."""

    async def store(fn: Callable[[Database], Any]) -> Any:
        return fn(db)

    return store


@pytest.mark.anyio
async def test_the_trend_chart_draws_the_account_and_the_top_skills(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = Digest(name="csat-daily", channel="C1", cron="0 9 * * *")
    report = csat_report(rows=6)
    rows = csat_rows(report)
    for day in (2, 3):  # two earlier runs, in which skill 1 had answers and skill 6 none
        earlier = [csat_row("", 100, 80), csat_row("1", 50, 40), csat_row("2", 50, 30)]
        snapshots.save_snapshot(fresh_db, run_for(f"2026-03-0{day}T08:00:00+00:00"), earlier)
    snapshots.save_snapshot(fresh_db, run_for("2026-03-04T08:00:00+00:00"), rows)
    drawn: list[tuple[str, dict[str, Any]]] = []
    real = charts.csat_trend

    def trend(title: str, series: dict[str, Any], axis: str, tz: Any = None) -> bytes:
        drawn.append((title, series))
        return real(title, series, axis, tz)

    monkeypatch.setattr(charts, "csat_trend", trend)
    thread = Thread()
    await attachments.attach(thread, on(fresh_db), WORDS, digest, report, rows, "1.0")
    [(title, series)] = drawn
    top = [f"Skill {r['entity_id']}" for r in top_entities(rows)]
    assert title == "CSAT · csat-daily · last 3 runs"
    assert list(series) == ["Total", *top]
    assert [len(points) for points in series.values()] == [3] + [
        3 if name in ("Skill 1", "Skill 2") else 1 for name in top
    ]
    assert [(name, data[:4]) for name, data, _ in thread.files] == [
        ("csat-daily-trend.png", b"\x89PNG"),
        ("csat-daily-answers.png", b"\x89PNG"),
    ]


# --- the CSV ------------------------------------------------------------------------------


def read(written: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(written.decode()))
    lines = list(reader)
    return list(reader.fieldnames or []), lines


def test_the_csv_writes_a_percentage_and_minutes_to_one_decimal() -> None:
    rows = [
        {"entity_kind": "total", "entity_id": "", "entity_name": None, "answers": 3,
         "score": 0.66666, "positive": 2, "s1": 1, "s2": 0, "s3": 0, "s4": 1, "s5": 1},
        {"entity_kind": "skill", "entity_id": "4", "entity_name": "Billing", "answers": 0,
         "score": None, "positive": 0, "s1": 0, "s2": 0, "s3": 0, "s4": 0, "s5": 0},
    ]  # fmt: skip
    header, lines = read(table(rows, WORDS))
    assert header == ["entity_kind", "entity_id", "entity_name", "answers", "score_pct",
                      "s1", "s2", "s3", "s4", "s5"]  # fmt: skip
    assert [line["score_pct"] for line in lines] == ["66.7", ""]
    assert table(rows, WORDS).decode().splitlines()[1] == "total,,Total,3,66.7,1,0,0,1,1"


def test_the_csv_writes_times_in_minutes() -> None:
    rows = [{"entity_kind": "agent", "entity_id": "7", "entity_name": None, "logged_in": 125,
             "chatting": 60, "states": json.dumps({"online": 65, "away": 60, "state:9": 1}),
             "reasons": json.dumps({"2642559712": 125})}]  # fmt: skip
    header, [line] = read(table(rows, WORDS, {"state:9": "Après-midi"}))
    assert header == ["entity_kind", "entity_id", "entity_name", "logged_in_min",
                      "chatting_min", "states_min", "reasons_min"]  # fmt: skip
    assert (line["logged_in_min"], line["chatting_min"]) == ("2.1", "1.0")
    assert json.loads(line["states_min"]) == {"Online": 1.1, "Away": 1.0, "Après-midi": 0.0}
    assert json.loads(line["reasons_min"]) == {"Reason 2642559712": 2.1}


def test_the_csv_of_an_availability_report() -> None:
    header, lines = read(table(states_rows(agent_states_report(2)), WORDS))
    assert header == ["entity_kind", "entity_id", "entity_name", "logged_in_min",
                      "chatting_min", "states_min", "reasons_min"]  # fmt: skip
    assert [line["entity_name"] for line in lines] == ["Team", "Agent 2", "Agent 3"]
    assert (lines[1]["logged_in_min"], lines[1]["chatting_min"]) == ("120.0", "41.4")  # 2486 s
    assert json.loads(lines[1]["states_min"]) == {"Online": 78.6, "Back soon": 39.4, "Away": 0.0}
    assert json.loads(lines[1]["reasons_min"]) == {"Reason 2642559712": 1.2}  # 72 s
    assert set(header) <= set(COLUMNS)
