"""The `config_digests`, `config_alerts` and `config_audit` tables (docs/storage.md).

A digest made in Slack is kept as the TOML keys the file would hold for it (JSON), and
read back by the file's own readers (`config.read_digest`), so one set of rules decides
what a digest may be wherever it was written. Every change is written in the same
transaction as its audit row: there is never a change nobody can account for.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from bot.db import writing
from bot.timefmt import now_iso

HISTORY = 50  # audit rows a read returns at most


def digests(db: Database) -> list[dict[str, Any]]:
    """Every stored digest, its table decoded (`table`), by name."""
    rows = db.execute_returning_dicts("select * from config_digests order by name")
    for row in rows:
        row["table"] = json.loads(row.pop("digest"))
    return rows


def save_digest(
    db: Database, table: dict[str, Any], user: str, user_name: str, original: str,
    detail: str, schedule_changed: bool, at: str | None = None,
) -> str:  # fmt: skip
    """Add or replace one digest (renamed from `original` when that differs); the action
    audited ("add" or "edit"), or "taken" when another digest has the name, or "gone"
    when `original` is no longer there. `since`
    moves when its schedule changes: a run scheduled before it is never caught up at start
    (it would post at once after an edit)."""
    at, name = at or now_iso(), str(table["name"])
    with writing(db):
        if (
            name != original
            and db.execute("select 1 from config_digests where name = ?", [name]).fetchone()
        ):  # another admin took the name since the form was checked
            return "taken"
        old = db.execute(
            "select created_at, created_by, paused, since from config_digests where name = ?",
            [original or name],
        ).fetchone()
        if original and old is None:  # renamed or deleted by someone else meanwhile
            return "gone"
        if original and original != name:
            db.execute("delete from config_digests where name = ?", [original])
        created_at, created_by, paused, since = old if old else (at, user, 0, at)
        db.execute(
            "insert or replace into config_digests (name, digest, paused, created_at, created_by,"
            " updated_at, updated_by, since) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [name, json.dumps(table, sort_keys=True), paused, created_at, created_by, at, user,
             at if schedule_changed or not old else since],
        )  # fmt: skip
        action = "edit" if old else "add"
        _audit(db, at, user, user_name, action, name, detail)
    return action


def set_paused(
    db: Database, name: str, paused: bool, user: str, user_name: str, at: str | None = None
) -> bool:
    """Pause or resume; False when no such digest. Resuming moves `since`: the runs
    missed while paused are not caught up."""
    at = at or now_iso()
    with writing(db):
        changed = db.execute(
            "update config_digests set paused = ?, updated_at = ?, updated_by = ?,"
            " since = case when ? then since else ? end where name = ?",
            [int(paused), at, user, int(paused), at, name],
        ).rowcount
        if changed:
            _audit(db, at, user, user_name, "pause" if paused else "resume", name, "")
    return bool(changed)


def delete_digest(
    db: Database, name: str, user: str, user_name: str, at: str | None = None
) -> bool:
    """Delete one digest (its runs and snapshots stay: they are history); False when none."""
    at = at or now_iso()
    with writing(db):
        row = db.execute("select digest from config_digests where name = ?", [name]).fetchone()
        if row is None:
            return False
        db.execute("delete from config_digests where name = ?", [name])
        _audit(db, at, user, user_name, "delete", name, row[0])
    return True


def alerts(db: Database) -> dict[str, Any]:
    """The `[alerts]` keys set in Slack (TOML form), {} when none."""
    row = db.execute("select alerts from config_alerts where id = 1").fetchone()
    return dict(json.loads(row[0])) if row else {}


def save_alerts(
    db: Database, table: dict[str, Any], user: str, user_name: str, detail: str,
    at: str | None = None,
) -> None:  # fmt: skip
    """The `[alerts]` keys set in Slack, replacing the last ones, with their audit row."""
    at = at or now_iso()
    with writing(db):
        db.execute(
            "insert or replace into config_alerts (id, alerts, updated_at, updated_by)"
            " values (1, ?, ?, ?)",
            [json.dumps(table, sort_keys=True), at, user],
        )
        _audit(db, at, user, user_name, "alerts", "alerts", detail)


def audit(
    db: Database, user: str, user_name: str, action: str, target: str, detail: str,
    at: str | None = None,
) -> None:  # fmt: skip
    """One row of history on its own (a preview, a send, a refused submission)."""
    with writing(db):
        _audit(db, at or now_iso(), user, user_name, action, target, detail)


def history(db: Database, limit: int = HISTORY) -> list[dict[str, Any]]:
    """The latest changes, newest first."""
    return db.execute_returning_dicts(
        "select * from config_audit order by id desc limit ?", [max(0, min(limit, HISTORY))]
    )


def _audit(
    db: Database, at: str, user: str, user_name: str, action: str, target: str, detail: str
) -> None:
    # what people typed and Slack sent, as SQLite can store it (a lone surrogate cannot be)
    db.execute(
        "insert into config_audit (at, user, user_name, action, target, detail)"
        " values (?, ?, ?, ?, ?, ?)",
        [at, _storable(user[:40]), _storable(user_name[:200]), action,
         _storable(target[:200]), _storable(detail[:2000])],
    )  # fmt: skip


def _storable(text: str) -> str:
    """Text SQLite can store: a lone surrogate (which Slack's JSON may carry) becomes `?`."""
    return text.encode("utf-8", "replace").decode("utf-8")
