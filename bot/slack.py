"""The only code that posts to Slack: messages, thread replies, updates and files.

Slack allows about one message a second per channel and answers 429 with Retry-After
beyond that: slack_sdk's rate-limit retry handler honours the 429, and `Poster` spaces
posts to one channel a second apart so the 429 is rare. Errors that a person can fix
(the bot is not in the channel, the channel is gone) become a `SlackError` that says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SlackError
from bot.render import Message

PER_CHANNEL_SECONDS = 1.0
FIXABLE = {
    "not_in_channel": "The bot is not in channel {channel}: invite it with `/invite @CSAT Bot`.",
    "channel_not_found": "Channel {channel} does not exist or the bot cannot see it: "
    "check the channel id in bot.toml and invite the bot.",
    "is_archived": "Channel {channel} is archived: pick another channel in bot.toml.",
    "invalid_auth": "Slack refused the bot token (SLACK_BOT_TOKEN).",
    "not_authed": "Slack refused the bot token (SLACK_BOT_TOKEN).",
    "account_inactive": "The bot's Slack token belongs to a deactivated app or user.",
    "missing_scope": "The Slack app lacks a permission: reinstall it from manifest.yml.",
    "ratelimited": "Slack kept answering 'rate limited' for channel {channel}; try again later.",
}


def client(token: str, api_url: str, retries: int = 3) -> AsyncWebClient:
    """An AsyncWebClient that waits out Slack's 429s (Retry-After) a few times."""
    web = AsyncWebClient(token=token, base_url=api_url)
    web.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=retries))
    return web


class Poster:
    """Posts through one AsyncWebClient, about one message a second per channel."""

    def __init__(
        self,
        web: AsyncWebClient,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.web = web
        self._monotonic = monotonic
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _paced(self, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._last.get(channel, -1e9) + PER_CHANNEL_SECONDS - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            try:
                return await call()
            except SlackApiError as exc:
                code = str(exc.response.get("error", "")) if exc.response else ""
                text = FIXABLE.get(code, "Slack refused the message in {channel} (" + code + ").")
                raise SlackError(text.format(channel=channel), code) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise SlackError(
                    f"Slack could not be reached to post in {channel} ({exc!r:.80}).", "unreachable"
                ) from exc
            finally:
                self._last[channel] = self._monotonic()

    async def post(
        self, channel: str, message: Message, thread_ts: str | None = None, broadcast: bool = False
    ) -> str:
        """Post a message (in a thread when `thread_ts`); its ts."""

        async def call() -> Any:
            return await self.web.chat_postMessage(
                channel=channel,
                text=message["text"],
                blocks=message.get("blocks"),
                thread_ts=thread_ts,
                reply_broadcast=broadcast or None,
                unfurl_links=False,
                unfurl_media=False,
            )

        response = await self._paced(channel, call)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a posted message (an alert that resolved, say)."""

        async def call() -> Any:
            return await self.web.chat_update(
                channel=channel, ts=ts, text=message["text"], blocks=message.get("blocks")
            )

        await self._paced(channel, call)

    async def upload(
        self, channel: str, thread_ts: str | None, filename: str, content: bytes, title: str
    ) -> None:
        """Attach a file (a chart, a full table) to a thread: files_upload_v2's three calls."""

        async def call() -> Any:
            return await self.web.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                filename=filename,
                content=content,
                title=title,
                request_file_info=False,
            )

        await self._paced(channel, call)
