"""`check` reads the digests made in Slack without changing the database it reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bot.check import made_in_slack, slack_alerts
from bot.config import Settings
from bot.db import Store, migrations
from bot.slackconfig import queries


def test_a_database_from_before_the_home_tab_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(str(path))
    for migration in migrations.pending(db):  # up to the one before the Home tab's
        if migration.name.startswith("m015"):
            break
        migration.fn(db)
    db.close()
    settings = Settings(db_path=str(path))
    assert made_in_slack(settings) == ([], [])
    assert slack_alerts(settings) is None
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        mode = conn.execute("pragma journal_mode").fetchone()[0]
    assert "config_digests" not in tables and mode == "delete"  # neither migrated nor WAL


def test_the_digests_and_alert_settings_made_in_slack(tmp_path: Path) -> None:
    path = str(tmp_path / "bot.db")
    store = Store(path)
    row = {"name": "weekly", "channel": "C0W", "cron": "0 9 * * 1", "skills": ["4"]}
    store.sync(lambda db: queries.save_digest(db, row, "U0A", "Ada", "", "", True))
    store.sync(lambda db: queries.save_alerts(db, {"min_answers": 40}, "U0A", "Ada", ""))
    store.close()
    entries, problems = made_in_slack(Settings(db_path=path))
    assert [(e.name, e.origin) for e in entries] == [("weekly", "slack")] and problems == []
    rules = slack_alerts(Settings(db_path=path))
    assert rules is not None and rules.rule.min_answers == 40
