"""`/csat trend`: the period with `now` injected, series into lines, the button's value read
back as outside text, the answer within Slack's limits, and the service over a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.check.samples import trend_contexts, trend_series
from bot.commands.grammar import parse
from bot.commands.service import Commands
from bot.commands.trend import (
    FEW,
    Redraw,
    Trends,
    day_bounds,
    fold,
    levels,
    line,
    period,
    trend_lines,
)
from bot.db import Store, open_db
from bot.history import queries as q
from bot.metrics import CsatCounts, CsatRow, wilson
from bot.query import Query
from bot.render import Renderer
from bot.render.renderer import check_message
from bot.sources import Sources
from bot.surveys.queries import daily_distribution
from tests.fakes.hostile import HOSTILE

pytestmark = pytest.mark.anyio
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 31, 7, 20, tzinfo=UTC)  # Tuesday 9:20 in Berlin, after the clocks went on


def counts(n: int, happy: int) -> CsatCounts:
    return CsatCounts.from_scores((n - happy, 0, 0, 0, happy))


# --- the period -------------------------------------------------------------------------


def test_a_month_is_thirty_local_days_ending_today() -> None:
    span = period(NOW, 30 * 1440, BERLIN, hourly=False)
    assert (span.first, span.last, span.step, span.days) == (
        date(2026, 3, 2),
        date(2026, 3, 31),
        "day",
        30,
    )
    assert span.start == datetime(2026, 3, 1, 23, tzinfo=UTC)  # Berlin's midnight, in winter
    assert span.end == NOW and len(span.keys) == 30


def test_an_hourly_history_ends_at_the_hour() -> None:
    span = period(NOW, 7 * 1440, BERLIN, hourly=True)
    assert span.end == datetime(2026, 3, 31, 7, tzinfo=UTC)
    assert span.keys[0] == date(2026, 3, 25) and span.keys[-1] == date(2026, 3, 31)


def test_beyond_a_month_week_by_week_from_a_monday() -> None:
    span = period(NOW, 90 * 1440, BERLIN, hourly=False)
    assert span.step == "week" and span.first.weekday() == 0
    assert span.first <= date(2026, 1, 1) and span.keys[-1] == date(2026, 3, 30)
    assert all((b - a).days == 7 for a, b in zip(span.keys, span.keys[1:], strict=False))


def test_31_days_is_still_day_by_day() -> None:
    assert period(NOW, 31 * 1440, BERLIN, hourly=False).step == "day"
    assert period(NOW, 32 * 1440, BERLIN, hourly=False).step == "week"
    assert period(NOW, 36 * 60, BERLIN, hourly=False).days == 2  # a part of a day is a day


def test_the_day_the_clocks_go_on_has_23_hours() -> None:
    span = period(NOW, 7 * 1440, BERLIN, hourly=False)
    bounds = {date.fromordinal(d): (lo, hi) for d, lo, hi in day_bounds(span, BERLIN)}
    assert bounds[date(2026, 3, 29)] == ("2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z")
    assert bounds[date(2026, 3, 31)] == ("2026-03-30T22:00:00.000Z", "2026-03-31T07:20:00.000Z")


# --- the lines --------------------------------------------------------------------------


def test_every_day_has_a_line_those_without_answers_too() -> None:
    span = period(NOW, 3 * 1440, BERLIN, hourly=False)
    found = line("skill", "4", [(date(2026, 3, 30), counts(20, 18))], span.keys)
    assert [p.counts.total for p in found.points] == [0, 20, 0]
    assert (found.points[1].low, found.points[1].high) == wilson(18, 20)
    assert (found.points[0].low, found.points[0].score) == (None, None)
    assert found.total == counts(20, 18) and (found.low, found.high) == wilson(18, 20)
    assert found.levels[0] == 0 and found.levels[1] > 0 and not found.few


def test_spark_levels_keep_small_moves_small() -> None:
    span = period(NOW, 3 * 1440, BERLIN, hourly=False)
    scores = [counts(100, 90), counts(100, 88), counts(100, 89)]
    points = line("account", "", list(zip(span.keys, scores, strict=True)), span.keys)
    low, high, middle = points.levels
    # ten points of scale: two points apart is not the whole height of the spark
    assert (low, high, middle) == pytest.approx((1.0, 0.81, 0.905))
    assert levels(()) == ()


@pytest.mark.parametrize(
    ("unit", "ids", "main", "entities", "more"),
    [
        ("account", None, ("account", ""), [], 0),
        ("skill", ("2",), ("skill", "2"), [], 0),
        ("skill", "all", ("account", ""), ["1", "2", "3", "4"], 5),
        ("skill", ("9", "1", "77"), ("together", ""), ["1", "9", "77"], 0),
    ],
)
def test_series_into_lines(
    unit: str, ids: Any, main: tuple[str, str], entities: list[str], more: int
) -> None:
    span = period(datetime(2026, 3, 2, 12, 29, tzinfo=UTC), 30 * 1440, BERLIN, hourly=True)
    series = trend_series(30, 9, "day", quiet=2)  # skills 1..9, busiest first
    found_main, found, found_more = trend_lines(series, span, unit, ids)
    assert (found_main.kind, found_main.id) == main
    assert [e.id for e in found] == entities and found_more == more
    if ids == ("9", "1", "77"):
        assert found[2].total.total == 0 and found[2].few  # 77: no answers


def test_the_survey_days_fold_into_series_and_weeks() -> None:
    by_day = {(date(2026, 3, 30).toordinal(), "a"): (1, 0, 0, 0, 3),
              (date(2026, 3, 31).toordinal(), "b"): (0, 0, 0, 2, 0)}  # fmt: skip
    days = fold(by_day, "agent", "day")
    monday, tuesday = (
        CsatCounts.from_scores((1, 0, 0, 0, 3)),
        CsatCounts.from_scores((0, 0, 0, 2, 0)),
    )
    assert days[""] == [(date(2026, 3, 30), monday), (date(2026, 3, 31), tuesday)]
    assert set(days) == {"", "a", "b"}
    weeks = fold(by_day, "account", "week")
    assert weeks == {"": [(date(2026, 3, 30), monday + tuesday)]}


# --- the button's value -----------------------------------------------------------------


def test_the_value_reads_back_as_written() -> None:
    for ids in (None, "all", ("4", "15"), ("ana@example.com",)):
        unit = "account" if ids is None else "agent"
        drawn = Redraw("liveperson", unit, ids, 30 * 1440, int(NOW.timestamp()), "C0TEAM")
        assert Redraw.read(drawn.value(), NOW) == drawn


def test_a_value_too_long_for_slack_is_no_button() -> None:
    drawn = Redraw("ingested", "agent", tuple(f"{i:0>30}" for i in range(80)), 1440, 0, "C0TEAM")
    assert drawn.value() == ""


def _value(**changes: Any) -> str:
    base = {"s": "liveperson", "u": "skill", "i": ["4"], "t": 43200, "e": int(NOW.timestamp()),
            "c": "C0TEAM"}  # fmt: skip
    return json.dumps({**base, **changes})


FORGED: list[Any] = [
    None, 5, "", "{", "[]", "x" * 2001, _value()[:-1], _value(s="zendesk"), _value(u="team"),
    _value(t=60), _value(t=731 * 1440), _value(t=True), _value(t="43200"), _value(e=2**63),
    _value(e=int(NOW.timestamp()) + 3600), _value(e=0), _value(c="#general"), _value(c="<!here>"),
    _value(c="C0TEAM\n"), _value(i=[]), _value(i=["4"] * 101), _value(i=["a\nb"]),
    _value(i=[4]), _value(i="4"), _value(u="account"), _value(i=["x" * 255]),
    json.dumps({**json.loads(_value()), "x": 1}), _value(i=None),
    *HOSTILE,
]  # fmt: skip


@pytest.mark.parametrize("value", FORGED)
def test_a_forged_value_is_read_as_none(value: Any) -> None:
    try:
        assert Redraw.read(value, NOW) is None
    except TypeError:  # unhashable hostile values never reach `read` as anything but text
        pytest.fail(f"read raised on {value!r:.60}")


CONTROL = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029"}


@pytest.mark.parametrize("id", [h for h in HOSTILE if isinstance(h, str)])
def test_hostile_ids_are_refused_or_carried_as_they_are(id: str) -> None:
    """Ids reach only parameterised SQL and escaped rendering: any text a source names an
    agent by goes, but nothing with a control character, a lone surrogate or too long."""
    read = Redraw.read(_value(i=[id]), NOW)
    plain = (
        len(id) <= 254 and not set(id) & CONTROL and not any(0xD800 <= ord(c) <= 0xDFFF for c in id)
    )
    assert (read is not None) == plain and (read is None or read.ids == (id,))


@pytest.mark.parametrize(
    "ids",
    [
        ("zoë",), ("Ana Lopez",), ("ana@example.com", "José Núñez", "李雷", "O'Brien"),
        tuple(str(i) for i in range(150)), tuple(f"{i:0>30}" for i in range(60)),
        ("x" * 255,), ("tab\there",), ("\ud800",), ("line\u2028break",),
        *((h,) for h in HOSTILE[:60] if isinstance(h, str)),
    ],
)  # fmt: skip
def test_a_button_is_offered_only_when_its_value_reads_back(ids: tuple[str, ...]) -> None:
    """A button refused on every click is worse than none: the value is written only when
    `read` takes it back as it is."""
    drawn = Redraw("ingested", "agent", ids, 30 * 1440, int(NOW.timestamp()), "C0TEAM")
    value = drawn.value()
    assert value == "" or Redraw.read(value, NOW + timedelta(minutes=5)) == drawn
    if ids[0] in ("zoë", "Ana Lopez", "ana@example.com"):
        assert value  # ids the sources really give: their button works
    if len(ids) > 100 or "x" * 255 in ids:
        assert value == ""


def test_an_id_from_the_grammar_or_a_survey_gets_its_button() -> None:
    query = parse("/csat", "trend skill " + ",".join(map(str, range(100))) + " 30d")
    assert isinstance(query, Query) and isinstance(query.ids, tuple) and len(query.ids) == 100
    drawn = Redraw("liveperson", "skill", query.ids, query.timeframe, int(NOW.timestamp()), "C0T")
    assert Redraw.read(drawn.value(), NOW) == drawn


# --- the answer -------------------------------------------------------------------------


def test_every_sample_renders_within_slacks_limits() -> None:
    renderer = Renderer()
    for context in trend_contexts()["csat_trend.yml.j2"]:
        message = renderer.render("csat_trend.yml.j2", **context)
        assert check_message(message) == [] and len(message["blocks"]) <= 50


def test_the_answer_says_what_a_lead_reads() -> None:
    renderer = Renderer(timezone=BERLIN)
    month, years, few, many, nothing = (
        renderer.render("csat_trend.yml.j2", **c) for c in trend_contexts()["csat_trend.yml.j2"][:5]
    )
    text = json.dumps(month, ensure_ascii=False)
    assert "History covers 12 days 4 hours of 30 days" in text
    assert "Mon 02 Mar" in text and "Busiest skills" in text and "…and 5 more skills" in text
    assert "trend_post_chart" in text and '\\"c\\":\\"C0TEAM\\"' in text
    assert "w/c Mon" in json.dumps(years, ensure_ascii=False)
    assert "too few for a score" in json.dumps(few, ensure_ascii=False)
    assert "only 6 answers: too few for a score" in json.dumps(years, ensure_ascii=False)
    assert "…and 18 more skills with answers" in json.dumps(many, ensure_ascii=False)
    assert "has not collected its own history yet" in json.dumps(nothing, ensure_ascii=False)


# --- the service over a real store --------------------------------------------------------


class Source:
    def __init__(self, name: str, units: tuple[str, ...]) -> None:
        self.name, self.vendor, self.units = name, name, units

    def check(self, query: Query) -> None:
        assert query.timeframe <= 1440  # a trend never asks the vendor's limits of its timeframe


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    found = Store(str(tmp_path / "bot.db"))
    yield found
    found.close()


def _commands(store: Store, now: datetime) -> Commands:
    sources = Sources({"liveperson": Source("liveperson", ("account", "skill", "agent")),
                       "ingested": Source("ingested", ("account", "agent")),
                       "livechat": Source("livechat", ("account", "group", "agent"))})  # type: ignore[dict-item]  # fmt: skip
    renderer = Renderer(timezone=BERLIN)
    trends = Trends(sources, renderer, store, BERLIN, lambda: now, daily_distribution)
    return Commands(sources, renderer, trends=trends)


async def test_liveperson_day_by_day_from_the_history(store: Store) -> None:
    first = datetime(2026, 3, 28, 10, tzinfo=UTC)
    pieces = {
        first + timedelta(hours=h): [
            CsatRow("skill", "4", None, counts(10, 9 if h < 24 else 5),
                    (CsatRow("agent", "7", None, counts(10, 9 if h < 24 else 5)),)),
        ]
        for h in range(0, 60, 6)
    }  # fmt: skip
    store.sync(lambda db: q.store_csat(db, pieces, BERLIN, first))
    commands = _commands(store, NOW)
    plan = commands.prepare("/csat", "trend liveperson skill 4 7d", "C0TEAM")
    assert (
        plan.query is not None and plan.query.trend and "history of LivePerson" in plan.ack["text"]
    )
    message = await commands.answer(plan)
    text = json.dumps(message, ensure_ascii=False)
    assert "History covers 10 hours of 7 days" in text  # ten hours were collected
    assert "Sat 28 Feb" not in text and "Sun 29 Mar" in text
    assert "50.0%" in text and "90.0%" in text and "trend_post_chart" in text


async def test_weekly_coverage_is_said_against_the_days_the_weeks_show(store: Store) -> None:
    """A weekly trend starts on the Monday before the days asked: the history may cover
    more than the days asked, never more than the days shown."""
    now = datetime(2026, 3, 12, 10, 30, tzinfo=UTC)  # a Thursday
    first = now.replace(minute=0) - timedelta(days=36)  # collecting for 36 days
    pieces = {first + timedelta(hours=h): [CsatRow("skill", "4", None, counts(10, 9))]
              for h in range(36 * 24)}  # fmt: skip
    store.sync(lambda db: q.store_csat(db, pieces, BERLIN, first))
    commands = _commands(store, now)
    message = await commands.answer(commands.prepare("/csat", "trend liveperson skill 4 33d"))
    text = json.dumps(message, ensure_ascii=False)
    span = period(now, 33 * 1440, BERLIN, hourly=True)
    assert span.step == "week" and span.shown == 33 + 6  # from Sun 8 Feb back to Mon 2 Feb
    assert "last 33 days, week by week" in text
    assert "History covers 36 days of the 39 days shown" in text


def test_the_days_shown_are_the_days_asked_day_by_day() -> None:
    assert period(NOW, 7 * 1440, BERLIN, hourly=True).shown == 7
    assert period(NOW, 90 * 1440, BERLIN, hourly=True).shown == 93  # from Mon 29 Dec


async def test_all_agents_rank_in_sql_beside_the_account_of_the_skills(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/csat trend agent all`: the busiest four read, the rest only counted, and the
    account is the skills' totals (answers no agent was given included), not the agents'."""
    first = datetime(2026, 3, 30, 10, tzinfo=UTC)
    agents = tuple(CsatRow("agent", str(a), None, counts(a, a)) for a in range(1, 31))
    pieces = {first + timedelta(hours=h): [
        CsatRow("skill", "4", None, sum((r.counts for r in agents), counts(100, 0)), agents)
    ] for h in range(6)}  # fmt: skip
    store.sync(lambda db: q.store_csat(db, pieces, BERLIN, first))
    read: list[Any] = []
    real = q.csat_series

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        read.append(found)
        return found

    monkeypatch.setattr(q, "csat_series", spy)
    commands = _commands(store, NOW)
    plan = commands.prepare("/csat", "trend liveperson agent all 7d", "C0TEAM")
    assert plan.query is not None
    found = await commands.trends.report(plan.query, NOW)  # type: ignore[union-attr]
    assert all(len(series) <= 5 for series in read)  # the account and the busiest four
    assert found.main.kind == "account" and found.main.total == counts(6 * 565, 6 * 465)
    assert [e.id for e in found.entities] == ["30", "29", "28", "27"] and found.more == 26


