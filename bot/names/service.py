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
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
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
    """The directories of every configured source; `[names]` from bot.toml laid over each.

    `fetchers` are the sources whose vendor directory this process may read: `serve`,
    `socket` and the CLI's own commands; the digest process has none and reads what the
    store has. With `writes=False` (a dry run, `ask`) what is fetched is kept in memory.
    """

    def __init__(
        self,
        store: Store | None,
        sources: Sequence[str],
        fetchers: Mapping[str, Fetcher],
        overrides: Mapping[str, Mapping[str, str]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        writes: bool = True,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.fetchers = dict(fetchers)
        self.overrides = dict(overrides or {})
        self.clock = clock
        self.writes = writes and store is not None
        self._dirs: dict[str, Directory] = {}
        self._stamp: dict[str, tuple[Any, ...]] = {}  # what the store's entries were read at
        self._checked: dict[str, datetime] = {}  # the oldest collection's last attempt
        self._asked: dict[str, datetime] = {}  # when this process last asked the store
        self._fetched: dict[str, datetime] = {}  # when this process last fetched, for any reason
        self._looked: dict[str, datetime] = {}  # ... to look for ids it lacked
        self._missing: dict[str, set[tuple[str, str]]] = {}  # looked for, not found: till hourly
        self._refreshing: dict[str, asyncio.Task[list[Collection]]] = {}
        self._warned: set[tuple[str, str, str]] = set()  # (source, collection, status) logged
        self.version = 0  # grows whenever a directory in memory is replaced

    # --- on the loop: reads only --------------------------------------------------------

    def get(self, source: str) -> Directory | None:
        """The source's directory as this process holds it; None before its first need."""
        return self._dirs.get(source)

    def name(self, kind: str, id: str, source: str | None = None) -> str | None:
        """What to call an id: by its source's directory when the source is known (another
        source's id 1 is another thing), else by whichever directory names it."""
        if source is not None and source in self.sources:
            own = self._dirs.get(source)
            found = own.name(kind, id) if own is not None else None
            return found or self.overrides.get(kind, {}).get(id)
        for directory in self._dirs.values():
            if (found := directory.name(kind, id)) is not None:
                return found
        return self.overrides.get(kind, {}).get(id)  # configured names, before any is read

    # --- first need, refreshes ----------------------------------------------------------

    async def ready(self, source: str) -> Directory:
        """The source's directory, read from the store if it changed there, fetched from the
        vendor if it never was (first need); an hour-old one is refreshed in the background."""
        now = self.clock()
        if (
            source not in self._dirs
            or now - self._asked.get(source, now - READ_EVERY) >= READ_EVERY
        ):
            await self._read(source)
        if source in self.fetchers:
            checked = self._checked.get(source)
            if checked is None and source in self._refreshing:  # the first, under way
                await asyncio.shield(self._refreshing[source])
            elif checked is None and _due(self._fetched, source, now, UNKNOWN_EVERY):
                await self.refresh(source)
            elif (
                checked is not None
                and now - checked >= REFRESH_EVERY
                and _due(self._fetched, source, now, UNKNOWN_EVERY)  # not once per answer
            ):
                self._background(self.refresh(source))
        return self._dirs[source]

    async def stored(self, source: str) -> Directory:
        """The source's directory as the store has it, without asking the vendor."""
        await self._read(source)
        return self._dirs[source]

    def unknown(self, source: str, kind: str, ids: Iterable[str]) -> bool:
        """Ids a message showed without a name: if the directory has the vendor's whole list
        of `kind` and lacks one, it is read again in the background (at most every
        `UNKNOWN_EVERY`); ids that reading did not bring are not looked for again before the
        next hourly refresh. True if some are unknown."""
        directory = self._dirs.get(source)
        if directory is None or source not in self.fetchers:
            return False
        missing = self._missing.get(source, set())
        ids = [id for id in ids if (kind, id) not in missing]
        if not ids or not directory.lacks(kind, ids):
            return False
        if source not in self._refreshing and _due(self._looked, source, self.clock(),
                                                   UNKNOWN_EVERY):  # fmt: skip
            self._background(self._look_again(source, kind, ids))
        return True

    async def refresh_unknown(self, source: str) -> bool:
        """For names or ids a person typed that the directory lacks: read it again now (at
        most every `UNKNOWN_EVERY`). True when the directory is then fresh enough to say
        what it lacks is not there: read now, or that recently for another reason."""
        if source not in self.fetchers:
            return False
        task = self._refreshing.get(source)
        if task is not None:  # one already under way: its answer is the freshest
            await asyncio.shield(task)
            return True
        now = self.clock()
        if _due(self._looked, source, now, UNKNOWN_EVERY):
            self._looked[source] = now
            await self.refresh(source)
            return True
        fetched = self._fetched.get(source)
        return fetched is not None and now - fetched < UNKNOWN_EVERY

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
                    checked = self._checked.get(source)
                    if checked is None or self.clock() - checked >= REFRESH_EVERY:
                        await self.refresh(source)
                        self._missing.pop(source, None)  # the next unknown ids: looked for
                except Exception:  # the next hour tries again; answers keep their ids
                    log.exception("refreshing the %s directory failed", source)
            await asyncio.sleep(REFRESH_EVERY.total_seconds() / 4)

    async def aclose(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    # --- the work -----------------------------------------------------------------------

    def _background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        task.add_done_callback(_log_failure)

    async def _look_again(self, source: str, kind: str, ids: list[str]) -> None:
        self._looked[source] = self.clock()
        await self.refresh(source)
        directory = self._dirs[source]
        found = {(kind, id) for id in ids if not directory.has(kind, id)}
        self._missing.setdefault(source, set()).update(found)

    async def _fetch(self, source: str) -> list[Collection]:
        fetcher = self.fetchers[source]
        self._fetched[source] = self.clock()
        states = await self._states(source)
        revisions = {s["collection"]: s["revision"] for s in states if s.get("revision")}
        collections = await fetcher.directory(revisions)
        for c in collections:
            self._tell(c)
        at = self.clock()
        if self.writes:
            assert self.store is not None
            await self.store(lambda db: queries.save(db, collections, at.isoformat()))
            await self._read(source)
        else:  # nothing written: what was read is what this process knows
            self._keep(source, collections, at)
        return collections

    def _keep(self, source: str, collections: list[Collection], at: datetime) -> None:
        """A fetch kept in memory only: new entries for the kinds read, the rest as before."""
        before = self._dirs.get(source) or Directory()
        read = {c.kind for c in collections if c.status == "ok"}
        entries = [e for c in collections for e in c.entries]
        entries += [e for (kind, _), e in before.entries.items() if kind not in read]
        complete = [c.kind for c in collections if c.status == "ok" and c.whole]
        complete += [k for k in before.read if k not in read and any(
            c.kind == k and c.status == "unchanged" for c in collections)]  # fmt: skip
        partly = [k for k in before.kinds | read if k not in complete]
        self._dirs[source] = Directory.of(entries, complete, self.overrides, partly)
        self._checked[source] = at
        self.version += 1

    async def _states(self, source: str) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        return await self.store(lambda db: queries.states(db, source))

    async def _read(self, source: str) -> None:
        """Read the source's directory from the store when its entries changed there."""
        self._asked[source] = self.clock()
        overrides = self.overrides
        known = self._stamp.get(source)
        have = source in self._dirs

        def read(db: Any) -> tuple[tuple[Any, ...], list[str], Directory | None]:
            states = queries.states(db, source)
            checked = [s["checked_at"] for s in states if s["checked_at"]]
            stamp = tuple((s["collection"], s["status"], s["revision"], s["count"]) for s in states)
            if stamp == known and have:
                return stamp, checked, None
            entries = queries.load(db, source)
            complete = [s["kind"] for s in states if s["status"] == "ok" and s["whole"]]
            partly = [s["kind"] for s in states if s["refreshed_at"] and s["kind"] not in complete]
            # built here, on the store's thread: 20,000 names are folded off the loop
            return stamp, checked, Directory.of(entries, complete, overrides, partly)

        if self.store is None:
            if not have:
                self._dirs[source] = Directory.of((), (), overrides)
                self.version += 1
            return
        stamp, checked, directory = await self.store(read)
        self._stamp[source] = stamp
        if checked:
            self._checked[source] = min(datetime.fromisoformat(c) for c in checked)
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
            log.warning("%s refused its %s directory (%s): its names stay as last read (or "
                        "ids) until the bot's credentials have %s", vendor, c.name, c.detail,
                        c.grant)  # fmt: skip
        else:
            log.warning("%s directory %s could not be read (%s): names stay as they were",
                        vendor, c.name, c.detail)  # fmt: skip


def _due(last: Mapping[str, datetime], source: str, now: datetime, every: timedelta) -> bool:
    """Whether `every` has passed since `last[source]` (or it never happened)."""
    when = last.get(source)
    return when is None or now - when >= every


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("refreshing a directory failed: %s", exc, exc_info=exc)
