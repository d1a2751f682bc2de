"""The "Post chart to channel" button with any body Slack (or someone else) may send: the
chart is uploaded where the command was typed when every value checks out; anything else is
told to the clicker only, in a short line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.commands.trend import Redraw, Trends
from bot.db import Store
from bot.errors import SlackError
from bot.listeners.trend import handle_post_chart
from bot.render import Renderer
from bot.sources import Sources
from bot.surveys.queries import daily_distribution
from tests.fakes.hostile import HOSTILE, pings

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 31, 7, 20, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


class Source:
    name, vendor, units = "ingested", "Ingested surveys", ("account", "agent")

    def check(self, query: Any) -> None:
        """Any id goes."""


class Poster:
    """Records uploads; a channel starting with C0NOTIN is refused as Slack refuses it."""

    def __init__(self) -> None:
        self.uploads: list[dict[str, Any]] = []

    async def upload(self, channel: str, thread_ts: str | None, filename: str, content: bytes,
                     title: str, comment: str | None = None) -> None:  # fmt: skip
        if channel.startswith("C0NOTIN"):
            raise SlackError("The bot is not in channel", "not_in_channel")
        if channel.startswith("C0SLOW"):
            raise SlackError("Slack did not answer", "timeout")
        self.uploads.append({"channel": channel, "thread_ts": thread_ts, "png": content,
                             "title": title, "comment": comment})  # fmt: skip


class Said:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, **message: Any) -> None:
        self.messages.append(message)

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]


@pytest.fixture
def trends(tmp_path: Path) -> Iterator[Trends]:
    store = Store(str(tmp_path / "bot.db"))

    def put(db: Any) -> None:
        for n in range(30):
            moment = NOW - timedelta(hours=5 * n)
            db.execute(
                "insert into responses (id, ticket_id, submitted_at, agent, score, score5, raw)"
                " values (?, ?, ?, 'ana', ?, ?, '{}')",
                [str(n), str(n), moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"), 1 + n % 5, 1 + n % 5],
            )

    store.sync(put)
    renderer = Renderer(timezone=BERLIN)
    yield Trends(Sources({"ingested": Source()}), renderer, store, BERLIN, lambda: NOW,  # type: ignore[dict-item]
                 daily_distribution)  # fmt: skip
    store.close()


def value(channel: str = "C0TEAM", **changes: Any) -> str:
    drawn = Redraw("ingested", "agent", ("ana",), 7 * 1440, int(NOW.timestamp()), channel)
    return json.dumps({**json.loads(drawn.value()), **changes})


def click(value: Any, channel: Any = "C0TEAM", user: Any = "U0LEAD") -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": user}, "channel": {"id": channel},
            "actions": [{"action_id": "trend_post_chart", "value": value}]}  # fmt: skip


async def test_the_chart_goes_to_the_channel_with_who_posted_it(trends: Trends) -> None:
    poster, said = Poster(), Said()
    await handle_post_chart(click(value()), said, trends, poster, trends.renderer, NOW)  # type: ignore[arg-type]
    assert said.messages == []
    (upload,) = poster.uploads
    assert upload["channel"] == "C0TEAM" and upload["thread_ts"] is None
    assert upload["png"].startswith(b"\x89PNG")
    assert upload["comment"].startswith("<@U0LEAD> posted the CSAT trend of agent ana")
    assert upload["title"] == "CSAT trend · agent ana"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (click(value(), channel="C0OTHER"), "belongs to another channel"),
        (click(value("C0NOTIN1"), channel="C0NOTIN1"), "The bot is not in this channel"),
        (click(value("C0SLOW1"), channel="C0SLOW1"), "Slack refused the chart (timeout)"),
        (click(value(s="liveperson")), "no longer configured here"),
        (click(value(), user="<!channel>"), "not one this bot knows"),
        (click(value()[:-1]), "not one this bot knows"),
        (click("x" * 5000), "not one this bot knows"),
        ({}, "not one this bot knows"),
        ({"actions": "no"}, "not one this bot knows"),
        *((click(h), "not one this bot knows") for h in HOSTILE),
        *((click(value(), channel=h), "belongs to another channel") for h in HOSTILE),
    ],
)
async def test_a_click_that_cannot_be_carried_out_is_told_to_the_clicker(
    trends: Trends, body: dict[str, Any], said: str
) -> None:
    poster, told = Poster(), Said()
    await handle_post_chart(body, told, trends, poster, trends.renderer, NOW)  # type: ignore[arg-type]
    assert poster.uploads == []
    (message,) = told.messages
    assert said in message["text"] and message["response_type"] == "ephemeral"
    assert message["replace_original"] is False and "Traceback" not in message["text"]


async def test_without_trends_every_click_is_unknown(trends: Trends) -> None:
    told = Said()
    await handle_post_chart(click(value()), told, None, None, trends.renderer, NOW)
    assert "not one this bot knows" in told.texts[0]


@pytest.mark.parametrize("agent", ["zoë", "Ana Lopez", "<!channel>"])
async def test_a_button_the_bot_wrote_is_honoured_for_any_agent_id_a_survey_gives(
    trends: Trends, agent: str
) -> None:
    """Ingested agent ids are any text: the button the answer carried posts its chart, and
    the id is only ever escaped, never a mention."""

    def put(db: Any) -> None:
        db.execute(
            "insert into responses (id, ticket_id, submitted_at, agent, score, score5, raw)"
            " values ('z', 'z', ?, ?, 5, 5, '{}')",
            [(NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"), agent],
        )

    trends.store.sync(put)
    drawn = Redraw("ingested", "agent", (agent,), 7 * 1440, int(NOW.timestamp()), "C0TEAM")
    assert drawn.value()
    poster, said = Poster(), Said()
    await handle_post_chart(click(drawn.value()), said, trends, poster, trends.renderer, NOW)  # type: ignore[arg-type]
    assert said.messages == []
    (upload,) = poster.uploads
    assert upload["png"].startswith(b"\x89PNG")
    assert not pings(upload["comment"].removeprefix("<@U0LEAD>"))
    assert not pings(upload["title"])
