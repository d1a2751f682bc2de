"""/csat and /agent-states: acknowledge at once, answer through response_url."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.commands.service import Commands
from bot.listeners.reply import Reply, send

COMMANDS = ("/csat", "/agent-states")
ACK_FLUSH_SECONDS = 0.011


async def handle_command(
    command: dict[str, Any], ack: Reply, respond: Reply, commands: Commands
) -> None:
    """Ack within milliseconds (usage, help or 'working'), then fetch and respond."""
    plan = commands.prepare(command.get("command", "/csat"), command.get("text", ""))
    await ack(**plan.ack)
    if plan.query is not None:
        # Bolt returns the ack to Slack from a loop that looks every 10 ms; step aside for
        # one look so a burst of commands is acknowledged before their vendor work starts
        await asyncio.sleep(ACK_FLUSH_SECONDS)
        answer = await commands.answer(plan)
        await send(respond, plan.query.command, **answer, response_type="ephemeral")


def register(app: AsyncApp, commands: Commands) -> None:
    async def listener(command: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await handle_command(command, ack, respond, commands)

    for name in COMMANDS:
        app.command(name)(listener)
