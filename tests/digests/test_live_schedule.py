"""Digests made in Slack are scheduled at once, moved and removed without a restart, and
still post exactly once per scheduled time (the clock is injected; jobs are fired by hand)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.slackconfig import queries
from bot.slackconfig.catalog import Catalog
from bot.timefmt import now_iso
from tests.digests.test_scheduler import BERLIN, MONDAY_9, Bot, utc
from tests.fakes.clock import FakeClock

CHANNEL = "C0SLACKMADE"


def live(clock: FakeClock) -> Bot:
    """A Bot whose digests and scheduler also read the ones made in Slack."""
    bot = Bot(clock)
    settings = Settings(digests=tuple(bot.digests.digests.values()), timezone=BERLIN)
    bot.digests.catalog = bot.scheduler.catalog = Catalog(settings, bot.store)
    bot.scheduler.scheduler.start()  # as `start` does, without its catch-up
    return bot


def save(bot: Bot, clock: FakeClock, original: str = "", **changes: Any) -> None:
    row = {"name": "made-in-slack", "channel": CHANNEL, "cron": "30 9 * * 1-5",
           "skills": "all", "source": "liveperson", **changes}  # fmt: skip
    at = now_iso(clock())
    bot.store.sync(lambda db: queries.save_digest(db, row, "U0A", "Ada", original, "", True, at))


def jobs(bot: Bot) -> dict[str, datetime]:
    return {j.id: j.trigger for j in bot.scheduler.scheduler.get_jobs()}


@pytest.mark.anyio
async def test_added_moved_paused_and_deleted_at_once() -> None:
    clock = FakeClock(MONDAY_9)
    bot = live(clock)
    assert list(jobs(bot)) == ["digest:csat-daily"]
    save(bot, clock)
    await bot.scheduler.refresh()
    assert sorted(jobs(bot)) == ["digest:csat-daily", "digest:made-in-slack"]
    before = jobs(bot)["digest:made-in-slack"]
    save(bot, clock, original="made-in-slack", cron="0 10 * * 1-5")
    await bot.scheduler.refresh()
    moved = jobs(bot)["digest:made-in-slack"]
    assert moved is not before and "hour='10'" in repr(moved)
    await bot.scheduler.refresh()  # nothing changed: the job stays as it was
    assert jobs(bot)["digest:made-in-slack"] is moved
    bot.store.sync(lambda db: queries.set_paused(db, "made-in-slack", True, "U0A", "Ada"))
    await bot.scheduler.refresh()
    assert list(jobs(bot)) == ["digest:csat-daily"]
    bot.store.sync(lambda db: queries.set_paused(db, "made-in-slack", False, "U0A", "Ada"))
    await bot.scheduler.refresh()
    assert "digest:made-in-slack" in jobs(bot)
    bot.store.sync(lambda db: queries.delete_digest(db, "made-in-slack", "U0A", "Ada"))
    await bot.scheduler.refresh()
    assert list(jobs(bot)) == ["digest:csat-daily"]
    bot.close()


@pytest.mark.anyio
async def test_a_digest_made_in_slack_posts_at_its_time_exactly_once() -> None:
    clock = FakeClock(utc(2026, 3, 2, 8, 0))  # Monday 09:00 Berlin
    bot = live(clock)
    save(bot, clock)
    await bot.scheduler.refresh()
    trigger = bot.scheduler.triggers["made-in-slack"]
    clock.now = utc(2026, 3, 2, 8, 30, 1)  # 09:30:01 Berlin: its job fires
    await bot.scheduler.fire("made-in-slack", trigger)
    await bot.scheduler.fire("made-in-slack", trigger)  # a second firing, a second process
    await bot.scheduler.catch_up()  # it catches up the file's 09:00, and nothing of this one
    assert [p["channel"] for p in bot.web.posts()] == [CHANNEL, "C0123456789"]
    assert [r[:2] for r in bot.runs()] == [
        ("2026-03-02T09:30 Europe/Berlin", "posted"), ("2026-03-02T09:00 Europe/Berlin", "posted")
    ]  # fmt: skip
    bot.close()


@pytest.mark.anyio
async def test_moving_a_schedule_while_its_job_fires_never_posts_without_a_time() -> None:
    clock = FakeClock(utc(2026, 3, 2, 8, 30, 1))  # 09:30:01 Berlin
    bot = live(clock)
    save(bot, clock, cron="30 9 * * 1-5")
    await bot.scheduler.refresh()
    old = bot.scheduler.triggers["made-in-slack"]
    save(bot, clock, original="made-in-slack", cron="0 15 * * 1-5")
    await bot.scheduler.refresh()
    await bot.scheduler.fire("made-in-slack", old)  # the old job's firing, already under way
    await bot.scheduler.fire("made-in-slack")  # the new trigger has no time near now: nothing
    assert [r[:2] for r in bot.runs()] == [("2026-03-02T09:30 Europe/Berlin", "posted")]
    assert len(bot.web.posts()) == 1
    bot.close()


@pytest.mark.anyio
async def test_an_edit_is_never_caught_up_for_a_time_before_it() -> None:
    clock = FakeClock(utc(2026, 3, 2, 8, 40))  # 09:40 Berlin: made ten minutes after 09:30
    bot = live(clock)
    save(bot, clock, cron="30 9 * * 1-5")
    await bot.scheduler.refresh()
    clock.now += timedelta(minutes=5)  # a restart: catch-up looks at the latest times
    await bot.scheduler.catch_up()
    assert [r[0] for r in bot.runs()] == ["2026-03-02T09:00 Europe/Berlin"]  # the file's only
    clock.now = utc(2026, 3, 3, 8, 45)  # Tuesday 09:45, after a night down: caught up once
    await bot.scheduler.catch_up()
    assert "2026-03-03T09:30 Europe/Berlin" in [r[0] for r in bot.runs()]
    bot.close()


@pytest.mark.anyio
async def test_the_digest_process_runs_the_edit_made_a_second_ago() -> None:
    clock = FakeClock(MONDAY_9)
    bot = live(clock)
    save(bot, clock)
    save(bot, clock, original="made-in-slack", channel="C0MOVED")
    outcome = await bot.digests.run("made-in-slack")
    assert outcome.status == "posted"
    assert [p["channel"] for p in bot.web.posts()] == ["C0MOVED"]
    with pytest.raises(Exception, match="configured: csat-daily, made-in-slack"):
        await bot.digests.run("nope")
    bot.close()


@pytest.mark.anyio
async def test_a_digest_paused_in_another_process_does_not_post_when_its_old_job_fires() -> None:
    clock = FakeClock(utc(2026, 3, 2, 8, 30, 1))  # 09:30:01 Berlin
    bot = live(clock)
    save(bot, clock)
    await bot.scheduler.refresh()
    trigger = bot.scheduler.triggers["made-in-slack"]
    bot.store.sync(lambda db: queries.set_paused(db, "made-in-slack", True, "U0A", "Ada"))
    await bot.scheduler.fire("made-in-slack", trigger)  # this process never refreshed
    assert bot.web.posts() == []
    assert bot.runs() == []
    outcome = await bot.digests.run("made-in-slack")  # sent by hand: paused or not, it runs
    assert outcome.status == "posted"
    bot.close()


@pytest.mark.anyio
async def test_a_rename_is_never_caught_up_for_a_time_the_old_name_posted() -> None:
    clock = FakeClock(utc(2026, 3, 1, 12, 0))  # made on Sunday
    bot = live(clock)
    save(bot, clock)
    await bot.scheduler.refresh()
    clock.now = utc(2026, 3, 2, 8, 30, 1)  # Monday 09:30:01 Berlin: posted
    await bot.scheduler.fire("made-in-slack", bot.scheduler.triggers["made-in-slack"])
    clock.now = utc(2026, 3, 2, 8, 40)
    row = {"name": "renamed", "channel": CHANNEL, "cron": "30 9 * * 1-5", "skills": "all",
           "source": "liveperson"}  # fmt: skip
    at = now_iso(clock())
    bot.store.sync(  # as the Home tab saves a rename: a new name moves `since`
        lambda db: queries.save_digest(db, row, "U0A", "Ada", "made-in-slack", "", True, at)
    )
    await bot.scheduler.refresh()
    clock.now = utc(2026, 3, 2, 8, 45)  # a restart's catch-up
    await bot.scheduler.catch_up()
    assert [p["channel"] for p in bot.web.posts()].count(CHANNEL) == 1
    bot.close()
