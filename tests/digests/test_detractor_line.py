"""A CSAT digest says how the detractors since the previous digest fared.

In process, as `python -m bot digest` runs: TOML -> build_parts -> the simulated Slack,
the responses stored the way the survey endpoint stores them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import config
from bot import slack as slack_api
from bot.app import build_parts
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.slack import Poster
from bot.surveys.items import Item, validate_item
from bot.timefmt import iso_ms
from tests.fakes.clock import FakeClock
from tests.surveys.responses import save_items

pytestmark = pytest.mark.anyio
DIGEST = """
timezone = "Europe/Berlin"

[[digest]]
name = "surveys"
kind = "csat"
source = "{source}"
channel = "{channel}"
cron = "0 9 * * *"
timeframe = "24h"
"""


@pytest.fixture(autouse=True)
def _no_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Poster paces on a fake clock: the message and its files, without real waits."""
    clock, real = FakeClock(1000.0), Poster
    monkeypatch.setattr(
        slack_api, "Poster", lambda web: real(web, monotonic=clock.monotonic, sleep=clock.sleep)
    )


def setup(
    tmp: Path, slack_sim: SimulatedSlack, source: str, channel: str, **env: str
) -> dict[str, str]:
    (tmp / "bot.toml").write_text(DIGEST.format(source=source, channel=channel), "utf-8")
    return {"BOT_CONFIG": str(tmp / "bot.toml"), "BOT_DB": str(tmp / "bot.db"),
            "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack_sim.api_url,
            "BOT_INGEST_TOKEN": "t", **env}  # fmt: skip


def store(env: dict[str, str], *rows: tuple[str, int, str], received: datetime) -> None:
    """Responses (ticket, score of 1-5, state: "", "open", "taken", "handled") as received."""
    items: list[Item] = []
    for ticket, score, _ in rows:
        found = validate_item({"submitted_at": iso_ms(received), "ticket_id": ticket,
                               "agent_id": "a1", "score": score, "comment": "meh"})  # fmt: skip
        assert isinstance(found, Item)
        items.append(found)
    parts = build_parts(config.load(env))
    try:
        parts.store.sync(lambda db: save_items(db, items, iso_ms(received)))
        for ticket, _, state in rows:
            column = {"taken": "taken_by", "handled": "handled_by"}.get(state)
            if column:
                sql = f"update responses set {column} = 'U0LEAD' where ticket_id = ?"
                parts.store.sync(lambda db, sql=sql, t=ticket: db.execute(sql, [t]))
            if state == "handled":
                sql = "update responses set handled_at = ? where ticket_id = ?"
                at = iso_ms(received)
                parts.store.sync(lambda db, sql=sql, t=ticket, at=at: db.execute(sql, [at, t]))
    finally:
        parts.store.close()


def handled_later(env: dict[str, str], ticket: str, moment: datetime) -> None:
    parts = build_parts(config.load(env))
    try:
        parts.store.sync(lambda db: db.execute(
            "update responses set handled_by = 'U0LEAD', handled_at = ? where ticket_id = ?",
            [iso_ms(moment), ticket],
        ))  # fmt: skip
    finally:
        parts.store.close()


def earlier(env: dict[str, str], moment: datetime) -> None:
    """The digest posted last took its snapshot at `moment`."""
    parts = build_parts(config.load(env))
    try:
        parts.store.sync(lambda db: db.execute(
            "update snapshot_runs set taken_at = ? where id = (select max(id) from snapshot_runs)",
            [moment.isoformat(timespec="seconds")],
        ))  # fmt: skip
    finally:
        parts.store.close()


async def run(env: dict[str, str]) -> dict[str, Any]:
    parts = build_parts(config.load(env))
    try:
        outcome = await parts.digests.run("surveys")
    finally:
        await parts.aclose()
    assert outcome.status == "posted" and outcome.message is not None
    return outcome.message


def context(message: dict[str, Any]) -> list[str]:
    return [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]


async def test_an_ingested_digest_counts_the_detractors_since_the_last_one(
    tmp_path: Path, slack: SimulatedSlack
) -> None:
    env = setup(tmp_path, slack, "ingested", "C0SURVEYDIGEST")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    store(env, ("A", 1, "open"), ("B", 1, "taken"), ("C", 1, "handled"), ("D", 1, "handled"),
          ("E", 5, ""), received=hour_ago)  # fmt: skip
    first = await run(env)
    assert "Detractors in this window: 4 new (1 taken, 1 open) · 2 handled" in context(first)
    earlier(env, hour_ago + timedelta(minutes=10))  # as if the first ran 50 minutes ago
    store(env, ("F", 1, "open"), received=hour_ago + timedelta(minutes=20))
    handled_later(env, "A", hour_ago + timedelta(minutes=30))  # received before, handled since
    second = await run(env)
    assert "Detractors since the last digest: 1 new (0 taken, 1 open) · 1 handled" in context(
        second
    )
    third = await run(env)
    assert "Detractors since the last digest: 0 new · 0 handled" in context(third)
    posted = [json.dumps(p["blocks"]) for p in slack.posts("C0SURVEYDIGEST")]
    assert "Detractors since the last digest: 0" in posted[-1]


async def test_another_source_says_it_only_when_there_were_detractors(
    tmp_path: Path, slack: SimulatedSlack, liveperson: SimulatedLivePerson
) -> None:
    env = setup(tmp_path, slack, "liveperson", "C0LPDIGEST", **liveperson.env())
    quiet = await run(env)
    assert not any("Detractors" in text for text in context(quiet))
    earlier(env, datetime.now(UTC) - timedelta(minutes=10))
    store(env, ("G", 1, "taken"), received=datetime.now(UTC) - timedelta(minutes=5))
    told = await run(env)
    assert "Detractors since the last digest: 1 new (1 taken, 0 open) · 0 handled" in context(told)
