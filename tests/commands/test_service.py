"""The slash-command use case with in-memory sources: every path ends in a message."""

from __future__ import annotations

import asyncio

import pytest

from bot.check.samples import csat_report
from bot.commands.service import Commands
from bot.config import DEFAULT_TEMPLATES
from bot.directory import Collection, Entry
from bot.errors import VendorTimeout
from bot.metrics import CsatReport
from bot.names.service import UNKNOWN_EVERY, Names
from bot.query import Query
from bot.render import Renderer, check_message
from bot.sources import Sources
from tests.fakes.clock import FakeClock


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


class FakeDirectorySource(FakeSource):
    """A source with a directory that names skills 1 and 2; a second read names skill 3."""

    def __init__(self, outcome: CsatReport | Exception) -> None:
        super().__init__(outcome)
        self.reads = 0

    async def directory(self, revisions: object) -> list[Collection]:
        self.reads += 1
        named = {"1": "Billing", "2": "Orders"} | ({"3": "Returns"} if self.reads > 1 else {})
        entries = tuple(Entry("skill", id, name) for id, name in named.items())
        return [Collection("liveperson", "skills", "skill", "ok", entries, f"r{self.reads}")]


def named_commands() -> tuple[Commands, FakeDirectorySource, FakeClock]:
    source, clock = FakeDirectorySource(csat_report()), FakeClock()
    renderer = Renderer(DEFAULT_TEMPLATES)
    names = Names(None, ["liveperson"], {"liveperson": source}, clock=clock)
    renderer.names = names.name
    return Commands(Sources({"liveperson": source}), renderer, names=names), source, clock


@pytest.mark.anyio
async def test_names_in_the_answer_and_a_look_again_for_the_one_it_lacked() -> None:
    subject, source, clock = named_commands()
    plan = subject.prepare("/csat", "skill all 60m")
    message = await subject.answer(plan)
    lines = message["blocks"][-2]["text"]["text"]
    assert [line.split("  ")[-1] for line in lines.splitlines()] == [
        "Skill 3", "Orders", "Billing", "Unassigned",
    ]  # fmt: skip
    assert source.reads == 1  # the first need, and too soon to read again
    clock.now += UNKNOWN_EVERY
    subject.prepare("/csat", "skill all 61m")
    await subject.answer(subject.prepare("/csat", "skill all 62m"))
    await asyncio.sleep(0.01)  # the look-again runs beside the answer
    assert source.reads == 2
    again = await subject.answer(subject.prepare("/csat", "skill all 63m"))
    assert "Returns" in str(again["blocks"]) and "Skill 3" not in str(again["blocks"])


@pytest.mark.anyio
async def test_a_typed_name_reaches_the_source_as_its_id() -> None:
    subject, source, _ = named_commands()
    first = subject.prepare("/csat", "skill ord 60m")  # nothing read yet: decided later
    assert first.query is not None and first.query.named == ("ord",)
    await subject.answer(first)
    assert source.asked[-1].ids == ("2",)
    second = subject.prepare("/csat", "skill BILLING 60m")  # read now: decided at once
    assert second.query is not None and second.query.ids == ("1",)
    unknown = subject.prepare("/csat", "skill 9 60m")
    assert unknown.query is not None  # an id the directory lacks: looked for again first
    answer = await subject.answer(unknown)
    assert "has no skill `9`" in str(answer["blocks"])
    assert len(source.asked) == 1  # neither reached the vendor's reports
