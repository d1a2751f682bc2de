"""A team lead's week, end to end: two digests, noise, one real drop in one skill caused by
one agent, the recovery. The notification alone says what dropped and by how much, the
thread names the agent, each morning speaks once, and the recovery states the level."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import build_parts
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack

CONFIG = """
timezone = "Europe/Berlin"

[[digest]]
name = "csat-daily"
kind = "csat"
source = "liveperson"
channel = "C0TWODIGESTS"
cron = "0 9 * * *"
skills = "all"
timeframe = "24h"

[[digest]]
name = "csat-watch"
kind = "csat"
source = "liveperson"
channel = "C0TWODIGESTS"
cron = "0 9 * * *"
skills = "all"
timeframe = "24h"
post = false

[alerts]
channel = "C0TWOALERTS"
mention = "<!subteam^S0LEADS>"
min_answers = 20
"""
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
JONAS = {"12:1006": -0.6}  # one agent in Orders (skill 12)
WEEK = [{}, {}, {}, JONAS, JONAS, {}, {}]  # Thursday and Friday: down; Saturday: back


@pytest.fixture(autouse=True)
def _no_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack.PER_CHANNEL_SECONDS", 0.0)


@pytest.mark.anyio
async def test_a_week_as_a_team_lead_lives_it(
    liveperson: SimulatedLivePerson, slack: SimulatedSlack, tmp_path: Path
) -> None:
    (tmp_path / "bot.toml").write_text(CONFIG, encoding="utf-8")
    env = {**liveperson.env(), "BOT_CONFIG": str(tmp_path / "bot.toml"),
           "BOT_DB": str(tmp_path / "bot.db"), "SLACK_BOT_TOKEN": "xoxb-week",
           "SLACK_API_URL": slack.api_url}  # fmt: skip
    before = len(slack.posts("C0TWOALERTS"))
    told: list[int] = []  # thread messages each morning
    try:
        for day, shift in enumerate(WEEK):
            liveperson.day, liveperson.shift = day + 1, shift
            morning = MONDAY + timedelta(days=day)
            parts = build_parts(config.load(env), lambda m=morning: m.astimezone(UTC))
            try:
                count = len(slack.posts("C0TWOALERTS"))
                for digest in ("csat-daily", "csat-watch"):  # both see the same problem
                    await parts.digests.run(digest, scheduled_for=morning)
                await parts.alerting.drain()
                told.append(len(slack.posts("C0TWOALERTS")) - count)
            finally:
                await parts.aclose()
    finally:
        liveperson.day, liveperson.shift = 0, {}
    posts = slack.posts("C0TWOALERTS")[before:]
    (top,) = [p for p in posts if not p.get("thread_ts")]
    # the notification alone: what dropped, where, by how much, and the account beside it
    assert top["text"].startswith(":rotating_light: CSAT drop in Orders: ")
    assert "pts) · account " in top["text"] and "(−" in top["text"]
    assert sum("<!subteam^S0LEADS>" in json.dumps(p["blocks"]) for p in posts) == 1
    thread = [p for p in posts if p.get("thread_ts")]
    (thread_ts,) = {p["thread_ts"] for p in thread}  # all in one thread: the alert's
    why = json.dumps(thread[0]["blocks"], ensure_ascii=False)
    assert "Jonas" in why and "of the drop" in why  # the agent behind it, with its share
    # one voice: Thursday opens (top + why), Friday one update, Saturday the recovery,
    # though two digests looked each morning
    assert told == [0, 0, 0, 2, 1, 1, 0]
    leads = [p["text"].split(":", 2)[1] for p in thread]
    assert leads == ["mag", "hourglass", "white_check_mark"]
    recovered = json.dumps(thread[-1]["blocks"], ensure_ascii=False)
    assert "Before the alert: " in recovered and "Now: " in recovered
    still = json.dumps(thread[1]["blocks"], ensure_ascii=False)
    assert "Before the alert: " in still and "Jonas" in still  # against the level before
    with sqlite3.connect(tmp_path / "bot.db") as db:
        rows = db.execute("select status, told_for, headline, ts from alerts").fetchall()
    assert len(rows) == 1 and rows[0][0] == "resolved" and rows[0][3] == thread_ts
    assert rows[0][1] == (MONDAY + timedelta(days=5)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    assert json.loads(rows[0][2])["entity_name"] in (None, "Orders")
