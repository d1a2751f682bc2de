"""Alert buttons: Acknowledge, Resolve, Snooze, Unsnooze. Ack at once, record, refresh.

Resolve and "Snooze until…" open a modal (`views.open` with the click's trigger_id, which
Slack honours for 3 seconds: right after the ack, in its turn, cut at 2.5 s); its
submission is checked in the ack (a snooze in the past is answered on its own block) and
carried out after it, a refusal told to the submitter in a message only they see.
Everything else a click does runs after the ack, through `AckFirst`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import ownership
from bot.alerts.ownership import Click
from bot.alerts.threads import Alerting
from bot.errors import ActionError
from bot.listeners.reply import AckFirst, Reply, action_of, failure, name_of, send, user_of, view_of

log = logging.getLogger(__name__)
MODAL_WAIT = 2.5  # seconds: Slack honours a trigger_id 3 s from the click
RESOLVE_VIEW, SNOOZE_VIEW = "alert_resolve", "alert_snooze_until"


async def handle_click(
    body: dict[str, Any], ack: Reply, respond: Reply, alerting: Alerting, click: Click
) -> None:
    """Acknowledge and Unsnooze: the button carries the alert id."""
    await ack()
    alert_id, user = alert_of(action_of(body).get("value")), user_of(body)
    if alert_id is None or user is None:
        await _tell(respond, alerting, "unknown_button", {})
        return
    await _apply(respond, alerting, alerting.act(alert_id, user, click, name=name_of(body)))


async def handle_snooze(
    body: dict[str, Any], ack: Reply, respond: Reply, alerting: Alerting
) -> None:
    """A snooze chosen from the menu: `id:1h`, `id:1d`, `id:1w` (`id:until` opens a modal)."""
    await ack()
    option = action_of(body).get("selected_option")
    if option is None:  # the menu was cleared: nothing to do
        return
    alert_id, period, user = _snooze_choice(option), _period(option), user_of(body)
    if alert_id is None or user is None:
        await _tell(respond, alerting, "unknown_button", {})
        return
    try:
        until = ownership.snooze_until(period, alerting.clock())
    except ActionError as exc:
        await _tell(respond, alerting, exc.code, exc.details)
        return
    change = alerting.act(alert_id, user, Click.SNOOZE, until=until, name=name_of(body))
    await _apply(respond, alerting, change)


async def handle_submission(
    body: dict[str, Any], respond: Reply, alerting: Alerting, click: Click,
    until: datetime | None = None,
) -> None:  # fmt: skip
    """A modal's submission, after its ack: Resolve with its note, or Snooze until."""
    view = view_of(body)
    alert_id, user = alert_of(view.get("private_metadata")), user_of(body)
    if alert_id is None or user is None:
        log.warning("alert modal: a submission without its alert or user; ignored")
        return
    note = _value(view, "note", "value")
    note = note if isinstance(note, str) else ""
    change = alerting.act(alert_id, user, click, until=until, note=note, name=name_of(body))
    await _apply(respond, alerting, change)


def alert_of(value: object) -> int | None:
    """The alert id a button carries, or None for anything else (a stale or forged value)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    if len(value.lstrip("0")) > 19:  # past SQLite's integers; never int() thousands of digits
        return None
    alert_id = int(value)
    return alert_id if 0 < alert_id < 2**63 else None


def snooze_end(view: dict[str, Any], now: datetime) -> datetime | str:
    """The end a "Snooze until" modal chose, or the code of what is wrong with it."""
    chosen = _value(view, "until", "selected_date_time")
    if isinstance(chosen, bool) or not isinstance(chosen, int):
        return "snooze_missing"
    if not 0 < chosen < 2**40:
        return "snooze_missing"
    until = datetime.fromtimestamp(chosen, UTC)
    if until <= now:
        return "snooze_past"
    if until - now > ownership.LONGEST_SNOOZE:
        return "snooze_far"
    return until


def _snooze_choice(option: object) -> int | None:
    value = option.get("value") if isinstance(option, dict) else None
    return alert_of(value.partition(":")[0]) if isinstance(value, str) else None


def _period(option: object) -> str:
    value = option.get("value") if isinstance(option, dict) else None
    return value.partition(":")[2] if isinstance(value, str) else ""


def _value(view: dict[str, Any], block: str, key: str) -> Any:
    """One input's value in a submitted view; None when it is not there."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    found = values.get(block) if isinstance(values, dict) else None
    element = found.get(block) if isinstance(found, dict) else None
    return element.get(key) if isinstance(element, dict) else None


async def _apply(respond: Reply, alerting: Alerting, change: Awaitable[Any]) -> None:
    """Run the change; a problem is told to the person who clicked, only to them."""
    if (failed := await failure(change, "alert button")) is not None:
        await _tell(respond, alerting, *failed)


