"""The "Post chart to channel" button of a `/csat trend` answer: ack at once, then (in its
turn after the acks) draw the chart off the loop and upload it to the channel the command
was typed in, with one line saying who posted it.

The button's value is text from outside: it is read field by field (`Redraw.read`) and
must name the channel the click came from. A value the bot did not write, a source no
longer configured, a channel the bot is not in or any refusal from Slack is told to the
clicker only, in a short ephemeral line; never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.commands.trend import Redraw, Trends
from bot.errors import ActionError, SourceError, UsageError
from bot.listeners.reply import AckFirst, Reply, action_of, failure, send, user_of
from bot.render import Renderer
from bot.slack import Poster

log = logging.getLogger(__name__)
ACTION = "trend_post_chart"
SAID_AS_IS = ("not_in_channel", "channel_not_found", "is_archived")  # Slack's codes worded


async def handle_post_chart(
    body: dict[str, Any],
    respond: Reply,
    trends: Trends | None,
    poster: Poster | None,
    renderer: Renderer,
    now: datetime,
) -> None:
    """After the ack: check the value, draw, upload; a refusal to the clicker only."""
    redraw, user = Redraw.read(action_of(body).get("value"), now), user_of(body)
    if trends is None or poster is None or redraw is None or user is None:
        await _tell(respond, renderer, "unknown_button", {})
        return
    if _channel(body) != redraw.channel:  # a value carried over from another channel
        await _tell(respond, renderer, "elsewhere", {})
        return

    async def post() -> None:
        try:
            chart = await trends.chart(redraw, user)
        except (SourceError, UsageError) as exc:  # the source is gone, or no longer trends
            raise ActionError("gone") from exc
        await poster.upload(redraw.channel, None, chart.filename, chart.png, chart.title,
                            comment=chart.comment)  # fmt: skip

    failed = await failure(post(), "trend chart")
    if failed is not None:
        code, details = failed
        if code == "slack" and details.get("slack_code") in SAID_AS_IS:
            code = details["slack_code"]
        await _tell(respond, renderer, code, details)


def _channel(body: dict[str, Any]) -> str | None:
    """The channel the click came from, as Slack says it."""
    channel = body.get("channel")
    found = channel.get("id") if isinstance(channel, dict) else None
    if not isinstance(found, str):
        container = body.get("container")
        found = container.get("channel_id") if isinstance(container, dict) else None
    return found if isinstance(found, str) else None


async def _tell(respond: Reply, renderer: Renderer, code: str, details: dict[str, Any]) -> None:
    """Why the click did nothing, to the person who clicked only."""
    reply = renderer.render("csat_trend.yml.j2", refusal=code, details=details)
    await send(respond, "trend button", **reply, response_type="ephemeral",
               replace_original=False)  # fmt: skip


def register(
    app: AsyncApp,
    trends: Trends | None,
    poster: Poster | None,
    renderer: Renderer,
    ack_first: AckFirst,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """The button; without trends or a poster, a click is answered that it is unknown."""

    async def listener(body: dict[str, Any], ack: Reply, respond: Reply) -> None:
        await ack()
        ack_first.later(handle_post_chart(body, respond, trends, poster, renderer, clock()))

    app.action(ACTION)(listener)
