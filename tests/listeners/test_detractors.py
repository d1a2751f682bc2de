"""Detractor buttons and the Handled modal with any body Slack (or someone else) may send:
carried out when every value checks out, else answered in words to the clicker only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.listeners.detractors import (
    handle_handled,
    handle_submission,
    handle_take,
    note_of,
    response_of,
)
from bot.surveys.detractors import Detractor
from tests.fakes.hostile import HOSTILE as EVERY_HOSTILE
from tests.fakes.hostile import pings
from tests.surveys.loop import Loop, unpinged

pytestmark = pytest.mark.anyio
UNKNOWN = ":warning: That button is not one this bot knows: it may belong to an older message."


class Replies:
    def __init__(self) -> None:
        self.said: list[dict[str, Any]] = []

    async def respond(self, **message: Any) -> None:
        self.said.append(message)

    def texts(self) -> list[str]:
        return [m["text"] for m in self.said]


@pytest.fixture
async def loop() -> AsyncIterator[tuple[Loop, Detractor]]:
    made = Loop()
    (detractor,) = await made.burst("A")
    yield made, detractor
    made.store.close()


def click(value: Any, user: Any = "U0LEAD", trigger: Any = "123.456.abc") -> dict[str, Any]:
    return {"actions": [{"value": value}], "user": {"id": user}, "trigger_id": trigger}


def submission(metadata: Any, user: Any = "U0LEAD", note: Any = "Called back") -> dict[str, Any]:
    values = {"note": {"note": {"type": "plain_text_input", "value": note}}}
    view = {"callback_id": "detractor_handled", "private_metadata": metadata,
            "state": {"values": values}}  # fmt: skip
    return {"type": "view_submission", "user": {"id": user}, "view": view}


FORGED = [
    "", "abc", "0" * 19, "0" * 21, "A" * 20, " " + "0" * 19, "0" * 20 + "\n", "１" * 20,
    "<!channel>", "\x00" * 20, "\ud83d", None, 5, 1.5, [], {}, ["0" * 20],
]  # fmt: skip


@pytest.mark.parametrize("value", FORGED, ids=repr)
async def test_a_value_that_is_no_response_id_is_answered_in_words(
    loop: tuple[Loop, Detractor], value: Any
) -> None:
    made, _ = loop
    replies = Replies()
    await handle_take(click(value), replies.respond, made.alerts, made.alerts.renderer)
    await handle_handled(click(value), replies.respond, made.alerts, made.alerts.renderer)
    assert replies.texts() == [UNKNOWN, UNKNOWN]
    assert all((m["response_type"], m["replace_original"]) == ("ephemeral", False)
               for m in replies.said)  # fmt: skip
    assert made.poster.updates == [] and made.poster.views == []


@pytest.mark.parametrize(
    "body",
    [{}, {"actions": []}, {"actions": "x"}, {"actions": [None]}, {"actions": [{}]},
     {"actions": [{"value": "0" * 20}], "user": "U0LEAD"}],
    ids=repr,
)  # fmt: skip
async def test_a_body_missing_its_parts_is_answered_too(
    loop: tuple[Loop, Detractor], body: dict[str, Any]
) -> None:
    made, _ = loop
    replies = Replies()
    await handle_take(body, replies.respond, made.alerts, made.alerts.renderer)
    assert replies.texts() == [UNKNOWN]


@pytest.mark.parametrize("user", [None, "", "u0lead", "X0LEAD", "U", "U" + "1" * 31, "<@U1>", 7])
async def test_a_user_that_is_no_slack_user_is_refused(
    loop: tuple[Loop, Detractor], user: Any
) -> None:
    made, detractor = loop
    replies = Replies()
    await handle_take(click(detractor.id, user), replies.respond, made.alerts, made.alerts.renderer)
    await handle_submission(submission(detractor.id, user), made.alerts)
    assert replies.texts() == [UNKNOWN]
    assert made.row(detractor)["taken_by"] is None and made.row(detractor)["handled_by"] is None


@pytest.mark.parametrize("trigger", [None, "", 12, "1 2", "x" * 300, "<!here>"], ids=repr)
async def test_handled_needs_slacks_trigger_id(loop: tuple[Loop, Detractor], trigger: Any) -> None:
    made, detractor = loop
    replies = Replies()
    body = click(detractor.id, trigger=trigger)
    await handle_handled(body, replies.respond, made.alerts, made.alerts.renderer)
    assert replies.texts() == [UNKNOWN]
    assert made.poster.views == []


async def test_a_stale_id_says_the_detractor_is_not_known(loop: tuple[Loop, Detractor]) -> None:
    made, _ = loop
    replies = Replies()
    await handle_take(click("0" * 20), replies.respond, made.alerts, made.alerts.renderer)
    assert replies.texts() == [
        ":warning: This detractor is not in the bot's database (any more): the message may be "
        "older than it."
    ]


async def test_without_detractor_alerts_every_click_is_unknown(
    loop: tuple[Loop, Detractor],
) -> None:
    made, detractor = loop
    replies = Replies()
    await handle_take(click(detractor.id), replies.respond, None, made.alerts.renderer)
    await handle_handled(click(detractor.id), replies.respond, None, made.alerts.renderer)
    await handle_submission(submission(detractor.id), None)
    assert replies.texts() == [UNKNOWN, UNKNOWN]


async def test_take_then_handled_then_handled_again(loop: tuple[Loop, Detractor]) -> None:
    made, detractor = loop
    replies = Replies()
    renderer = made.alerts.renderer
    await handle_take(click(detractor.id, "U0ANA"), replies.respond, made.alerts, renderer)
    await handle_handled(click(detractor.id, "U0BEN"), replies.respond, made.alerts, renderer)
    assert replies.said == []  # done, so nothing to tell
    ((trigger, view),) = made.poster.views
    assert (trigger, view["private_metadata"]) == ("123.456.abc", detractor.id)
    await handle_submission(submission(detractor.id, "U0BEN", "Refunded"), made.alerts)
    await handle_submission(submission(detractor.id, "U0CAT", "Me too"), made.alerts)
    ((channel, user, told),) = made.poster.ephemerals
    unix = int(made.clock.now.timestamp())
    assert (channel, user) == ("C0LEADS", "U0CAT")
    assert told["text"] == (
        f":warning: Already handled by <@U0BEN> at <!date^{unix}^{{date_short_pretty}} {{time}}"
        "|2026-03-02 13:25 UTC>: Refunded."
    )
    await handle_handled(click(detractor.id, "U0CAT"), replies.respond, made.alerts, renderer)
    assert replies.texts() == [told["text"]]  # the button on a stale message: the same answer
    assert len(made.poster.views) == 1
    assert made.events(detractor) == [("U0ANA", "take", ""), ("U0BEN", "handled", "Refunded")]


@pytest.mark.parametrize(
    ("view", "note"),
    [
        ({}, ""),
        ({"state": None}, ""),
        ({"state": {"values": {"note": {"note": {"value": None}}}}}, ""),
        ({"state": {"values": {"note": {"note": {"value": 5}}}}}, ""),
        ({"state": {"values": {"note": {"note": {"value": "ok"}}}}}, "ok"),
        ({"state": {"values": {"note": []}}}, ""),
    ],
)
def test_the_note_is_read_whatever_the_view_holds(view: dict[str, Any], note: str) -> None:
    assert note_of(view) == note


def test_response_ids() -> None:
    assert response_of("0123456789abcdef0123") == "0123456789abcdef0123"
    assert response_of("0123456789ABCDEF0123") is None
    assert response_of("9" * 5000) is None


@pytest.mark.parametrize("hostile", EVERY_HOSTILE, ids=lambda h: repr(h[:20]))
async def test_hostile_values_users_and_notes_are_answered_without_pinging(
    loop: tuple[Loop, Detractor], hostile: str
) -> None:
    """A value, a user id, a trigger, a modal's metadata or note that is not Slack's:
    answered to the clicker in words that mention nobody; a note is stored as cleaned text."""
    made, detractor = loop
    replies = Replies()
    renderer = made.alerts.renderer
    await handle_take(click(hostile), replies.respond, made.alerts, renderer)
    await handle_take(click(detractor.id, hostile), replies.respond, made.alerts, renderer)
    await handle_handled(click(hostile), replies.respond, made.alerts, renderer)
    await handle_handled(
        click(detractor.id, trigger=hostile), replies.respond, made.alerts, renderer
    )
    await handle_submission(submission(hostile), made.alerts)
    await handle_submission(submission(detractor.id, hostile), made.alerts)
    await handle_submission(submission(detractor.id, "U0LEAD", hostile), made.alerts)
    assert len(replies.said) >= 3  # the trigger may look like Slack's: then the modal opens
    for said in replies.said:
        assert said["text"].startswith(":warning: ") and not pings(said["text"])
    row = made.row(detractor)
    assert row["taken_by"] is None and row["handled_by"] == "U0LEAD"
    for *_, message in [*made.poster.updates, *made.poster.ephemerals]:
        assert unpinged(str(message["blocks"])), str(message["blocks"])[:200]
