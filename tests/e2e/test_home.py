"""The Home tab in `serve`, as a lead uses it: signed events and interactivity payloads,
the simulated Slack answering the views and showing what was published.

A lead opens the tab and sees every digest; adds a weekly digest through the form (a bad
value is answered on its block), previews it in their DM, and it posts at its time with
no restart; a teammate who is not an admin sees the page without buttons and a crafted
submission of theirs changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, home_opened, interaction, sign
from tests.fakes.process import SECRET, RunningBot

LEAD, TEAMMATE = "U0LEAD", "U0TEAMMATE"  # U0LEAD is in the S0LEADS user group
CHANNEL = "C0HOMEWEEKLY"
CONFIG = """
timezone = "UTC"
default_source = "liveperson"

[slack]
admins = ["S0LEADS"]

[[digest]]
name = "csat-daily"
channel = "C0HOMEFILE"
cron = "0 9 * * 1-5"
skills = "all"
"""


@pytest.fixture(scope="module")
def own_slack() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def home_bot(
    own_slack: SimulatedSlack,
    liveperson: SimulatedLivePerson,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": own_slack.api_url, "BOT_SCHEDULER": "on", "BOT_VENDOR_TIMEOUT": "2",
        **liveperson.env(),
    }  # fmt: skip
    running = RunningBot(env, tmp_path_factory.mktemp("home"), config=CONFIG)
    yield running
    running.stop()


def post(bot: RunningBot, body: str, json_body: bool = False) -> Any:
    headers = sign(SECRET, body)
    if json_body:
        headers["Content-Type"] = "application/json"
    return bot.http.post("/slack/events", content=body, headers=headers)


def wait_for(found: Callable[[], Any], limit: float = 15.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(0.05)
    raise TimeoutError("not seen in time")


def published(slack: SimulatedSlack, user: str, after: int = 0) -> dict[str, Any]:
    """The newest home view published for `user`, once there are more than `after`."""

    def newest() -> dict[str, Any] | None:
        views = [v for v in slack.views("publish") if v.get("user_id") == user]
        return views[-1]["view"] if len(views) > after else None

    return wait_for(newest)  # type: ignore[no-any-return]


def count(slack: SimulatedSlack, user: str) -> int:
    return len([v for v in slack.views("publish") if v.get("user_id") == user])


def action_ids(view: dict[str, Any]) -> set[str]:
    found = set()
    for block in view["blocks"]:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and "action_id" in element:
                found.add(element["action_id"])
    return found


def click(user: str, action: dict[str, Any], view: dict[str, Any] | None = None) -> str:
    return interaction({
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "name": user},
        "api_app_id": "A0BOT", "team": {"id": "T0SIM"}, "trigger_id": f"trig.{time.time()}",
        "container": {"type": "view"}, "view": view or {"id": "VHOME", "type": "home"},
        "actions": [action],
    })  # fmt: skip


def submission(user: str, form: dict[str, Any], values: dict[str, Any]) -> str:
    """The form as Slack submits it, each input's value set from `values` (by block id)
    or left as the form showed it."""
    state: dict[str, Any] = {}
    for block in form["blocks"]:
        if block.get("type") != "input":
            continue
        element, key = block["element"], block["block_id"]
        kind = element["type"]
        if kind in ("plain_text_input", "number_input"):
            shown: dict[str, Any] = {"value": values.get(key, element.get("initial_value"))}
        elif kind in ("static_select", "radio_buttons", "external_select"):
            chosen = values.get(key)
            option = {"value": chosen, "text": {"type": "plain_text", "text": str(chosen)}}
            shown = {"selected_option": option if chosen else element.get("initial_option")}
        elif kind == "conversations_select":
            shown = {"selected_conversation": values.get(key, element.get("initial_conversation"))}
        else:  # multi selects
            chosen = values.get(key)
            options = [
                {"value": v, "text": {"type": "plain_text", "text": v}} for v in chosen or []
            ]
            shown = {"selected_options": options if chosen else element.get("initial_options", [])}
        state[key] = {element["action_id"]: {"type": kind, **shown}}
    return interaction({
        "type": "view_submission", "user": {"id": user, "username": user.lower(), "name": user},
        "api_app_id": "A0BOT", "team": {"id": "T0SIM"}, "trigger_id": "trig.submit",
        "view": {**form, "id": "VFORM", "hash": "h1", "state": {"values": state}},
    })  # fmt: skip


def stored(bot: RunningBot, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(bot.log.parent / "bot.db") as db:
        return db.execute(sql).fetchall()


def test_a_lead_adds_a_weekly_digest_and_a_teammate_changes_nothing(
    home_bot: RunningBot, own_slack: SimulatedSlack
) -> None:
    slack = own_slack
    # the lead opens the Home tab: every digest, with the buttons an admin gets
    assert post(home_bot, home_opened(LEAD), json_body=True).status_code == 200
    page = published(slack, LEAD)
    assert {"home_add_digest", "home_alerts", "home_digest"} <= action_ids(page)
    assert "csat-daily" in json.dumps(page)
    # a teammate sees the same page, without a button
    post(home_bot, home_opened(TEAMMATE), json_body=True)
    assert action_ids(published(slack, TEAMMATE)) == set()

    # the lead clicks "Add": the form opens with one input per digest key
    opened = len(slack.views("open"))
    post(home_bot, click(LEAD, {"action_id": "home_add_digest", "type": "button", "value": "add"}))
    form = wait_for(lambda: slack.views("open")[opened:])[-1]["view"]
    assert form["callback_id"] == "digest_edit"
    keys = {b["block_id"] for b in form["blocks"] if b["type"] == "input"}
    assert {"name", "kind", "source", "channel", "cron", "skills", "timeframe", "post"} <= keys

    # a bad value is answered on its own block, and nothing is stored
    soon = datetime.now(UTC) + timedelta(minutes=1, seconds=20)
    good = {"name": "billing-weekly", "channel": CHANNEL, "cron": f"{soon.minute} * * * *",
            "skills": ["4"], "timeframe": "24h"}  # fmt: skip
    answer = post(home_bot, submission(LEAD, form, {**good, "channel": "#billing"}))
    assert answer.status_code == 200
    assert answer.json()["response_action"] == "errors"
    assert set(answer.json()["errors"]) == {"channel"}
    assert stored(home_bot, "select count(*) from config_digests") == [(0,)]

    # a teammate's crafted submission changes nothing, and is logged and audited
    before = count(slack, LEAD)
    answer = post(home_bot, submission(TEAMMATE, form, good))
    assert answer.json()["response_action"] == "errors"
    assert stored(home_bot, "select count(*) from config_digests") == [(0,)]
    audited = "select action, user from config_audit"  # written after the ack
    wait_for(lambda: ("refused", TEAMMATE) in stored(home_bot, audited))

    # the good form closes; the digest is stored, audited and shown at once
    answer = post(home_bot, submission(LEAD, form, good))
    assert answer.status_code == 200 and not answer.content.strip(b"{} \n")
    wait_for(lambda: stored(home_bot, "select name from config_digests"))
    page = published(slack, LEAD, after=before)
    assert "billing-weekly" in json.dumps(page)
    assert ("add", "billing-weekly", LEAD) in stored(
        home_bot, "select action, target, user from config_audit"
    )

    # "Send to me": the digest, rendered, in the lead's messages with the app
    menu = {"action_id": "home_digest", "type": "overflow",
            "selected_option": {"value": "preview|billing-weekly"}}  # fmt: skip
    post(home_bot, click(LEAD, menu))
    preview = wait_for(lambda: slack.posts(LEAD), limit=30)[-1]
    assert "billing-weekly" in json.dumps(preview)
    assert slack.posts(CHANNEL) == []

    # and at its time it posts to its channel, exactly once, with no restart
    wait_for(lambda: slack.posts(CHANNEL), limit=120)
    time.sleep(2)
    assert len(slack.posts(CHANNEL)) == 1
    log = home_bot.log.read_text(errors="replace")
    assert "is not an admin" in log
