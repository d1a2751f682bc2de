"""SQLite through sqlite-utils: the worker thread that owns the connection, and the schema.

One connection, owned by one thread: `Store` runs every function on its own worker
thread, so the connection never crosses threads whether the caller is the event loop
(`await store(fn)`), the scheduler or the CLI (`store.sync(fn)`). Writes are grouped
with `db.atomic()`; WAL with `synchronous=FULL` means a committed write survives a crash
and a crash mid-write leaves the previous state.

The schema is one ordered list of migrations, here, for every table (docs/storage.md);
the queries on each table live with the feature that uses it (`snapshots/queries.py`,
`digests/queries.py`, `alerts/queries.py`, `surveys/queries.py`).

A database that cannot be used (its folder missing, not a database, read-only, locked
past `LOCK_WAIT_SECONDS`, the disk full) is a `StoreError` with one sentence that says
what to do, wherever it shows: at start-up, in `check`, in `/healthz`, in a digest run.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import StoreError

# sqlite-utils imports numpy whenever it can, only to map numpy's scalar types to column
# types. The bot never stores a numpy value, and numpy would add about 10 MiB and a tenth
# of a second to every process's start, so sqlite-utils loads here with numpy hidden:
# importing a name that `sys.modules` maps to None fails (the import system's documented
# way to block one). Nothing sqlite-utils imports looks for numpy; the charts load it
# later. This works when this module is the first to import sqlite-utils: app.py imports
# it first, and tests/test_imports.py checks that `serve` starts without numpy.
if "numpy" not in sys.modules:
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del sys.modules["numpy"]
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

T = TypeVar("T")
migrations = Migrations("csat-bot")
LOCK_WAIT_SECONDS = 5.0  # a write waits this long for another process's lock, then fails
HEALTH_SECONDS = 2.0  # /healthz writes at most this often, however often it is asked
HEALTH_WAIT_SECONDS = 8.0  # a probe queued behind a locked write gives up after this
MIN_FREE_BYTES = 1 << 20  # less free space than this on BOT_DB's disk is "full" (check, health)


@migrations()
def m001_snapshots_and_runs(db: Database) -> None:
    db.table("snapshot_runs").create(
        {"id": int, "series": str, "source": str, "kind": str, "scope": str,
         "window_start": str, "window_end": str, "taken_at": str, "digest": str},
        pk="id", not_null={"series", "source", "kind", "scope", "taken_at"},
    )  # fmt: skip
    db.table("snapshot_runs").create_index(["series", "taken_at"])
    db.table("snapshots").create(
        {"id": int, "run_id": int, "entity_kind": str, "entity_id": str, "entity_name": str,
         "answers": int, "positive": int, "score": float,
         "s1": int, "s2": int, "s3": int, "s4": int, "s5": int,
         "good": int, "bad": int, "chats": int,
         "logged_in": int, "chatting": int, "states": str, "reasons": str},
        pk="id", foreign_keys=[("run_id", "snapshot_runs", "id")],
        not_null={"run_id", "entity_kind", "entity_id"},
    )  # fmt: skip
    db.table("snapshots").create_index(["run_id", "entity_kind", "entity_id"])
    db.table("digest_runs").create(
        {"id": int, "digest": str, "scheduled_for": str, "status": str, "started_at": str,
         "finished_at": str, "error": str, "channel": str, "message_ts": str},
        pk="id", not_null={"digest", "scheduled_for", "status"},
    )  # fmt: skip
    db.table("digest_runs").create_index(["digest", "scheduled_for"], unique=True)


@migrations()
def m002_alerts(db: Database) -> None:
    db.table("alerts").create(
        {"id": int, "problem": str, "source": str, "kind": str, "entity_kind": str,
         "entity_id": str, "entity_name": str, "metric": str, "status": str,
         "opened_at": str, "resolved_at": str, "channel": str, "ts": str,
         "opened_drop": float, "opened_against": float, "last_drop": float,
         "last_reason": str, "updates": int,
         "acked_by": str, "acked_at": str, "snoozed_until": str, "snoozed_by": str},
        pk="id", not_null={"problem", "status", "opened_at"},
    )  # fmt: skip
    db.table("alerts").create_index(["problem", "id"])


@migrations()
def m003_responses_and_outbox(db: Database) -> None:
    """Survey responses the bot ingested, and the outbox that forwards them to MaestroQA."""
    db.table("responses").create(
        {"id": str, "ticket_id": str, "submitted_at": str, "agent_id": str, "agent_email": str,
         "agent": str, "score": int, "min_score": int, "max_score": int, "score5": int,
         "comment": str, "score_label": str, "clarifying_answers": str, "raw": str,
         "received_at": str, "updated_at": str, "alerted_at": str},
        pk="id", not_null={"ticket_id", "submitted_at", "agent", "score", "score5", "raw"},
    )  # fmt: skip
    db.table("responses").create_index(["ticket_id", "submitted_at"], unique=True)
    db.table("responses").create_index(["submitted_at"])
    db.table("outbox").create(
        {"id": int, "response_id": str, "payload": str, "status": str, "attempts": int,
         "next_attempt_at": str, "attempted_at": str, "last_error": str, "sent_at": str,
         "batch_id": str, "remote_id": str, "created_at": str},
        pk="id", foreign_keys=[("response_id", "responses", "id")],
        not_null={"response_id", "status", "next_attempt_at"},
    )  # fmt: skip
    db.table("outbox").create_index(["response_id"], unique=True)
    db.table("outbox").create_index(["status", "next_attempt_at"])


# the labels snapshots were keyed by before states had ids (m004)
_STATE_IDS = {
    "Online": "online", "Back soon": "back_soon", "Away": "away",
    "Accepting chats": "accepting", "Not accepting": "not_accepting",
}  # fmt: skip
_NAMED_BY_THE_BOT = """
    entity_kind = 'total' or entity_kind like '%\\_agent' escape '\\'
    or (entity_kind = 'skill' and entity_id = '-1' and entity_name = 'Unassigned')
    or (entity_kind in ('skill', 'agent', 'group')
        and entity_name = upper(substr(entity_kind, 1, 1)) || substr(entity_kind, 2) || ' '
            || entity_id)
