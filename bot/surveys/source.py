"""The bot's own survey responses as a CSAT source: `/csat ingested ...`, digests.

Responses arrive through the ingestion endpoint (`surveys/endpoint.py`) on whatever scale the
survey uses; each is stored with its score mapped onto 1-5 (`items.to_five`), so the
distribution and the score (4-5 of all) read like every other source. The window is
exact and by `submitted_at`; there is no vendor, so no timeframe limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.db import Store
from bot.errors import UsageError
from bot.metrics import AgentStatesReport, CsatCounts, CsatReport, CsatRow, exact_window
from bot.query import Query
from bot.surveys.queries import distribution
from bot.timefmt import iso_ms

VENDOR = "Ingested surveys"


class Ingested:
    """CSAT from stored survey responses, for the whole account or per agent."""

    name = "ingested"
    vendor = VENDOR
    units: tuple[str, ...] = ("account", "agent")

    def __init__(
        self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.clock = clock

    def check(self, query: Query) -> None:
        if query.command == "/agent-states":
            raise UsageError("csat_only", query.command, source=self.name)

    async def csat(self, query: Query) -> CsatReport:
        now = self.clock()
        window = exact_window(now, query.timeframe)
        agents = None if query.ids in (None, "all") else tuple(query.ids or ())
        start, end = iso_ms(window.start), iso_ms(window.end)
        per_agent = await self.store(lambda db: distribution(db, start, end, agents))
        rows = tuple(
            CsatRow("agent", agent, agent, CsatCounts.from_scores(scores))
            for agent, scores in sorted(per_agent.items())
        )
        total = sum((row.counts for row in rows), CsatCounts())
        return CsatReport(
            source=self.name,
            vendor=VENDOR,
            scope=query.unit,
            window=window,
            total=total,
            rows=rows if query.unit == "agent" else (),
            fetched_at=now,
        )

    async def agent_states(self, query: Query) -> AgentStatesReport:
        self.check(query)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """The store belongs to the process, not to this source."""
