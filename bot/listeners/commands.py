"""/csat and /agent-states: acknowledge at once, answer through response_url after the acks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.commands.service import Commands, Plan
from bot.listeners.reply import AckFirst, Replies, Reply, send

COMMANDS = ("/csat", "/agent-states")
Turn = Callable[[], Awaitable[None]]


async def handle_command(command: dict[str, Any], ack: Reply, commands: Commands) -> Plan:
    """Ack within milliseconds: usage, help or 'asking…'. The plan says what to fetch."""
    channel = command.get("channel_id")
    plan = commands.prepare(
        command.get("command", "/csat"),
        command.get("text", ""),
        channel if isinstance(channel, str) else "",
    )
    await ack(**plan.ack)
    return plan


async def answer_command(
    plan: Plan, respond: Reply, commands: Commands, turn: Turn | None = None
) -> None:
    """Fetch, render and send the answer (never raises: `Commands.answer` words failures)."""
    assert plan.query is not None
    answer = await commands.answer(plan)
    if turn is not None:  # the POST is a millisecond of work too: after the acks in flight
        await turn()
    await send(respond, plan.query.command, **answer, response_type="ephemeral")


def register(app: AsyncApp, commands: Commands, replies: Replies, ack_first: AckFirst) -> None:
    async def listener(command: dict[str, Any], ack: Reply) -> None:
        plan = await handle_command(command, ack, commands)
        url = command.get("response_url")
        if plan.query is not None and isinstance(url, str) and url:
            ack_first.later(answer_command(plan, replies.to(url), commands, ack_first.turn))

    for name in COMMANDS:
        app.command(name)(listener)
