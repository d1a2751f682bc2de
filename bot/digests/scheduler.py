"""APScheduler wiring only: one cron job per digest; the runs happen where `Runs` says.

The schedule maths is in `schedule.py`; the exactly-once record is in SQLite (`Digests.run`
claims each scheduled time), so a restart, a catch-up and a cron firing for the same time
post once. Jobs live in memory: nothing is shared between schedulers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Digest
from bot.digests.run import Outcome
from bot.errors import BotError
from bot.schedule import catch_up, cron_trigger, last_fire

log = logging.getLogger(__name__)


class Runs(Protocol):
    """What runs the digests: `Digests` itself, or the digest process (`bot/worker.py`)."""

    digests: dict[str, Digest]

    async def run(self, name: str, scheduled_for: datetime | None = None) -> Outcome: ...


class DigestScheduler:
    def __init__(
        self, digests: Runs, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.digests = digests
        self.clock = clock
        self.triggers = {d.name: cron_trigger(d.cron, d.timezone) for d in digests.digests.values()}
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Add one job per digest, start, and make up for the latest missed run."""
        for name, trigger in self.triggers.items():
            self.scheduler.add_job(
                self.fire, trigger=trigger, args=[name], id=f"digest:{name}",
                replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=300,
            )  # fmt: skip
        self.scheduler.start()
        task = asyncio.get_running_loop().create_task(self.catch_up())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.info("scheduler: %d digest(s): %s", len(self.triggers), ", ".join(self.triggers))

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def fire(self, name: str) -> None:
        """A cron job: run the digest for the scheduled time it fired for."""
        # a job runs at its time or within its misfire grace: no need to walk back 8 days
        scheduled = last_fire(self.triggers[name], self.clock(), lookback=timedelta(minutes=10))
        await self._run(name, scheduled)

    async def catch_up(self) -> None:
        now = self.clock()
        for name, trigger in self.triggers.items():
            missed = catch_up(last_fire(trigger, now), now)
            if missed is not None:
                await self._run(name, missed)

    async def _run(self, name: str, scheduled: datetime | None) -> None:
        try:
            outcome = await self.digests.run(name, scheduled)
            log.info("digest %s for %s: %s", name, scheduled, outcome.status)
        except BotError as exc:  # a reason in words: a traceback would add nothing
            log.error("digest %s for %s failed: %s", name, scheduled, exc)
        except Exception:
            log.exception("digest %s for %s failed", name, scheduled)
