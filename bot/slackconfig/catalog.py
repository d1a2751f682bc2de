"""`Catalog`: every digest and watch, from the file and from Slack, and the `[alerts]` in force.

The file stays the source of truth for what it declares: a digest it names is read-only
in Slack, and a digest made in Slack under a name the file later takes is set aside
(`shadowed`) rather than run twice. Each process reads the store when it needs to (the
digest process at each run, `serve` when the home view or the scheduler asks), so a
change made in Slack reaches every process without a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlite_utils import Database

from bot.config import AlertRules, Digest, Settings, read_alerts, read_digest
from bot.db import Store, reading
from bot.errors import ConfigError
from bot.slackconfig import queries

log = logging.getLogger(__name__)
SLACK = "Slack"  # where a digest made in Slack comes from, as a ConfigError says it


@dataclass(frozen=True)
class Entry:
    """One digest or watch and where it comes from."""

    digest: Digest
    origin: Literal["file", "slack"]
    paused: bool = False
    since: datetime | None = None  # its schedule's last change in Slack: no catch-up before
    table: dict[str, Any] = field(default_factory=dict)  # its TOML keys (Slack's only)
    changed_by: str = ""  # who last changed it in Slack
    shadowed: bool = False  # made in Slack under a name the file now uses: not run

    @property
    def name(self) -> str:
        return self.digest.name

    @property
    def active(self) -> bool:
        """Whether the scheduler runs it."""
        return not self.paused and not self.shadowed


@dataclass(frozen=True)
class Problem:
    """A stored digest the file's rules no longer accept (the reason, for `check`)."""

    name: str
    reason: str


class Catalog:
    """The file's digests and the store's, read together."""

    def __init__(self, settings: Settings, store: Store | None) -> None:
        self.settings = settings
        self.store = store
        self.file = {d.name: d for d in settings.digests}

    async def entries(self) -> list[Entry]:
        """Every digest: the file's first, then Slack's by name."""
        if self.store is None:
            return self.of_file()
        return (await self.store(self.read))[0]

    async def problems(self) -> list[Problem]:
        if self.store is None:
            return []
        return (await self.store(self.read))[1]

    def of_file(self) -> list[Entry]:
        return [Entry(d, "file") for d in self.settings.digests]

    def read(self, db: Database) -> tuple[list[Entry], list[Problem]]:
        """On the store's thread: the file's entries and the stored ones, and any stored
        one that no longer reads (logged: the rest still run)."""
        found, problems = self.of_file(), []
        with reading(db):
            rows = queries.digests(db)
        for row in rows:
            errors: list[ConfigError] = []
            label = f"digest ({row['name']})"
            digest = read_digest(row["table"], SLACK, label, self.settings.timezone, errors)
            if digest is None:
                reason = "; ".join(f"{e.key}: {e.expected}" for e in errors)
                log.warning("digest %s made in Slack no longer reads: %s", row["name"], reason)
                problems.append(Problem(row["name"], reason))
                continue
            found.append(
                Entry(
                    digest,
                    "slack",
                    paused=bool(row["paused"]),
                    since=datetime.fromisoformat(row["since"]),
                    table=row["table"],
                    changed_by=row["updated_by"],
                    shadowed=digest.name in self.file,
                )
            )
        return found, problems

    async def entry(self, name: str) -> Entry | None:
        """The digest of that name (the file's wins)."""
        if name in self.file:
            return Entry(self.file[name], "file")
        return next((e for e in await self.entries() if e.name == name), None)

    async def digest(self, name: str) -> Digest | None:
        found = await self.entry(name)
        return found.digest if found is not None else None

    async def names(self) -> list[str]:
        return [e.name for e in await self.entries()]

    async def alert_rules(self) -> AlertRules:
        """`[alerts]` in force: the file's, with the keys Slack set where the file is silent."""
        if self.store is None:
            return self.settings.alerts
        table = await self.store(queries.alerts)
        return self.rules_with(table)

    def rules_with(self, table: dict[str, Any]) -> AlertRules:
        errors: list[ConfigError] = []
        settings = self.settings
        rules = read_alerts(settings.alerts, settings.alerts_in_file, table, SLACK, errors)
        for error in errors:  # written by the same readers: only a newer bot's rules differ
            log.warning("alert settings made in Slack: %s", error)
        return rules
