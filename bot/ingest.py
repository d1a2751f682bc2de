"""The bot's own CSAT bulk ingestion, in MaestroQA's format: validation, storage, endpoint.

A survey tool set up for MaestroQA's `POST /api/v1/create-customer-feedback` can point at
the bot instead and keep working unchanged, so the rules here are MaestroQA's (see
docs/vendors.md): per-item results in order, valid items stored even when others fail,
`(ticket_id, submitted_at)` sent again updates. Valid items and their outbox rows are
written in one transaction before the 201 goes out: nothing acknowledged is ever lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any, Literal

from sqlite_utils import Database
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.store import Store, writing

log = logging.getLogger(__name__)
MAX_ITEMS = 100  # MaestroQA's own limit per request
MAX_BODY = 1024 * 1024  # 100 items with long comments fit many times over
Action = Literal["create", "update"]
_INT_TEXT = re.compile(r"^-?[0-9]+$")


@dataclass(frozen=True)
class Item:
    """One valid survey response; `raw` is what the tool sent, forwarded as it came."""

    ticket_id: str
    submitted_at: str  # UTC, milliseconds, `Z`: one spelling per moment, so keys compare
    agent_id: str
    agent_email: str
    score: int
    min_score: int
    max_score: int
    comment: str
    score_label: str
    clarifying_answers: tuple[dict[str, Any], ...]
    raw: dict[str, Any]

    @cached_property
    def id(self) -> str:
        """The stable `_id`: the same `(ticket_id, submitted_at)` always gets the same one."""
        return response_id(self.ticket_id, self.submitted_at)

    @property
    def agent(self) -> str:
        """Who is credited: agent_id takes precedence over agent_email, as in MaestroQA."""
        return self.agent_id or self.agent_email

    @property
    def score5(self) -> int:
        return to_five(self.score, self.min_score, self.max_score)

    @property
    def detractor(self) -> bool:
        """The bottom of its scale with something said: a team lead should read it now."""
        return self.score == self.min_score and bool(self.comment.strip())


@dataclass(frozen=True)
class Stored:
    """An item as stored: created, or an update of one sent before."""

    item: Item
    action: Action


def response_id(ticket_id: str, submitted_at: str) -> str:
    return hashlib.sha256(f"{ticket_id}\x1f{submitted_at}".encode()).hexdigest()[:20]


def to_five(score: int, low: int, high: int) -> int:
    """A score on any scale mapped linearly onto 1..5, halves rounding up.

    0-10: 0->1, 5->3, 10->5; 1-7: 1->1, 4->3, 7->5; 1-5 is unchanged.
    """
    span = high - low
    return 1 + (8 * (score - low) + span) // (2 * span)


# --- validation: MaestroQA's rules --------------------------------------------------------


class _Refused(ValueError):
    """Why an item is refused, in the words of the result's `Failed: ...` status."""


def validate_item(raw: Any) -> Item | str:
    """The item, or the reason MaestroQA would give for refusing it."""
    try:
        return _item(raw)
    except _Refused as exc:
        return str(exc)


def _item(raw: Any) -> Item:
    if not isinstance(raw, dict):
        raise _Refused("each item must be a JSON object")
    submitted = _moment(raw.get("submitted_at"))
    ticket = _text_id(raw.get("ticket_id"))
    if ticket is None:
        raise _Refused("ticket_id is required (a string)")
    agent_id = _text_id(raw.get("agent_id"))
    if raw.get("agent_id") not in (None, "") and agent_id is None:
        raise _Refused("agent_id must be a string")
    email = raw.get("agent_email")
    if email not in (None, "") and (not isinstance(email, str) or "@" not in email):
        raise _Refused("agent_email must be an e-mail address")
    if not agent_id and not email:
        raise _Refused("agent_id or agent_email is required")
    score, low, high = _scored(raw, "")
    comment, label = _texts(raw, "")
    answers = _clarifying(raw.get("clarifying_answers"))
    return Item(
        ticket, submitted, agent_id or "", (email or "").strip(), score, low, high, comment,
        label, answers, raw,
    )  # fmt: skip


