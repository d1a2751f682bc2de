"""Pure data and arithmetic: CSAT distributions and the windows they really cover.

Nothing here does I/O or reads the clock; `now` is always an argument. Entities and
states are kept by stable ids; a `name` is what the vendor called one, or None, and the
words for either are the templates' (`words.yml`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Generic, NamedTuple, TypeVar

BUCKET_MINUTES = 5
Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval


@dataclass(frozen=True, slots=True)
class CsatCounts:
    """Answers per score 1..5, as counted by the vendor."""

    scores: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    total: int = 0
    positive: int = 0

    @classmethod
    def from_scores(cls, scores: tuple[int, int, int, int, int]) -> CsatCounts:
        """Counts whose total and positives (4 and 5) follow from the scores."""
        return cls(scores, sum(scores), scores[3] + scores[4])

    @property
    def score(self) -> float | None:
        """Share of positive answers, 0..1; None when nobody answered."""
        return self.positive / self.total if self.total else None

    def share(self, score: int) -> float:
        """Share of answers that gave `score` (1..5)."""
        return self.scores[score - 1] / self.total if self.total else 0.0

    def __add__(self, other: CsatCounts) -> CsatCounts:
        a, b = self.scores, other.scores
        scores = (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4])
        return CsatCounts(scores, self.total + other.total, self.positive + other.positive)


def wilson(positive: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: honest even for small samples (alerts
    judge drops by it, trends show it beside each day's score)."""
    if total <= 0:
        return 0.0, 1.0
    p = positive / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


Counts = TypeVar("Counts", "CsatCounts", "GoodBad")  # a 1-5 distribution, or thumbs


@dataclass(frozen=True, slots=True)
class CsatRow(Generic[Counts]):
    """One skill, agent or group with its counts; a skill may carry its agents."""

    kind: str
    id: str
    name: str | None  # as the vendor named it; None: it gave only the id
    counts: Counts
    agents: tuple[CsatRow[Counts], ...] = ()


def member(unit: str, id: str, agent: str) -> tuple[str, str]:
    """The (kind, id) of an agent within a skill (or group): its own entity, as one agent
    may serve several skills. `membership` reads it back."""
    return f"{unit}_agent", f"{id}:{agent}"


def membership(kind: str, id: str) -> tuple[str, str, str] | None:
    """(unit, its id, the agent's id) for an agent within a skill; None for other entities."""
    if not kind.endswith("_agent"):
        return None
    outer, _, agent = id.partition(":")
    return kind.removesuffix("_agent"), outer, agent


@dataclass(frozen=True)
class Window:
    """The time a report covers, next to the time that was asked for (all UTC)."""

    asked_start: datetime
    start: datetime
    end: datetime

    @property
    def widened(self) -> bool:
        """True when the vendor's buckets reach back before what was asked."""
        return self.start < self.asked_start.replace(second=0, microsecond=0)


def floor_to_bucket(moment: datetime, minutes: int = BUCKET_MINUTES) -> datetime:
    """The start of the bucket `moment` falls in."""
    moment = moment.replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % minutes)


def bucket_window(now: datetime, timeframe_minutes: int) -> Window:
    """What LivePerson's 5-minute buckets really cover when asked for the last N minutes.

    At 13:29 with a 7-minute timeframe the API reads buckets 13:25 and 13:30, so the data
    spans 13:20-13:29, not 13:22-13:29.
    """
    asked = now - timedelta(minutes=timeframe_minutes)
    return Window(asked_start=asked, start=floor_to_bucket(asked), end=now)


