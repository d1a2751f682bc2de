"""`POST /api/v1/create-customer-feedback`: MaestroQA's CSAT bulk ingestion, served by the bot.

Per-item results in order, valid items stored even when others fail (docs/vendors.md).
Valid items and their outbox rows are written in one transaction before the 201 goes
out: nothing acknowledged is ever lost. Requests that arrive while a transaction runs
share the next one (`Writer`, group commit). Bodies are read and validated on the store's
thread, just before their transaction: that work takes milliseconds per body, which the
event loop that acknowledges Slack must not spend (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlite_utils import Database
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.db import Store, trouble
from bot.errors import StoreError
from bot.inbound import read_body
from bot.surveys.items import Action, Item, Stored, read_document, validate_item
from bot.surveys.queries import NotStored, save_groups
from bot.timefmt import iso_ms

log = logging.getLogger(__name__)
MAX_ITEMS = 100  # MaestroQA's own limit per request
MAX_BODY = 1024 * 1024  # 100 items with long comments fit many times over
Checked = tuple[int, list[Item | str]] | Response  # (items sent, each valid or why not)


@dataclass(frozen=True)
class Taken:
    """A body as the store's thread read it, and what became of its valid items."""

    checked: Checked
    actions: list[Action | NotStored]
    error: Exception | None = None  # their transaction failed: nothing of it was kept


class Writer:
    """Group commit: requests that arrive while a transaction runs share the next one.

    Each request still gets its answer only after the transaction holding its items has
    committed; under load one fsync serves many requests instead of one each. A body
    (`take`) is read and validated on the store's thread before the transaction: off the
    event loop, and without the loop and the store's thread taking turns at the GIL for
    every row written, which cost more than doing it there.
    """

    MAX_GROUP = 20  # requests per transaction: 2,000 items at most

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[list[Item] | bytes, str, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def save(self, items: list[Item], now: str) -> list[Action | NotStored]:
        """Create/update per item, once committed; raises what the transaction raised."""
        found: list[Action | NotStored] = await self._queue(items, now)
        return found

    async def take(self, body: bytes, now: str) -> Taken:
        """The body read and checked, its valid items stored (committed) or why not."""
        found: Taken = await self._queue(body, now)
        return found

    async def _queue(self, work: list[Item] | bytes, now: str) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((work, now, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            group = self._waiting[: self.MAX_GROUP]
            del self._waiting[: self.MAX_GROUP]
            batches = [(work, now) for work, now, _ in group]
            try:
                found = await self.store(partial(_take, work=batches))
            except Exception as exc:  # nothing of the group was kept: each request says so
                for *_, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), outcome in zip(group, found, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(self._said(outcome))
                elif isinstance(outcome, Taken) and outcome.error is not None:
                    future.set_result(Taken(outcome.checked, [], self._said(outcome.error)))
                else:
                    future.set_result(outcome)

    def _said(self, exc: Exception) -> Exception:
        """A SQLite error about the file as a `StoreError`, as the store raises it."""
        found = trouble(exc, self.store.path) if isinstance(exc, sqlite3.Error) else None
        if found is None:
            return exc
        found.__cause__ = exc
        return found


def _take(
    db: Database, work: list[tuple[list[Item] | bytes, str]]
) -> list[list[Action | NotStored] | Taken | Exception]:
    """On the store's thread: read and check each body, then store the valid items of the
    whole group in one transaction. A failed transaction is returned, not raised, so a
    body that had nothing to store still gets its own answer."""
    read = [w if isinstance(w, list) else checked(w) for w, _ in work]
    items = [r if isinstance(r, list) else [] if isinstance(r, Response) else _items(r[1])
             for r in read]  # fmt: skip
    groups = [(mine, now) for mine, (_, now) in zip(items, work, strict=True) if mine]
    failed: Exception | None = None
    try:
        saved = iter(save_groups(db, groups) if groups else [])
    except Exception as exc:  # the database, or what no item caused: none of it was kept
        saved, failed = iter([]), exc
    found: list[list[Action | NotStored] | Taken | Exception] = []
    for r, mine in zip(read, items, strict=True):
        error = failed if mine else None
        actions = next(saved) if mine and error is None else []
        found.append((error or actions) if isinstance(r, list) else Taken(r, actions, error))
    return found


def _items(checked: list[Item | str]) -> list[Item]:
    return [c for c in checked if isinstance(c, Item)]


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
            taken = await writer.take(body, iso_ms(clock()))
        except StoreError as exc:  # the store could not even be asked
            log.error("storing survey responses failed: %s", exc)
            return _unstored(exc)
        except Exception:
            log.exception("storing survey responses failed")
            return _unstored(None)
        if isinstance(taken.checked, Response):
            return taken.checked
        total, found = taken.checked
        items, actions = _items(found), taken.actions
        if isinstance(taken.error, StoreError):
            log.error("storing %d survey responses failed: %s", len(items), taken.error)
            return _unstored(taken.error)
        if taken.error is not None:
            log.error("storing %d survey responses failed", len(items), exc_info=taken.error)
            return _unstored(None)
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
            {"status": "completed", "total": total, "results": results(found, actions)},
            status_code=201,
        )

    return create_customer_feedback


def _unstored(exc: StoreError | None) -> Response:
    if exc is not None:
        return _refuse(503, f"the responses could not be stored ({exc.code}); "
                       "nothing was kept, send again")  # fmt: skip
    return _refuse(503, "the responses could not be stored; nothing was kept, send again")


def checked(body: bytes) -> Checked:
    """The body's items, each valid or the reason it is not; or the refusal of the body."""
    try:
        document, sound = read_document(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _refuse(400, "the body is not JSON")
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return _refuse(400, 'the body needs a "data" list of survey responses')
    if len(data) > MAX_ITEMS:
        return _refuse(400, f"at most {MAX_ITEMS} items per request; this one has {len(data)}")
    return len(data), [validate_item(raw, sound=sound) for raw in data]


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