def _moment(value: Any) -> str:
    """`submitted_at` as UTC with milliseconds; naive times are taken as UTC."""
    if value in (None, ""):
        raise _Refused("submitted_at is required")
    problem = "submitted_at must be an ISO 8601 date and time like 2021-10-05T14:48:00.000Z"
    if not isinstance(value, str) or len(value.strip()) <= 10:  # a date alone is not a time
        raise _Refused(problem)
    try:
        moment = datetime.fromisoformat(value.strip())
        return iso_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # year 1 at +01:00 is before year 1 in UTC
        raise _Refused(problem) from None


def iso_ms(moment: datetime) -> str:
    """UTC with milliseconds and `Z`: fixed width, so text order is time order."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text_id(value: Any) -> str | None:
    """An identifier: a non-empty string (a whole number is read as one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _whole(value: Any, text_ok: bool = False) -> int | None:
    """An integer (5, or 5.0 as JavaScript may send it) that SQLite can store; digits in
    text when `text_ok`. Anything else is None, refused per item."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if text_ok and isinstance(value, str) and _INT_TEXT.match(value.strip()):
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _scored(raw: Mapping[str, Any], where: str) -> tuple[int, int, int]:
    """(score, min_score, max_score) within MaestroQA's rules.

    The document calls the clarifying answers' bounds strings and the main ones integers;
    both accept either, so a tool that worked with MaestroQA keeps working here.
    """
    if raw.get("score") is None:
        raise _Refused(f"{where}score is required")
    score = _whole(raw["score"])
    if score is None:
        raise _Refused(f"{where}score must be an integer")
    bounds = []
    for key, default in (("min_score", 1), ("max_score", 5)):
        value = raw.get(key)
        bound = default if value is None else _whole(value, text_ok=True)
        if bound is None:
            raise _Refused(f"{where}{key} must be an integer")
        bounds.append(bound)
    low, high = bounds
    if low >= high:
        raise _Refused(f"{where}min_score ({low}) must be below max_score ({high})")
    if not low <= score <= high:
        raise _Refused(f"{where}score {score} is outside {low}..{high}")
    return score, low, high


def _texts(raw: Mapping[str, Any], where: str) -> tuple[str, str]:
    """(comment, score_label): optional strings."""
    found = []
    for key in ("comment", "score_label"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise _Refused(f"{where}{key} must be a string")
        found.append(value or "")
    return found[0], found[1]


def _clarifying(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Refused("clarifying_answers must be a list")
    for i, answer in enumerate(value):
        if not isinstance(answer, dict):
            raise _Refused(f"clarifying_answers[{i}] must be an object")
        where = f"clarifying_answers[{i}]."
        if not isinstance(answer.get("question"), str) or not answer["question"].strip():
            raise _Refused(f"{where}question is required")
        _scored(answer, where)
        _texts(answer, where)
    return tuple(value)


# --- storage: responses and their outbox rows, in one transaction ------------------------

_UPSERT_RESPONSE = """
insert into responses (id, ticket_id, submitted_at, agent_id, agent_email, agent, score,
    min_score, max_score, score5, comment, score_label, clarifying_answers, raw,
    received_at, updated_at)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict(id) do update set agent_id = excluded.agent_id,
    agent_email = excluded.agent_email, agent = excluded.agent, score = excluded.score,
    min_score = excluded.min_score, max_score = excluded.max_score, score5 = excluded.score5,
    comment = excluded.comment, score_label = excluded.score_label,
    clarifying_answers = excluded.clarifying_answers, raw = excluded.raw,
    updated_at = excluded.updated_at
"""
# a new response waits to be forwarded; one MaestroQA refused is tried again once corrected
_UPSERT_OUTBOX = """
insert into outbox (response_id, status, attempts, next_attempt_at, last_error, created_at)
values (?, 'pending', 0, ?, '', ?)
on conflict(response_id) do update set status = 'pending', attempts = 0,
    next_attempt_at = excluded.next_attempt_at, last_error = ''
where outbox.status = 'failed'
"""


def save_items(db: Database, items: list[Item], now: str) -> list[Action]:
    """Store every item and queue it for MaestroQA, all or nothing; create/update per item."""
    return save_groups(db, [(items, now)])[0]


def save_groups(db: Database, groups: list[tuple[list[Item], str]]) -> list[list[Action]]:
    """Several requests' items in one transaction (group commit), in arrival order."""
    rows = [(item, now) for items, now in groups for item in items]
    ids = sorted({item.id for item, _ in rows})
    with writing(db):
        seen: set[str] = set()
        for start in range(0, len(ids), 500):  # well inside SQLite's limit on parameters
            chunk = ids[start : start + 500]
            sql = f"select id from responses where id in ({','.join('?' * len(chunk))})"
            seen.update(row[0] for row in db.execute(sql, chunk))
        found: list[list[Action]] = []
        for items, _ in groups:
            found.append([])
            for item in items:
                found[-1].append("update" if item.id in seen else "create")
                seen.add(item.id)
        db.conn.executemany(_UPSERT_RESPONSE, [response_row(item, now) for item, now in rows])
        db.conn.executemany(_UPSERT_OUTBOX, [(item.id, now, now) for item, now in rows])
    return found


class Writer:
    """Group commit: requests that arrive while a transaction runs share the next one.

    Each request still gets its answer only after the transaction holding its items has
    committed; under load one fsync serves many requests instead of one each.
    """

    MAX_GROUP = 20  # requests per transaction: 2,000 items at most

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[list[Item], str, asyncio.Future[list[Action]]]] = []
        self._task: asyncio.Task[None] | None = None

    async def save(self, items: list[Item], now: str) -> list[Action]:
        """Create/update per item, once committed; raises what the transaction raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Action]] = loop.create_future()
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


def response_row(item: Item, now: str) -> tuple[Any, ...]:
    return (
        item.id, item.ticket_id, item.submitted_at, item.agent_id, item.agent_email, item.agent,
        item.score, item.min_score, item.max_score, item.score5, item.comment, item.score_label,
        json.dumps(list(item.clarifying_answers)), json.dumps(item.raw, separators=(",", ":")),
        now, now,
    )  # fmt: skip


def distribution(
    db: Database, start: str, end: str, agents: tuple[str, ...] | None = None
) -> dict[str, tuple[int, int, int, int, int]]:
    """Answers per 1-5 score for each agent, for responses submitted in [start, end]."""
    sql = (
        "select agent, score5, count(*) as n from responses "
        "where submitted_at >= ? and submitted_at <= ?"
    )
    params: list[Any] = [start, end]
    if agents:
        sql += f" and agent in ({','.join('?' * len(agents))})"
        params += list(agents)
    counts: dict[str, list[int]] = {}
    for row in db.execute(sql + " group by agent, score5", params):
        counts.setdefault(row[0], [0] * 5)[row[1] - 1] = row[2]
    return {agent: (s[0], s[1], s[2], s[3], s[4]) for agent, s in counts.items()}


# --- the endpoint --------------------------------------------------------------------------

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
        body = await _read(request)
        if body is None:
            return _refuse(413, f"the body is larger than {MAX_BODY} bytes; send fewer items")
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _refuse(400, "the body is not JSON")
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list):
            return _refuse(400, 'the body needs a "data" list of survey responses')
        if len(data) > MAX_ITEMS:
            return _refuse(400, f"at most {MAX_ITEMS} items per request; this one has {len(data)}")
        checked = [validate_item(raw) for raw in data]
        items = [c for c in checked if isinstance(c, Item)]
        actions: list[Action] = []
        if items:
            now = iso_ms(clock())
            try:
                actions = await writer.save(items, now)
            except Exception:
                log.exception("storing %d survey responses failed", len(items))
                return _refuse(
                    503, "the responses could not be stored; nothing was kept, send again"
                )
        stored = [Stored(item, action) for item, action in zip(items, actions, strict=True)]
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


def results(checked: list[Item | str], actions: list[Action]) -> list[dict[str, Any]]:
    """One result per item, in order, in MaestroQA's shape."""
    found, done = [], iter(actions)
    for item in checked:
        if isinstance(item, str):
            found.append({"action": "create", "status": f"Failed: {item}", "success": False})
            continue
        action = next(done)
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


async def _read(request: Request) -> bytes | None:
    """The body, or None as soon as it is longer than MAX_BODY."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(status: int, reason: str) -> Response:
    return JSONResponse({"status": "failed", "error": reason}, status_code=status)
