"""HTTP shared by every vendor client: time-outs, polite retries, one call per bucket.

Only this module turns transport trouble into the vendor error tree, so every client
fails the same way: 401/403 -> VendorAuthError, other 4xx -> VendorRejected,
429 -> retried at least a second apart (Retry-After honoured) then VendorRateLimited,
5xx and lost connections -> retried with back-off then VendorUnavailable,
time-outs -> VendorTimeout, unreadable bodies -> VendorBadResponse.

Every call's outcome passes here too, so this is where a source's `Outcomes` hear whether
it answers (`sources/status.py` keeps that for the home view).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bot.errors import (
    SourceError,
    VendorAuthError,
    VendorBadResponse,
    VendorRateLimited,
    VendorRejected,
    VendorTimeout,
    VendorUnavailable,
)
from bot.jsonscan import loads_in_steps, loads_whole
from bot.offloop import answering_slack, off_loop
from bot.recent import Recent

if TYPE_CHECKING:  # httpx loads with the first client (`VendorHTTP.client`)
    import httpx

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded, so a person always gets an answer in reasonable time."""

    attempts: int = 3  # tries in all, for 429 and for 5xx alike
    min_429_wait: float = 1.0  # LivePerson asks for at least a second between tries
    max_wait: float = 10.0  # a Retry-After above this is not worth waiting for
    backoff: float = 0.5  # 5xx: 0.5 s, then 1 s, ...
    concurrency: int = 4  # requests in flight to one vendor at once: smooths bursts
    deadline: float = 10.0  # seconds for one whole request, answer included (BOT_VENDOR_TIMEOUT)

    @property
    def total(self) -> float:
        """Seconds for a whole call: every attempt, the waits between, a turn in the queue."""
        return self.attempts * self.deadline + (self.attempts - 1) * self.max_wait


BIG_BODY = 256 * 1024  # bytes of JSON decoded off the loop, in steps
RATE_LIMITED = "rate limited"  # what a `describe` hook returns for a throttling error body


class Outcomes(Protocol):
    """Told how each vendor call ended: `None` when an answer came, else the `SourceError`
    it raised. Called on the loop inside the call, so it must be cheap and never raise;
    what it writes goes on in the background, and `drain` waits for that (at close)."""

    def __call__(self, error: SourceError | None) -> None: ...

    async def drain(self) -> None: ...


