"""Forwards stored survey responses to MaestroQA from the outbox, within its limits.

MaestroQA takes at most 100 items a request, 10 requests a second and 100 a minute, and
says all three may change. So: batches of at most 100 (halved when MaestroQA refuses a
batch as a whole, grown back after successes), a sliding-window `RateLimiter` counting
from MaestroQA's answers and seeded from the outbox after a restart, 429 honoured
(Retry-After pauses every send) and 5xx, time-outs and lost connections retried with
exponential back-off stored in
`next_attempt_at`, so a restart keeps the schedule. Per-item failures are recorded and
never retried on their own. How often MaestroQA can see one response is in
docs/vendors.md ("Exactly once").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.db import Store
from bot.errors import StoreError
from bot.sources.http import retry_after
from bot.surveys import queries as outbox
from bot.surveys.queries import Update

log = logging.getLogger(__name__)
PATH = "/api/v1/create-customer-feedback"
STORE_PAUSE = 30.0  # seconds between tries while the database cannot be used
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Policy:
    """How the forwarder paces and retries; MaestroQA's documented limits by default."""

    batch: int = 100
    limits: tuple[tuple[int, float], ...] = ((10, 1.0), (100, 60.0))  # (requests, seconds)
    margin: float = 0.05  # seconds added to each window, at least, to spare: two clocks never
    share: float = 0.02  # tick quite alike; or this share of the window (1.2 s of a minute)
    timeout: float = 10.0  # a whole request, answer included
    lease_margin: float = 2.0  # a claim outlives its request by this much
    backoff: float = 1.0  # first retry after a 5xx; doubles each time
    max_backoff: float = 300.0
    idle: float = 30.0  # longest sleep with nothing due; new responses wake it at once


class RateLimiter:
    """At most `count` requests in any `span` seconds, for each (count, span) limit.

    MaestroQA counts a request when it arrives, which is after it was sent and before its
    answer, however loaded either machine is. So each request is recorded when its answer
    came back, and the next one may go once `span` has passed since then: arrivals are
    then at least `span` apart too, which pacing by send times cannot promise.
    """

    def __init__(
        self, limits: tuple[tuple[int, float], ...], margin: float = 0.0, share: float = 0.0
    ) -> None:
        self.limits = limits
        self.margin = margin
        self.share = share
        self._sent: deque[float] = deque(maxlen=max(count for count, _ in limits))
        self._paused_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds to wait before the next request may go; 0 when it may go now."""
        wait = self._paused_until - now
        for count, span in self.limits:
            window = span + max(self.margin, span * self.share)
            recent = [t for t in self._sent if t > now - window]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + window - now)
        return max(0.0, wait)

    def record(self, moment: float) -> None:
        """One request, surely received by `moment`; records come in time order."""
        self._sent.append(moment)

    def pause(self, until: float) -> None:
        """A 429: nothing goes out before `until`."""
        self._paused_until = max(self._paused_until, until)


@dataclass(frozen=True)
class Verdict:
    """What a batch's rows become; whether every send pauses (429); whether to split."""

    updates: list[Update]
    pause_until: float | None = None
    smaller: bool = False


def decide(rows: list[dict[str, Any]], status: int, headers: httpx.Headers, body: Any,
           now: float, policy: Policy) -> Verdict:  # fmt: skip
    """What each row of a batch becomes after MaestroQA answered.

    Pure, so every answer MaestroQA can give is a table of cases in the tests.
    """
    if 200 <= status < 300:
        results = body.get("results") if isinstance(body, dict) else None
        results = results if isinstance(results, list) else []
        updates = []
        for i, row in enumerate(rows):
            result = results[i] if i < len(results) and isinstance(results[i], dict) else None
            if result is None:  # accepted as a whole; nothing to say per item
                updates.append(Update(row["id"], "sent", "MaestroQA gave no result for this item"))
            elif result.get("success") is False:
                reason = str(result.get("status") or "Failed")
                updates.append(Update(row["id"], "failed", reason))
            else:
                updates.append(Update(row["id"], "sent", remote_id=str(result.get("_id") or "")))
        return Verdict(updates)
    if status == 429:
        wait = max(1.0, retry_after(headers, now) or backoff(rows, policy))
        reason = f"MaestroQA answered 429 (rate limited); waiting {wait:.0f}s"
        return Verdict(retry_all(rows, reason, now + wait), pause_until=now + wait)
    if status >= 500 or status in (401, 403, 404, 408):
        wait = backoff(rows, policy)
        hint = {401: ": check MAESTROQA_API_TOKEN", 403: ": check MAESTROQA_API_TOKEN",
                404: ": check MAESTROQA_API_URL"}.get(status, "")  # fmt: skip
        return Verdict(retry_all(rows, f"MaestroQA answered HTTP {status}{hint}", now + wait))
    detail = f"MaestroQA refused the batch: HTTP {status} {snippet(body)}".rstrip()
    if len(rows) > 1:  # one bad item spoils a batch: smaller batches isolate it
        return Verdict(retry_all(rows, detail + "; retrying in smaller batches", now), smaller=True)
    return Verdict([Update(rows[0]["id"], "failed", detail)])


