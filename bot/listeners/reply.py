"""What follows an ack: started after the acks in flight, answered through a response_url.

Slack gives an ack 3 seconds; the answer has 30 minutes. So the work behind an answer
(the vendor call, rendering, the POST to `response_url`) waits until the commands that
arrived with it have been acknowledged (`AckFirst`), and every answer goes out through
one shared HTTP client (`Replies`), not a new session per reply. A failure to deliver is
one log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
import httpx

log = logging.getLogger(__name__)
Reply = Callable[..., Awaitable[Any]]
MAX_DEFER_SECONDS = 0.25  # a steady stream of commands still gets its answers


class AckFirst:
    """Counts the Slack requests not yet acknowledged; work waits for none to be left."""

    def __init__(self, max_defer: float = MAX_DEFER_SECONDS) -> None:
        self.max_defer = max_defer
        self.in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._tasks: set[asyncio.Task[None]] = set()

    def arrived(self) -> None:
        self.in_flight += 1
        self._quiet.clear()

    def acked(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        if self.in_flight == 0:
            self._quiet.set()

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` once the acks in flight are out (kept referenced, errors logged)."""
        task = asyncio.get_running_loop().create_task(self._after_acks(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_acks(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            async with asyncio.timeout(self.max_defer):
                await self._quiet.wait()
        except TimeoutError:
            pass
        try:
            await work
        except Exception:
            log.exception("work after an ack failed")

    async def drain(self) -> None:
        """Wait for the work started so far (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class Replies:
    """Answers to response_urls through one shared HTTP client."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(15.0))

    def to(self, url: str) -> Reply:
        """A `respond` for one response_url, like Bolt's, on the shared client."""

        async def respond(**message: Any) -> httpx.Response:
            return await self.client.post(url, json=message)

        return respond

    async def aclose(self) -> None:
        await self.client.aclose()


async def send(respond: Reply, what: str, **message: Any) -> None:
    """Deliver `message` through `respond`; say in the log why it did not arrive."""
    try:
        answer = await respond(**message)
    except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("%s: Slack's response_url could not be reached (%s)", what, type(exc).__name__)
        return
    status = getattr(answer, "status_code", 200)
    if isinstance(status, int) and status >= 300:
        body = getattr(answer, "text", None) or getattr(answer, "body", "")
        log.warning("%s: Slack refused the answer (HTTP %s %r)", what, status, str(body)[:80])
