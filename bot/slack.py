"""The only code that posts to Slack: messages, thread replies, updates, files, ephemeral
answers and modals.

Slack allows about one message a second per channel and answers 429 with Retry-After
beyond that: slack_sdk's rate-limit retry handler honours the 429, and `Poster` spaces
posts to one channel a second apart so the 429 is rare. Errors that a person can fix
(the bot is not in the channel, the channel is gone) become a `SlackError` that says so.
Every call has a total deadline, waits for a 429 included: a Slack that never answers, or
answers an HTML page, is a `SlackError` like any other, never a hung digest or a traceback.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SlackError
from bot.render import Message

_CODE = re.compile(r"[a-z0-9_.]{1,64}")  # what Slack's error codes look like
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,12}")  # what a message's ts looks like
PER_CHANNEL_SECONDS = 1.0
DEADLINE_SECONDS = 60.0  # one call, its 429 waits and files_upload_v2's three steps included
REQUEST_SECONDS = 15  # one HTTP request (aiohttp's total time-out)
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
    web = AsyncWebClient(token=token, base_url=api_url, timeout=REQUEST_SECONDS)
    web.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=retries))
    return web


class Poster:
    """Posts through one AsyncWebClient, about one message a second per channel."""

    def __init__(
        self,
        web: AsyncWebClient,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self.web = web
        self.deadline = deadline
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
                return await self._within(channel, call)
            finally:
                self._last[channel] = self._monotonic()

    async def _within(self, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """One call within the deadline; whatever goes wrong as a `SlackError`."""
        limit = asyncio.timeout(self.deadline)
        try:
            async with limit:
                return await call()
        except SlackApiError as exc:
            raise _refused(channel, exc) from exc
        except TimeoutError as exc:  # the whole call's deadline, or one request's
            seconds = self.deadline if limit.expired() else REQUEST_SECONDS
            raise SlackError(
                f"Slack did not answer within {seconds:g} s to post in {channel}.", "timeout"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SlackError(
                f"Slack could not be reached to post in {channel} ({exc!r:.80}).", "unreachable"
            ) from exc
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # what slack_sdk raises on an answer that is not Slack's JSON (a proxy's HTML page)
            raise _unreadable(channel, type(exc).__name__) from exc

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
        ts = response.get("ts")
        if not isinstance(ts, str) or not _TS.fullmatch(ts):
            raise _unreadable(channel, "no ts")
        return ts

    async def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a posted message (an alert that resolved, say)."""

        async def call() -> Any:
            return await self.web.chat_update(
                channel=channel, ts=ts, text=message["text"], blocks=message.get("blocks")
            )

        await self._paced(channel, call)

    async def ephemeral(self, channel: str, user: str, message: Message) -> None:
        """A message only `user` sees, in `channel` (not paced: it is no post to the channel)."""

        async def call() -> Any:
            return await self.web.chat_postEphemeral(
                channel=channel, user=user, text=message["text"], blocks=message.get("blocks")
            )

        await self._within(channel, call)

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal for the click that carried `trigger_id` (Slack honours it 3 s)."""

        async def call() -> Any:
            return await self.web.views_open(trigger_id=trigger_id, view=view)

        await self._within("a modal", call)

    async def upload(
        self,
        channel: str,
        thread_ts: str | None,
        filename: str,
        content: bytes,
        title: str,
        comment: str | None = None,
    ) -> None:
        """Attach a file (a chart, a full table) to a thread, or post it to the channel
        (`thread_ts` None) with a `comment` above it: files_upload_v2's three calls."""

        async def call() -> Any:
            return await self.web.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                filename=filename,
                content=content,
                title=title,
                initial_comment=comment,
                request_file_info=False,
            )

        await self._paced(channel, call)


def _refused(channel: str, exc: SlackApiError) -> SlackError:
    """Slack's error code, worded when a person can fix it; an answer without one is unreadable."""
    answer = exc.response
    code = ""
    if answer is not None:
        try:
            code = str(answer.get("error") or "")
        except (AttributeError, TypeError):  # the body was not a JSON object
            code = ""
    if not code:
        status = getattr(answer, "status_code", None) or getattr(answer, "status", "?")
        return _unreadable(channel, f"HTTP {status}")
    if not _CODE.fullmatch(code):  # not Slack's: never repeated in a log line or a message
        return _unreadable(channel, "an error code that is not Slack's")
    text = FIXABLE.get(code, "Slack refused the message in {channel} (" + code + ").")
    return SlackError(text.format(channel=channel), code)


def _unreadable(channel: str, what: str) -> SlackError:
    return SlackError(
        f"Slack's answer to a post in {channel} could not be read ({what}); try again later.",
        "unreadable",
    )
