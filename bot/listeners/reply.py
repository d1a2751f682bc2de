"""Answers through a response_url: a failure to deliver is one log line, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)
Reply = Callable[..., Awaitable[Any]]


async def send(respond: Reply, what: str, **message: Any) -> None:
    """Deliver `message` through Bolt's `respond`; say in the log why it did not arrive."""
    try:
        answer = await respond(**message)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("%s: Slack's response_url could not be reached (%s)", what, type(exc).__name__)
        return
    status = getattr(answer, "status_code", 200)
    if isinstance(status, int) and status >= 300:
        body = str(getattr(answer, "body", ""))[:80]
        log.warning("%s: Slack refused the answer (HTTP %s %r)", what, status, body)