"""


@migrations()
def m004_ids_not_labels(db: Database) -> None:
    """States and reasons keyed by id, not by their English label; names only from vendors.

    Earlier snapshots kept `{"Away": 125}` and `{"Reason 2642559712": 72}`, and names the
    bot made up ("Skill 12", "Agent 1004 in Skill 12", "Total"): the words for those are
    the templates' now, so the rows keep ids and only the names a vendor gave.
    """

    def keyed(text: str | None, reasons: bool) -> str | None:
        if not text:
            return text
        found = json.loads(text)
        if reasons:
            return json.dumps({k.removeprefix("Reason "): v for k, v in found.items()})
        return json.dumps({_STATE_IDS.get(k, _state_id(k)): v for k, v in found.items()})

    rows = db.execute(
        "select id, states, reasons from snapshots where states is not null or reasons is not null"
    ).fetchall()
    db.conn.executemany(
        "update snapshots set states = ?, reasons = ? where id = ?",
        [(keyed(states, False), keyed(reasons, True), id) for id, states, reasons in rows],
    )
    for table in ("snapshots", "alerts"):
        db.execute(f"update {table} set entity_name = null where {_NAMED_BY_THE_BOT}")


def _state_id(label: str) -> str:
    """`State 7` (a state LivePerson did not name) -> `state:7`; a vendor's own name stays."""
    number = label.removeprefix("State ")
    return f"state:{number}" if number != label and number.lstrip("-").isdigit() else label


@migrations()
def m005_outbox_answered_at(db: Database) -> None:
    """When MaestroQA's answer to a row's latest request came back: by then it had arrived."""
    db.table("outbox").add_column("answered_at", str)


@migrations()
def m006_digest_runs_snapshot(db: Database) -> None:
    """Which snapshot a digest run showed: a digest compares with the last one people saw.

    Runs stored before this knew no link; each posted run is given the latest snapshot of
    its digest taken before it finished (snapshots are stored before the post), so a run
    whose post Slack refused is not taken for one people saw.
    """
    db.table("digest_runs").add_column("snapshot_run_id", int)
    db.execute(
        "update digest_runs set snapshot_run_id = ("
        " select s.id from snapshot_runs s"
        " where s.series = 'digest:' || digest_runs.digest"
        " and s.taken_at <= digest_runs.finished_at"
        " order by s.taken_at desc, s.id desc limit 1)"
        " where status = 'posted'"
    )


@migrations()
def m007_health(db: Database) -> None:
    """One row that `/healthz` and start-up rewrite: proof that a write goes through."""
    db.table("health").create({"id": int, "written_at": str}, pk="id")


@migrations()
def m008_directory(db: Database) -> None:
    """Names for ids: each source's directory entries, and how each collection last read."""
    db.table("directory_entries").create(
        {"source": str, "kind": str, "id": str, "name": str, "deleted": int},
        pk=("source", "kind", "id"),
        not_null={"source", "kind", "id", "name", "deleted"},
    )
    db.table("directory_collections").create(
        {
            "source": str, "collection": str, "kind": str, "status": str, "revision": str,
            "count": int, "refreshed_at": str, "checked_at": str, "detail": str,
            "grant_needed": str,
        },
        pk=("source", "collection"),
    )  # fmt: skip


