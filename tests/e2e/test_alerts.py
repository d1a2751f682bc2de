"""A week of digests with noise, one real drop and one recovery, read from the fake Slack.

Then the alert's buttons, clicked through `python -m bot serve` with signed requests.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot import config
from bot.app import build_parts
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, sign
from tests.fakes.process import SECRET, RunningBot

CONFIG = """
timezone = "Europe/Berlin"

[[digest]]
name = "csat-daily"
kind = "csat"
source = "liveperson"
channel = "C0WEEKDIGEST"
cron = "0 9 * * *"
skills = "all"
timeframe = "24h"

[alerts]
channel = "C0WEEKALERTS"
mention = "<!subteam^S0LEADS>"
min_answers = {min_answers}
"""
# day -> change in skill 12's share of happy customers: noise every day, a drop on
# Thursday that lasts two days, recovered on Saturday
WEEK = [(1, {}), (2, {}), (3, {}), (4, {"12": -0.25}), (5, {"12": -0.25}), (6, {}), (7, {})]


def morning(day: int) -> Callable[[], datetime]:
    """The clock of the week's day `day`, the last day today: each digest's 24 hours end a
    day after the one before, as the alerts' baselines pool only windows that do not
    overlap (the week itself runs in seconds)."""
    return lambda: datetime.now(UTC) - timedelta(days=len(WEEK) - day)


@pytest.fixture(autouse=True)
def _no_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A week of digests in seconds: the 1 s per-channel spacing is tested on its own."""
    monkeypatch.setattr("bot.slack.PER_CHANNEL_SECONDS", 0.0)


async def run_week(
    lp: SimulatedLivePerson, slack: SimulatedSlack, folder: Path, min_answers: int = 20
) -> dict[str, str]:
    (folder / "bot.toml").write_text(CONFIG.format(min_answers=min_answers), encoding="utf-8")
    env = {
        **lp.env(),
        "BOT_CONFIG": str(folder / "bot.toml"),
        "BOT_DB": str(folder / "bot.db"),
        "SLACK_BOT_TOKEN": "xoxb-week",
        "SLACK_API_URL": slack.api_url,
    }
    try:
        for day, shift in WEEK:
            lp.day, lp.shift = day, shift
            # each morning a new process and cache
            parts = build_parts(config.load(env), morning(day))
            try:
                await parts.digests.run("csat-daily")
            finally:
                await parts.aclose()
    finally:
        lp.day, lp.shift = 0, {}
    return env


def alert_posts(slack: SimulatedSlack) -> list[dict[str, Any]]:
    return slack.posts("C0WEEKALERTS")


@pytest.mark.anyio
async def test_a_week_with_one_drop_opens_exactly_one_thread(
    liveperson: SimulatedLivePerson, slack: SimulatedSlack, tmp_path: Path
) -> None:
    before = len(alert_posts(slack))
    await run_week(liveperson, slack, tmp_path)
    posts = alert_posts(slack)[before:]
    top = [p for p in posts if not p.get("thread_ts")]
    assert len(top) == 1, [p["text"] for p in top]
    # the notification says what dropped, where, and by how much
    assert top[0]["text"].startswith(":rotating_light: CSAT drop in Orders: ")
    assert "pts) · account " in top[0]["text"]
    opening = json.dumps(top[0]["blocks"], ensure_ascii=False)
    assert "<!subteam^S0LEADS>" in opening and "Very unlikely to be chance: " in opening
    assert sum("<!subteam^S0LEADS>" in json.dumps(p["blocks"]) for p in posts) == 1  # pinged once
    thread = [p for p in posts if p.get("thread_ts")]
    leads = [p["text"].split(":", 2)[1] for p in thread]
    assert leads[0] == "mag"  # why, with how sure
    assert "How sure" in json.dumps(thread[0]["blocks"], ensure_ascii=False)
    assert "95% interval" in json.dumps(thread[0]["blocks"], ensure_ascii=False)
    assert "Orders" in json.dumps(thread[0]["blocks"])  # what moved it, by its name
    assert leads[-1] == "white_check_mark"  # recovered, in the thread
    assert all(p["thread_ts"] == thread[0]["thread_ts"] for p in thread)
    charts = [
        c.data() for c in slack.calls_to("/api/files.completeUploadExternal")
        if c.data().get("channel_id") == "C0WEEKALERTS"
    ]  # fmt: skip
    # a chart when it opened and when it recovered, both in its thread
    assert len(charts) == 2 and {c["thread_ts"] for c in charts} == {thread[0]["thread_ts"]}
    updates = [
        c.data()
        for c in slack.calls_to("/api/chat.update")
        if c.data()["channel"] == "C0WEEKALERTS"
    ]
    assert updates and updates[-1]["text"].startswith(":white_check_mark: Resolved: CSAT drop in")
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("select count(*), min(status) from alerts").fetchone() == (1, "resolved")
        assert db.execute("select count(*) from snapshot_runs").fetchone() == (len(WEEK),)


