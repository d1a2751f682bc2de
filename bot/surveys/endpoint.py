"""`POST /api/v1/create-customer-feedback`: MaestroQA's CSAT bulk ingestion, served by the bot.

Per-item results in order, valid items stored even when others fail (docs/vendors.md).
Valid items and their outbox rows are written in one transaction before the 201 goes
out: nothing acknowledged is ever lost. Requests that arrive while a transaction runs
share the next one (`Writer`, group commit).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.db import Store
from bot.errors import StoreError
from bot.inbound import read_body
from bot.surveys.items import Action, Item, Stored, parse_document, validate_item
from bot.surveys.queries import NotStored, save_groups
from bot.timefmt import iso_ms

log = logging.getLogger(__name__)
MAX_ITEMS = 100  # MaestroQA's own limit per request
MAX_BODY = 1024 * 1024  # 100 items with long comments fit many times over


class Writer:
    """Group commit: requests that arrive while a transaction runs share the next one.

    Each request still gets its answer only after the transaction holding its items has
    committed; under load one fsync serves many requests instead of one each.
    """

    MAX_GROUP = 20  # requests per transaction: 2,000 items at most

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[list[Item], str, asyncio.Future[list[Action | NotStored]]]] = []
        self._task: asyncio.Task[None] | None = None

    async def save(self, items: list[Item], now: str) -> list[Action | NotStored]:
        """Create/update per item, once committed; raises what the transaction raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Action | NotStored]] = loop.create_future()
        self._waiting.append((items, now, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            group = self._waiting[: self.MAX_GROUP]
            del self._waiting[: self.MAX_GROUP]
            batches = [(items, now) for items, now, _ in group]
            try:
                found = await self.store(partial(save_groups, groups=batches))
            except Exception as exc:  # nothing of the group was kept: each request says so
                for *_, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), actions in zip(group, found, strict=True):
                if not future.done():
                    future.set_result(actions)


OnStored = Callable[[list[Stored]], None]


def endpoint(
    store: Store,
    token: str | None,
    on_stored: OnStored | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette handler for `POST /api/v1/create-customer-feedback`."""
    writer = Writer(store)

    async def create_customer_feedback(request: Request) -> Response:
        if not token:
            return _refuse(401, "ingestion is not enabled on this bot: BOT_INGEST_TOKEN is not set")
        if not authorized(request.headers, token):
            return _refuse(401, "missing or wrong apiToken")
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _refuse(413, f"the body is larger than {MAX_BODY} bytes; send fewer items")
        try:
            document = parse_document(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _refuse(400, "the body is not JSON")
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list):
            return _refuse(400, 'the body needs a "data" list of survey responses')
        if len(data) > MAX_ITEMS:
            return _refuse(400, f"at most {MAX_ITEMS} items per request; this one has {len(data)}")
        checked = [validate_item(raw) for raw in data]
        items = [c for c in checked if isinstance(c, Item)]
        actions: list[Action | NotStored] = []
        if items:
            now = iso_ms(clock())
            try:
                actions = await writer.save(items, now)
            except StoreError as exc:
                log.error("storing %d survey responses failed: %s", len(items), exc)
                return _refuse(503, f"the responses could not be stored ({exc.code}); "
                               "nothing was kept, send again")  # fmt: skip
            except Exception:
                log.exception("storing %d survey responses failed", len(items))
                return _refuse(
                    503, "the responses could not be stored; nothing was kept, send again"
                )
        stored = [
            Stored(item, action)
            for item, action in zip(items, actions, strict=True)
            if not isinstance(action, NotStored)
        ]
        if on_stored is not None and stored:
            try:
                on_stored(stored)
            except Exception:  # alerts and forwarding must never cost the tool its 201
                log.exception("after storing survey responses")
        return JSONResponse(
            {"status": "completed", "total": len(data), "results": results(checked, actions)},
            status_code=201,
        )

    return create_customer_feedback


def results(checked: list[Item | str], actions: list[Action | NotStored]) -> list[dict[str, Any]]:
    """One result per item, in order, in MaestroQA's shape."""
    found, done = [], iter(actions)
    for item in checked:
        if isinstance(item, str):
            found.append({"action": "create", "status": f"Failed: {item}", "success": False})
            continue
        action = next(done)
        if isinstance(action, NotStored):
            found.append({"action": "create", "status": f"Failed: {action.why}", "success": False})
            continue
        status = "Created" if action == "create" else "Updated"
        found.append({"action": action, "_id": item.id, "status": status, "success": True})
    return found


def authorized(headers: Mapping[str, str], token: str) -> bool:
    """`apiToken: <token>` (any case) or `Authorization: Bearer <token>`, in constant time."""
    given = headers.get("apitoken", "")
    if not given:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        given = value.strip() if scheme.lower() == "bearer" else ""
    return bool(given) and hmac.compare_digest(given.strip().encode(), token.encode())


def _refuse(status: int, reason: str) -> Response:
    return JSONResponse({"status": "failed", "error": reason}, status_code=status)
