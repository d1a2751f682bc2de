"""Alert buttons: Acknowledge and Snooze. Ack at once, record in SQLite, refresh the message."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.alerts.threads import Alerting
from bot.errors import ActionError, SlackError

log = logging.getLogger(__name__)
Reply = Callable[..., Awaitable[Any]]


async def handle_ack(body: dict[str, Any], ack: Reply, respond: Reply, alerting: Alerting) -> None:
    await ack()
    action = body["actions"][0]
    await _apply(respond, alerting, alerting.acknowledge(int(action["value"]), body["user"]["id"]))


async def handle_snooze(
    body: dict[str, Any], ack: Reply, respond: Reply, alerting: Alerting
) -> None:
    await ack()
    alert_id, _, period = body["actions"][0]["selected_option"]["value"].partition(":")
    await _apply(respond, alerting, alerting.snooze(int(alert_id), body["user"]["id"], period))


async def _apply(respond: Reply, alerting: Alerting, change: Awaitable[Any]) -> None:
    """Run the change; a problem is told to the person who clicked, only to them."""
    try:
        await change
        return
    except ActionError as exc:
        code, details = exc.code, exc.details
    except SlackError as exc:
        log.warning("alert button: %s", exc)
        code, details = "slack", {"slack_code": exc.code}
    except Exception:
        log.exception("alert button failed")
        code, details = "internal", {}
    reply = alerting.renderer.render("button_error.yml.j2", code=code, details=details)
    await respond(**reply, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, alerting: Alerting) -> None:
    async def ack_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await handle_ack(body, ack, respond, alerting)

    async def snooze_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await handle_snooze(body, ack, respond, alerting)

    app.action("alert_ack")(ack_listener)
    app.action("alert_snooze")(snooze_listener)
