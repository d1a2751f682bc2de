"""The slash-command use case: text in, messages out, vendors in between.

`prepare` is instant and never calls a vendor: it parses, applies the default source
and that source's limits, and returns the message to acknowledge with. `answer` does
the slow part and always returns a message: vendor failures become human replies,
and anything unexpected is logged with its traceback and answered with an apology.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import cast

from bot.commands import grammar
from bot.commands.grammar import Help
from bot.commands.resolve import resolve
from bot.commands.trend import Trends
from bot.directory import Directory
from bot.errors import SourceError, StoreError, UsageError
from bot.metrics import AgentStatesReport, CsatReport
from bot.names.service import Names
from bot.offloop import off_loop
from bot.query import Command, Query
from bot.recent import Recent
from bot.render import Message, Renderer
from bot.sources import Source, Sources, source_of

log = logging.getLogger(__name__)
ROW_LIMIT = 60  # rows in one answer; the rest are counted
DETAIL_LIMIT = 12  # up to this many agents are shown state by state
KEPT = 128  # acks, and answers beside their reports, kept for repeated queries


@dataclass(frozen=True)
class Plan:
    """What to acknowledge with, and, when there is data to fetch, what to fetch."""

    ack: Message
    query: Query | None = None
    source: Source | None = None
    channel: str = ""  # where the command was typed: a trend's chart is posted there


class Commands:
    """Answers /csat and /agent-states from the configured sources.

    `turn` is awaited before rendering an answer: the wiring makes it wait for the acks
    in flight, so a burst of answers never holds up the acks of the next burst. Answers
    to repeated queries in one bucket share the vendor's report; their message is kept
    beside it and not rendered again, and the "asking…" ack of a query is rendered once.
    """

    def __init__(
        self,
        sources: Sources,
        renderer: Renderer,
        turn: Callable[[], Awaitable[None]] | None = None,
        names: Names | None = None,
        trends: Trends | None = None,
    ) -> None:
        self.sources = sources
        self.renderer = renderer
        self.names = names
        self.trends = trends  # `/csat trend`: None where the bot has no store to read
        self._turn = turn or _no_wait
        self._acks: Recent[Query, str] = Recent(KEPT)  # the "asking…" line as JSON
        # query -> (the report it was rendered from, the message as JSON)
        self._answers: Recent[Query, tuple[object, str]] = Recent(KEPT)
        self._names_version = 0  # the directories the kept acks and answers were named by

    def prepare(self, command: str, text: str, channel: str = "") -> Plan:
        """Parse and check the command; the ack is a usage error, help, or 'working'.
        `channel`: where it was typed (a trend's chart is offered for that channel)."""
        name: Command = "/agent-states" if "agent" in command else "/csat"
        try:
            return replace(self._prepare(name, text), channel=channel)
        except Exception:
            log.exception("preparing %s %r failed", command, text)
            return Plan(self.renderer.render("internal_error.yml.j2"))

    def _prepare(self, name: Command, text: str) -> Plan:
        try:
            parsed = grammar.parse(name, text or "")
            if isinstance(parsed, Help):
                return Plan(self.help(name))
            if parsed.trend and self.trends is None:
                raise UsageError("trend_unavailable", name, source=parsed.source or "")
            if parsed.trend:
                assert self.trends is not None
                query, source = self.trends.resolve(parsed)
            else:
                query, source = self.sources.resolve(parsed)
            if self.names is not None:  # what the directory in memory can tell at once
                free = query.source == "ingested"
                directory = self.names.get(query.source or "")
                query = resolve(query, directory, free, final=False) or query
        except UsageError as exc:
            return Plan(self.usage(exc))
        except SourceError as exc:
            return Plan(self.vendor_error(exc))
        self._forget_if_renamed()
        known = self._acks.get(query)
        if known is not None:
            return Plan(json.loads(known), query, source)  # a fresh copy
        if query.trend:
            ack = self.renderer.render("csat_trend.yml.j2", working=query)
        else:
            ack = self.renderer.render("working.yml.j2", query=query)
        self._acks.put(query, json.dumps(ack))
        return Plan(ack, query, source)

    async def answer(self, plan: Plan) -> Message:
        """The reply for a prepared plan; never raises."""
        assert plan.query is not None and plan.source is not None
        query = plan.query
        try:
            query = await self._resolved(query)
            if query.trend and self.trends is not None:  # read from the store, never cached
                trend = await self.trends.answer(query, plan.channel)
                self._notice(query.source or "")
                return trend
            report: CsatReport | AgentStatesReport
            if query.command == "/agent-states":
                report = await plan.source.agent_states(query)
            else:
                report = await plan.source.csat(query)
            await self._turn()
            self._forget_if_renamed()
            known = self._answers.get(query)
            # equal reports make equal answers; reports from one fetch share their rows,
            # so the comparison is a few fields long
            if known is not None and known[0] == report:
                return cast(Message, json.loads(known[1]))
            self.renderer.take_missed()  # what earlier messages missed is theirs
            if isinstance(report, AgentStatesReport):
                message = self.renderer.render(
                    "agent_states.yml.j2", query=query, report=report,
                    detail_limit=DETAIL_LIMIT, row_limit=ROW_LIMIT,
                )  # fmt: skip
            else:
                message = self.renderer.render(
                    "csat.yml.j2", query=query, report=report, row_limit=ROW_LIMIT
                )
            self._answers.put(query, (report, json.dumps(message)))
            self._notice(report.source)
            return message
        except SourceError as exc:
            log.warning("%s", self.renderer.said(exc))  # refused credentials: what to change
            return self.vendor_error(exc)
        except UsageError as exc:
            log.warning("%s", exc)
            return self.usage(exc)
        except StoreError as exc:  # `ingested` reads the database
            log.error("answering %s: %s", plan.query.command, exc)
            return self.renderer.render("internal_error.yml.j2", database=exc.code)
        except Exception:
            log.exception("answering %s failed", plan.query)
            return self.renderer.render("internal_error.yml.j2")

    def _forget_if_renamed(self) -> None:
        """Kept acks and answers name ids as the directories did: new names, new messages."""
        if self.names is not None and self.names.version != self._names_version:
            self._names_version = self.names.version
            self._acks = Recent(KEPT)
            self._answers = Recent(KEPT)

    async def _resolved(self, query: Query) -> Query:
        """The query's names as ids, and its ids checked, by the source's directory: read
        on first need; read again first when it lacks what was typed (at most every few
        minutes). Raises UsageError for a name or id it cannot place. A directory that
        cannot be read (the store, the vendor) leaves names unplaced and ids unchecked:
        the answer goes on with what this process has."""
        if self.names is None or query.source is None:
            return query
        source, free = query.source, query.source == "ingested"
        try:
            directory: Directory | None = await self.names.ready(source)
        except Exception as exc:
            log.warning("the %s directory could not be read: %s", source, exc)
            directory = self.names.get(source)
        quick = resolve(query, directory, free, final=False)
        if quick is not None:
            return quick
        try:
            fresh = await self.names.refresh_unknown(source)
        except Exception as exc:
            log.warning("the %s directory could not be read again: %s", source, exc)
            fresh = False
        directory = self.names.get(source) or directory
        # the nearest names are looked for among all of them: off the loop
        final = await off_loop(resolve, query, directory, free, True, fresh)
        assert final is not None
        return final

    def _notice(self, source: str) -> None:
        """Ids the answer showed without a name: the directory may not have them yet, so
        it is read again in the background (at most every few minutes). Only the rows
        shown are looked up, so a 20,000-agent answer costs sixty look-ups, not 20,000."""
        missed = self.renderer.take_missed()
        if self.names is not None:
            for kind, ids in missed.items():
                self.names.unknown(source, kind, ids)

    def help(self, command: str) -> Message:
        return self.renderer.render(
            "help.yml.j2",
            command=command,
            sources=self.sources.names,
            default_source=self.sources.default,
        )

    def usage(self, exc: UsageError) -> Message:
        return self.renderer.render("usage.yml.j2", command=exc.command, problem=exc)

    def vendor_error(self, exc: SourceError) -> Message:
        return self.renderer.vendor_error(exc, source_of(exc))


async def _no_wait() -> None:
    """No turn to wait for (the CLI, tests)."""
