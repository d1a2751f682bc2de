"""Slash-command text -> a `Query`, or a `UsageError` naming what is wrong.

Pure: no I/O, no settings, no sentences (`_usage.j2` words each problem). The grammar
(see CONTRACT in the docs):

    /csat [SOURCE] [skill|agent|group] [IDS|all] [TIMEFRAME]
    /csat trend [SOURCE] [skill|agent|group] [IDS|all] [TIMEFRAME]
    /agent-states [SOURCE] [IDS|all] [TIMEFRAME] [INTERVAL]

Words may come in any order where they cannot be confused: a source word, a unit word,
`all` or a comma list are recognised wherever they stand, and a number with a unit
(`45m`, `4h`, `1d`) is always a duration. A bare number is an id once a unit word has
been given (`/csat skill 4`), otherwise minutes (`/csat 90`); for /agent-states the first
bare number is the id list, as the grammar puts IDS first.

Names stand where ids do (`/csat skill billing 4h`, `/agent-states Ana,Zoë 2h`): any other
word after a unit word (or in /agent-states) is a name, words in a row make one name
(`tech support`), and quotes (straight or curly) keep a name whole whatever it holds
(`"Tech Support"`, `“24h”`). The query carries them in `named`; the directory turns them
into ids (`commands/resolve.py`).

`trend` is a word only as the first of /csat (elsewhere, after a unit word, it may be a
name): the query asks for the score per day, or per week beyond `DAILY_UP_TO` days, over
a timeframe of whole days (`TREND_TIMEFRAME` by default) that `TREND_LONGEST` bounds, so
that the answer's lines fit one Slack message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeVar

from bot.errors import UsageError
from bot.query import SOURCES, UNITS, Command, Query
from bot.timefmt import DURATION, LONGEST, TooLong, parse_duration

DEFAULT_TIMEFRAME = {"/csat": 24 * 60, "/agent-states": 60}
TREND = "trend"
TREND_TIMEFRAME = 30 * 1440  # minutes: a month, day by day
TREND_SHORTEST = 1440  # a trend's lines are days: at least one
TREND_LONGEST = 730 * 1440  # two years of weeks (105 lines) still fit one message
DAILY_UP_TO = 31  # days: a longer trend goes week by week

_ID = r"(-?[0-9]+|[\w.+-]+@[\w-]+(\.[\w-]+)+)"  # numeric ids, or LiveChat's agent emails
_IDS = re.compile(rf"^{_ID}(,{_ID})*$")
_QUOTES = '"“”„'  # straight and curly double quotes; ’ is an apostrophe in a name
_TOKEN = re.compile(rf"([{_QUOTES}])([^{_QUOTES}]*)[{_QUOTES}]?|([^\s,{_QUOTES}]+)|(,)")
_SHOWN = 40  # characters of a word a problem quotes
LONGEST_ID = 254  # characters: the longest e-mail address, LiveChat's agent ids
T = TypeVar("T")


@dataclass(frozen=True)
class Help:
    """`/csat help`: the person wants the explanation, not data."""

    command: Command


class _Item(NamedTuple):
    text: str
    quoted: bool


def _groups(text: str) -> list[list[_Item]]:
    """The words, quoted names kept whole, and comma lists as one group of items."""
    groups: list[list[_Item]] = []
    joined = False
    for m in _TOKEN.finditer(text):
        if m.group(4):
            joined = bool(groups)
            continue
        item = _Item(" ".join(m.group(2).split()), True) if m.group(1) else _Item(m.group(3), False)
        if item.quoted and not item.text:
            continue  # "" names nothing
        if joined:
            groups[-1].append(item)
        else:
            groups.append([item])
        joined = False
    return groups


def parse(command: Command, text: str) -> Query | Help:
    """Read the words after the slash command."""
    text = re.sub(r"<mailto:[^|>]+\|([^>]+)>", r"\1", text)  # Slack's linked emails
    # Slack sends &, < and > as entities: `Billing & Returns` is a name, not `&amp;` and a `;`
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    groups = _groups(text.replace(";", " "))
    if any(
        len(g) == 1 and not g[0].quoted and g[0].text.lower() in ("help", "-h", "--help", "?")
        for g in groups
    ):
        return Help(command)
    trend = bool(groups) and len(groups[0]) == 1 and not groups[0][0].quoted
    trend = trend and groups[0][0].text.lower() == TREND
    if trend and command == "/agent-states":
        raise UsageError("trend_csat_only", command)
    if trend:
        groups = groups[1:]
    source: str | None = None
    unit: str | None = None
    ids: tuple[str, ...] | Literal["all"] | None = None
    named: list[str] = []
    durations: list[int] = []
    last_named = False  # the previous word was (part of) a name: the next may continue it
    for group in groups:
        if len(group) > 1 or group[0].quoted:  # a list, or a quoted name
            found_ids = []
            for n, item in enumerate(group):
                low = item.text.lower()
                if not item.quoted and _IDS.match(low):
                    found_ids.append(low)
                elif n == 0 and last_named and not item.quoted:
                    named[-1] = f"{named[-1]} {item.text}"
                else:
                    named.append(item.text)
            if found_ids:
                ids = _once(ids, _unique(found_ids), "ids", command)
            last_named = not group[-1].quoted and not _IDS.match(group[-1].text.lower())
            continue
        word = group[0].text
        low = word.lower()
        names_here = command == "/agent-states" or unit is not None
        if low in SOURCES:
            source = _once(source, low, "source", command)
        elif low in UNITS or (low.endswith("s") and low[:-1] in UNITS):
            if command == "/agent-states":
                raise UsageError("unit_word", command, word=word)
            unit = _once(unit, low.rstrip("s"), "unit", command)
        elif low == "all":
            ids = _once(ids, "all", "ids", command)
        elif _IDS.match(low) and (
            "@" in low
            or _takes_ids(command, unit, ids if ids is not None or not named else (), durations)
        ):
            ids = _once(ids, (low,), "ids", command)
        else:
            try:
                durations.append(parse_duration(low))
            except TooLong:
                raise UsageError(
                    "too_long", command, word=low[:_SHOWN], cut=len(low) > _SHOWN, limit=LONGEST
                ) from None
            except ValueError:
                if names_here and not durations and not DURATION.match(low):
                    if last_named:
                        named[-1] = f"{named[-1]} {word}"
                    else:
                        named.append(word)
                    last_named = True
                    continue
                if low == TREND:  # `/csat liveperson trend`: the word comes first
                    raise UsageError("trend_first", command) from None
                problem = "not_positive" if DURATION.match(low) else "unknown_word"
                shown = (low if problem == "not_positive" else word)[:_SHOWN]
                cut = len(word) > _SHOWN and problem == "unknown_word"
                raise UsageError(
                    problem, command, word=shown, cut=cut, suggestion=suggest(low)
                ) from None
        last_named = False
    long = next((i for i in ids or () if len(i) > LONGEST_ID), None) if ids != "all" else None
    long = long or next((n for n in named if len(n) > LONGEST_ID), None)
    if long is not None:
        raise UsageError("id_too_long", command, word=long[:_SHOWN], limit=LONGEST_ID)
    query = _build(command, source, unit, ids, tuple(dict.fromkeys(named)), durations, trend)
    if trend and query.timeframe < TREND_SHORTEST:
        raise UsageError("trend_too_short", command, timeframe=query.timeframe)
    if trend and query.timeframe > TREND_LONGEST:
        raise UsageError("trend_too_long", command, timeframe=query.timeframe, limit=TREND_LONGEST)
    return query


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def suggest(word: str) -> str:
    """The command word closest to a misspelt one, or ""."""
    words = [*SOURCES, *UNITS, "all", "help", TREND]
    close = difflib.get_close_matches(word, words, n=1, cutoff=0.7)
    return close[0] if close else ""


def _takes_ids(command: Command, unit: str | None, ids: object, durations: list[int]) -> bool:
    """Whether a bare number here is an id rather than minutes."""
    if ids is not None or durations:
        return False
    return command == "/agent-states" or unit is not None


def _once(current: T | None, new: T, what: str, command: Command) -> T:
    """`new`, unless a different value was given already (`what`: source, unit, ids)."""
    if current is not None and current != new:
        raise UsageError("given_twice", command, what=what)
    return new


def _build(
    command: Command,
    source: str | None,
    unit: str | None,
    ids: tuple[str, ...] | Literal["all"] | None,
    named: tuple[str, ...],
    durations: list[int],
    trend: bool = False,
) -> Query:
    limit = 2 if command == "/agent-states" else 1
    if len(durations) > limit:
        raise UsageError("too_many_durations", command)
    default = TREND_TIMEFRAME if trend else DEFAULT_TIMEFRAME[command]
    timeframe = durations[0] if durations else default
    interval = durations[1] if len(durations) > 1 else None
    if named and ids == "all":
        raise UsageError("given_twice", command, what="ids")
    if command == "/csat":
        if (ids is not None or named) and unit is None:
            raise UsageError("ids_without_unit", command)
    else:
        unit = "agent"
    if ids is None:
        ids = () if named else ("all" if unit is not None else None)
    return Query(command, source, unit or "account", ids, timeframe, interval, named, trend)
