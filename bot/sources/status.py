"""Whether each vendor source answers: its last success and its last failure, in words.

`VendorHTTP` tells a source's `Outcomes` how every call ended; `SourceStatus` keeps that in
the `source_status` table, which the home view reads (`read_status`). A burst of slash
commands writes at most once a minute per source, yet a source that starts or stops
failing, or fails in other words, is written at once. The writes go to the store's thread
in the background: a vendor call never waits for them, and a database in trouble is
logged once, never raised into the call. Both processes (`serve`, the digest process)
write into the same file; each moment in a row only moves forward, so one process's
older news never hides the other's newer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.db import Store, writing
from bot.errors import SourceError
from bot.timefmt import now_iso

log = logging.getLogger(__name__)
THROTTLE = timedelta(minutes=1)  # the same news for a source is written at most this often
ERROR_CHARS = 300  # a failure's words, cut to this: the home view shows them in a line

# each moment only moves forward: a write from the other process may arrive late
_OK = """
insert into source_status (source, last_ok, updated_at) values (?, ?, ?)
on conflict (source) do update set
    last_ok = excluded.last_ok, updated_at = max(updated_at, excluded.updated_at)
where last_ok is null or last_ok <= excluded.last_ok
"""
_FAILED = """
insert into source_status (source, last_error_at, last_error, updated_at) values (?, ?, ?, ?)
on conflict (source) do update set
    last_error_at = excluded.last_error_at, last_error = excluded.last_error,
    updated_at = max(updated_at, excluded.updated_at)
where last_error_at is null or last_error_at <= excluded.last_error_at
"""


def error_words(error: SourceError) -> str:
    """What went wrong, as the error says it (vendor, what happened, the detail), in
    at most `ERROR_CHARS` characters."""
    text = str(error)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


class SourceStatus:
    """Records each source's vendor calls into `source_status`, throttled per source."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        # per source: what was last written (None: an answer; else the failure's words), when
        self._written: dict[str, tuple[str | None, datetime]] = {}
        self._writes: set[asyncio.Task[None]] = set()  # kept, so none is collected mid-way
        self._troubled = False  # a failed write was logged; the next is not, until one works

    def told(self, source: str) -> SourceOutcomes:
        """What `VendorHTTP` tells of `source`'s calls."""
        return SourceOutcomes(self, source)

    def record(self, source: str, error: SourceError | None) -> None:
        """Note one call's outcome: written unless the same news went in under a minute ago.

        Called on the loop inside the vendor call: it only compares and starts a write."""
        now = self._clock()
        words = None if error is None else error_words(error)
        last = self._written.get(source)
        if last is not None and last[0] == words and timedelta(0) <= now - last[1] < THROTTLE:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to write from: nothing to note either
            return
        self._written[source] = (words, now)
        task = loop.create_task(self._write(source, words, now_iso(now)))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, source: str, words: str | None, at: str) -> None:
        write = functools.partial(_write, source=source, words=words, at=at)
        try:
            await self._store(write)
        except Exception as exc:  # a closed, read-only, locked or full store: logged, not raised
            if not self._troubled:
                self._troubled = True
                log.warning("source status not recorded (%s): %s", source, exc)
            return
        if self._troubled:
            log.info("source status recorded again (%s)", source)
        self._troubled = False

    async def drain(self) -> None:
        """Wait for the writes under way (before the store closes); never raises."""
        loop = asyncio.get_running_loop()
        while under_way := [t for t in self._writes if not t.done() and t.get_loop() is loop]:
            await asyncio.gather(*under_way, return_exceptions=True)


class SourceOutcomes:
    """One source's `Outcomes` (`sources/http.py`): each call's outcome to its status."""

    def __init__(self, status: SourceStatus, source: str) -> None:
        self._status = status
        self.source = source

    def __call__(self, error: SourceError | None) -> None:
        self._status.record(self.source, error)

    async def drain(self) -> None:
        await self._status.drain()


def _write(db: Database, source: str, words: str | None, at: str) -> None:
    with writing(db):
        if words is None:
            db.execute(_OK, [source, at, at])
        else:
            db.execute(_FAILED, [source, at, words, at])


def read_status(db: Database) -> dict[str, dict[str, Any]]:
    """Each source that has made a vendor call: `last_ok` and `last_error_at` (ISO, or
    None), `last_error` (words, '' when none), `updated_at`, and `failing` (its latest news
    is a failure). Run on the store's thread: `await store(read_status)`."""
    rows = db.execute(
        "select source, last_ok, last_error_at, last_error, updated_at from source_status"
        " order by source"
    ).fetchall()
    return {
        source: {
            "last_ok": ok,
            "last_error_at": error_at,
            "last_error": error,
            "updated_at": updated,
            "failing": error_at is not None and (ok is None or error_at > ok),
        }
        for source, ok, error_at, error, updated in rows
    }
