"""An answer Slack will not take is one log line with its reason, never a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from slack_sdk.webhook import WebhookResponse

from bot.listeners.reply import SETTLE_SECONDS, AckFirst, send

pytestmark = pytest.mark.anyio


async def test_a_delivered_answer_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    got: list[dict[str, Any]] = []

    async def respond(**message: Any) -> WebhookResponse:
        got.append(message)
        return WebhookResponse(url="u", status_code=200, body="ok", headers={})

    await send(respond, "/csat", text="hi", response_type="ephemeral")
    assert got == [{"text": "hi", "response_type": "ephemeral"}]
    assert caplog.records == []


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (aiohttp.ClientConnectionError("gone"),
         "/csat: Slack's response_url could not be reached (ClientConnectionError)"),
        (TimeoutError(), "/csat: Slack's response_url could not be reached (TimeoutError)"),
    ],
)  # fmt: skip
async def test_an_unreachable_response_url_is_one_line(
    caplog: pytest.LogCaptureFixture, error: Exception, line: str
) -> None:
    async def respond(**message: Any) -> None:
        raise error

    with caplog.at_level(logging.WARNING):
        await send(respond, "/csat", text="hi")
    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [(line, None)]


async def test_an_expired_response_url_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    async def respond(**message: Any) -> WebhookResponse:
        return WebhookResponse(url="u", status_code=404, body="expired_url", headers={})

    with caplog.at_level(logging.WARNING):
        await send(respond, "alert button", text="hi")
    assert [r.getMessage() for r in caplog.records] == [
        "alert button: Slack refused the answer (HTTP 404 'expired_url')"
    ]


async def test_a_turn_waits_for_the_acks_in_flight() -> None:
    ack_first = AckFirst(max_defer=5)
    ack_first.arrived()
    turn = asyncio.ensure_future(ack_first.turn())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not turn.done()
    ack_first.acked()
    await asyncio.wait_for(turn, 1)


async def test_a_long_busy_stretch_holds_work_back_only_so_long() -> None:
    ack_first = AckFirst(max_defer=0.05)
    ack_first.arrived()  # never acked: the turn still comes
    await asyncio.wait_for(ack_first.turn(), 1)
    await asyncio.wait_for(ack_first.turn(), 0.04)  # and later turns do not wait again


async def test_later_runs_its_work_and_logs_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    ack_first, done = AckFirst(), []

    async def work() -> None:
        done.append(1)

    async def broken() -> None:
        raise RuntimeError("boom")

    ack_first.later(work())
    ack_first.later(broken())
    await ack_first.drain()
    assert done == [1]
    assert "work after an ack failed" in caplog.text


async def test_a_turn_waits_for_the_burst_to_settle_after_its_last_ack() -> None:
    ack_first = AckFirst(max_defer=5)
    ack_first.arrived()
    ack_first.acked()  # in_flight is 0 again, but a request may be read in this very turn
    loop = asyncio.get_running_loop()
    began = loop.time()
    await ack_first.turn()
    assert loop.time() - began >= SETTLE_SECONDS * 0.9


async def test_the_answers_client_is_made_with_the_first_answer() -> None:
    import httpx

    from bot.listeners.reply import Replies

    made: list[httpx.AsyncClient] = []
    seen: list[str] = []

    def make() -> httpx.AsyncClient:
        def slack(request: httpx.Request) -> httpx.Response:
            seen.append(request.content.decode())
            return httpx.Response(200, text="ok")

        made.append(httpx.AsyncClient(transport=httpx.MockTransport(slack)))
        return made[-1]

    await Replies(make).aclose()  # never answered: nothing made, nothing to close
    replies = Replies(make)
    assert made == []
    await send(replies.to("https://hooks.slack.test/1"), "test", text="one")
    await send(replies.to("https://hooks.slack.test/2"), "test", text="two")
    assert len(made) == 1 and seen == ['{"text":"one"}', '{"text":"two"}']
    await replies.aclose()
    assert made[0].is_closed