def floor_hour(moment: datetime) -> datetime:
    """The start of the hour `moment` falls in: the bot keeps its history in whole hours."""
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Coverage:
    """Which part of a window the bot's own history covers, for an answer beyond a vendor's
    window: a person must see a week that is half collected as half a week.

    Minutes, so that templates say "6 days 4 hours" without knowing about hours; `missing`
    are the runs of hours not collected from the window's start or `since`, whichever is
    later: before `since` the bot was not collecting yet (not a gap), after it an hour
    not collected is missing, at the window's start as anywhere else.
    """

    asked: int  # the timeframe asked for, in minutes
    start: datetime  # the window: whole hours
    end: datetime
    covered: int = 0  # minutes of the window the history has
    first: datetime | None = None  # the start of its first collected hour
    last: datetime | None = None  # the end of its last collected hour
    missing: tuple[tuple[datetime, datetime], ...] = ()
    since: datetime | None = None  # the first hour the bot has kept; None: it never collected

    @property
    def length(self) -> int:
        """The window's minutes (the timeframe, up to the whole hour it starts in)."""
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def full(self) -> bool:
        return self.covered >= self.length

    @classmethod
    def of(
        cls,
        asked: int,
        start: datetime,
        end: datetime,
        hours: Sequence[datetime],
        since: datetime | None,
    ) -> Coverage:
        """The coverage of [start, end) by the collected hour starts `hours` (in it, sorted),
        `since` the first hour the bot has kept."""
        hour = timedelta(hours=1)
        kept = set(hours)
        runs: list[tuple[datetime, datetime]] = []
        moment = end if since is None else max(start, floor_hour(since))
        while moment < end:
            if moment not in kept:
                if runs and runs[-1][1] == moment:
                    runs[-1] = (runs[-1][0], moment + hour)
                else:
                    runs.append((moment, moment + hour))
            moment += hour
        if not hours:
            return cls(asked, start, end, missing=tuple(runs), since=since)
        return cls(
            asked, start, end, 60 * len(hours), hours[0], hours[-1] + hour, tuple(runs), since
        )


def exact_window(now: datetime, timeframe_minutes: int) -> Window:
    """A window that is exactly what was asked (sources without buckets)."""
    asked = now - timedelta(minutes=timeframe_minutes)
    return Window(asked_start=asked, start=asked, end=now)


@dataclass(frozen=True)
class CsatReport:
    """A CSAT answer: the totals, the rows behind them, and the window they cover."""

    source: str
    vendor: str
    scope: str  # account | skill | agent | group
    window: Window
    total: CsatCounts | GoodBad
    rows: tuple[CsatRow[Any], ...] = ()  # CsatRow[CsatCounts] or CsatRow[GoodBad], as total
    fetched_at: datetime | None = None
    response_times: ResponseTimes | None = None
    coverage: Coverage | None = None  # answered from the bot's own history: what it covers

    @property
    def scale(self) -> str:
        """`1-5` for survey scores, `good/bad` for thumbs."""
        return "good/bad" if isinstance(self.total, GoodBad) else "1-5"

    def ranked(self) -> tuple[CsatRow[Any], ...]:
        """Rows with the most answers first: where the score means the most."""
        return tuple(sorted(self.rows, key=lambda r: (-r.counts.total, _natural(r.name or r.id))))


