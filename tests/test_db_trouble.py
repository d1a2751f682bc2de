"""A database the bot cannot use is one sentence that says what to do, found for real.

Each condition is made the way an operator meets it: a folder that is not there, a file
that is not a database, another process holding the write lock, SQLite's own page limit
for a full disk, a connection SQLite opened read-only. (A read-only file as its owner
would see it is in tests/e2e/test_sick_database.py: root may write any file.)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import yaml

from bot import db as db_module
from bot.config import DEFAULT_TEMPLATES
from bot.db import REASONS, Store, diagnose, open_db, trouble
from bot.errors import StoreError
from bot.snapshots import queries as snapshots
from tests.snapshots.sample import csat_row, run_for


@pytest.fixture
def quick_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait 0.2 s for a lock rather than 5 s: the same code path, sooner."""
    monkeypatch.setattr(db_module, "LOCK_WAIT_SECONDS", 0.2)


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Another connection (another process, as SQLite sees it) holds the write lock."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("begin immediate")
        try:
            yield
        finally:
            other.execute("rollback")


def made(tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    open_db(str(path)).close()
    return path


def junk(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    return path


# --- each condition, as Store (start-up, every verb) and diagnose (check) see it ----------


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda tmp: tmp / "gone" / "bot.db", "missing_folder"),
        (junk, "not_a_database"),
        (lambda tmp: tmp, "cannot_open"),  # BOT_DB names a folder
    ],
)
def test_a_database_that_cannot_be_opened_is_a_sentence(
    tmp_path: Path, make: object, code: str
) -> None:
    path = str(make(tmp_path))  # type: ignore[operator]
    with pytest.raises(StoreError) as raised:
        Store(path)
    assert raised.value.code == code
    assert str(raised.value) == f"BOT_DB {path}: {raised.value.reason}"
    assert "\n" not in str(raised.value) and "Traceback" not in str(raised.value)
    found = diagnose(path)
    assert found is not None and (found.code, found.reason) == (code, raised.value.reason)
    assert not (tmp_path / "gone").exists()  # nothing was created on the way


def test_check_creates_nothing_and_migrates_nothing(tmp_path: Path) -> None:
    assert diagnose(str(tmp_path / "new.db")) is None
    assert not (tmp_path / "new.db").exists()
    old = tmp_path / "old.db"
    with closing(sqlite3.connect(old)) as conn:
        conn.execute("create table mine (x)")
    assert diagnose(str(old)) is None
    with closing(sqlite3.connect(old)) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master")]
    assert tables == ["mine"]  # no migration ran, the probe table was rolled back


def test_a_lock_held_past_the_wait_is_reported_as_locked(tmp_path: Path, quick_locks: None) -> None:
    path = made(tmp_path)
    with held(path):
        with pytest.raises(StoreError) as raised:
            Store(str(path))
        assert raised.value.code == "locked"
        assert raised.value.reason.startswith("another process kept the database locked")
        found = diagnose(str(path))
        assert found is not None and found.code == "locked"
    store = Store(str(path))  # released: all is well again
    store.close()


def test_a_lock_released_within_the_wait_is_waited_for(tmp_path: Path) -> None:
    path = made(tmp_path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("begin immediate")
    threading.Timer(0.3, lambda: other.execute("rollback")).start()
    store = Store(str(path))  # waits (up to 5 s) rather than failing at once
    store.close()
    other.close()


def test_a_full_disk_is_reported_as_full(tmp_path: Path) -> None:
    """SQLite's page limit gives the same SQLITE_FULL a full disk gives."""
    store = Store(str(made(tmp_path)))
    pages = store.sync(lambda db: db.execute("pragma page_count").fetchone()[0])
    store.sync(lambda db: db.execute(f"pragma max_page_count = {pages}"))
    rows = [csat_row(str(i), 100, 90) for i in range(2000)]
    with pytest.raises(StoreError) as raised:
        store.sync(lambda db: snapshots.save_snapshot(db, run_for("2026-03-02T08:00:00"), rows))
    assert (raised.value.code, raised.value.reason) == ("disk_full", REASONS["disk_full"])
    assert store.sync(lambda db: db.execute("select count(*) from snapshots").fetchone()) == (0,)
    store.close()


def test_a_connection_sqlite_opened_read_only_is_read_only(tmp_path: Path) -> None:
    path = made(tmp_path)
    reader = closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True))
    with reader as conn, pytest.raises(sqlite3.Error) as raised:
        conn.execute("insert into health (id, written_at) values (2, 'x')")
    found = trouble(raised.value, str(path))
    assert found is not None and found.code == "read_only"


def test_errors_about_a_value_are_not_the_databases_fault() -> None:
    store = Store(":memory:")
    with pytest.raises(sqlite3.IntegrityError):  # a bug or a bad value: raised as it is
        store.sync(lambda db: db.execute("insert into snapshots (run_id) values (null)"))
    store.close()
    assert trouble(ValueError("x"), "bot.db") is None


def test_every_code_has_its_words() -> None:
    """A reply that could not be given names the trouble in the templates' words."""
    words = yaml.safe_load((DEFAULT_TEMPLATES / "words.yml").read_text(encoding="utf-8"))
    assert set(words["database"]) == set(REASONS)


# --- /healthz's probe -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_health_is_a_real_write_at_most_every_few_seconds(tmp_path: Path) -> None:
    store = Store(str(made(tmp_path)))
    written = lambda db: db.execute("select written_at from health").fetchone()[0]  # noqa: E731
    first = await store(written)
    assert await store.health() is None
    second = await store(written)
    assert second > first  # it wrote
    assert await store.health() is None
    assert await store(written) == second  # asked again at once: the last answer stands
    store.close()


@pytest.mark.anyio
async def test_health_reports_a_lock_then_recovers(
    tmp_path: Path, quick_locks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "HEALTH_SECONDS", 0.0)
    path = made(tmp_path)
    store = Store(str(path))
    with held(path):
        found = await store.health()
        assert found is not None and found.code == "locked"
    assert await store.health() is None
    store.close()


@pytest.mark.anyio
async def test_health_reports_a_disk_without_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(str(made(tmp_path)))
    monkeypatch.setattr(db_module, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has free
    found = await store.health()
    assert found is not None and found.code == "disk_full"
    store.close()
