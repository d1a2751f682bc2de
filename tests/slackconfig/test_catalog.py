"""Configuration made in Slack: stored as the file's keys, read by the file's rules, audited,
and laid beside the file (which wins)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import AlertRules, Digest, Rule, Settings
from bot.db import Store
from bot.slackconfig import queries
from bot.slackconfig.catalog import Catalog

BERLIN = ZoneInfo("Europe/Berlin")
FILE = Digest(name="csat-daily", channel="C0FILE", cron="0 9 * * 1-5", timezone=BERLIN)


def table(**changes: Any) -> dict[str, Any]:
    return {"name": "weekly-billing", "kind": "csat", "channel": "C0BILLING",
            "cron": "0 9 * * 1", "skills": ["4"], "timeframe": "7d", **changes}  # fmt: skip


@pytest.fixture
def store() -> Any:
    found = Store(":memory:")
    yield found
    found.close()


def catalog(store: Store, **settings: Any) -> Catalog:
    return Catalog(Settings(digests=(FILE,), timezone=BERLIN, **settings), store)


def save(store: Store, original: str = "", **changes: Any) -> str:
    row = table(**changes)
    return store.sync(
        lambda db: queries.save_digest(db, row, "U0ADMIN", "Ada", original, "detail", True)
    )


@pytest.mark.anyio
async def test_a_digest_made_in_slack_reads_like_the_files(store: Store) -> None:
    assert save(store) == "add"
    entries = await catalog(store).entries()
    assert [(e.name, e.origin) for e in entries] == [
        ("csat-daily", "file"), ("weekly-billing", "slack")
    ]  # fmt: skip
    made = entries[1].digest
    assert (made.skills, made.timeframe, made.timezone, made.cron) == (
        ("4",), 7 * 1440, BERLIN, "0 9 * * 1"
    )  # fmt: skip
    assert entries[1].changed_by == "U0ADMIN"
    assert entries[1].active


@pytest.mark.anyio
async def test_edit_rename_pause_delete_and_the_audit_trail(store: Store) -> None:
    save(store)
    assert save(store, original="weekly-billing", cron="0 10 * * 1") == "edit"
    assert save(store, original="weekly-billing", name="billing-weekly") == "edit"
    here = catalog(store)
    assert await here.names() == ["csat-daily", "billing-weekly"]
    assert store.sync(lambda db: queries.set_paused(db, "billing-weekly", True, "U0B", "Bo"))
    (_, paused) = await here.entries()
    assert paused.paused and not paused.active
    assert store.sync(lambda db: queries.set_paused(db, "billing-weekly", False, "U0B", "Bo"))
    assert store.sync(lambda db: queries.delete_digest(db, "billing-weekly", "U0B", "Bo"))
    assert not store.sync(lambda db: queries.delete_digest(db, "billing-weekly", "U0B", "Bo"))
    assert await here.names() == ["csat-daily"]
    trail = store.sync(queries.history)
    assert [(r["action"], r["target"], r["user"]) for r in trail] == [
        ("delete", "billing-weekly", "U0B"),
        ("resume", "billing-weekly", "U0B"),
        ("pause", "billing-weekly", "U0B"),
        ("edit", "billing-weekly", "U0ADMIN"),
        ("edit", "weekly-billing", "U0ADMIN"),
        ("add", "weekly-billing", "U0ADMIN"),
    ]
    assert '"skills": ["4"]' in trail[0]["detail"]  # what was deleted can be made again


@pytest.mark.anyio
async def test_the_file_wins_a_name_it_takes_later(store: Store) -> None:
    save(store, name="csat-daily")
    entries = await catalog(store).entries()
    assert [(e.origin, e.active) for e in entries] == [("file", True), ("slack", False)]
    assert (await catalog(store).digest("csat-daily")) == FILE


@pytest.mark.anyio
async def test_a_stored_digest_that_no_longer_reads_is_set_aside(store: Store) -> None:
    save(store, cron="not a cron")  # written past the modal's checks (a newer bot, by hand)
    here = catalog(store)
    assert await here.names() == ["csat-daily"]
    (problem,) = await here.problems()
    assert problem.name == "weekly-billing" and "cron" in problem.reason


@pytest.mark.anyio
async def test_alert_settings_from_slack_where_the_file_is_silent(store: Store) -> None:
    rules = AlertRules(channel="C0FILEALERTS", rule=Rule(min_answers=30))
    here = catalog(store, alerts=rules, alerts_in_file=frozenset({"channel"}))
    assert await here.alert_rules() == rules
    row = {"channel": "C0SLACK", "mention": "<!subteam^S0LEADS>", "drop_points": 8}
    store.sync(lambda db: queries.save_alerts(db, row, "U0ADMIN", "Ada", "detail"))
    now = await here.alert_rules()
    assert now.channel == "C0FILEALERTS"  # the file set it
    assert now.mention == "<!subteam^S0LEADS>"
    assert (now.rule.drop_points, now.rule.min_answers) == (8, 30)
    bad = {"mention": "@leads"}  # refused by the file's reader: the rules stay
    store.sync(lambda db: queries.save_alerts(db, bad, "U0ADMIN", "Ada", "detail"))
    assert await here.alert_rules() == rules