async def test_the_series_and_their_coverage_are_one_snapshot(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection committing between the reads (the digest process) must not make the
    coverage count hours the numbers lack."""
    first = datetime(2026, 3, 30, 10, tzinfo=UTC)
    row = [CsatRow("skill", "4", None, counts(10, 9))]
    store.sync(lambda db: q.store_csat(db, {first + timedelta(hours=h): row for h in range(5)},
                                       BERLIN, first))  # fmt: skip
    real = q.csat_series

    def collected_meanwhile(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        other = open_db(str(tmp_path / "bot.db"))  # another process: its own connection
        more = {first + timedelta(hours=h): row for h in range(5, 9)}
        q.store_csat(other, more, BERLIN, first)
        other.close()
        return found

    monkeypatch.setattr(q, "csat_series", collected_meanwhile)
    commands = _commands(store, NOW)
    plan = commands.prepare("/csat", "trend liveperson skill 4 7d")
    assert plan.query is not None
    found = await commands.trends.report(plan.query, NOW)  # type: ignore[union-attr]
    assert found.main.total == counts(50, 45)
    assert found.coverage is not None and found.coverage.hours == 5


async def test_ingested_by_local_day(store: Store) -> None:
    def put(db: Any) -> None:
        for n, (moment, score) in enumerate([("2026-03-30T21:59:00.000Z", 5),  # Mon, Berlin
                                             ("2026-03-30T22:01:00.000Z", 1),  # Tue, Berlin
                                             ("2026-03-31T06:00:00.000Z", 4)]):  # fmt: skip
            db.execute(
                "insert into responses (id, ticket_id, submitted_at, agent, score, score5, raw)"
                " values (?, ?, ?, 'ana', ?, ?, '{}')",
                [str(n), str(n), moment, score, score],
            )

    store.sync(put)
    commands = _commands(store, NOW)
    message = await commands.answer(commands.prepare("/csat", "trend ingested agent ana 2d"))
    text = json.dumps(message, ensure_ascii=False)
    assert "Tue 31 Mar      50.0%" in text and "Mon 30 Mar     100.0%" in text
    assert "trend_post_chart" not in text  # no channel given: nowhere to post a chart


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("trend livechat", "Trend is not available for LiveChat yet"),
        ("trend ingested skill 4", "Ingested surveys has no skills"),
        ("liveperson trend", "`trend` comes first"),
    ],
)
async def test_what_a_trend_cannot_answer_is_the_ack(store: Store, text: str, said: str) -> None:
    plan = _commands(store, NOW).prepare("/csat", text)
    assert plan.query is None and said in plan.ack["text"]


async def test_without_a_store_a_trend_is_refused_in_words() -> None:
    commands = Commands(Sources({}), Renderer())
    plan = commands.prepare("/csat", "trend")
    assert plan.query is None and "Trend is not available" in plan.ack["text"]


def test_parse_keeps_the_trend_apart() -> None:
    assert parse("/csat", "trend") != parse("/csat", "30d")


def test_few_is_the_documented_bar() -> None:
    assert FEW == 10


async def test_the_newest_hour_not_collected_yet_is_not_missing(store: Store) -> None:
    """At 10:05 the 09:00 hour waits for the 10:07:30 collection: /csat ends its window at
    09:00 and calls the history whole, and so does the trend."""
    first = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 3, 12, 9, tzinfo=UTC)
    hours = int((end - first).total_seconds() // 3600)
    pieces = {first + i * timedelta(hours=1): [CsatRow("skill", "4", None, counts(10, 9))]
              for i in range(hours)}  # fmt: skip
    store.sync(lambda db: q.store_csat(db, pieces, BERLIN, first))
    for now, whole in ((datetime(2026, 3, 12, 10, 5, tzinfo=UTC), True),
                       (datetime(2026, 3, 12, 12, 5, tzinfo=UTC), False)):  # fmt: skip
        commands = _commands(store, now)
        message = await commands.answer(commands.prepare("/csat", "trend skill 4 30d"))
        text = json.dumps(message, ensure_ascii=False)
        assert ("collected hour by hour" in text) is whole, text
        assert ("History covers" in text) is not whole
