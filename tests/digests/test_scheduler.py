"""DigestScheduler: exactly once per scheduled time, one catch-up after downtime, restarts.

The clock is injected and `fire`/`catch_up` are awaited directly: no waiting on APScheduler.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.check.samples import csat_report
from bot.config import DEFAULT_TEMPLATES, Digest
from bot.db import Store
from bot.digests.run import Digests
from bot.digests.scheduler import DigestScheduler
from bot.errors import VendorUnavailable
from bot.metrics import CsatReport, bucket_window
from bot.query import Query
from bot.render import Renderer
from bot.slack import Poster
from bot.sources import Sources
from tests.fakes.clock import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")
CHANNEL = "C0123456789"


class FakeSource:
    """LivePerson without HTTP: a sample report taken at the clock's time, or a failure."""

    name = "liveperson"
    vendor = "LivePerson"
    units = ("account", "skill", "agent")

    def __init__(self, clock: FakeClock, failure: Exception | None = None) -> None:
        self.clock = clock
        self.failure = failure
        self.asked: list[Query] = []

    def check(self, query: Query) -> None:
        pass

    async def csat(self, query: Query) -> CsatReport:
        self.asked.append(query)
        if self.failure is not None:
            raise self.failure
        now = self.clock()
        return replace(csat_report(), window=bucket_window(now, query.timeframe), fetched_at=now)

    async def agent_states(self, query: Query) -> Any:
        raise AssertionError("no availability digest here")

    async def aclose(self) -> None:
        pass


class RecordingWeb:
    """The three AsyncWebClient methods Poster uses, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postMessage", kwargs))
        return {"ok": True, "ts": f"1700000000.{len(self.calls):06d}"}

    async def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.update", kwargs))
        return {"ok": True, "ts": kwargs["ts"]}

    async def files_upload_v2(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("files.upload", kwargs))
        return {"ok": True}

    def posts(self) -> list[dict[str, Any]]:
        return [kwargs for method, kwargs in self.calls if method == "chat.postMessage"]


class Bot:
    """One process's worth of parts: store, digests, scheduler, fake Slack, fake vendor."""

    def __init__(
        self,
        clock: FakeClock,
        db: str = ":memory:",
        cron: str = "0 9 * * 1-5",
        failure: Exception | None = None,
    ) -> None:
        self.web = RecordingWeb()
        self.source = FakeSource(clock, failure)
        self.store = Store(db)
        self.pace = FakeClock(0.0)  # Poster's monotonic clock and its pacing sleeps
        digest = Digest(
            name="csat-daily", source="liveperson", channel=CHANNEL, cron=cron, skills="all",
            timezone=BERLIN,
        )  # fmt: skip
        self.digests = Digests(
            {digest.name: digest},
            Sources({"liveperson": self.source}),
            self.store,
            Renderer(DEFAULT_TEMPLATES, BERLIN),
            Poster(self.web, monotonic=self.pace.monotonic, sleep=self.pace.sleep),  # type: ignore[arg-type]
        )
        self.scheduler = DigestScheduler(self.digests, clock)

    def runs(self) -> list[tuple[str, str, str]]:
        return self.store.sync(lambda db: [
            (r["scheduled_for"], r["status"], r["error"] or r["message_ts"])
            for r in db.query("select * from digest_runs order by id")
        ])  # fmt: skip

    def close(self) -> None:
        self.scheduler.shutdown()
        self.store.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


MONDAY_9 = utc(2026, 3, 2, 8, 0, 5)  # 09:00:05 in Berlin


@pytest.mark.anyio
async def test_firing_twice_for_one_time_posts_once() -> None:
    clock = FakeClock(MONDAY_9)
    bot = Bot(clock)
    await bot.scheduler.fire("csat-daily")
    await bot.scheduler.fire("csat-daily")  # a duplicate job, a second process...
    (post,) = bot.web.posts()
    assert post["channel"] == CHANNEL
    assert post["blocks"][0]["text"]["text"] == "CSAT · csat-daily · last 24h"
    assert bot.runs() == [("2026-03-02T09:00 Europe/Berlin", "posted", "1700000000.000001")]
    assert len(bot.source.asked) == 1  # the second firing did not even ask the vendor
    bot.close()


@pytest.mark.anyio
async def test_catch_up_after_the_cron_job_for_the_same_time_posts_nothing() -> None:
    clock = FakeClock(MONDAY_9)
    bot = Bot(clock)
    await bot.scheduler.fire("csat-daily")
    clock.now = utc(2026, 3, 2, 8, 20)
    await bot.scheduler.catch_up()
    assert len(bot.web.posts()) == 1
    assert [r[:2] for r in bot.runs()] == [("2026-03-02T09:00 Europe/Berlin", "posted")]
    bot.close()


@pytest.mark.anyio
async def test_catch_up_after_downtime_posts_once_for_the_latest_time() -> None:
    clock = FakeClock(utc(2026, 3, 2, 8, 0, 1))  # hourly, Berlin: 09:00 runs on time
    bot = Bot(clock, cron="0 * * * *")
    await bot.scheduler.fire("csat-daily")
    clock.now = utc(2026, 3, 2, 11, 10)  # down through 10:00, 11:00 and 12:00 Berlin
    await bot.scheduler.catch_up()
    await bot.scheduler.catch_up()  # a second look changes nothing
    assert len(bot.web.posts()) == 2
    assert [r[:2] for r in bot.runs()] == [
        ("2026-03-02T09:00 Europe/Berlin", "posted"),
        ("2026-03-02T12:00 Europe/Berlin", "posted"),
    ]
    bot.close()