async def _tell(respond: Reply, alerting: Alerting, code: str, details: dict[str, Any]) -> None:
    """Why a click did nothing, to the person who clicked only."""
    reply = alerting.renderer.render("button_error.yml.j2", code=code, details=details)
    await send(respond, "alert button", **reply, response_type="ephemeral", replace_original=False)


async def _acked(**_: Any) -> None:
    """The ack that went already (the listener acks before its work is started)."""


def _privately(alerting: Alerting, user: str | None) -> Reply:
    """How a modal's submission, which has no response_url, tells its submitter why it
    did nothing: a message only they see, in the alerts channel."""

    async def tell(**message: Any) -> None:
        channel = alerting.rules.channel
        if alerting.poster is None or not channel or user is None:
            log.warning("alert modal: %s", message.get("text"))
            return
        said = {"text": message.get("text", ""), "blocks": message.get("blocks")}
        await alerting.poster.ephemeral(channel, user, said)

    return tell


def modal(alerting: Alerting, template: str, alert_id: int, callback: str) -> dict[str, Any]:
    """A modal view from its template: `text` is its title, `submit` and `close` its
    buttons' words; the alert id rides in private_metadata."""
    now = alerting.clock()
    tomorrow = datetime.combine(
        (now.astimezone(alerting.renderer.timezone) + timedelta(days=1)).date(),
        time(9),
        alerting.renderer.timezone,
    )
    found = alerting.renderer.render(template, alert_id=alert_id, initial=int(tomorrow.timestamp()))
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": str(alert_id),
        "title": {"type": "plain_text", "text": found["text"][:24]},
        "submit": {"type": "plain_text", "text": str(found.get("submit", "OK"))[:24]},
        "close": {"type": "plain_text", "text": str(found.get("close", "Cancel"))[:24]},
        "blocks": found["blocks"],
    }


def register(app: AsyncApp, alerting: Alerting, ack_first: AckFirst) -> None:
    async def ack_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_click(body, _acked, respond, alerting, Click.ACKNOWLEDGE))

    async def unsnooze_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_click(body, _acked, respond, alerting, Click.UNSNOOZE))

    async def open_modal(
        body: dict[str, Any], respond: Reply, client: AsyncWebClient, alert_id: int | None,
        template: str, callback: str,
    ) -> None:  # fmt: skip
        """After the ack, in its turn: the trigger_id is good for 3 seconds from the click."""
        trigger = body.get("trigger_id")
        if alert_id is None or user_of(body) is None or not isinstance(trigger, str):
            await _tell(respond, alerting, "unknown_button", {})
            return
        try:
            view = modal(alerting, template, alert_id, callback)
            await asyncio.wait_for(client.views_open(trigger_id=trigger, view=view), MODAL_WAIT)
        except Exception as exc:
            log.warning("alert button: the modal did not open: %s", exc)
            await _tell(respond, alerting, "modal", {})

    async def resolve_listener(
        body: dict[str, Any], ack: Reply, respond: Reply, client: AsyncWebClient
    ) -> None:
        await ack()
        alert_id = alert_of(action_of(body).get("value"))
        ack_first.later(
            open_modal(body, respond, client, alert_id, "alert_resolve.yml.j2", RESOLVE_VIEW)
        )

    async def snooze_listener(
        body: dict[str, Any], ack: Reply, respond: Reply, client: AsyncWebClient
    ) -> None:
        await ack()
        option = action_of(body).get("selected_option")
        if option is not None and _period(option) == "until":
            alert_id = _snooze_choice(option)
            ack_first.later(
                open_modal(body, respond, client, alert_id, "alert_snooze.yml.j2", SNOOZE_VIEW)
            )
            return
        ack_first.later(handle_snooze(body, _acked, respond, alerting))

    async def resolve_submitted(body: dict[str, Any], ack: Reply) -> None:
        await ack()
        told = _privately(alerting, user_of(body))
        ack_first.later(handle_submission(body, told, alerting, Click.RESOLVE))

    async def snooze_submitted(body: dict[str, Any], ack: Reply) -> None:
        until = snooze_end(view_of(body), alerting.clock())
        if isinstance(until, str):  # told on its own block, in the modal
            said = alerting.renderer.render("button_error.yml.j2", code=until, details={})
            await ack(response_action="errors", errors={"until": said["text"][:150]})
            return
        await ack()
        told = _privately(alerting, user_of(body))
        ack_first.later(handle_submission(body, told, alerting, Click.SNOOZE, until))

    app.action("alert_ack")(ack_listener)
    app.action("alert_unsnooze")(unsnooze_listener)
    app.action("alert_resolve")(resolve_listener)
    app.action("alert_snooze")(snooze_listener)
    app.view(RESOLVE_VIEW)(resolve_submitted)
    app.view(SNOOZE_VIEW)(snooze_submitted)
