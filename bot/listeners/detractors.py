"""Detractor buttons: "I'll take it", "Handled" and its modal. Ack at once, then the work.

Every listener acks first and hands the click to `AckFirst`; the work (record, redraw the
message, tell the thread, open the modal) runs in its turn. Every value a click carries is
checked: a button value or a modal's private_metadata that is not a response id, a user
that is not a Slack user id, a trigger id that is not Slack's, gets a short ephemeral
answer (a modal's submission, which has no response_url, gets it as an ephemeral message
in the detractor's channel, or in the log when even that is not known), never a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import SlackError
from bot.listeners.reply import AckFirst, Reply, action_of, failure, name_of, send, user_of, view_of
from bot.render import Renderer
from bot.surveys.detractors import HANDLED, TAKE, DetractorAlerts

log = logging.getLogger(__name__)
_RESPONSE = re.compile(r"[0-9a-f]{20}")  # `items.response_id`
_TRIGGER = re.compile(r"[0-9A-Za-z._-]{1,255}")


def response_of(value: object) -> str | None:
    """The response id a button or a modal carries, or None (a stale or forged value)."""
    return value if isinstance(value, str) and _RESPONSE.fullmatch(value) else None


def note_of(view: dict[str, Any]) -> str:
    """The Handled modal's note; "" when it was left empty (or is not there)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get("note") if isinstance(values, dict) else None
    element = block.get("note") if isinstance(block, dict) else None
    found = element.get("value") if isinstance(element, dict) else None
    return found if isinstance(found, str) else ""


def _value(body: dict[str, Any]) -> object:
    return action_of(body).get("value")


async def handle_take(
    body: dict[str, Any], respond: Reply, detractors: DetractorAlerts | None, renderer: Renderer
) -> None:
    """ "I'll take it" (or "Take over"), after the ack."""
    response_id, user = response_of(_value(body)), user_of(body)
    if detractors is None or response_id is None or user is None:
        await _tell(respond, renderer, "unknown_button", {})
        return
    await _apply(respond, renderer, detractors.take(response_id, user, name_of(body)))


async def handle_handled(
    body: dict[str, Any], respond: Reply, detractors: DetractorAlerts | None, renderer: Renderer
) -> None:
    """ "Handled", after the ack: the modal that asks for a note."""
    response_id, user, trigger = response_of(_value(body)), user_of(body), body.get("trigger_id")
    if not isinstance(trigger, str) or not _TRIGGER.fullmatch(trigger):
        trigger = None
    if detractors is None or response_id is None or user is None or trigger is None:
        await _tell(respond, renderer, "unknown_button", {})
        return
    await _apply(respond, renderer, detractors.open_handled(response_id, trigger), "modal")


async def handle_submission(body: dict[str, Any], detractors: DetractorAlerts | None) -> None:
    """The Handled modal's submission, after its ack."""
    view = view_of(body)
    response_id, user = response_of(view.get("private_metadata")), user_of(body)
    if detractors is None or response_id is None or user is None:
        log.warning("detractor modal: a submission without its detractor or user; ignored")
        return
    change = detractors.handle(response_id, user, note_of(view), name_of(body))
    if (failed := await failure(change, "detractor modal")) is None:
        return
    try:
        await detractors.tell(user, response_id, *failed)
    except SlackError as exc:
        log.warning("detractor modal: the answer to %s could not be posted: %s", user, exc)


async def _apply(
    respond: Reply, renderer: Renderer, change: Awaitable[Any], slack_code: str = "slack"
) -> None:
    """Run the change; a problem is told to the person who clicked, only to them."""
    if (failed := await failure(change, "detractor button", slack_code)) is not None:
        await _tell(respond, renderer, *failed)


async def _tell(
    respond: Reply | None, renderer: Renderer, code: str, details: dict[str, Any]
) -> None:
    """Why a click did nothing, to the person who clicked only."""
    if respond is None:  # a body without a response_url: nowhere to answer
        log.warning("detractor button: %s, and no response_url to say so", code)
        return
    reply = renderer.render("detractors.yml.j2", refusal=code, details=details)
    await send(respond, "detractor button", **reply, response_type="ephemeral",
               replace_original=False)  # fmt: skip


def register(
    app: AsyncApp, detractors: DetractorAlerts | None, renderer: Renderer, ack_first: AckFirst
) -> None:
    """The buttons and the modal; without `detractors` (no alerts channel, no ingestion)
    a click on an older message's buttons is answered that the bot does not know it."""

    async def take_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_take(body, respond, detractors, renderer))

    async def handled_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_handled(body, respond, detractors, renderer))

    async def submitted(body: dict[str, Any], ack: Reply) -> None:
        await ack()
        ack_first.later(handle_submission(body, detractors))

    app.action(TAKE)(take_listener)
    app.action(HANDLED)(handled_listener)
    app.view(HANDLED)(submitted)