@pytest.mark.anyio
async def test_catch_up_skips_a_run_that_is_no_longer_news() -> None:
    clock = FakeClock(utc(2026, 3, 3, 7, 0))  # Tuesday 08:00 Berlin: Monday 09:00 is 23 h ago
    bot = Bot(clock)
    await bot.scheduler.catch_up()
    assert bot.web.posts() == []
    assert bot.runs() == []
    bot.close()


@pytest.mark.anyio
async def test_a_restart_does_not_post_a_time_already_claimed(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.db")
    clock = FakeClock(MONDAY_9)
    first = Bot(clock, db)
    await first.scheduler.fire("csat-daily")
    first.close()

    clock.now = utc(2026, 3, 2, 8, 7)  # restarted seven minutes later
    second = Bot(clock, db)
    await second.scheduler.catch_up()
    assert second.web.posts() == []
    assert second.source.asked == []
    clock.now = utc(2026, 3, 3, 8, 0, 2)  # and Tuesday's run still happens, once
    await second.scheduler.fire("csat-daily")
    await second.scheduler.catch_up()
    assert len(second.web.posts()) == 1
    assert [r[:2] for r in second.runs()] == [
        ("2026-03-02T09:00 Europe/Berlin", "posted"),
        ("2026-03-03T09:00 Europe/Berlin", "posted"),
    ]
    second.close()


@pytest.mark.anyio
async def test_the_doubled_half_past_two_posts_once() -> None:
    clock = FakeClock(utc(2026, 10, 25, 0, 30, 1))  # 02:30 CEST
    bot = Bot(clock, cron="30 2 * * *")
    await bot.scheduler.fire("csat-daily")
    clock.now = utc(2026, 10, 25, 1, 30, 1)  # 02:30 CET, an hour later
    await bot.scheduler.fire("csat-daily")
    assert len(bot.web.posts()) == 1
    assert [r[:2] for r in bot.runs()] == [("2026-10-25T02:30 Europe/Berlin", "posted")]
    bot.close()


@pytest.mark.anyio
async def test_a_failing_source_is_recorded_and_the_scheduler_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(MONDAY_9)
    bot = Bot(clock, failure=VendorUnavailable("LivePerson", "HTTP 503 after 3 tries", 503))
    with caplog.at_level(logging.INFO, logger="bot"):
        await bot.scheduler.fire("csat-daily")  # does not raise
    assert bot.web.posts() == []
    assert bot.runs() == [
        (
            "2026-03-02T09:00 Europe/Berlin",
            "failed",
            "LivePerson is unavailable (HTTP 503 after 3 tries)",
        )
    ]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(r.getMessage(), r.exc_info) for r in failures] == [
        ("digest csat-daily for 2026-03-02 09:00:00+01:00 failed: "
         "LivePerson is unavailable (HTTP 503 after 3 tries)", None)
    ]  # fmt: skip
    assert bot.store.sync(
        lambda db: db.execute("select count(*) from snapshot_runs").fetchone()
    ) == (0,)
    bot.close()


@pytest.mark.anyio
async def test_posts_and_attachments_are_paced_per_channel() -> None:
    bot = Bot(FakeClock(MONDAY_9))
    await bot.scheduler.fire("csat-daily")
    methods = [method for method, _ in bot.web.calls]
    assert methods == ["chat.postMessage", "files.upload"]  # the distribution chart
    assert bot.pace.sleeps == [1.0]  # a second between the post and the file, per channel
    (_, upload) = bot.web.calls[1]
    assert (upload["channel"], upload["thread_ts"], upload["filename"]) == (
        CHANNEL, "1700000000.000001", "csat-daily-answers.png",
    )  # fmt: skip
    assert upload["content"].startswith(b"\x89PNG")
    bot.close()


@pytest.mark.anyio
async def test_start_adds_one_cron_job_per_digest_and_catches_up() -> None:
    clock = FakeClock(utc(2026, 3, 2, 8, 4))  # started four minutes after Monday's run was due
    bot = Bot(clock)
    bot.scheduler.start()
    try:
        assert bot.scheduler.scheduler.running
        jobs = bot.scheduler.scheduler.get_jobs()
        assert [job.id for job in jobs] == ["digest:csat-daily"]
        (job,) = jobs
        assert {f.name: str(f) for f in job.trigger.fields} == {
            "year": "*", "month": "*", "day": "*", "week": "*",
            "day_of_week": "mon,tue,wed,thu,fri", "hour": "9", "minute": "0", "second": "0",
        }  # fmt: skip
        assert job.trigger.timezone == BERLIN
        assert (job.args, job.coalesce, job.max_instances) == (("csat-daily", job.trigger), True, 1)
        assert job.misfire_grace_time >= 60
        upcoming = job.next_run_time.astimezone(BERLIN)
        assert (upcoming.hour, upcoming.minute, upcoming.weekday() < 5) == (9, 0, True)
        # start() left the catch-up running on the loop: let it finish
        await asyncio.gather(*list(bot.scheduler._tasks))
        assert [r[:2] for r in bot.runs()] == [("2026-03-02T09:00 Europe/Berlin", "posted")]
    finally:
        bot.scheduler.shutdown()
    await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
    assert not bot.scheduler.scheduler.running
    bot.store.close()
