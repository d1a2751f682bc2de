"""The survey tables: `responses`, the `outbox` that forwards them to MaestroQA, and the
detractors' own: `detractor_messages` (each message, and whether it called in the leads)
and `detractor_events` (every click on a detractor's buttons).

Responses and their outbox rows are written in one transaction (group commit across
requests). One outbox row per response: `pending` rows wait for `next_attempt_at`; a
claimed batch is `sending` under one `batch_id` with `next_attempt_at` as its lease, so a
batch whose sender died (kill -9) is claimed again once the lease runs out; MaestroQA's
per-item answers make rows `sent` or `failed`. Every write after a send is guarded by the
batch id, so a sender that lost its lease can never overwrite a newer claim.

Every function takes the `Database` and runs on the store's thread (`await store(fn)`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlite_utils import Database

from bot.db import writing
from bot.surveys.items import Action, Item
from bot.timefmt import iso_ms

log = logging.getLogger(__name__)

# --- responses ----------------------------------------------------------------------------

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


@dataclass(frozen=True)
class NotStored:
    """An item its transaction could not store, and why: it fails alone."""

    why: str


def save_groups(
    db: Database, groups: list[tuple[list[Item], str]]
) -> list[list[Action | NotStored]]:
    """Several requests' items in one transaction (group commit), in arrival order.

    When an item cannot be written, the group is written again item by item, each in a
    savepoint, so that item fails alone and every other one is stored.
    """
    try:
        with writing(db):
            found = _actions(db, groups)
            rows = [(item, now) for items, now in groups for item in items]
            db.conn.executemany(_UPSERT_RESPONSE, [response_row(item, now) for item, now in rows])
            db.conn.executemany(_UPSERT_OUTBOX, [(item.id, now, now) for item, now in rows])
        return [list(actions) for actions in found]
    except (sqlite3.Error, ValueError, OverflowError) as exc:
        if _no_write(exc):
            raise  # the database itself, not an item: every request says so
        log.warning("storing %d requests at once failed (%s); one item at a time", len(groups), exc)
    return _one_by_one(db, groups)


def _actions(db: Database, groups: list[tuple[list[Item], str]]) -> list[list[Action]]:
    """Create or update, per item: whether its id is stored (or came earlier in the group)."""
    ids = sorted({item.id for items, _ in groups for item in items})
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
    return found


def _one_by_one(
    db: Database, groups: list[tuple[list[Item], str]]
) -> list[list[Action | NotStored]]:
    found: list[list[Action | NotStored]] = []
    with writing(db):
        for (items, now), actions in zip(groups, _actions(db, groups), strict=True):
            found.append([])
            for item, action in zip(items, actions, strict=True):
                db.execute("savepoint item")
                try:
                    db.execute(_UPSERT_RESPONSE, response_row(item, now))
                    db.execute(_UPSERT_OUTBOX, (item.id, now, now))
                except (sqlite3.Error, ValueError, OverflowError) as exc:
                    if _no_write(exc):  # the disk filled up meanwhile: every request says so
                        raise
                    db.execute("rollback to item")
                    log.warning("survey response %r could not be stored: %s", item.ticket_id, exc)
                    found[-1].append(NotStored(f"could not be stored ({type(exc).__name__})"))
                else:
                    found[-1].append(action)
                db.execute("release item")
    return found


def _no_write(exc: Exception) -> bool:
    """A failure no item caused: the file, the disk, the lock (not a value, a constraint)."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def response_row(item: Item, now: str) -> tuple[Any, ...]:
    """The values of `_UPSERT_RESPONSE`: the item's `row`, received and updated `now`."""
    return (*item.row, now, now)


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