class LazyClient:
    """An `httpx.AsyncClient`, or the function that makes it at its first use: httpx loads
    then, so `serve` answers its first /healthz without it. One never made is not closed."""

    def __init__(self, client: httpx.AsyncClient | Callable[[], httpx.AsyncClient]) -> None:
        self._client = None if callable(client) else client
        self._make = client if callable(client) else None

    def get(self) -> httpx.AsyncClient:
        if self._client is None:
            assert self._make is not None
            self._client = self._make()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class VendorHTTP:
    """One vendor's HTTP: a shared `httpx.AsyncClient` with its retry policy.

    `client` may be a function that makes it at the first request (`LazyClient`);
    `outcomes`, when given, hears how every call ended.
    """

    def __init__(
        self,
        vendor: str,
        client: httpx.AsyncClient | Callable[[], httpx.AsyncClient],
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        describe: Callable[[httpx.Response], str | SourceError | None] | None = None,
        outcomes: Outcomes | None = None,
    ) -> None:
        self.vendor = vendor
        self._client = LazyClient(client)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        # a vendor's own error shape -> the detail people see, and whether it means "slow down"
        self._describe = describe or (lambda response: None)
        self._slots = asyncio.Semaphore(self.policy.concurrency)
        self._outcomes = outcomes
        self._outcomes_failed = False  # logged once: a broken hook must not flood the log

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client.get()

    async def aclose(self) -> None:
        if self._outcomes is not None:  # before the store closes: the sources close first
            await self._outcomes.drain()
        await self._client.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; return a 2xx (or 304) response or raise from the error tree.

        Either way the outcome is told (`Outcomes`)."""
        response = await self._request(method, url, **kwargs)
        self._tell(None)
        return response

    async def read_json(self, response: httpx.Response) -> Any:
        """A response's JSON (`read_json`), told as the call's outcome: an answer that
        cannot be read is a failure, not a success."""
        try:
            body = await read_json(self.vendor, response)
        except SourceError as exc:
            self._tell(exc)
            raise
        self._tell(None)
        return body

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """`request`, telling only a failure: a JSON reader tells the success once it reads."""
        total = self.policy.total
        try:
            async with asyncio.timeout(total):
                return await self._attempts(method, url, **kwargs)
        except TimeoutError:
            detail = f"no answer from {_host(url)} within {total:g} s"
            error = VendorTimeout(self.vendor, detail)
            self._tell(error)
            raise error from None
        except SourceError as exc:
            self._tell(exc)
            raise

    def _tell(self, error: SourceError | None) -> None:
        """Hand the outcome on; whatever goes wrong there, the call goes on as it was."""
        if self._outcomes is None:
            return
        try:
            self._outcomes(error)
        except Exception:
            if not self._outcomes_failed:
                self._outcomes_failed = True
                log.exception("%s: a call's outcome could not be recorded", self.vendor)

    async def _attempts(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        import httpx  # loaded with the client by now

        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                async with self._slots, asyncio.timeout(policy.deadline):
                    # httpx's time-outs are per read: an answer that drips a byte at a time
                    # never trips them, so the whole request has a deadline too
                    response = await self.client.request(method, url, **kwargs)
            except (httpx.TimeoutException, TimeoutError):
                raise VendorTimeout(self.vendor, f"no answer from {_host(url)}") from None
            except httpx.TransportError as exc:
                if last:
                    raise VendorUnavailable(self.vendor, f"cannot reach {_host(url)}") from exc
                await self._sleep(policy.backoff * 2 ** (attempt - 1))
                continue
            status = response.status_code
            if status < 300 or status == 304:  # 304: a conditional request, still current
                return response
            detail = self._describe(response)
            if isinstance(detail, SourceError):  # the vendor's error has a meaning of its own
                raise detail
            if status in (401, 403):
                raise VendorAuthError(self.vendor, detail or f"HTTP {status}", status)
            if status == 429 or detail == RATE_LIMITED:
                wait = max(policy.min_429_wait, retry_after(response.headers, time.time()))
                if last or wait > policy.max_wait:
                    raise VendorRateLimited(self.vendor, f"HTTP 429 after {attempt} tries")
                log.info("%s answered 429; retrying in %.1fs", self.vendor, wait)
                await self._sleep(wait)
                continue
            if status >= 500:
                if last:
                    raise VendorUnavailable(self.vendor, f"HTTP {status} after {attempt} tries")
                log.info("%s answered %s; retrying", self.vendor, status)
                await self._sleep(policy.backoff * 2 ** (attempt - 1))
                continue
            raise VendorRejected(self.vendor, detail or f"HTTP {status}: {_snippet(response)}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_json(self, url: str, **kwargs: Any) -> Any:
        return await self.read_json(await self._request("GET", url, **kwargs))

    async def post_json(self, url: str, **kwargs: Any) -> Any:
        return await self.read_json(await self._request("POST", url, **kwargs))


def decode_json(vendor: str, response: httpx.Response) -> Any:
    """The body as JSON, or VendorBadResponse naming what came instead."""
    try:
        return response.json()
    except ValueError:
        raise VendorBadResponse(vendor, f"not JSON: {_snippet(response)}") from None


async def read_json(vendor: str, response: httpx.Response) -> Any:
    """`decode_json`, off the loop for a big body, in steps that let the loop run between."""
    if len(response.content) <= BIG_BODY:
        return decode_json(vendor, response)
    try:
        if answering_slack():
            return await off_loop(loads_in_steps, response.text)
        # where no ack waits (the digest process, the CLI) one call is 2.5x faster, and
        # from the bytes: no second copy of the answer as text
        return await off_loop(loads_whole, response.content)
    except ValueError:
        raise VendorBadResponse(vendor, f"not JSON: {_snippet(response)}") from None


def retry_after(headers: httpx.Headers, now: float) -> float:
    """Retry-After in seconds, or as an HTTP date counted from `now` (Unix seconds).

    0 when absent, unreadable or not a finite number: the caller's own wait applies.
    """
    value = headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, OverflowError):
            return 0.0
    return max(0.0, seconds) if math.isfinite(seconds) else 0.0


def _snippet(response: httpx.Response, limit: int = 120) -> str:
    text = " ".join(response.text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def _host(url: str) -> str:
    import httpx

    return httpx.URL(url).host or url


class BucketCache:
    """Identical queries in the same 5-minute bucket share one vendor call.

    The vendors aggregate into 5-minute buckets, so asking again inside a bucket cannot
    return fresher data. Concurrent callers await the same task; a failure is shared by
    those already waiting but not remembered, so the next caller tries again. Only the
    current bucket is kept, and of it the `size` queries asked last: each look-up is one
    dict access however many queries a bucket sees. Keys are canonical (the sources sort
    and de-duplicate ids), so `4,5` and `5,4` are one call.
    """

    def __init__(
        self, clock: Callable[[], datetime], bucket_seconds: int = 300, size: int = 256
    ) -> None:
        self._clock = clock
        self._bucket_seconds = bucket_seconds
        self._current = -1
        self._tasks: Recent[tuple[int, Hashable], asyncio.Task[Any]] = Recent(size)

    def bucket(self) -> int:
        return int(self._clock().timestamp()) // self._bucket_seconds

    def __len__(self) -> int:
        return len(self._tasks)

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        bucket = self.bucket()
        if bucket != self._current:  # a new bucket: what the old one fetched is stale
            self._tasks.clear()
            self._current = bucket
        slot = (bucket, key)
        task = self._tasks.get(slot)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._tasks.put(slot, task)
            task.add_done_callback(lambda t: self._forget_failure(slot, t))
        # shield: one impatient caller must not cancel the call the others wait for
        return await asyncio.shield(task)

    def _forget_failure(self, slot: tuple[int, Hashable], task: asyncio.Task[Any]) -> None:
        if (task.cancelled() or task.exception() is not None) and self._tasks.get(slot) is task:
            self._tasks.pop(slot)
