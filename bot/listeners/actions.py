"""Alert buttons: Acknowledge and Snooze. Ack at once, record in SQLite, refresh the message."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.alerts.threads import Alerting
from bot.errors import ActionError, SlackError, StoreError
from bot.listeners.reply import AckFirst, Reply, send

log = logging.getLogger(__name__)
_USER = re.compile(r"[UW][A-Z0-9]{1,30}")


async def handle_ack(body: dict[str, Any], ack: Reply, respond: Reply, alerting: Alerting) -> None:
    await ack()
    alert_id, user = alert_of(_action(body).get("value")), _user(body)
    if alert_id is None or user is None:
        await _tell(respond, alerting, "unknown_button", {})
        return
    await _apply(respond, alerting, alerting.acknowledge(alert_id, user))


async def handle_snooze(
    body: dict[str, Any], ack: Reply, respond: Reply, alerting: Alerting
) -> None:
    await ack()
    option = _action(body).get("selected_option")
    if option is None:  # the menu was cleared: nothing to do
        return
    value = option.get("value") if isinstance(option, dict) else None
    alert_text, _, period = value.partition(":") if isinstance(value, str) else ("", "", "")
    alert_id, user = alert_of(alert_text), _user(body)
    if alert_id is None or user is None:
        await _tell(respond, alerting, "unknown_button", {})
        return
    await _apply(respond, alerting, alerting.snooze(alert_id, user, period))


def alert_of(value: object) -> int | None:
    """The alert id a button carries, or None for anything else (a stale or forged value)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    if len(value.lstrip("0")) > 19:  # past SQLite's integers; never int() thousands of digits
        return None
    alert_id = int(value)
    return alert_id if 0 < alert_id < 2**63 else None


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    found = user.get("id") if isinstance(user, dict) else None
    # a Slack user id, nothing else: it is stored, and shown as a mention of the clicker
    return found if isinstance(found, str) and _USER.fullmatch(found) else None


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
    except StoreError as exc:
        log.error("alert button: %s", exc)
        code, details = "database", {"database": exc.code}
    except Exception:
        log.exception("alert button failed")
        code, details = "internal", {}
    await _tell(respond, alerting, code, details)


async def _tell(respond: Reply, alerting: Alerting, code: str, details: dict[str, Any]) -> None:
    """Why a click did nothing, to the person who clicked only."""
    reply = alerting.renderer.render("button_error.yml.j2", code=code, details=details)
    await send(respond, "alert button", **reply, response_type="ephemeral", replace_original=False)


async def _acked(**_: Any) -> None:
    """The ack that went already (the listener acks before its work is started)."""


def register(app: AsyncApp, alerting: Alerting, ack_first: AckFirst) -> None:
    async def ack_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_ack(body, _acked, respond, alerting))

    async def snooze_listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_snooze(body, _acked, respond, alerting))

    app.action("alert_ack")(ack_listener)
    app.action("alert_snooze")(snooze_listener)
