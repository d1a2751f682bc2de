"""`Names`: each source's directory, read from SQLite, refreshed from the vendor.

A process keeps one `Directory` per source in memory; everything on the loop that acks
Slack (`get`, `name`) only reads it. It is read from the store on first need (a
`python -m bot directory --refresh` or another process may have refreshed it since, so
it is read again when the store says so) and fetched from the vendor when the store has
never had it. `serve` and `socket` refresh every source hourly in the background
(`run`); a report or a command that names an id the directory lacks asks for a refresh,
at most once every few minutes (`unknown`). A collection the vendor refuses (a missing
privilege or scope) keeps whatever was read before, logs one line saying what to grant,
and is shown by `check` and `python -m bot directory`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.db import Store
from bot.directory import Collection, Directory
from bot.names import queries

log = logging.getLogger(__name__)
REFRESH_EVERY = timedelta(hours=1)
UNKNOWN_EVERY = timedelta(minutes=5)  # a refresh for ids the directory lacks, at most this often
READ_EVERY = timedelta(minutes=1)  # whether another process refreshed: asked at most this often


class Fetcher(Protocol):
    """A source that has a vendor directory (`LivePerson`, `LiveChat`)."""

    name: str
    vendor: str

    async def directory(self, revisions: Mapping[str, str]) -> list[Collection]: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


class Names:
    """The directories of every configured source; `[names]` from bot.toml laid over each."""

    def __init__(
        self,
        store: Store | None,
        sources: Sequence[str],
        fetchers: Mapping[str, Fetcher],
        overrides: Mapping[str, Mapping[str, str]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.fetchers = dict(fetchers)
        self.overrides = dict(overrides or {})
        self.clock = clock
        self._dirs: dict[str, Directory] = {}
        self._stamp: dict[str, tuple[Any, ...]] = {}  # what the store said when last read
        self._asked: dict[str, datetime] = {}  # when this process last asked the store
        self._attempted: dict[str, datetime] = {}  # when this process last fetched
        self._refreshing: dict[str, asyncio.Task[list[Collection]]] = {}
        self._warned: set[tuple[str, str, str]] = set()  # (source, collection, status) logged
        self.version = 0  # grows whenever a directory in memory is replaced

    # --- on the loop: reads only --------------------------------------------------------

    def get(self, source: str) -> Directory | None:
        """The source's directory as this process holds it; None before its first need."""
        return self._dirs.get(source)

    def name(self, kind: str, id: str, source: str | None = None) -> str | None:
        """What to call an id: from its source's directory first, then any other's."""
        own = self._dirs.get(source) if source is not None else None
        if own is not None and (found := own.name(kind, id)) is not None:
            return found
        for directory in self._dirs.values():
            if (found := directory.name(kind, id)) is not None:
                return found
        return self.overrides.get(kind, {}).get(id)  # configured names, before any is read

    # --- first need, refreshes ----------------------------------------------------------

    async def ready(self, source: str) -> Directory:
        """The source's directory, read from the store if it changed there, fetched from the
        vendor if it never was (first need); a stale one is refreshed in the background."""
        now = self.clock()
        if (
            source not in self._dirs
            or now - self._asked.get(source, now - READ_EVERY) >= READ_EVERY
        ):
            await self._read(source)
        if source in self.fetchers:
            refreshed = self._refreshed(source)
            if refreshed is None and source in self._refreshing:  # the first, under way
                await asyncio.shield(self._refreshing[source])
            elif refreshed is None and self._may_fetch(source, now, UNKNOWN_EVERY):
                await self.refresh(source)
            elif refreshed is not None and now - refreshed >= REFRESH_EVERY:
                self._background(source)
        return self._dirs[source]

    async def stored(self, source: str) -> Directory:
        """The source's directory as the store has it, without asking the vendor."""
        await self._read(source)
        return self._dirs[source]

    async def ready_all(self) -> None:
        """Every configured source's directory (the digest process, the CLI)."""
        for source in self.sources:
            await self.ready(source)

    def unknown(self, source: str, kind: str, ids: Iterable[str]) -> bool:
        """Ids a report or a person named: if the directory reads `kind` but lacks one,
        a refresh starts in the background (at most every `UNKNOWN_EVERY`). True if some
        are unknown."""
        directory = self._dirs.get(source)
        if directory is None or source not in self.fetchers or not directory.lacks(kind, ids):
            return False
        if self._may_fetch(source, self.clock(), UNKNOWN_EVERY):
            self._background(source)
        return True

    async def refresh_unknown(self, source: str) -> bool:
        """A refresh now, for ids a person typed that the directory lacks; False if one was
        tried too recently."""
        if source not in self.fetchers or not self._may_fetch(source, self.clock(), UNKNOWN_EVERY):
            task = self._refreshing.get(source)
            if task is not None:  # one already under way: its answer is the freshest
                await asyncio.shield(task)
                return True
            return False
        await self.refresh(source)
        return True

    async def refresh(self, source: str) -> list[Collection]:
        """Fetch the source's directory now (one fetch at a time per source), store what
        changed, and read it back."""
        task = self._refreshing.get(source)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(source))
            self._refreshing[source] = task
            task.add_done_callback(lambda _: self._refreshing.pop(source, None))
        return await asyncio.shield(task)

    async def run(self) -> None:
        """`serve` and `socket`: every source's directory refreshed hourly, for ever."""
        while True:
            for source in self.fetchers:
                try:
                    await self._read(source)
                    refreshed = self._refreshed(source)
                    if refreshed is None or self.clock() - refreshed >= REFRESH_EVERY:
                        await self.refresh(source)
                except Exception:  # the next hour tries again; answers keep their ids
                    log.exception("refreshing the %s directory failed", source)
            await asyncio.sleep(REFRESH_EVERY.total_seconds() / 4)

    async def aclose(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    # --- the work -----------------------------------------------------------------------

    def _may_fetch(self, source: str, now: datetime, every: timedelta) -> bool:
        last = self._attempted.get(source)
        return source not in self._refreshing and (last is None or now - last >= every)

    def _background(self, source: str) -> None:
        if source in self._refreshing:
            return
        task = asyncio.get_running_loop().create_task(self.refresh(source))
        task.add_done_callback(_log_failure)

    def _refreshed(self, source: str) -> datetime | None:
        """When the source's directory was last asked for (the oldest of its collections,
        read or refused); None when never."""
        times = [datetime.fromisoformat(checked) for _, checked in self._stamp.get(source, ())]
        return min(times) if times else None

    async def _fetch(self, source: str) -> list[Collection]:
        fetcher = self.fetchers[source]
        self._attempted[source] = self.clock()
        states = await self._states(source)
        revisions = {s["collection"]: s["revision"] for s in states if s.get("revision")}
        collections = await fetcher.directory(revisions)
        for c in collections:
            self._tell(c)
        at = self.clock().isoformat()
        if self.store is not None:
            await self.store(lambda db: queries.save(db, collections, at))
            await self._read(source, force=True)
        else:  # no store: what was read is what is known
            self._stamp[source] = tuple((at, at) for _ in collections)
            self._dirs[source] = Directory.of(
                [e for c in collections for e in c.entries],
                [c.kind for c in collections if c.status == "ok"],
                self.overrides,
            )
            self.version += 1
        return collections

    async def _states(self, source: str) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        return await self.store(lambda db: queries.states(db, source))

    async def _read(self, source: str, force: bool = False) -> None:
        """Read the source's directory from the store when it changed there (or `force`)."""
        self._asked[source] = self.clock()
        overrides = self.overrides
        known = None if force else self._stamp.get(source)

        def read(db: Any) -> tuple[tuple[Any, ...], Directory | None]:
            states = queries.states(db, source)
            stamp = tuple((s["refreshed_at"], s["checked_at"]) for s in states)
            if stamp == known and source in self._dirs:
                return stamp, None
            entries, _ = queries.load(db, source)
            kinds = [s["kind"] for s in states if s["refreshed_at"]]
            return stamp, Directory.of(entries, kinds, overrides)  # built here, off the loop

        if self.store is None:
            if source not in self._dirs:
                self._dirs[source] = Directory.of((), (), overrides)
                self.version += 1
            return
        stamp, directory = await self.store(read)
        self._stamp[source] = stamp
        if directory is not None:
            self._dirs[source] = directory
            self.version += 1

    def _tell(self, c: Collection) -> None:
        """One log line per collection whose read changed for the worse: what to grant."""
        vendor = self.fetchers[c.source].vendor
        key = (c.source, c.name, c.status)
        if c.status in ("ok", "unchanged"):
            self._warned = {w for w in self._warned if w[:2] != (c.source, c.name)}
            return
        if key in self._warned:
            return
        self._warned.add(key)
        if c.status == "refused":
            log.warning("%s refused its %s directory (%s): names stay ids until the bot's "
                        "credentials have %s", vendor, c.name, c.detail, c.grant)  # fmt: skip
        else:
            log.warning("%s directory %s could not be read (%s): names stay as they were",
                        vendor, c.name, c.detail)  # fmt: skip


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("refreshing a directory failed: %s", exc, exc_info=exc)