def retry_all(rows: list[dict[str, Any]], reason: str, when: float) -> list[Update]:
    return [Update(row["id"], "pending", reason, retry_at=when) for row in rows]


def backoff(rows: list[dict[str, Any]], policy: Policy) -> float:
    """Exponential in the attempts the batch has had: 1 s, 2 s, 4 s … at most max_backoff."""
    tries = max((int(row.get("attempts") or 1) for row in rows), default=1)
    return min(policy.max_backoff, policy.backoff * 2.0 ** min(tries - 1, 30))


def snippet(body: Any, limit: int = 160) -> str:
    text = " ".join(str(body if body is not None else "").split())
    return text[:limit] + ("…" if len(text) > limit else "")


class Forwarder:
    """One worker in the event loop: claim a batch, wait for the limiter, send, record."""

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        base_url: str,
        token: str,
        policy: Policy | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.store = store
        self.client = client
        self.url = base_url.rstrip("/") + PATH
        self.token = token
        self.policy = policy or Policy()
        self.clock = clock
        self.sleep = sleep
        self.limiter = RateLimiter(self.policy.limits, self.policy.margin, self.policy.share)
        self.batch = self.policy.batch
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """New responses are stored: look now rather than at the next idle wake-up."""
        self._wake.set()

    async def run(self) -> None:
        """Forward until cancelled; a failure is logged and the loop goes on."""
        span = max(span for _, span in self.policy.limits)
        now = self.clock()
        try:  # what a previous process sent this minute still counts against the limits
            for moment in await self.store(lambda db: outbox.recent_sends(db, now - span, now)):
                self.limiter.record(moment)
        except StoreError as exc:
            log.error("could not read recent sends; pacing from now on: %s", exc)
        except Exception:
            log.exception("could not read recent sends; pacing from now on")
        while True:
            self._wake.clear()  # before looking: a notify from now on is not missed
            try:
                if not await self.step():
                    await self._idle()
            except asyncio.CancelledError:
                raise
            except StoreError as exc:  # nothing to send until the database is usable again
                log.error("forwarding to MaestroQA paused for %.0f s: %s", STORE_PAUSE, exc)
                await self.sleep(STORE_PAUSE)
            except Exception:
                log.exception("forwarding to MaestroQA failed; trying again shortly")
                await self.sleep(1.0)

    async def step(self) -> bool:
        """Send one batch if one is due; False when nothing is."""
        due = await self.store(outbox.next_due)
        if due is None or due > self.clock():
            return False
        while (wait := self.limiter.wait(self.clock())) > 0:
            await self.sleep(wait)
        now, batch_id = self.clock(), uuid.uuid4().hex
        lease = now + self.policy.timeout + self.policy.lease_margin
        rows = await self.store(lambda db: outbox.claim(db, now, self.batch, lease, batch_id))
        if not rows:
            return True  # someone else took them; look again
        verdict = await self._send(rows)
        # MaestroQA counts a request when it arrives, some time between sending and its
        # answer; only the answer's moment is surely no earlier, whatever the load
        self.limiter.record(self.clock())
        if verdict.pause_until is not None:
            self.limiter.pause(verdict.pause_until)
        settled_at = self.clock()
        await self.store(lambda db: outbox.settle(db, batch_id, verdict.updates, settled_at))
        # one bad item spoils a batch: halve until it is alone; grow back after successes
        if verdict.smaller:
            self.batch = max(1, len(rows) // 2)
        elif any(u.status == "sent" for u in verdict.updates):
            self.batch = min(self.policy.batch, self.batch * 2)
        return True

    async def _send(self, rows: list[dict[str, Any]]) -> Verdict:
        # the payloads are the survey tool's own JSON: joined, never re-encoded
        body = b'{"data":[' + ",".join(row["payload"] for row in rows).encode() + b"]}"
        headers = {"apiToken": self.token, "Content-Type": "application/json"}
        try:
            async with asyncio.timeout(self.policy.timeout):
                response = await self.client.post(self.url, content=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            reason = f"no answer from MaestroQA in {self.policy.timeout:.0f}s"
            return Verdict(retry_all(rows, reason, self.clock() + backoff(rows, self.policy)))
        except httpx.TransportError as exc:
            reason = f"cannot reach MaestroQA ({type(exc).__name__})"
            return Verdict(retry_all(rows, reason, self.clock() + backoff(rows, self.policy)))
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        if response.status_code >= 300:
            log.warning("MaestroQA answered HTTP %s for %d items", response.status_code, len(rows))
        return decide(rows, response.status_code, response.headers, answer, self.clock(),
                      self.policy)  # fmt: skip

    async def _idle(self) -> None:
        due = await self.store(outbox.next_due)
        wait = self.policy.idle if due is None else min(self.policy.idle, due - self.clock())
        if wait <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=wait)