@pytest.mark.anyio
async def test_small_samples_never_page_anyone(
    liveperson: SimulatedLivePerson, slack: SimulatedSlack, tmp_path: Path
) -> None:
    """The same week with min_answers above any day's answers: no alert at all."""
    before = len(alert_posts(slack))
    await run_week(liveperson, slack, tmp_path, min_answers=100_000)
    assert alert_posts(slack)[before:] == []
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("select count(*) from alerts").fetchone() == (0,)


def click(bot: RunningBot, action: dict[str, Any], channel: str, ts: str) -> int:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0SIM"},
        "user": {"id": "U0LEAD", "name": "ana"},
        "api_app_id": "A0BOT",
        "token": "x",
        "trigger_id": "1.2",
        "response_url": "",
        "container": {"type": "message", "channel_id": channel, "message_ts": ts},
        "channel": {"id": channel},
        "message": {"ts": ts, "text": ""},
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return bot.http.post("/slack/events", content=body, headers=sign(SECRET, body)).status_code


def submit(bot: RunningBot, view: dict[str, Any], values: dict[str, Any], user: str) -> int:
    """A modal's submission as Slack posts it."""
    payload = {
        "type": "view_submission", "team": {"id": "T0SIM"}, "user": {"id": user},
        "api_app_id": "A0BOT", "token": "x", "trigger_id": "1.3",
        "view": {**view, "id": "V1", "state": {"values": values}},
    }  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)})
    return bot.http.post("/slack/events", content=body, headers=sign(SECRET, body)).status_code


