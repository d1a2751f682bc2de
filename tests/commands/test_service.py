"""The slash-command use case with in-memory sources: every path ends in a message."""

from __future__ import annotations

import pytest

from bot.check.samples import csat_report
from bot.commands.service import Commands
from bot.config import DEFAULT_TEMPLATES
from bot.errors import VendorTimeout
from bot.metrics import CsatReport
from bot.query import Query
from bot.render import Renderer, check_message
from bot.sources import Sources


class FakeSource:
    name = "liveperson"
    vendor = "LivePerson"
    units = ("account", "skill", "agent")

    def __init__(self, outcome: CsatReport | Exception) -> None:
        self.outcome = outcome
        self.asked: list[Query] = []

    def check(self, query: Query) -> None:
        if query.timeframe == 13:
            raise RuntimeError("a bug in a vendor check")

    async def csat(self, query: Query) -> CsatReport:
        self.asked.append(query)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    async def aclose(self) -> None:
        pass


def commands(outcome: CsatReport | Exception) -> tuple[Commands, FakeSource]:
    source = FakeSource(outcome)
    return Commands(Sources({"liveperson": source}), Renderer(DEFAULT_TEMPLATES)), source


@pytest.mark.anyio
async def test_a_report_becomes_the_csat_message() -> None:
    subject, source = commands(csat_report())
    plan = subject.prepare("/csat", "skill all 60m")
    assert plan.query == Query("/csat", "liveperson", "skill", "all", 60)
    message = await subject.answer(plan)
    assert message["blocks"][0]["text"]["text"] == "CSAT · all skills · last 1h"
    assert check_message(message) == []
    assert source.asked == [plan.query]


@pytest.mark.anyio
async def test_a_vendor_error_becomes_its_sentence() -> None:
    subject, _ = commands(VendorTimeout("LivePerson", "no answer from host"))
    message = await subject.answer(subject.prepare("/csat", "skill 4"))
    assert message["text"] == (
        ":snail: LivePerson took too long to answer. Try again, or ask for a shorter timeframe."
    )


@pytest.mark.anyio
async def test_an_unexpected_exception_is_an_apology_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject, _ = commands(KeyError("metricsTotals"))
    message = await subject.answer(subject.prepare("/csat", "agent 4"))
    assert "Something went wrong inside the bot" in message["text"]
    assert "KeyError" not in str(message)
    assert "KeyError" in caplog.text  # the traceback is in the log


def test_a_bug_while_preparing_still_acks_with_an_apology() -> None:
    subject, source = commands(csat_report())
    plan = subject.prepare("/csat", "13m")
    assert plan.query is None
    assert "Something went wrong inside the bot" in plan.ack["text"]
    assert source.asked == []


def test_no_source_configured() -> None:
    subject = Commands(Sources({}), Renderer(DEFAULT_TEMPLATES))
    plan = subject.prepare("/csat", "")
    assert plan.query is None
    assert plan.ack["text"].startswith(":electric_plug: No data source is set up for this bot yet")


class CountingRenderer(Renderer):
    """Counts renders by template."""

    def __init__(self) -> None:
        super().__init__(DEFAULT_TEMPLATES)
        self.rendered: list[str] = []

    def render(self, name: str, **context: object) -> dict[str, object]:
        self.rendered.append(name)
        return super().render(name, **context)


@pytest.mark.anyio
async def test_the_same_report_is_not_rendered_twice_and_each_answer_is_its_own() -> None:
    report = csat_report()
    renderer = CountingRenderer()
    turns: list[int] = []

    async def turn() -> None:
        turns.append(1)

    subject = Commands(Sources({"liveperson": FakeSource(report)}), renderer, turn)
    first = await subject.answer(subject.prepare("/csat", "skill all 60m"))
    first["text"] = "changed by a caller"
    second = await subject.answer(subject.prepare("/csat", "skill all 60m"))
    assert second["text"] != "changed by a caller"
    assert renderer.rendered.count("csat.yml.j2") == 1
    assert renderer.rendered.count("working.yml.j2") == 1  # the ack of a query, once
    assert len(turns) == 2  # every answer waited for its turn before rendering


@pytest.mark.anyio
async def test_a_different_report_for_the_same_query_is_rendered_again() -> None:
    report = csat_report()
    renderer = CountingRenderer()
    source = FakeSource(report)
    subject = Commands(Sources({"liveperson": source}), renderer)
    first = await subject.answer(subject.prepare("/csat", "skill all 60m"))
    source.outcome = CsatReport(**{**report.__dict__, "rows": report.rows[:1]})
    second = await subject.answer(subject.prepare("/csat", "skill all 60m"))
    assert renderer.rendered.count("csat.yml.j2") == 2
    assert first != second
