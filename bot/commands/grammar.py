"""Slash-command text -> a `Query`, or a `UsageError` that says what is wrong.

Pure: no I/O, no settings. The grammar (see CONTRACT in the docs):

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
from typing import Literal

from bot.errors import UsageError
from bot.query import SOURCES, UNITS, Command, Query
from bot.timefmt import DURATION, parse_duration

DEFAULT_TIMEFRAME = {"/csat": 24 * 60, "/agent-states": 60}

_ID = r"(-?[0-9]+|[\w.+-]+@[\w-]+(\.[\w-]+)+)"  # numeric ids, or LiveChat's agent emails
_IDS = re.compile(rf"^{_ID}(,{_ID})*$")
_FREE_IDS = re.compile(r"^[\w.+@-]+(,[\w.+@-]+)*$", re.ASCII)


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
            source = _once(source, low, "a source", command)
        elif low in UNITS or (low.endswith("s") and low[:-1] in UNITS):
            if command == "/agent-states":
                raise UsageError(
                    f"`{word}`: /agent-states takes agent ids directly, without a unit word",
                    command,
                )
            unit = _once(unit, low.rstrip("s"), "skill, agent or group", command)
        elif low == "all":
            ids = _once(ids, "all", "the ids", command)
        elif _IDS.match(low) and (
            "," in low or "@" in low or _takes_ids(command, unit, ids, durations)
        ):
            ids = _once(ids, tuple(dict.fromkeys(low.split(","))), "the ids", command)
        else:
            try:
                durations.append(parse_duration(low))
            except ValueError as exc:
                if unit == "agent" and ids is None and _FREE_IDS.match(word):
                    # survey tools name agents freely (agent_id "a1"); sources check their ids
                    ids = tuple(dict.fromkeys(word.split(",")))
                    continue
                shown = word if len(word) <= 40 else word[:40] + "…"
                problem = str(exc) if DURATION.match(low) else f"I don't understand `{shown}`."
                raise UsageError(f"{problem}{_suggest(low)}", command) from None
    return _build(command, source, unit, ids, durations)


def _suggest(word: str) -> str:
    close = difflib.get_close_matches(word, [*SOURCES, *UNITS, "all", "help"], n=1, cutoff=0.7)
    return f" Did you mean `{close[0]}`?" if close else ""


def _takes_ids(command: Command, unit: str | None, ids: object, durations: list[int]) -> bool:
    """Whether a bare number here is an id rather than minutes."""
    if ids is not None or durations:
        return False
    return command == "/agent-states" or unit is not None


def _once(current: object, new: object, what: str, command: Command):  # type: ignore[no-untyped-def]
    if current is not None and current != new:
        raise UsageError(f"Give {what} only once.", command)
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
        expected = "a timeframe and an interval" if limit == 2 else "one timeframe"
        raise UsageError(f"Too many durations: give {expected} at most.", command)
    timeframe = durations[0] if durations else DEFAULT_TIMEFRAME[command]
    interval = durations[1] if len(durations) > 1 else None
    if command == "/csat":
        if ids is not None and unit is None:
            raise UsageError(
                "Say whose ids these are: `skill`, `agent` or `group` before them.", command
            )
        if unit is not None and ids is None:
            ids = "all"
    else:
        unit = "agent"
        if ids is None:
            ids = "all"
    return Query(command, source, unit or "account", ids, timeframe, interval)
