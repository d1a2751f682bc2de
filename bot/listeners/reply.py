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
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.errors import ActionError, SlackError, StoreError
from bot.sources.http import LazyClient

if TYPE_CHECKING:  # httpx loads with the first answer (`Replies.client`)
    import httpx

log = logging.getLogger(__name__)
Reply = Callable[..., Awaitable[Any]]
MAX_DEFER_SECONDS = 0.25  # the longest a busy stretch holds answers back
POSTS_AT_ONCE = 8  # answers being posted at the same time
SETTLE_SECONDS = 0.002  # quiet that ends a burst


class AckFirst:
    """Counts the Slack requests not yet acknowledged; the work behind answers waits its turn.

    `turn()` lets one caller at a time through, after the loop has read what arrived and
    once no request is waiting for its ack. A busy stretch holds work back for at most
    `max_defer` seconds; after that, turns and acks alternate, so a steady stream of
    commands still gets its answers.
    """

    def __init__(self, max_defer: float = MAX_DEFER_SECONDS) -> None:
        self.max_defer = max_defer
        self.in_flight = 0
        self._busy_since = 0.0
        self._last = 0.0  # when a request last arrived or was acked
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._turns = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def arrived(self) -> None:
        self._last = time.monotonic()
        if self.in_flight == 0:
            self._busy_since = self._last
        self.in_flight += 1
        self._quiet.clear()

    def acked(self) -> None:
        self._last = time.monotonic()
        self.in_flight = max(0, self.in_flight - 1)
        if self.in_flight == 0:
            self._quiet.set()

    async def turn(self) -> None:
        """Return when the caller may do a step of CPU work without delaying an ack."""
        async with self._turns:
            await asyncio.sleep(0)  # the loop reads the sockets: new requests count first
            while (left := self._busy_since + self.max_defer - time.monotonic()) > 0:
                if self.in_flight:
                    try:
                        async with asyncio.timeout(left):
                            await self._quiet.wait()
                    except TimeoutError:
                        return
                # a request read in this turn of the loop is counted in the next: a burst
                # is over once nothing has arrived or been acked for SETTLE_SECONDS
                settle = self._last + SETTLE_SECONDS - time.monotonic()
                if settle <= 0 and not self.in_flight:
                    return
                await asyncio.sleep(max(0.0, min(settle, left)))

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` from its turn on (kept referenced, errors logged)."""
        task = asyncio.get_running_loop().create_task(self._in_turn(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_turn(self, work: Coroutine[Any, Any, None]) -> None:
        await self.turn()
        try:
            await work
        except Exception:
            log.exception("work after an ack failed")

    async def drain(self) -> None:
        """Wait for the work started so far (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class Replies:
    """Answers to response_urls through one shared HTTP client, a few at a time.

    A burst of answers would otherwise be hundreds of requests stepping through the
    client's pool at once, each step a turn of the loop the next acks wait behind.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | Callable[[], httpx.AsyncClient] | None = None,
        at_once: int = POSTS_AT_ONCE,
    ) -> None:
        """`client`, or a function that makes it with the first answer (`LazyClient`)."""
        self._client = LazyClient(client or _default_client)
        self._slots = asyncio.Semaphore(at_once)

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client.get()

    def to(self, url: str) -> Reply:
        """A `respond` for one response_url, like Bolt's, on the shared client."""

        async def respond(**message: Any) -> httpx.Response:
            async with self._slots:
                return await self.client.post(url, json=message)

        return respond

    async def aclose(self) -> None:
        await self._client.aclose()


def _default_client() -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(timeout=httpx.Timeout(15.0))


async def send(respond: Reply, what: str, **message: Any) -> None:
    """Deliver `message` through `respond`; say in the log why it did not arrive."""
    import httpx  # loaded with the replies' client by now

    try:
        answer = await respond(**message)
    except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("%s: Slack's response_url could not be reached (%s)", what, type(exc).__name__)
        return
    status = getattr(answer, "status_code", 200)
    if isinstance(status, int) and status >= 300:
        body = getattr(answer, "text", None) or getattr(answer, "body", "")
        log.warning("%s: Slack refused the answer (HTTP %s %r)", what, status, str(body)[:80])


_USER = re.compile(r"[UW][A-Z0-9]{1,30}")


def user_of(body: dict[str, Any]) -> str | None:
    """The clicker's Slack user id, nothing else: it is stored and shown as a mention."""
    user = body.get("user")
    found = user.get("id") if isinstance(user, dict) else None
    return found if isinstance(found, str) and _USER.fullmatch(found) else None


def name_of(body: dict[str, Any]) -> str:
    """What Slack calls the clicker (`name`, else `username`): a click told in a thread
    names them by it, as a mention in a new message would notify them."""
    user = body.get("user")
    found = (user.get("name") or user.get("username")) if isinstance(user, dict) else None
    return found if isinstance(found, str) else ""


def action_of(body: dict[str, Any]) -> dict[str, Any]:
    """The click a block_actions payload carries (its first action), {} when none."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def view_of(body: dict[str, Any]) -> dict[str, Any]:
    """The view a payload carries (a submitted modal, the Home tab), {} when none."""
    view = body.get("view")
    return view if isinstance(view, dict) else {}


async def failure(
    change: Awaitable[Any], what: str, slack_code: str = "slack"
) -> tuple[str, dict[str, Any]] | None:
    """Run a click's change: None when it went through, else the code and details of why
    not, for the words the clicker is told (`ActionError`'s own; Slack, the database or
    anything else as one log line each)."""
    try:
        await change
        return None
    except ActionError as exc:
        return exc.code, exc.details
    except SlackError as exc:
        log.warning("%s: %s", what, exc)
        return slack_code, {"slack_code": exc.code}
    except StoreError as exc:
        log.error("%s: %s", what, exc)
        return "database", {"database": exc.code}
    except Exception:
        log.exception("%s failed", what)
        return "internal", {}
