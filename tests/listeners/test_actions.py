"""Alert buttons with any body Slack (or someone else) may send: acked, then answered in words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.ownership import Click
from bot.alerts.queries import insert_alert
from bot.alerts.threads import Alerting
from bot.config import AlertRules
from bot.db import Store
from bot.listeners.actions import (
    alert_of,
    handle_click,
    handle_snooze,
    handle_submission,
    snooze_end,
)
from bot.render import Renderer
from bot.render.safe import clean
from tests.fakes.clock import FakeClock
from tests.fakes.hostile import HOSTILE as EVERY_HOSTILE
from tests.fakes.hostile import pings

pytestmark = pytest.mark.anyio


class Replies:
    def __init__(self) -> None:
        self.acks = 0
        self.said: list[dict[str, Any]] = []

    async def ack(self, **_: Any) -> None:
        self.acks += 1

    async def respond(self, **message: Any) -> None:
        self.said.append(message)


@pytest.fixture
def alerting() -> Iterator[Alerting]:
    store = Store(":memory:")
    alert = {"problem": "p", "status": "firing", "opened_at": "2026-03-02T08:00:00+00:00"}
    store.sync(lambda db: insert_alert(db, alert))  # alert 1, no message posted
    yield Alerting(AlertRules(channel="C0LEADS"), store, None, Renderer(), FakeClock())
    store.close()


async def handle_ack(body: dict[str, Any], ack: Any, respond: Any, alerting: Alerting) -> None:
    await handle_click(body, ack, respond, alerting, Click.ACKNOWLEDGE)


def click(value: Any = "1", user: Any = "U0LEAD", **extra: Any) -> dict[str, Any]:
    return {"actions": [{"value": value, **extra}], "user": {"id": user}}


HOSTILE = [
    "abc", "", " 1", "1 ", "-1", "0", "1.0", "1e3", "9" * 30, "１", "<!channel>", "\x00",
    "\ud83d", None, 5, [], {}, "1\n",
]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
async def test_a_button_value_that_is_not_an_alert_id_is_answered_in_words(
    alerting: Alerting, value: Any
) -> None:
    replies = Replies()
    await handle_ack(click(value), replies.ack, replies.respond, alerting)
    assert replies.acks == 1
    (said,) = replies.said
    assert said["text"] == (
        ":warning: That button is not one this bot knows: it may belong to an older message."
    )
    assert (said["response_type"], said["replace_original"]) == ("ephemeral", False)


@pytest.mark.parametrize(
    "body", [{}, {"actions": []}, {"actions": "x"}, {"actions": [None]}, click(user=None)], ids=repr
)
async def test_a_body_missing_its_parts_is_answered_too(
    alerting: Alerting, body: dict[str, Any]
) -> None:
    replies = Replies()
    await handle_ack(body, replies.ack, replies.respond, alerting)
    assert replies.acks == 1
    assert "not one this bot knows" in replies.said[0]["text"]


async def test_an_alert_that_is_gone_says_so(alerting: Alerting) -> None:
    replies = Replies()
    await handle_ack(click("99"), replies.ack, replies.respond, alerting)
    assert replies.said[0]["text"] == ":warning: This alert no longer exists (alert 99)."


async def test_a_cleared_snooze_menu_does_nothing(alerting: Alerting) -> None:
    replies = Replies()
    await handle_snooze(click(selected_option=None), replies.ack, replies.respond, alerting)
    assert (replies.acks, replies.said) == (1, [])


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ({"value": "1:2y"}, "Snooze for 1h, 1d, 1w, not '2y'."),
        ({"value": "x:1h"}, "not one this bot knows"),
        ({"value": None}, "not one this bot knows"),
        ("1:1h", "not one this bot knows"),
        ({"value": "99:1h"}, "This alert no longer exists"),
    ],
    ids=repr,
)
async def test_snooze_options_are_checked(alerting: Alerting, option: Any, said: str) -> None:
    replies = Replies()
    await handle_snooze(click(selected_option=option), replies.ack, replies.respond, alerting)
    assert said in replies.said[0]["text"]


async def test_a_good_click_is_recorded_and_says_nothing(alerting: Alerting) -> None:
    replies = Replies()
    await handle_snooze(
        click(selected_option={"value": "1:1d"}), replies.ack, replies.respond, alerting
    )
    await handle_ack(click("1"), replies.ack, replies.respond, alerting)
    assert replies.said == []
    row = alerting.store.sync(
        lambda db: db.execute("select acked_by, snoozed_by from alerts").fetchone()
    )
    assert row == ("U0LEAD", "U0LEAD")


@pytest.mark.parametrize(
    ("value", "found"),
    [("7", 7), ("07", 7), ("0", None), ("7a", None), ("9" * 5000, None), ("0" * 40 + "7", 7)],
)
def test_alert_ids(value: str, found: int | None) -> None:
    assert alert_of(value) == found


@pytest.mark.parametrize("hostile", EVERY_HOSTILE, ids=lambda h: repr(h[:20]))
async def test_hostile_buttons_menus_and_users_are_answered_without_pinging(
    alerting: Alerting, hostile: str
) -> None:
    """A value, a menu option or a user id that is not Slack's: answered to the clicker,
    in words that mention nobody, and nothing stored under a name that is not a user."""
    replies = Replies()
    await handle_ack(click(hostile), replies.ack, replies.respond, alerting)
    for option in (f"1:{hostile}", f"{hostile}:1h", hostile):
        body = click(selected_option={"value": option})
        await handle_snooze(body, replies.ack, replies.respond, alerting)
    await handle_ack(click("1", user=hostile), replies.ack, replies.respond, alerting)
    assert replies.acks == 5
    assert len(replies.said) >= 4  # the good-looking cases may be real snoozes of alert 1
    for said in replies.said:
        assert said["text"].startswith(":warning: ") and not pings(said["text"])
    stored = alerting.store.sync(
        lambda db: db.execute("select acked_by, snoozed_by from alerts").fetchone()
    )
    assert stored == (None, "U0LEAD" if stored[1] else None)


NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def chosen(value: Any) -> dict[str, Any]:
    return {"state": {"values": {"until": {"until": {"selected_date_time": value}}}}}


@pytest.mark.parametrize(
    ("view", "found"),
    [
        (chosen(int(NOON.timestamp()) + 3600), NOON + timedelta(hours=1)),
        (chosen(int(NOON.timestamp())), "snooze_past"),
        (chosen(int(NOON.timestamp()) - 60), "snooze_past"),
        (chosen(int(NOON.timestamp()) + 91 * 86400), "snooze_far"),
        (chosen(None), "snooze_missing"),
        (chosen("1795507200"), "snooze_missing"),
        (chosen(True), "snooze_missing"),
        (chosen(10**30), "snooze_missing"),
        (chosen(-5), "snooze_missing"),
        ({}, "snooze_missing"),
        ({"state": "x"}, "snooze_missing"),
        ({"state": {"values": {"until": []}}}, "snooze_missing"),
    ],
    ids=repr,
)
def test_a_snooze_until_is_a_time_ahead_or_a_reason(view: dict[str, Any], found: Any) -> None:
    assert snooze_end(view, NOON) == found


@pytest.mark.parametrize("hostile", EVERY_HOSTILE, ids=lambda h: repr(h[:20]))
async def test_a_resolve_submission_with_hostile_parts_changes_nothing_it_should_not(
    alerting: Alerting, hostile: str
) -> None:
    """A forged alert id or user changes nothing; a hostile note is kept as it was said."""
    forged = {"user": {"id": "U0LEAD"}, "view": {"private_metadata": hostile}}
    await handle_submission(forged, Replies().respond, alerting, Click.RESOLVE)
    assert alerting.store.sync(lambda db: db.execute("select status from alerts").fetchone()) == (
        "firing",
    )
    note = {"note": {"note": {"type": "plain_text_input", "value": hostile}}}
    body = {"user": {"id": "U0LEAD"}, "view": {"private_metadata": "1", "state": {"values": note}}}
    await handle_submission(body, Replies().respond, alerting, Click.RESOLVE)
    stored = alerting.store.sync(
        lambda db: db.execute("select status, resolved_note from alerts").fetchone()
    )
    assert stored == ("resolved", clean(hostile).strip()[:2000])
    again = Replies()
    await handle_click(click("1"), again.ack, again.respond, alerting, Click.ACKNOWLEDGE)
    said = again.said[0]["text"]  # to the clicker only: naming who resolved it pings nobody
    assert "resolved already (by <@U0LEAD>)" in said and not pings(said.replace("<@U0LEAD>", ""))
