"""APScheduler wiring only: one cron job per active digest; the runs happen where `Runs` says.

The schedule maths is in `schedule.py`; the exactly-once record is in SQLite (`Digests.run`
claims each scheduled time), so a restart, a catch-up and a cron firing for the same time
post once. Jobs live in memory: nothing is shared between schedulers.

Digests made in Slack come and go while the process runs: `sync` adds, moves and removes
jobs at once (`refresh` reads the catalog first). A job carries the trigger it was made
with, so a run fires for a time of its own schedule even while the schedule is being
moved; and a time before a digest's last change in Slack (`Entry.since`) is never caught
up, so an edit never posts at once for a time that has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Digest
from bot.digests.run import Outcome
from bot.errors import BotError
from bot.schedule import catch_up, cron_trigger, last_fire
from bot.slackconfig.catalog import Catalog, Entry

log = logging.getLogger(__name__)


class Runs(Protocol):
    """What runs the digests: `Digests` itself, or the digest process (`bot/worker.py`)."""

    digests: dict[str, Digest]  # the file's

    async def run(self, name: str, scheduled_for: datetime | None = None) -> Outcome: ...


class DigestScheduler:
    def __init__(
        self,
        digests: Runs,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        catalog: Catalog | None = None,
    ) -> None:
        self.digests = digests
        self.clock = clock
        self.catalog = catalog
        self.entries: dict[str, Entry] = {}
        self.triggers: dict[str, CronTrigger] = {}
        self._schedules: dict[str, tuple[str, str]] = {}  # name -> (cron, zone) of its job
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tasks: set[asyncio.Task[None]] = set()
        self.sync([Entry(d, "file") for d in digests.digests.values()])

    def start(self) -> None:
        """Start with the file's jobs; then read the digests made in Slack and make up for
        the latest missed run of each."""
        self.scheduler.start()
        task = asyncio.get_running_loop().create_task(self._begin())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _begin(self) -> None:
        try:
            await self.refresh()
        except Exception:  # the store: the file's digests still run
            log.exception("scheduler: the digests made in Slack could not be read")
        log.info("scheduler: %d digest(s): %s", len(self.triggers), ", ".join(self.triggers))
        await self.catch_up()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def refresh(self) -> None:
        """Jobs as the catalog says now (after a change made in Slack)."""
        if self.catalog is not None:
            self.sync(await self.catalog.entries())

    def sync(self, entries: list[Entry]) -> None:
        """Add, move and remove jobs so that each active digest has one, on its schedule."""
        wanted = {e.name: e for e in entries if e.active}
        for name in [n for n in self._schedules if n not in wanted]:
            self._remove(name)
            log.info("scheduler: %s removed", name)
        for name, entry in wanted.items():
            schedule = (entry.digest.cron, entry.digest.timezone.key)
            if self._schedules.get(name) == schedule:
                continue
            trigger = cron_trigger(entry.digest.cron, entry.digest.timezone)
            self.scheduler.add_job(
                self.fire, trigger=trigger, args=[name, trigger], id=f"digest:{name}",
                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=300,
            )  # fmt: skip
            if name in self._schedules:
                log.info("scheduler: %s moved to %s", name, entry.digest.cron)
            self._schedules[name] = schedule
            self.triggers[name] = trigger
        self.entries = wanted

    def _remove(self, name: str) -> None:
        self._schedules.pop(name, None)
        self.triggers.pop(name, None)
        with contextlib.suppress(JobLookupError):  # gone already
            self.scheduler.remove_job(f"digest:{name}")

    async def fire(self, name: str, trigger: CronTrigger | None = None) -> None:
        """A cron job: run the digest for the scheduled time it fired for, by the trigger
        the job was made with (a schedule moved meanwhile has jobs of its own)."""
        trigger = trigger or self.triggers.get(name)
        if trigger is None:  # removed while it fired
            return
        # a job runs at its time or within its misfire grace: no need to walk back 8 days
        scheduled = last_fire(trigger, self.clock(), lookback=timedelta(minutes=10))
        if scheduled is None:  # never a run without its scheduled time: it would post again
            log.warning("digest %s fired with no scheduled time in the last 10 minutes", name)
            return
        await self._run(name, scheduled)

    async def catch_up(self) -> None:
        now = self.clock()
        for name, trigger in list(self.triggers.items()):
            missed = catch_up(last_fire(trigger, now), now)
            since = self.entries[name].since if name in self.entries else None
            if missed is not None and (since is None or missed > since):
                await self._run(name, missed)

    async def _run(self, name: str, scheduled: datetime | None) -> None:
        try:
            outcome = await self.digests.run(name, scheduled)
            log.info("digest %s for %s: %s", name, scheduled, outcome.status)
        except BotError as exc:  # a reason in words: a traceback would add nothing
            log.error("digest %s for %s failed: %s", name, scheduled, exc)
        except Exception:
            log.exception("digest %s for %s failed", name, scheduled)
