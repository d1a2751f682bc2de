"""Slash-command text -> a `Query`, or a `UsageError` naming what is wrong.

Pure: no I/O, no settings, no sentences (`_usage.j2` words each problem). The grammar
(see CONTRACT in the docs):

    /csat [SOURCE] [skill|agent|group] [IDS|all] [TIMEFRAME]
    /agent-states [SOURCE] [IDS|all] [TIMEFRAME] [INTERVAL]

Words may come in any order where they cannot be confused: a source word, a unit word,
`all` or a comma list are recognised wherever they stand, and a number with a unit
(`45m`, `4h`, `1d`) is always a duration. A bare number is an id once a unit word has
been given (`/csat skill 4`), otherwise minutes (`/csat 90`); for /agent-states the first
bare number is the id list, as the grammar puts IDS first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal, TypeVar

from bot.errors import UsageError
from bot.query import SOURCES, UNITS, Command, Query
from bot.timefmt import DURATION, LONGEST, TooLong, parse_duration

DEFAULT_TIMEFRAME = {"/csat": 24 * 60, "/agent-states": 60}

_ID = r"(-?[0-9]+|[\w.+-]+@[\w-]+(\.[\w-]+)+)"  # numeric ids, or LiveChat's agent emails
_IDS = re.compile(rf"^{_ID}(,{_ID})*$")
_FREE_IDS = re.compile(r"^[\w.+@-]+(,[\w.+@-]+)*$", re.ASCII)
_SHOWN = 40  # characters of a word a problem quotes
LONGEST_ID = 254  # characters: the longest e-mail address, LiveChat's agent ids
T = TypeVar("T")


@dataclass(frozen=True)
class Help:
    """`/csat help`: the person wants the explanation, not data."""

    command: Command


def parse(command: Command, text: str) -> Query | Help:
    """Read the words after the slash command."""
    text = re.sub(r"<mailto:[^|>]+\|([^>]+)>", r"\1", text)  # Slack's linked emails
    words = re.sub(r"\s*,\s*", ",", text.replace(";", " ")).split()
    if any(w.lower() in ("help", "-h", "--help", "?") for w in words):
        return Help(command)
    source: str | None = None
    unit: str | None = None
    ids: tuple[str, ...] | Literal["all"] | None = None
    durations: list[int] = []
    for word in words:
        low = word.lower().rstrip(",")
        if low in SOURCES:
            source = _once(source, low, "source", command)
        elif low in UNITS or (low.endswith("s") and low[:-1] in UNITS):
            if command == "/agent-states":
                raise UsageError("unit_word", command, word=word)
            unit = _once(unit, low.rstrip("s"), "unit", command)
        elif low == "all":
            ids = _once(ids, "all", "ids", command)
        elif _IDS.match(low) and (
            "," in low or "@" in low or _takes_ids(command, unit, ids, durations)
        ):
            ids = _once(ids, tuple(dict.fromkeys(low.split(","))), "ids", command)
        else:
            try:
                durations.append(parse_duration(low))
            except TooLong:
                raise UsageError(
                    "too_long", command, word=low[:_SHOWN], cut=len(low) > _SHOWN, limit=LONGEST
                ) from None
            except ValueError:
                if unit == "agent" and ids is None and _FREE_IDS.match(word):
                    # survey tools name agents freely (agent_id "a1"); sources check their ids
                    ids = tuple(dict.fromkeys(word.split(",")))
                    continue
                problem = "not_positive" if DURATION.match(low) else "unknown_word"
                shown = (low if problem == "not_positive" else word)[:_SHOWN]
                cut = len(word) > _SHOWN and problem == "unknown_word"
                raise UsageError(
                    problem, command, word=shown, cut=cut, suggestion=_suggest(low)
                ) from None
    long = next((i for i in ids or () if len(i) > LONGEST_ID), None) if ids != "all" else None
    if long is not None:
        raise UsageError("id_too_long", command, word=long[:_SHOWN], limit=LONGEST_ID)
    return _build(command, source, unit, ids, durations)


def _suggest(word: str) -> str:
    """The command word closest to a misspelt one, or ""."""
    close = difflib.get_close_matches(word, [*SOURCES, *UNITS, "all", "help"], n=1, cutoff=0.7)
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
    durations: list[int],
) -> Query:
    limit = 2 if command == "/agent-states" else 1
    if len(durations) > limit:
        raise UsageError("too_many_durations", command)
    timeframe = durations[0] if durations else DEFAULT_TIMEFRAME[command]
    interval = durations[1] if len(durations) > 1 else None
    if command == "/csat":
        if ids is not None and unit is None:
            raise UsageError("ids_without_unit", command)
        if unit is not None and ids is None:
            ids = "all"
    else:
        unit = "agent"
        if ids is None:
            ids = "all"
    return Query(command, source, unit or "account", ids, timeframe, interval)
