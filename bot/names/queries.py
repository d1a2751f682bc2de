"""The `directory_entries` and `directory_collections` tables (docs/storage.md).

A collection read whole replaces its source's entries of that kind in one transaction
(plain `executemany`: 20,000 users go in well under a second); one refused or unreadable
keeps what was read before and records why, for `check` and `python -m bot directory`.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.db import writing
from bot.directory import Collection, Entry


def load(db: Database, source: str) -> list[Entry]:
    """A source's entries (its collections' states: `states`)."""
    return [
        Entry(kind, id, name, bool(deleted))
        for kind, id, name, deleted in db.execute(
            "select kind, id, name, deleted from directory_entries where source = ?", [source]
        ).fetchall()
    ]


def states(db: Database, source: str | None = None) -> list[dict[str, Any]]:
    """Each collection's last read: status, revision, entries, when, and why it failed."""
    sql = "select * from directory_collections"
    rows = db.execute_returning_dicts(
        sql + (" where source = ?" if source else "") + " order by source, collection",
        [source] if source else [],
    )
    return rows


def save(db: Database, collections: list[Collection], at: str) -> None:
    """What one refresh read: new entries replace the old, failures keep them."""
    with writing(db):
        for c in collections:
            known = db.execute(
                "select revision, refreshed_at, count from directory_collections"
                " where source = ? and collection = ?",
                [c.source, c.name],
            ).fetchone()
            revision, refreshed_at, count = known if known else (None, None, 0)
            if c.status == "ok":
                db.execute(
                    "delete from directory_entries where source = ? and kind = ?",
                    [c.source, c.kind],
                )
                db.conn.executemany(
                    "insert or replace into directory_entries (source, kind, id, name, deleted)"
                    " values (?, ?, ?, ?, ?)",
                    [(c.source, e.kind, e.id, e.name, int(e.deleted)) for e in c.entries],
                )
                revision, refreshed_at, count = c.revision, at, len(c.entries)
            elif c.status == "unchanged":
                refreshed_at = at
            db.execute(
                "insert or replace into directory_collections (source, collection, kind, status,"
                " revision, count, refreshed_at, checked_at, detail, grant_needed, whole)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    c.source, c.name, c.kind, "ok" if c.status == "unchanged" else c.status,
                    revision, count, refreshed_at, at, c.detail, c.grant, int(c.whole),
                ],
            )  # fmt: skip