@migrations()
def m009_directory_whole(db: Database) -> None:
    """Whether a collection lists every id reports name (LivePerson's, people who left
    included) or only the present ones (LiveChat's): only a whole list says an id is unknown."""
    db.table("directory_collections").add_column("whole", int, not_null_default=1)


@migrations()
def m010_alert_ownership(db: Database) -> None:
    """What an alert needs to be acted on and owned: the headline it opened with, the level
    before it of each part that explains it, the window it opened on, the scheduled time it
    last spoke for; who resolved it by hand and why; and every click, as an event."""
    alerts = db.table("alerts")
    for column in ("headline", "parts", "series", "window_start", "window_end", "told_for",
                   "resolved_by", "resolved_note"):  # fmt: skip
        alerts.add_column(column, str)
    db.table("alert_events").create(
        {"id": int, "alert_id": int, "at": str, "user": str, "action": str, "note": str,
         "until": str, "ts": str},
        pk="id", not_null={"alert_id", "at", "user", "action"},
        foreign_keys=[("alert_id", "alerts", "id")],
    )  # fmt: skip
    db.table("alert_events").create_index(["alert_id", "id"])


@migrations()
def m011_detractor_loop(db: Database) -> None:
    """Detractors as a loop: who took each one and when, who handled it, when, with what
    note, and where its message is (so a click redraws it); every click as an event; and
    each detractor message with whether it called in the leads (the pacing survives a
    restart)."""
    responses = db.table("responses")
    for column in ("taken_by", "taken_at", "handled_by", "handled_at", "handled_note",
                   "message_channel", "message_ts"):  # fmt: skip
        responses.add_column(column, str)
    responses.create_index(["message_channel", "message_ts"])
    db.table("detractor_events").create(
        {"id": int, "response_id": str, "at": str, "user": str, "action": str, "note": str},
        pk="id", not_null={"response_id", "at", "user", "action"},
        foreign_keys=[("response_id", "responses", "id")],
    )  # fmt: skip
    db.table("detractor_events").create_index(["response_id", "id"])
    db.table("detractor_messages").create(
        {"id": int, "channel": str, "ts": str, "posted_at": str, "mentioned": int,
         "held": str, "called_at": str, "more": int},
        pk="id", not_null={"channel", "ts", "posted_at", "mentioned"},
    )  # fmt: skip
    db.table("detractor_messages").create_index(["channel", "ts"], unique=True)
    db.table("detractor_messages").create_index(["mentioned", "posted_at"])


@migrations()
def m012_clickers_names(db: Database) -> None:
    """The name Slack gave with each click: a click told in a thread names its clicker
    without a mention, which would notify them."""
    for table in ("alert_events", "detractor_events"):
        db.table(table).add_column("user_name", str)


@migrations()
def m013_responses_received_at(db: Database) -> None:
    """What a start replays and a digest counts is found by when it was received."""
    db.table("responses").create_index(["received_at"])


@migrations()
def m014_history(db: Database) -> None:
    """History beyond the vendors' windows: LivePerson's CSAT per skill and agent and its
    agents' state seconds in hourly pieces, with a rollup per local day; which hours were
    collected (each hour once: nothing is counted twice); the zone the days are in."""
    db.execute(
        "create table history_hours (kind text not null, hour integer not null,"
        " collected_at text not null, primary key (kind, hour)) without rowid"
    )
    counts = (
        "s1 integer not null, s2 integer not null, s3 integer not null, s4 integer not null,"
        " s5 integer not null, total integer not null, positive integer not null"
    )
    times = (
        "total integer not null, chatting integer not null, not_chatting integer not null,"
        " max_concurrency integer not null"
    )
    for table, at in (("csat_hours", "hour"), ("csat_days", "day")):
        db.execute(
            f"create table {table} ({at} integer not null, agent text not null,"
            f" skill text not null, {counts}, primary key ({at}, agent, skill)) without rowid"
        )
    for table, at in (("state_hours", "hour"), ("state_days", "day")):
        db.execute(
            f"create table {table} ({at} integer not null, agent text not null,"
            f" state text not null, {times}, primary key ({at}, agent, state)) without rowid"
        )
    db.execute("create table history_meta (key text primary key, value text not null)")


