"""`/csat trend`: the first word of /csat, with every combination of the other words, and
every way it can be mistyped worded in `_usage.j2`."""

from __future__ import annotations

import itertools

import pytest

from bot.commands.grammar import TREND_LONGEST, TREND_TIMEFRAME, Help, parse
from bot.errors import UsageError
from bot.query import Command, Query
from tests.words import said

SOURCES = ["", "liveperson", "livechat", "ingested"]
WHOSE = [
    ("", "account", None, ()),
    ("skill", "skill", "all", ()),
    ("agent all", "agent", "all", ()),
    ("group 4", "group", ("4",), ()),
    ("skill 4,15", "skill", ("4", "15"), ()),
    ("skill billing", "skill", (), ("billing",)),
    ('skill "Tech Support"', "skill", (), ("Tech Support",)),
]
TIMEFRAMES = [("", TREND_TIMEFRAME), ("7d", 7 * 1440), ("90d", 90 * 1440), ("36h", 36 * 60)]


@pytest.mark.parametrize(
    ("source", "whose", "timeframe"),
    list(itertools.product(SOURCES, WHOSE, TIMEFRAMES)),
    ids=lambda v: repr(v[0] if isinstance(v, tuple) else v),
)
def test_trend_with_every_combination(
    source: str,
    whose: tuple[str, str, object, tuple[str, ...]],
    timeframe: tuple[str, int],
) -> None:
    words, unit, ids, named = whose
    text = " ".join(w for w in ("trend", source, words, timeframe[0]) if w)
    expected = Query("/csat", source or None, unit, ids, timeframe[1], None, named, trend=True)  # type: ignore[arg-type]
    assert parse("/csat", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TREND", Query("/csat", None, "account", None, TREND_TIMEFRAME, trend=True)),
        ("Trend skill 4 14d", Query("/csat", None, "skill", ("4",), 14 * 1440, trend=True)),
        ("trend 1d", Query("/csat", None, "account", None, 1440, trend=True)),
        ("trend 730d", Query("/csat", None, "account", None, TREND_LONGEST, trend=True)),
        ("trend skill 7d", Query("/csat", None, "skill", "all", 7 * 1440, trend=True)),
        ("skill trend", Query("/csat", None, "skill", (), 1440, named=("trend",))),  # a name
        ('"trend"', None),  # quoted: a name without a unit word
    ],
)
def test_trend_is_a_word_only_first(text: str, expected: Query | None) -> None:
    if expected is None:
        with pytest.raises(UsageError):
            parse("/csat", text)
        return
    assert parse("/csat", text) == expected


def test_trend_help_is_help() -> None:
    assert parse("/csat", "trend help") == Help("/csat")


def test_a_query_without_trend_is_no_trend() -> None:
    parsed = parse("/csat", "skill 4 2h")
    assert isinstance(parsed, Query) and not parsed.trend


@pytest.mark.parametrize(
    ("command", "text", "problem", "words"),
    [
        ("/csat", "liveperson trend", "trend_first", "`trend` comes first"),
        ("/csat", "30d trend", "trend_first", "`trend` comes first"),
        ("/agent-states", "trend all 2h", "trend_csat_only", "Trends are of CSAT"),
        ("/csat", "trend 4h", "trend_too_short", "give at least `1d`; `4h` is shorter"),
        ("/csat", "trend 90", "trend_too_short", "`1h 30m` is shorter"),
        ("/csat", "trend 731d", "trend_too_long", "at most 730 days (week by week); `731d`"),
        ("/csat", "trend 4h 1d", "too_many_durations", "give one timeframe at most"),
        ("/csat", "trend trend", "trend_first", "`trend` comes first"),
        ("/csat", "trend skill all 4,15", "given_twice", "Give the ids only once"),
        ("/csat", "trend 7d skill 4", "too_many_durations", "give one timeframe at most"),
        ("/csat", "trend 4", "trend_too_short", "`4m` is shorter"),
        ("/csat", "trend skil 4", "unknown_word", "Did you mean `skill`?"),
        ("/csat", "trend 4,15", "ids_without_unit", "Say whose ids these are"),
        ("/csat", "trend 0d", "not_positive", "is not a positive duration"),
        ("/csat", "trend 3651d", "too_long", "at most 3650 days"),
        ("/csat", "tremd skill 4", "unknown_word", "Did you mean `trend`?"),
    ],
)
def test_bad_trends_say_why(command: Command, text: str, problem: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(command, text)
    assert caught.value.problem == problem
    assert words in said(caught.value)