def _natural(text: str) -> tuple[str | tuple[int, str], ...]:
    """ "Skill 13" after "Skill 9": digits compare as numbers (by length, then digit by digit,
    so a 5,000-digit id sorts without being turned into an int)."""
    if text.isascii() and text.isdigit():  # most ids: what the split below gives, sooner
        digits = text.lstrip("0")
        return ("", (len(digits), digits), "")
    return tuple(
        (len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p for i, p in enumerate(_DIGITS(text))
    )


_DIGITS = re.compile(r"(\d+)").split


# --- ratings without a 1-5 scale (LiveChat's thumbs) -------------------------------------


@dataclass(frozen=True, slots=True)
class GoodBad:
    """Good and bad ratings; CSAT is good / (good + bad)."""

    good: int = 0
    bad: int = 0
    chats: int = 0  # chats in the window, rated or not

    @property
    def total(self) -> int:
        """Rated chats: the answers behind the score."""
        return self.good + self.bad

    @property
    def score(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def rated_share(self) -> float | None:
        """Share of chats that got a rating at all."""
        return self.total / self.chats if self.chats else None

    def __add__(self, other: GoodBad) -> GoodBad:
        return GoodBad(self.good + other.good, self.bad + other.bad, self.chats + other.chats)


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """Average first response and response time over the window, in seconds."""

    first_response: float | None = None
    first_response_chats: int = 0
    response: float | None = None
    response_chats: int = 0


def weighted_mean(pairs: list[tuple[float, int]]) -> float | None:
    """The mean of per-day averages weighted by their counts; None without any count."""
    weight = sum(count for _, count in pairs)
    return sum(value * count for value, count in pairs) / weight if weight else None


# --- agent states ---------------------------------------------------------------------


class StateTime(NamedTuple):
    """Seconds in one state, split as the vendor splits it. Parts may not add up.

    A named tuple where the other values are frozen dataclasses: a 20,000-agent answer
    makes 100,000 of these, and a frozen dataclass's `__init__` took three times as long.
    `+` adds the times (it does not join the tuples).
    """

    total: int = 0
    chatting: int = 0
    not_chatting: int = 0
    max_concurrency: int = 0

    def __add__(self, other: StateTime) -> StateTime:  # type: ignore[override]
        return StateTime(
            self.total + other.total,
            self.chatting + other.chatting,
            self.not_chatting + other.not_chatting,
            self.max_concurrency + other.max_concurrency,
        )

    @property
    def chatting_share(self) -> float | None:
        return self.chatting / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class AgentStates:
    """One agent's (or the team's) time: logged in, then each state with its reasons."""

    id: str
    name: str | None  # as the vendor named them; None: it gave only the id
    logged_in: StateTime
    states: tuple[tuple[str, StateTime], ...] = ()  # (state id, time), in display order
    reasons: tuple[tuple[str, StateTime], ...] = ()  # away reasons: (reason id, time)

    def state(self, key: str) -> StateTime:
        return next((t for state, t in self.states if state == key), StateTime())

    @property
    def away_share(self) -> float | None:
        """Share of logged-in time away; None when never logged in."""
        away = away_seconds({key: t.total for key, t in self.states}) or 0
        return away / self.logged_in.total if self.logged_in.total else None


# state ids: LivePerson's Online, Back soon, Away; LiveChat's accepting and not accepting
ONLINE, BACK_SOON, AWAY = "online", "back_soon", "away"
ACCEPTING, NOT_ACCEPTING = "accepting", "not_accepting"
AWAY_STATES = (AWAY, NOT_ACCEPTING)  # what "away" is at each vendor


def away_seconds(states: Mapping[str, int]) -> int | None:
    """Seconds away, by whichever vendor's state for it is there; None when neither is."""
    for key in AWAY_STATES:  # a loop, not next(generator): twice per agent in a comparison
        if key in states:
            return states[key]
    return None


def add_states(
    rows: tuple[AgentStates, ...] | list[AgentStates], id: str = "team", name: str | None = None
) -> AgentStates:
    """Team totals: every state and reason summed, in first-seen order.

    Summed as plain numbers, made `StateTime`s once at the end: 20,000 agents would
    otherwise make a hundred thousand intermediate ones.
    """
    states: dict[str, list[int]] = {}
    reasons: dict[str, list[int]] = {}
    logged_in = [0, 0, 0, 0]
    for row in rows:
        _add(logged_in, row.logged_in)
        for key, time in row.states:
            _add(states[key] if key in states else states.setdefault(key, [0, 0, 0, 0]), time)
        for key, time in row.reasons:
            _add(reasons[key] if key in reasons else reasons.setdefault(key, [0, 0, 0, 0]), time)
    return AgentStates(
        id,
        name,
        StateTime(*logged_in),
        tuple((key, StateTime(*sums)) for key, sums in states.items()),
        tuple((key, StateTime(*sums)) for key, sums in reasons.items()),
    )


def _add(sums: list[int], time: StateTime) -> None:
    sums[0] += time.total
    sums[1] += time.chatting
    sums[2] += time.not_chatting
    sums[3] += time.max_concurrency


@dataclass(frozen=True)
class Interval:
    """One slice of an interval report: its own start and end, and the agents in it."""

    start: datetime
    end: datetime
    agents: tuple[AgentStates, ...]

    @property
    def team(self) -> AgentStates:
        return add_states(self.agents)


@dataclass(frozen=True)
class AgentStatesReport:
    """An /agent-states answer: per agent, the team, intervals when asked for."""

    source: str
    vendor: str
    window: Window
    agents: tuple[AgentStates, ...]
    intervals: tuple[Interval, ...] = ()
    availability_hours: float | None = None  # LiveChat: hours the chat was available
    fetched_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # vendor names of unknown states
    coverage: Coverage | None = None  # answered from the bot's own history: what it covers

    @cached_property
    def team(self) -> AgentStates:
        """Team totals; summed once, 5,000 agents are not free."""
        return add_states(self.agents)

    def ranked(self) -> tuple[AgentStates, ...]:
        """Longest logged in first."""
        return tuple(
            sorted(self.agents, key=lambda a: (-a.logged_in.total, _natural(a.name or a.id)))
        )


def interval_bounds(
    ends: list[datetime], interval_minutes: int, window: Window
) -> list[tuple[datetime, datetime]]:
    """(start, end) per interval from LivePerson's end timestamps, clipped to the window.

    Timestamps mark the interval's end and the latest is rounded up past now; the
    earliest interval only covers the remainder of the timeframe.
    """
    step = timedelta(minutes=interval_minutes)
    return [(max(end - step, window.asked_start), min(end, window.end)) for end in ends]