@migrations()
def m015_slack_config(db: Database) -> None:
    """Configuration made in Slack's Home tab: digests and watches (their TOML keys as JSON,
    read by the same readers as the file), the `[alerts]` keys set there, who changed what
    and when; and each source's last answer and last failure, for the home view."""
    db.execute(
        "create table config_digests (name text primary key, digest text not null,"
        " paused integer not null default 0, created_at text not null, created_by text not null,"
        " updated_at text not null, updated_by text not null, since text not null)"
    )
    db.execute(
        "create table config_alerts (id integer primary key check (id = 1),"
        " alerts text not null, updated_at text not null, updated_by text not null)"
    )
    db.execute(
        "create table config_audit (id integer primary key, at text not null,"
        " user text not null, user_name text not null default '', action text not null,"
        " target text not null, detail text not null default '')"
    )
    db.execute(
        "create table source_status (source text primary key, last_ok text,"
        " last_error_at text, last_error text not null default '', updated_at text not null)"
    )


@contextmanager
def writing(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock first (BEGIN IMMEDIATE).

    sqlite-utils' atomic() begins deferred and reads before it writes; if another process
    (serve beside `python -m bot digest`, or the old and new process of a restart)
    commits in between, SQLite refuses at once instead of waiting. Taking the lock first
    makes the second writer wait its turn (busy_timeout).
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with _transaction(db, "BEGIN IMMEDIATE"):
        yield db


@contextmanager
def reading(db: Database) -> Iterator[Database]:
    """A read transaction (BEGIN, deferred): every SELECT in it sees one snapshot.

    Outside one, each SELECT is its own transaction, and another process (the digest
    process collecting while `serve` answers) can commit between two of them: a coverage
    would count an hour the numbers lack. In WAL mode a reader's snapshot holds from its
    first read to COMMIT, and writers do not wait for it. Nothing may write inside.
    """
    if db.conn.in_transaction:  # the caller's transaction already is one snapshot
        yield db
        return
    with _transaction(db, "BEGIN"):
        yield db


@contextmanager
def _transaction(db: Database, begin: str) -> Iterator[None]:
    """`begin`, then commit, or roll back on any exception (and let it go on)."""
    db.execute(begin)
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def open_db(path: str) -> Database:
    """The database at `path`, in WAL mode, durable on commit, migrated."""
    db = Database(path)
    try:
        db.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")
        if path != ":memory:":
            db.enable_wal()
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(db)
    except BaseException:
        db.close()
        raise
    return db


def probe(db: Database) -> None:
    """Write and commit one row: a read-only file, a full disk or a held lock shows here."""
    with writing(db):
        db.execute(
            "insert or replace into health (id, written_at) values (1, ?)",
            [datetime.now(UTC).isoformat()],
        )


REASONS = {  # a StoreError's code -> what it means and what to do (words.yml has short words)
    "missing_folder": "its folder does not exist: create the folder, or set BOT_DB to a file "
    "in one that does",
    "cannot_open": "the file cannot be opened: the bot's user needs to read and write it and "
    "to create files beside it",
    "not_a_database": "the file is not a SQLite database: set BOT_DB to the bot's database, "
    "or to a new file name",
    "damaged": "the database is damaged: restore it from a backup, or set BOT_DB to a new "
    "file name",
    "read_only": "the database is read-only: the bot's user needs write access to the file "
    "and to its folder",
    "locked": f"another process kept the database locked for more than {LOCK_WAIT_SECONDS:g} "
    "s: stop whatever else writes to it (a second bot on one file?)",
    "disk_full": "the disk is full: free some space, or move BOT_DB to a disk that has some",
    "io_error": "the disk failed to read or write it: check the disk (and that it is not "
    "full or unmounted)",
    "error": "SQLite could not use it",
}
_BY_NAME = [  # SQLite's extended error name, by prefix -> code
    ("SQLITE_NOTADB", "not_a_database"), ("SQLITE_CORRUPT", "damaged"),
    ("SQLITE_READONLY", "read_only"), ("SQLITE_PERM", "read_only"),
    ("SQLITE_BUSY", "locked"), ("SQLITE_LOCKED", "locked"),
    ("SQLITE_FULL", "disk_full"), ("SQLITE_IOERR", "io_error"),
]  # fmt: skip


def trouble(exc: BaseException, path: str) -> StoreError | None:
    """What a SQLite error says is wrong with the database file; None for any other error."""
    if not isinstance(exc, sqlite3.Error):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name.startswith("SQLITE_CANTOPEN"):
        return _cannot_open(path)
    for prefix, code in _BY_NAME:
        if name.startswith(prefix):
            return StoreError(path, code, REASONS[code])
    if type(exc) is sqlite3.DatabaseError and "not a database" in str(exc):
        return StoreError(path, "not_a_database", REASONS["not_a_database"])
    return None


def _cannot_open(path: str) -> StoreError:
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return StoreError(path, "missing_folder", REASONS["missing_folder"])
    if os.path.isdir(path):
        return StoreError(path, "cannot_open", "it is a folder: set BOT_DB to a file name")
    return StoreError(path, "cannot_open", REASONS["cannot_open"])


def diagnose(path: str) -> StoreError | None:
    """What would stop the bot using `path`, found without creating or changing anything.

    For `check`: it neither creates the file nor migrates it (a new version's `check` must
    not change the database an older process still runs on). A write is tried and rolled
    back, so a read-only file and a lock that outlasts `LOCK_WAIT_SECONDS` show.
    """
    if path == ":memory:":
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(path):
        if not os.path.isdir(folder):
            return _cannot_open(path)
        if not os.access(folder, os.W_OK | os.X_OK):
            return StoreError(path, "read_only", "the file does not exist and its folder is "
                              "read-only: the bot's user needs to create files there")  # fmt: skip
        return _full(path, folder)
    if os.path.isdir(path):
        return _cannot_open(path)
    try:
        uri = Path(path).absolute().as_uri() + "?mode=rw"  # never creates the file
        with closing(sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_SECONDS)) as conn:
            conn.isolation_level = None
            conn.execute("select count(*) from sqlite_master").fetchone()
            conn.execute("begin immediate")
            try:
                conn.execute("create table _bot_check_probe (x)")
            finally:
                if conn.in_transaction:
                    conn.execute("rollback")
    except sqlite3.Error as exc:
        return trouble(exc, path) or StoreError(path, "error", f"{REASONS['error']} ({exc})")
    return _full(path, folder)


