"""Data sources behind one small interface.

Each vendor module knows its own JSON shapes and nothing else; callers only see
`Source`, the `metrics` data classes and the error tree in `bot.errors`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from bot.errors import NotConfigured, SourceError, UsageError
from bot.metrics import AgentStatesReport, CsatReport
from bot.query import Query

VENDOR_NAMES = {"liveperson": "LivePerson", "livechat": "LiveChat", "ingested": "Ingested surveys"}


def source_of(error: SourceError) -> str:
    """The source word of the vendor an error names ("" for none)."""
    if error.source or isinstance(error, NotConfigured):  # "" for no source set up at all
        return error.source
    return next((k for k, v in VENDOR_NAMES.items() if v == error.vendor), "")


class Source(Protocol):
    """What a command needs from a vendor."""

    name: str  # the source word: liveperson | livechat | ingested
    vendor: str  # the name people read
    units: tuple[str, ...]  # account | skill | agent | group

    def check(self, query: Query) -> None:
        """Raise UsageError for a query this vendor cannot answer; called before any call."""

    async def csat(self, query: Query) -> CsatReport:
        """The CSAT report for the query."""
        ...

    async def agent_states(self, query: Query) -> AgentStatesReport:
        """Time per agent and state for the query."""
        ...

    async def aclose(self) -> None:
        """Release connections."""


class Sources:
    """The configured sources, and which one a query without a source word uses."""

    def __init__(self, sources: dict[str, Source], default: str | None = None) -> None:
        self._sources = sources
        self.default = default or next((name for name in VENDOR_NAMES if name in sources), None)

    @property
    def names(self) -> list[str]:
        return list(self._sources)

    def get(self, name: str) -> Source | None:
        return self._sources.get(name)

    def resolve(self, query: Query) -> tuple[Query, Source]:
        """The query with its source filled in, checked against that source's limits."""
        name = query.source or self.default
        if name is None:
            raise NotConfigured("")  # vendor_error.yml.j2 says what to set
        source = self._sources.get(name)
        if source is None:
            raise NotConfigured(VENDOR_NAMES.get(name, name), name)
        query = replace(query, source=name)
        if query.unit not in source.units:
            have = [u for u in source.units if u != "account"]
            raise UsageError("no_such_unit", query.command, source=name, unit=query.unit, have=have)
        source.check(query)
        return query, source

    async def aclose(self) -> None:
        for source in self._sources.values():
            await source.aclose()
