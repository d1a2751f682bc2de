"""`python -m bot collect`, run as an operator runs it, against the simulated account's
timeline; and `serve` collecting by itself when BOT_COLLECT is on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.db import Store
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.server import Fault
from bot.history import queries
from bot.metrics import CsatCounts, CsatRow
from tests.e2e.test_cli import run
from tests.fakes.process import SECRET, RunningBot


@pytest.fixture
def timeline() -> Iterator[SimulatedLivePerson]:
    """An account whose answers are sums over real time: nested windows differ by hours."""
    with SimulatedLivePerson(timeline=True) as server:
        yield server  # type: ignore[misc]


def env(sim: SimulatedLivePerson, tmp: Path) -> dict[str, str]:
    return {**sim.env(), "BOT_DB": str(tmp / "bot.db"), "BOT_CONFIG": str(tmp / "none.toml")}


def stored_hours(tmp: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(tmp / "bot.db") as db:
        return db.execute("select kind, hour from history_hours order by kind, hour").fetchall()


def test_collect_stores_the_last_hours_once_and_says_what_it_did(
    timeline: SimulatedLivePerson, tmp_path: Path
) -> None:
    first = run("collect", env=env(timeline, tmp_path))
    assert first.returncode == 0, first.stderr
    assert "CSAT: stored 23 hours, " in first.stdout
    assert "agent states: stored 23 hours, " in first.stdout
    assert first.stdout.count(" UTC") >= 2  # from-to in the configured zone
    hours = stored_hours(tmp_path)
    assert len(hours) == 46
    with sqlite3.connect(tmp_path / "bot.db") as db:
        (answers,) = db.execute("select sum(total) from csat_hours where agent = ''").fetchone()
    assert answers > 0
    second = run("collect", env=env(timeline, tmp_path))
    assert second.returncode == 0, second.stderr
    assert "stored 23 hours" not in second.stdout  # nothing twice
    hours_after = stored_hours(tmp_path)
    assert len(hours_after) == len(set(hours_after)) and set(hours) <= set(hours_after)


def test_collect_deletes_what_keep_no_longer_keeps(
    timeline: SimulatedLivePerson, tmp_path: Path
) -> None:
    """An operator with `[history] collect = false` runs `collect` from cron: nothing else
    would ever delete the history `[history] keep` no longer keeps."""
    old = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=500)
    store = Store(str(tmp_path / "bot.db"))
    rows = (CsatRow("skill", "11", None, CsatCounts.from_scores((0, 0, 1, 2, 3))),)
    store.sync(lambda db: queries.store_csat(db, {old: rows}, ZoneInfo("UTC"), old))
    store.close()
    result = run("collect", env=env(timeline, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "CSAT: stored 23 hours, " in result.stdout
    # its hour, its day and its claim
    assert "deleted 3 history rows older than [history] keep (400 days)" in result.stdout
    with sqlite3.connect(tmp_path / "bot.db") as db:
        sql = "select count(*) from csat_hours where hour = ?"
        assert db.execute(sql, [int(old.timestamp())]).fetchone() == (0,)
        assert len(stored_hours(tmp_path)) == 46  # this collection's, kept
    again = run("collect", env=env(timeline, tmp_path))
    assert again.returncode == 0, again.stderr
    assert "deleted" not in again.stdout  # said only when it deleted some


def test_collect_after_a_vendor_failure_stores_nothing_and_exits_1(
    timeline: SimulatedLivePerson, tmp_path: Path
) -> None:
    timeline.faults.append(Fault("/msgcsatdistribution", 401, times=1000))
    result = run("collect", env=env(timeline, tmp_path))
    timeline.faults.clear()
    assert result.returncode == 1
    assert result.stderr.startswith("collect failed, nothing stored (the next collection")
    assert "LivePerson" in result.stderr
    assert stored_hours(tmp_path) == []


def test_collect_without_liveperson_says_so(tmp_path: Path) -> None:
    result = run("collect", env={"BOT_DB": str(tmp_path / "bot.db")})
    assert result.returncode == 2
    assert "LivePerson is not configured" in result.stderr
    assert not (tmp_path / "bot.db").exists()


def test_serve_collects_soon_after_start_when_collection_is_on(
    timeline: SimulatedLivePerson, tmp_path: Path
) -> None:
    bot = RunningBot(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "BOT_COLLECT": "on",
         **timeline.env()},
        tmp_path,
    )  # fmt: skip
    try:
        # 20 s after start, then up to 30 s more to plan at second 30 of a minute
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(stored_hours(tmp_path)) < 46:
            time.sleep(0.5)
        assert len(stored_hours(tmp_path)) == 46, bot.log.read_text()
    finally:
        bot.stop()


def test_serve_does_not_collect_when_told_not_to(
    timeline: SimulatedLivePerson, tmp_path: Path
) -> None:
    bot = RunningBot(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, **timeline.env()},
        tmp_path,
    )
    try:
        time.sleep(1)
        assert timeline.data_calls() == [] and timeline.data_calls("agentactivity") == []
    finally:
        bot.stop()


def test_after_one_collect_serve_answers_a_week_from_history_without_liveperson(
    timeline: SimulatedLivePerson, tmp_path: Path
) -> None:
    """The issue's "done": one `collect`, then `/csat skill 11 7d` and a month's trend,
    signed into `serve`, answered from the store with what the history covers; LivePerson's
    reports never asked again."""
    from bot.demo.sim.slack import SimulatedSlack
    from tests.e2e.test_csat import answer

    collected = run("collect", env=env(timeline, tmp_path))
    assert collected.returncode == 0, collected.stderr
    with sqlite3.connect(tmp_path / "bot.db") as db:
        sql = "select sum(total) from csat_hours where skill = '11' and agent = ''"
        (stored,) = db.execute(sql).fetchone()
    reports = len(timeline.data_calls()) + len(timeline.data_calls("agentactivity"))
    with SimulatedSlack() as slack:
        bot = RunningBot(
            {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
             "SLACK_API_URL": slack.api_url, **timeline.env()},
            tmp_path,
        )  # fmt: skip
        try:
            ack, url = bot.command(slack, "skill 11 7d")
            assert ack.status_code == 200
            week = answer(slack, url)
            ack, url = bot.command(slack, "trend skill 11 30d")
            assert ack.status_code == 200
            trend = answer(slack, url)
        finally:
            bot.stop()
    text = str(week["blocks"])
    assert "CSAT · skill Billing · last 7d" in text
    assert "History covers the last 23 hours of 7d" in text, text
    assert f"*{stored:,}* answers" in text
    assert "CSAT trend" in str(trend["blocks"]) and "Post chart to channel" in str(trend)
    assert "History covers 23 hours of 30 days" in str(trend["blocks"]), trend
    after = len(timeline.data_calls()) + len(timeline.data_calls("agentactivity"))
    assert after == reports  # neither answer asked LivePerson for a report