def _full(path: str, folder: str) -> StoreError | None:
    if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
        return StoreError(path, "disk_full", REASONS["disk_full"])
    return None


def inserted(db: Database, table: str, row: dict[str, Any]) -> int:
    """Insert one row; its integer primary key."""
    key = db.table(table).insert(row).last_pk
    if not isinstance(key, int):  # every table inserted into this way has an integer key
        raise TypeError(f"{table} has no integer primary key")
    return key


class Store:
    """The database behind one worker thread; call functions of a `Database` through it.

    A SQLite error that is about the file itself comes out as a `StoreError`; any other
    (a constraint, a bad value) as SQLite raised it.
    """

    def __init__(self, path: str, *, writable: bool = True) -> None:
        """Open, migrate and (unless only read) write once now: trouble shows at start-up."""
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store")
        self._db: Database | None = None
        self._health: tuple[float, StoreError | None] | None = None
        self._health_lock = asyncio.Lock()
        try:
            self.sync(probe if writable and path != ":memory:" else lambda db: None)
        except BaseException:
            self.close()
            raise

    def _run(self, fn: Callable[[Database], T]) -> T:
        try:
            if self._db is None:
                self._db = open_db(self.path)
            return fn(self._db)
        except sqlite3.Error as exc:
            found = trouble(exc, self.path)
            if found is None:
                raise
            raise found from exc

    async def health(self) -> StoreError | None:
        """Whether a write goes through now; written at most every `HEALTH_SECONDS`."""
        async with self._health_lock:
            if self._health is not None and time.monotonic() - self._health[0] < HEALTH_SECONDS:
                return self._health[1]
            found: StoreError | None = None
            try:
                async with asyncio.timeout(HEALTH_WAIT_SECONDS):
                    await self(probe)
            except StoreError as exc:
                found = exc
            except TimeoutError:
                found = StoreError(self.path, "locked", f"no write went through within "
                                   f"{HEALTH_WAIT_SECONDS:g} s: the database is held by "
                                   "other work or another process")  # fmt: skip
            except Exception as exc:  # health says what it is, whatever it is
                found = StoreError(self.path, "error", f"{REASONS['error']} ({exc})")
            if found is None:  # a small write can reuse freed space on a disk that is full
                folder = os.path.dirname(os.path.abspath(self.path))
                found = await asyncio.to_thread(_full, self.path, folder)  # a hung mount
            self._health = (time.monotonic(), found)
            return found

    async def __call__(self, fn: Callable[[Database], T]) -> T:
        """Run `fn(db)` on the store's thread without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, fn)

    def sync(self, fn: Callable[[Database], T]) -> T:
        """Run `fn(db)` on the store's thread and wait (CLI, start-up)."""
        return self._executor.submit(self._run, fn).result()

    def close(self) -> None:
        def close(db: Database) -> None:
            db.close()
            self._db = None

        if self._db is not None:
            self.sync(close)
        self._executor.shutdown(wait=True)
