"""A sick BOT_DB, as an operator meets it: every verb says what is wrong in one line.

Each condition is real: a folder that is not there, a file that is not a database, a
folder where the file should be, a file the bot's user may only read, another process
holding the write lock. `serve`, `socket`, `digest`, `outbox` and `check` each exit
non-zero with the same sentence; a running `serve` answers `/healthz` 503 with it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.db import HEALTH_SECONDS, REASONS, open_db
from tests.fakes.process import ROOT, RunningBot, clean_env

CONFIG = """
[[digest]]
name = "surveys"
source = "ingested"
channel = "C0SURVEYS"
cron = "0 9 * * 1"
agents = "all"
"""
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "secret",
    "SLACK_APP_TOKEN": "xapp-test",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never reached: nothing starts
    "BOT_INGEST_TOKEN": "ingest-token",
    "PORT": "9",
}
VERBS = {
    "serve": ["serve"],
    "socket": ["socket"],
    "digest": ["digest", "surveys"],
    "outbox": ["outbox"],
    "check": ["check"],
}


def run(argv: list[str], folder: Path, db: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    if not (folder / "bot.toml").exists():
        (folder / "bot.toml").write_text(CONFIG, encoding="utf-8")
    env = clean_env(**ENV, BOT_CONFIG=str(folder / "bot.toml"), BOT_DB=db)
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, **popen,
    )  # fmt: skip


def says_once(result: subprocess.CompletedProcess[str], verb: str, db: str, reason: str) -> None:
    """Non-zero, the sentence once, no traceback; everything but `check` in one line."""
    everything = result.stdout + result.stderr
    assert result.returncode != 0, everything
    assert everything.count(f"BOT_DB {db}: {reason}") == 1, everything
    assert "Traceback" not in everything
    if verb != "check":
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert result.stdout == ""


def missing_folder(tmp: Path) -> tuple[str, str]:
    return str(tmp / "gone" / "bot.db"), REASONS["missing_folder"]


def not_a_database(tmp: Path) -> tuple[str, str]:
    (tmp / "notes.db").write_text("my notes\n" * 500)
    return str(tmp / "notes.db"), REASONS["not_a_database"]


def a_folder(tmp: Path) -> tuple[str, str]:
    (tmp / "data").mkdir()
    return str(tmp / "data"), "it is a folder: set BOT_DB to a file name"


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("make", [missing_folder, not_a_database, a_folder])
def test_a_database_that_cannot_be_opened_is_one_line(
    tmp_path: Path, verb: str, make: Callable[[Path], tuple[str, str]]
) -> None:
    db, reason = make(tmp_path)
    says_once(run(VERBS[verb], tmp_path, db), verb, db, reason)
    assert not (tmp_path / "gone").exists()


# --- read-only: the file belongs to someone else --------------------------------------------


@pytest.fixture(scope="module")
def read_only() -> Iterator[tuple[Path, dict[str, Any]]]:
    """A database the bot's user may read but not write, and how to run as that user.

    Root may write any file, so as root the bot runs as `nobody` on root's file; anyone
    else gets a file and folder without write permission.
    """
    folder = Path(tempfile.mkdtemp(prefix="bot-read-only-"))
    open_db(str(folder / "bot.db")).close()
    (folder / "bot.toml").write_text(CONFIG, encoding="utf-8")
    popen: dict[str, Any] = {}
    if os.geteuid() == 0:
        popen = {"user": 65534, "group": 65534, "extra_groups": []}
        folder.chmod(0o755)
        probe = subprocess.run([sys.executable, "-c", "import bot"], cwd=ROOT,
                               capture_output=True, **popen)  # fmt: skip
        if probe.returncode != 0:
            shutil.rmtree(folder)
            pytest.skip("user nobody cannot run this checkout's Python")
    else:
        (folder / "bot.db").chmod(stat.S_IRUSR | stat.S_IRGRP)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield folder, popen
    folder.chmod(0o755)
    shutil.rmtree(folder)


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_read_only_database_is_one_line(
    read_only: tuple[Path, dict[str, Any]], verb: str
) -> None:
    folder, popen = read_only
    db = str(folder / "bot.db")
    says_once(run(VERBS[verb], folder, db, **popen), verb, db, REASONS["read_only"])


# --- locked: another process holds the write lock -------------------------------------------


def test_a_database_locked_past_the_wait_refuses_start_after_a_bounded_wait(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "bot.db")
    open_db(db).close()
    with closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("begin immediate")
        started = time.monotonic()
        result = run(["serve"], tmp_path, db)
        waited = time.monotonic() - started
        other.execute("rollback")
    says_once(result, "serve", db, REASONS["locked"])
    assert 5.0 <= waited < 30.0  # it waited for the lock, then gave up


def test_healthz_is_503_while_the_database_cannot_be_written_then_ok(tmp_path: Path) -> None:
    bot = RunningBot(_bot_env(), tmp_path)
    try:
        assert bot.http.get("/healthz").json()["database"] == "ok"
        db = str(tmp_path / "bot.db")
        time.sleep(HEALTH_SECONDS + 0.1)  # past the last probe's answer
        item = {"ticket_id": "T1", "agent_id": "A1", "score": 5,
                "submitted_at": "2026-03-02T10:00:00Z"}  # fmt: skip
        with (
            closing(sqlite3.connect(db, isolation_level=None)) as other,
            ThreadPoolExecutor() as pool,
        ):
            other.execute("begin immediate")
            asked = pool.submit(bot.http.get, "/healthz", timeout=30)
            sent = pool.submit(
                bot.http.post,
                "/api/v1/create-customer-feedback",
                json={"data": [item]},
                headers={"apiToken": "ingest-token"},
                timeout=30,
            )
            health, survey = asked.result(), sent.result()
            other.execute("rollback")
        assert health.status_code == 503
        assert health.json()["ok"] is False
        # the lock seen by SQLite, or (on a loaded machine) the probe's own wait running out
        # behind the survey's write, which waits for the same lock
        reason = health.json()["database"]
        assert reason == REASONS["locked"] or reason.startswith("no write went through"), reason
        assert db not in health.text  # the path is for the log, not for anyone who asks
        assert survey.status_code == 503
        assert survey.json()["error"] == (
            "the responses could not be stored (locked); nothing was kept, send again"
        )
        deadline = time.monotonic() + 20
        while bot.http.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "healthz did not recover"
            time.sleep(0.5)
    finally:
        bot.stop()
    log = bot.log.read_text()
    assert "Traceback" not in log
    assert f"storing 1 survey responses failed: BOT_DB {db}: {REASONS['locked']}" in log


def _bot_env() -> dict[str, str]:
    return {k: v for k, v in ENV.items() if k != "PORT"}
