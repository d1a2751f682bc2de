"""The outbox: which stored survey responses MaestroQA has, is getting, or refused.

One row per response (`responses.id`). `pending` rows wait for `next_attempt_at`; a
claimed batch is `sending` under one `batch_id` with `next_attempt_at` as its lease, so a
batch whose sender died (kill -9) is claimed again once the lease runs out; MaestroQA's
per-item answers make rows `sent` or `failed`. Every write after a send is guarded by the
batch id, so a sender that lost its lease can never overwrite a newer claim.
`python -m bot outbox` prints what is here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlite_utils import Database

from bot.config import Settings
from bot.ingest import iso_ms
from bot.store import Store, writing

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
            "attempted_at = ?, next_attempt_at = ?, "
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
            "sent_at = case when ? = 'sent' then ? else sent_at end "
            "where id = ? and batch_id = ? and status = 'sending'",
            [(u.status, u.error, u.remote_id, at(u.retry_at or now), u.status, at(now), u.id,
              batch_id) for u in updates],
        )  # fmt: skip
        return cursor.rowcount


def next_due(db: Database) -> float | None:
    """When the earliest waiting row is due (Unix seconds), or None when nothing waits."""
    (first,) = db.execute(
        "select min(next_attempt_at) from outbox where status in ('pending', 'sending')"
    ).fetchone()
    return datetime.fromisoformat(first).timestamp() if first else None


def recent_sends(db: Database, since: float) -> list[float]:
    """When each batch sent since `since` went out: a restarted forwarder's rate history."""
    return [datetime.fromisoformat(row[0]).timestamp() for row in db.execute(
        "select min(attempted_at) from outbox where attempted_at >= ? group by batch_id",
        [at(since)],
    )]  # fmt: skip


# --- what operators see: `python -m bot outbox` --------------------------------------------


def counts(db: Database) -> dict[str, int]:
    found = dict.fromkeys(STATUSES, 0)
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


def run_outbox(settings: Settings, retry: bool = False, now: float | None = None) -> int:
    """Print counts by status, waiting rows and refused responses with their reasons."""
    if not os.path.exists(settings.db_path):
        print(f"outbox: no database at {settings.db_path}: nothing ingested yet")
        return 0
    store = Store(settings.db_path)
    try:
        if retry:
            queued = store.sync(lambda db: retry_failed(db, now or datetime.now(UTC).timestamp()))
            print(f"queued {queued} refused responses again")
        found = store.sync(counts)
        late = store.sync(delayed)
        refused = store.sync(failures)
        changed = store.sync(changed_after_sending)
    finally:
        store.close()
    target = settings.maestroqa_url if settings.maestroqa_token else "not configured"
    print(f"outbox: {settings.db_path} → MaestroQA ({target})")
    print("  " + "  ".join(f"{status} {found[status]}" for status in STATUSES))
    if changed:
        print(f"  {changed} sent responses were corrected later; MaestroQA has the earlier version")
    for row in late:
        print(f"  waiting: ticket {row['ticket_id']} (try {row['attempts']}, next at "
              f"{row['next_attempt_at']}): {row['last_error']}")  # fmt: skip
    if refused:
        print(f"refused by MaestroQA ({len(refused)} shown; `python -m bot outbox --retry-failed` "
              "queues them again):")  # fmt: skip
    for row in refused:
        print(f"  ticket {row['ticket_id']} submitted {row['submitted_at']} agent {row['agent']}: "
              f"{row['last_error']}")  # fmt: skip
    sys.stdout.flush()
    return 0