@pytest.mark.anyio
async def test_acknowledge_and_snooze_buttons_through_serve(
    liveperson: SimulatedLivePerson, slack: SimulatedSlack, tmp_path: Path
) -> None:
    # an open alert: the first four days of the week (the drop is on day 4)
    (tmp_path / "bot.toml").write_text(CONFIG.format(min_answers=20), encoding="utf-8")
    env = {
        **liveperson.env(),
        "BOT_CONFIG": str(tmp_path / "bot.toml"),
        "BOT_DB": str(tmp_path / "bot.db"),
        "SLACK_BOT_TOKEN": "xoxb-week",
        "SLACK_API_URL": slack.api_url,
    }
    for day, shift in WEEK[:4]:
        liveperson.day, liveperson.shift = day, shift
        parts = build_parts(config.load(env), morning(day))
        try:
            await parts.digests.run("csat-daily")
        finally:
            await parts.aclose()
    liveperson.day, liveperson.shift = 0, {}
    with sqlite3.connect(tmp_path / "bot.db") as db:
        alert_id, ts = db.execute("select id, ts from alerts where status = 'firing'").fetchone()
    bot = RunningBot(
        {
            "SLACK_BOT_TOKEN": "xoxb-week",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            **liveperson.env(),
        },
        tmp_path,
        config=CONFIG.format(min_answers=20),
    )
    try:
        updates = len(slack.calls_to("/api/chat.update"))
        ack = {
            "type": "button",
            "action_id": "alert_ack",
            "block_id": f"alert-{alert_id}",
            "value": str(alert_id),
            "action_ts": "1",
        }
        assert click(bot, ack, "C0WEEKALERTS", ts) == 200
        slack.wait_for("/api/chat.update", updates + 1)
        snooze = {
            "type": "static_select",
            "action_id": "alert_snooze",
            "block_id": f"alert-{alert_id}",
            "action_ts": "2",
            "selected_option": {
                "value": f"{alert_id}:1d",
                "text": {"type": "plain_text", "text": "Snooze 1 day"},
            },
        }
        assert click(bot, snooze, "C0WEEKALERTS", ts) == 200
        slack.wait_for("/api/chat.update", updates + 2)
        shown = json.dumps(slack.calls_to("/api/chat.update")[-1].data()["blocks"])
        assert "<@U0LEAD> has it" in shown and "snoozed by <@U0LEAD>" in shown
        assert "CSAT drop in Orders" in shown  # the headline stays
        assert "alert_unsnooze" in shown
        with sqlite3.connect(tmp_path / "bot.db") as db:
            acked_by, snoozed = db.execute(
                "select acked_by, snoozed_until from alerts where id = ?", [alert_id]
            ).fetchone()
        assert acked_by == "U0LEAD" and snoozed > "2026"
        # Resolve opens a modal; its submission (a view_submission) resolves with the note
        resolve = {"type": "button", "action_id": "alert_resolve", "block_id": f"alert-{alert_id}",
                   "value": str(alert_id), "action_ts": "3"}  # fmt: skip
        assert click(bot, resolve, "C0WEEKALERTS", ts) == 200
        opened = slack.wait_for("/api/views.open", 1)[-1].data()
        view = json.loads(opened["view"]) if isinstance(opened["view"], str) else opened["view"]
        assert (view["callback_id"], view["private_metadata"]) == ("alert_resolve", str(alert_id))
        note = "Orders' macro fixed <!channel>"
        assert submit(bot, view, {"note": {"note": {"type": "plain_text_input", "value": note}}},
                      user="U0OTHER") == 200  # fmt: skip
        slack.wait_for("/api/chat.update", updates + 3)
        shown = json.dumps(slack.calls_to("/api/chat.update")[-1].data()["blocks"])
        assert "resolved by <@U0OTHER>" in shown and "&lt;!channel&gt;" in shown
        assert "alert_ack" not in shown  # no buttons on a resolved alert
        # every click is an event, kept and told in the thread without calling anyone in
        told = [p for p in slack.posts("C0WEEKALERTS") if p.get("thread_ts") == ts]
        for _ in range(50):
            told = [p for p in slack.posts("C0WEEKALERTS") if p.get("thread_ts") == ts]
            if sum("resolved it" in p["text"] for p in told) == 1:
                break
            time.sleep(0.1)
        clicks = [p for p in told if p["text"].startswith((":eyes:", ":zzz:", ":white_check"))]
        assert [p["text"].split(" ", 1)[0] for p in clicks] == [":eyes:", ":zzz:",
                                                                ":white_check_mark:"]  # fmt: skip
        assert clicks[0]["text"].startswith(":eyes: ana has it")  # named, not mentioned
        assert clicks[2]["text"].startswith(":white_check_mark: someone resolved it")
        assert not any("<!subteam" in json.dumps(p) or "<!channel>" in json.dumps(p)
                       or "<@" in json.dumps(p) for p in clicks)  # fmt: skip
        with sqlite3.connect(tmp_path / "bot.db") as db:
            for _ in range(100):  # the thread message's ts is stored as Slack answers
                events = db.execute(
                    "select user, action, note, ts is not null from alert_events order by id"
                ).fetchall()
                if len(events) == 3 and all(e[3] for e in events):
                    break
                time.sleep(0.05)
            status = db.execute("select status, resolved_by from alerts").fetchone()
        assert events == [("U0LEAD", "acknowledge", None, 1), ("U0LEAD", "snooze", None, 1),
                          ("U0OTHER", "resolve", note, 1)]  # fmt: skip
        assert status == ("resolved", "U0OTHER")
        # a click on the resolved alert changes nothing and says so to the clicker
        assert click(bot, ack, "C0WEEKALERTS", ts) == 200
        with sqlite3.connect(tmp_path / "bot.db") as db:
            for _ in range(50):
                if db.execute("select count(*) from alert_events").fetchone() != (3,):
                    break
                time.sleep(0.05)
            assert db.execute("select count(*) from alert_events").fetchone() == (3,)
        body = urlencode({"payload": json.dumps({"type": "block_actions", "actions": [ack]})})
        refused = bot.http.post("/slack/events", content=body, headers=sign("wrong", body))
        assert refused.status_code == 401
    finally:
        bot.stop()