def daily_distribution(
    db: Database, bounds: Sequence[tuple[int, str, str]], agents: tuple[str, ...] | None = None
) -> dict[tuple[int, str], tuple[int, int, int, int, int]]:
    """Answers per 1-5 score by day and agent, for responses submitted in each of `bounds`:
    (day, start, end) with end excluded, the days as `/csat trend` counts them (local days,
    worked out by the caller). One query: each day is a range of the submitted_at index."""
    if not bounds:
        return {}
    days = ", ".join("(?, ?, ?)" for _ in bounds)
    sql = (
        f"with days(day, low, high) as (values {days}) "
        "select days.day, r.agent, r.score5, count(*) from days join responses r "
        "on r.submitted_at >= days.low and r.submitted_at < days.high"
    )
    params: list[Any] = [value for bound in bounds for value in bound]
    if agents:
        sql += f" where r.agent in ({','.join('?' * len(agents))})"
        params += list(agents)
    counts: dict[tuple[int, str], list[int]] = {}
    for day, agent, score, n in db.execute(sql + " group by days.day, r.agent, r.score5", params):
        counts.setdefault((day, agent), [0] * 5)[score - 1] = n
    return {key: (s[0], s[1], s[2], s[3], s[4]) for key, s in counts.items()}


# --- detractors: their messages, who took each one and who handled it ---------------------

DETRACTOR = "score = min_score and trim(coalesce(comment, '')) != ''"  # `Item.detractor`


def unalerted(db: Database, since: str) -> list[dict[str, Any]]:
    """Detractors received since `since` that no message has listed yet."""
    return list(db.query(
        f"select * from responses where alerted_at is null and received_at >= ? and {DETRACTOR} "
        "order by received_at, rowid", [since],
    ))  # fmt: skip


@dataclass(frozen=True)
class Posted:
    """A detractor message Slack took: where, when, and whether it called in the leads
    (`held`: why not, `recent` or `quiet`; `called_at`: the call it counted on)."""

    channel: str
    ts: str
    posted_at: str
    mentioned: bool
    held: str = ""
    called_at: str = ""
    more: int = 0  # detractors of the burst counted, not listed


def record_message(db: Database, posted: Posted, listed: list[str], counted: list[str]) -> None:
    """The message, and every detractor of its burst as alerted; the `listed` ones (with
    their buttons) as in it, so a click redraws it."""
    with writing(db):
        db.execute(
            "insert into detractor_messages (channel, ts, posted_at, mentioned, held, called_at, "
            "more) values (?, ?, ?, ?, ?, ?, ?) on conflict(channel, ts) do update set "
            "posted_at = excluded.posted_at, mentioned = excluded.mentioned, "
            "held = excluded.held, called_at = excluded.called_at, more = excluded.more",
            [posted.channel, posted.ts, posted.posted_at, int(posted.mentioned),
             posted.held or None, posted.called_at or None, posted.more],
        )  # fmt: skip
        db.conn.executemany(
            "update responses set alerted_at = ?, message_channel = ?, message_ts = ? "
            "where id = ?", [(posted.posted_at, posted.channel, posted.ts, i) for i in listed],
        )  # fmt: skip
        db.conn.executemany(
            "update responses set alerted_at = ? where id = ?",
            [(posted.posted_at, i) for i in counted],
        )


def last_mentioned(db: Database) -> str | None:
    """When a detractor message last called in the leads, or None: it never did.

    The latest by insertion, not the latest time: one stamped by a clock that ran ahead
    would otherwise stay the latest, and every burst until then would ping."""
    found = db.execute(
        "select posted_at from detractor_messages where mentioned = 1 order by id desc limit 1"
    ).fetchone()
    found = found[0] if found else None
    return str(found) if found else None


def message(
    db: Database, channel: str, ts: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A detractor message as it was posted, and the detractors it lists, in their order."""
    found = list(db.query(
        "select * from detractor_messages where channel = ? and ts = ?", [channel, ts]
    ))  # fmt: skip
    listed = list(db.query(
        "select * from responses where message_channel = ? and message_ts = ? order by rowid",
        [channel, ts],
    ))  # fmt: skip
    return (found[0] if found else None), listed


def detractor(db: Database, response_id: str) -> dict[str, Any] | None:
    """A detractor a message listed, as it stands; None for any other id."""
    found = list(db.query(
        "select * from responses where id = ? and alerted_at is not null", [response_id]
    ))  # fmt: skip
    return found[0] if found else None


@dataclass(frozen=True)
class Clicked:
    """What a click did: the detractor as it stands after it; `changed` False when it was
    handled already (and nothing was recorded); `before`: who had taken it until then."""

    row: dict[str, Any]
    changed: bool = True
    before: str = ""


def take(db: Database, response_id: str, user: str, now: str, name: str = "") -> Clicked | None:
    """`user` (called `name` by Slack) takes the detractor (over from whoever had it);
    None for an unknown id."""
    with writing(db):
        row = detractor(db, response_id)
        if row is None:
            return None
        if row["handled_by"]:
            return Clicked(row, changed=False)
        db.execute(
            "update responses set taken_at = case when taken_by = ? then taken_at else ? end, "
            "taken_by = ? where id = ?", [user, now, user, response_id],
        )  # fmt: skip
        _event(db, response_id, now, user, "take", name=name)
        return Clicked(detractor(db, response_id) or row, True, row["taken_by"] or "")


def handle(
    db: Database, response_id: str, user: str, note: str, now: str, name: str = ""
) -> Clicked | None:
    """`user` (called `name` by Slack) handled the detractor, with `note`; the first to
    say so is kept."""
    with writing(db):
        row = detractor(db, response_id)
        if row is None:
            return None
        if row["handled_by"]:
            return Clicked(row, changed=False)
        db.execute(
            "update responses set handled_by = ?, handled_at = ?, handled_note = ? where id = ?",
            [user, now, note, response_id],
        )
        _event(db, response_id, now, user, "handled", note, name)
        return Clicked(detractor(db, response_id) or row, True, row["taken_by"] or "")


def _event(
    db: Database, response_id: str, at: str, user: str, action: str, note: str = "",
    name: str = "",
) -> None:  # fmt: skip
    db.execute(
        "insert into detractor_events (response_id, at, user, action, note, user_name) "
        "values (?, ?, ?, ?, ?, ?)",
        [response_id, at, user, action, note, name or None],
    )


def events(db: Database, response_id: str) -> list[dict[str, Any]]:
    """Every click on one detractor, oldest first."""
    return list(db.query(
        "select at, user, action, note from detractor_events where response_id = ? order by id",
        [response_id],
    ))  # fmt: skip


def detractor_counts(db: Database, since: datetime, until: datetime) -> dict[str, int]:
    """Detractors in [since, until): how many were received, and of those how many are
    taken (not yet handled) and open (neither); and how many were handled in the window,
    whenever they arrived. A digest says these (app.py passes this function)."""
    window = [iso_ms(since), iso_ms(until)]
    total, received_handled, taken = db.execute(
        "select count(*), count(handled_by), "
        "coalesce(sum(taken_by is not null and handled_by is null), 0) from responses "
        f"where received_at >= ? and received_at < ? and {DETRACTOR}",
        window,
    ).fetchone()  # fmt: skip
    (handled,) = db.execute(
        f"select count(*) from responses where handled_at >= ? and handled_at < ? and {DETRACTOR}",
        window,
    ).fetchone()
    return {"total": total, "handled": handled, "taken": taken,
            "open": total - received_handled - taken}  # fmt: skip


# --- the outbox ---------------------------------------------------------------------------

Status = Literal["pending", "sending", "sent", "failed"]
STATUSES: tuple[Status, ...] = ("pending", "sending", "sent", "failed")


def at(seconds: float) -> str:
    """Unix seconds as the outbox writes times: UTC, milliseconds, `Z` (text order = time order)."""
    return iso_ms(datetime.fromtimestamp(seconds, UTC))


@dataclass(frozen=True)
class Update:
    """What one row becomes after MaestroQA answered (or did not)."""

    id: int
    status: Literal["sent", "failed", "pending"]
    error: str = ""
    remote_id: str = ""
    retry_at: float = 0.0  # pending: when to try again (Unix seconds)


def claim(db: Database, now: float, size: int, lease: float, batch_id: str) -> list[dict[str, Any]]:
    """Up to `size` due rows, oldest first, marked `sending` under `batch_id` until `lease`.

    The payload is taken from the stored response at this moment, so a correction that
    arrived while the row waited is what MaestroQA gets.
    """
    with writing(db):
        ids = [row[0] for row in db.execute(
            "select id from outbox where status in ('pending', 'sending') "
            "and next_attempt_at <= ? order by id limit ?", [at(now), size],
        )]  # fmt: skip
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        db.execute(
            "update outbox set status = 'sending', batch_id = ?, attempts = attempts + 1, "
            "attempted_at = ?, next_attempt_at = ?, answered_at = null, "
            "payload = (select raw from responses r where r.id = outbox.response_id) "
            f"where id in ({marks})", [batch_id, at(now), at(lease), *ids],
        )  # fmt: skip
        return list(db.query(
            "select id, response_id, payload, attempts from outbox "
            f"where id in ({marks}) order by id", ids,
        ))  # fmt: skip


def settle(db: Database, batch_id: str, updates: list[Update], now: float) -> int:
    """Record MaestroQA's answer for a batch; rows claimed since by someone else are left."""
    with db.atomic():
        cursor = db.conn.executemany(
            "update outbox set status = ?, last_error = ?, remote_id = ?, next_attempt_at = ?, "
            "sent_at = case when ? = 'sent' then ? else sent_at end, answered_at = ? "
            "where id = ? and batch_id = ? and status = 'sending'",
            [(u.status, u.error, u.remote_id, at(u.retry_at or now), u.status, at(now), at(now),
              u.id, batch_id) for u in updates],
        )  # fmt: skip
        return cursor.rowcount


def next_due(db: Database) -> float | None:
    """When the earliest waiting row is due (Unix seconds), or None when nothing waits."""
    (first,) = db.execute(
        "select min(next_attempt_at) from outbox where status in ('pending', 'sending')"
    ).fetchone()
    return datetime.fromisoformat(first).timestamp() if first else None


def recent_sends(db: Database, since: float, now: float) -> list[float]:
    """By when MaestroQA had each batch sent since `since`: a restarted forwarder's history.

    That is when its answer came back; a batch whose answer never did (its sender died)
    may have arrived at any moment up to `now`.
    """
    return [datetime.fromisoformat(row[0]).timestamp() for row in db.execute(
        "select max(coalesce(answered_at, ?)) as answered from outbox where attempted_at >= ? "
        "group by batch_id order by answered", [at(now), at(since)],
    )]  # fmt: skip


def counts(db: Database) -> dict[str, int]:
    found: dict[str, int] = dict.fromkeys(STATUSES, 0)
    found.update({row[0]: row[1] for row in db.execute(
        "select status, count(*) from outbox group by status"
    )})  # fmt: skip
    return found


def failures(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    """Responses MaestroQA refused, newest first, with its reason."""
    return list(db.query(
        "select o.response_id, r.ticket_id, r.submitted_at, r.agent, o.attempts, o.last_error, "
        "o.attempted_at from outbox o join responses r on r.id = o.response_id "
        "where o.status = 'failed' order by o.attempted_at desc, o.id desc limit ?", [limit],
    ))  # fmt: skip


def delayed(db: Database, limit: int = 10) -> list[dict[str, Any]]:
    """Rows waiting after a failed try (429, 5xx, time-out), with the reason."""
    return list(db.query(
        "select o.response_id, r.ticket_id, o.attempts, o.last_error, o.next_attempt_at "
        "from outbox o join responses r on r.id = o.response_id "
        "where o.status = 'pending' and o.attempts > 0 order by o.id limit ?", [limit],
    ))  # fmt: skip


def changed_after_sending(db: Database) -> int:
    """Sent responses the survey tool corrected later: MaestroQA keeps the version it got."""
    return int(db.execute(
        "select count(*) from outbox o join responses r on r.id = o.response_id "
        "where o.status = 'sent' and r.updated_at > o.attempted_at"
    ).fetchone()[0])  # fmt: skip


def retry_failed(db: Database, now: float) -> int:
    """Queue every refused response again (after MaestroQA's side was fixed)."""
    with db.atomic():
        return db.execute(
            "update outbox set status = 'pending', attempts = 0, next_attempt_at = ? "
            "where status = 'failed'", [at(now)],
        ).rowcount  # fmt: skip
