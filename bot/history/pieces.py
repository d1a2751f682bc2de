"""Pure: which nested windows one collection asks LivePerson for, and the hourly pieces
their differences make (`now` is an argument).

LivePerson answers the last T minutes (T <= 1440). msgcsatdistribution counts whole
5-minute buckets from `floor5(now - T)` to now; for an hour start h, the timeframe
`T(h) = floor_minutes(now - h)` puts `now - T` within the minute after h, so the window
starts exactly at h. The collector plans with `now` about 30 s past a minute, so `now - T`
is about h + 30 s and LivePerson's clock may be up to ~30 s off ours either way: planned
a few ms past a minute, a clock a few ms behind would start every window 5 minutes early.
Two such windows, one hour apart, differ by exactly the hour between them: the oldest of
24 windows minus the next is the oldest hour, and so on, the newest (unfinished) hour
being only subtracted. agentactivity's windows are exact (`now - T`), so its pieces start
the seconds of `now - h` past the hour (about 30) later.

Before any piece is made, the answers must nest (`csat_disagreement`,
`states_disagreement`): a narrower window never counts more than the wider one around
it, beyond a small slack, and no agent's state piece is longer than its hour beyond that
slack. A "no data" answer for one window (LivePerson sometimes sends an empty
`metricsPerSkill`) would otherwise make the hour before it the whole wider window, stored
once and for good.

Differences are taken per skill × agent per score (and per agent per state, per reason
and per part), and a negative one (an answer that arrived between two calls, LivePerson's
rounding) counts 0: a piece never takes away what another hour holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.metrics import AgentStates, CsatCounts, CsatRow, StateTime

HOUR = timedelta(hours=1)
MAX_TIMEFRAME = 1440  # minutes: the most LivePerson answers
ANSWERS_SLACK = 2  # answers a narrower window may count beyond its wider one (arrivals)
SECONDS_SLACK = 2  # seconds: LivePerson rounds each answer's state seconds (±1 s)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def timeframe(now: datetime, hour: datetime) -> int:
    """T(h): the whole minutes from `hour` to `now`, the timeframe whose window starts at it."""
    return int((now - hour).total_seconds() // 60)


@dataclass(frozen=True)
class Plan:
    """What one collection of one kind asks for and what it can store.

    `boundaries` are (hour start, timeframe), oldest first: each but the newest starts the
    piece of its hour. `missing` are the hours after the last one collected that no window
    reaches any more (the bot was down longer than LivePerson keeps).
    """

    now: datetime
    boundaries: tuple[tuple[datetime, int], ...]
    missing: tuple[datetime, ...] = ()

    @property
    def hours(self) -> tuple[datetime, ...]:
        """The hours whose pieces this plan makes, oldest first."""
        return tuple(h for h, _ in self.boundaries[:-1])

    @property
    def timeframes(self) -> tuple[int, ...]:
        return tuple(t for _, t in self.boundaries) if len(self.boundaries) > 1 else ()


def plan(now: datetime, last: datetime | None) -> Plan:
    """The boundaries h with 1 <= T(h) <= 1440 newer than `last` (the latest hour
    collected), and the hours between `last` and the oldest of them no window reaches."""
    newest = floor_hour(now)
    if timeframe(now, newest) < 1:  # HH:00:30: a window cannot start at HH:00 yet
        newest -= HOUR
    boundaries = []
    hour = newest
    while timeframe(now, hour) <= MAX_TIMEFRAME and (last is None or hour > last):
        boundaries.append((hour, timeframe(now, hour)))
        hour -= HOUR
    boundaries.reverse()
    missing: list[datetime] = []
    if last is not None:
        first = boundaries[0][0] if boundaries else newest + HOUR
        gap = last + HOUR
        while gap < first:
            missing.append(gap)
            gap += HOUR
    if len(boundaries) < 2:  # one window alone makes no piece
        boundaries = []
    return Plan(now, tuple(boundaries), tuple(missing))


# --- CSAT -------------------------------------------------------------------------------


def _less(a: CsatCounts, b: CsatCounts | None) -> CsatCounts:
    """a - b per score, each at least 0; the total and positives at least what those
    scores add up to (a score clamped at 0 must not leave a total short of its parts)."""
    if b is None:
        return a
    s1 = max(0, a.scores[0] - b.scores[0])
    s2 = max(0, a.scores[1] - b.scores[1])
    s3 = max(0, a.scores[2] - b.scores[2])
    s4 = max(0, a.scores[3] - b.scores[3])
    s5 = max(0, a.scores[4] - b.scores[4])
    total = max(a.total - b.total, s1 + s2 + s3 + s4 + s5)
    positive = min(total, max(a.positive - b.positive, s4 + s5))
    return CsatCounts((s1, s2, s3, s4, s5), total, positive)


def _empty(counts: CsatCounts) -> bool:
    return not counts.total and not any(counts.scores)


def csat_difference(
    wider: Sequence[CsatRow[CsatCounts]], narrower: Sequence[CsatRow[CsatCounts]]
) -> tuple[CsatRow[CsatCounts], ...]:
    """The skill rows (with their agents) of `wider` minus `narrower`, rows that come to
    nothing left out.

    A skill's total is its own difference, as LivePerson counts the skill (what `/csat
    skill` shows live, answers no agent row carries included), not the sum of its agents'
    pieces; each agent's piece is its own difference within that skill.
    """
    before = {row.id: row for row in narrower}
    rows = []
    for row in wider:
        other = before.get(row.id)
        others = {a.id: a.counts for a in other.agents} if other is not None else {}
        agents = tuple(
            CsatRow("agent", a.id, None, counts)
            for a in row.agents
            if not _empty(counts := _less(a.counts, others.get(a.id)))
        )
        counts = _less(row.counts, other.counts if other is not None else None)
        if agents or not _empty(counts):
            rows.append(CsatRow("skill", row.id, None, counts, agents))
    return tuple(rows)


def csat_pieces(
    plan: Plan, answers: Mapping[int, Sequence[CsatRow[CsatCounts]]]
) -> dict[datetime, tuple[CsatRow[CsatCounts], ...]]:
    """Each planned hour's skill rows from the answers by timeframe (an hour nobody
    answered in is there, with no rows)."""
    return {
        hour: csat_difference(answers[wide], answers[narrow])
        for (hour, wide), (_, narrow) in zip(plan.boundaries, plan.boundaries[1:], strict=False)
    }


# --- agent states -----------------------------------------------------------------------


def _minus(a: StateTime, b: StateTime | None) -> StateTime:
    if b is None:
        return a
    return StateTime(
        max(0, a.total - b.total),
        max(0, a.chatting - b.chatting),
        max(0, a.not_chatting - b.not_chatting),
        max(0, a.max_concurrency - b.max_concurrency),
    )


def _parts_less(
    wider: Iterable[tuple[str, StateTime]], narrower: Iterable[tuple[str, StateTime]]
) -> tuple[tuple[str, StateTime], ...]:
    before = dict(narrower)
    return tuple((key, time) for key, t in wider if any(time := _minus(t, before.get(key))))


def states_difference(
    wider: Sequence[AgentStates], narrower: Sequence[AgentStates]
) -> tuple[AgentStates, ...]:
    """Each agent of `wider` minus its time in `narrower`: logged in, each state and each
    away reason, part by part; agents and parts that come to nothing left out."""
    before = {agent.id: agent for agent in narrower}
    agents = []
    for agent in wider:
        other = before.get(agent.id)
        if other is None:
            logged_in, states, reasons = agent.logged_in, agent.states, agent.reasons
        else:
            logged_in = _minus(agent.logged_in, other.logged_in)
            states = _parts_less(agent.states, other.states)
            reasons = _parts_less(agent.reasons, other.reasons)
        states = tuple((k, t) for k, t in states if any(t))
        reasons = tuple((k, t) for k, t in reasons if any(t))
        if any(logged_in) or states or reasons:
            agents.append(AgentStates(agent.id, None, logged_in, states, reasons))
    return tuple(agents)


def states_pieces(
    plan: Plan, answers: Mapping[int, Sequence[AgentStates]]
) -> dict[datetime, tuple[AgentStates, ...]]:
    """Each planned hour's agents from the answers by timeframe (an hour nobody was
    logged in is there, with no agents)."""
    return {
        hour: states_difference(answers[wide], answers[narrow])
        for (hour, wide), (_, narrow) in zip(plan.boundaries, plan.boundaries[1:], strict=False)
    }


# --- do the answers nest? -------------------------------------------------------------


def _window(hour: datetime, timeframe: int) -> str:
    return f"the {timeframe}-minute window (from {hour:%H:%M} UTC)"


def answers_in(rows: Sequence[CsatRow[CsatCounts]]) -> int:
    """All answers of one msgcsatdistribution answer: the sum of its skills' totals."""
    return sum(row.counts.total for row in rows)


def csat_changed(first: Sequence[CsatRow[CsatCounts]], again: Sequence[CsatRow[CsatCounts]]) -> int:
    """The answers by which two answers for the same window differ, skill by skill: what
    arrived (or went) between the two calls."""
    before = {row.id: row.counts.total for row in first}
    after = {row.id: row.counts.total for row in again}
    return sum(abs(after.get(k, 0) - before.get(k, 0)) for k in before.keys() | after.keys())


def csat_disagreement(
    plan: Plan, answers: Mapping[int, Sequence[CsatRow[CsatCounts]]], slack: int = ANSWERS_SLACK
) -> str | None:
    """Which two nested windows disagree, in words, or None when they all nest.

    A narrower window may count more than the wider one around it only by `slack` answers
    (they arrive while the windows are asked), per skill and for the account, a wider one
    that counts nothing at all (a "no data" answer, or a quiet hour) included. Otherwise
    the difference would be a piece of the wrong size, stored for good.
    """
    for (hour, wide), (inner, narrow) in zip(plan.boundaries, plan.boundaries[1:], strict=False):
        wider, narrower = answers[wide], answers[narrow]
        both = f"{_window(hour, wide)} and {_window(inner, narrow)} inside it"
        outer, inside = answers_in(wider), answers_in(narrower)
        if inside - outer > slack:
            return f"{both}: {outer} answers in the wider, {inside} in the narrower"
        totals = {row.id: row.counts.total for row in wider}
        for row in narrower:
            if row.counts.total - totals.get(row.id, 0) > slack:
                return (
                    f"{both}: skill {row.id} has {totals.get(row.id, 0)} answers in the"
                    f" wider, {row.counts.total} in the narrower"
                )
    return None


def states_disagreement(
    plan: Plan, answers: Mapping[int, Sequence[AgentStates]], slack: float = SECONDS_SLACK
) -> str | None:
    """Which two nested windows disagree, in words, or None when they all nest.

    An agent's logged-in seconds in a narrower window may pass those in the wider one only
    by `slack` (LivePerson's rounding, and the seconds the windows slid between their
    calls); never when the wider has nobody logged in at all (a "no data" answer). And no
    agent's piece (the wider less the narrower) may hold more seconds of any state than
    its hour lasts, plus `slack`: a narrower window answered "no data" would leave the
    whole wider window as that hour.
    """
    longest = HOUR.total_seconds() + slack
    for (hour, wide), (inner, narrow) in zip(plan.boundaries, plan.boundaries[1:], strict=False):
        wider = {a.id: a.logged_in.total for a in answers[wide]}
        narrower = {a.id: a.logged_in.total for a in answers[narrow]}
        both = f"{_window(hour, wide)} and {_window(inner, narrow)} inside it"
        outer, inside = sum(wider.values()), sum(narrower.values())
        if outer == 0 and inside > slack:
            return f"{both}: nobody logged in in the wider, {inside} s in the narrower"
        for agent, seconds in narrower.items():
            if seconds - wider.get(agent, 0) > slack:
                return (
                    f"{both}: agent {agent} logged in {wider.get(agent, 0)} s in the wider,"
                    f" {seconds} s in the narrower"
                )
    # then each piece's length (a "no data" wider window is named by the nesting above)
    for (hour, wide), (inner, narrow) in zip(plan.boundaries, plan.boundaries[1:], strict=False):
        both = f"{_window(hour, wide)} and {_window(inner, narrow)} inside it"
        for piece in states_difference(answers[wide], answers[narrow]):
            parts = (
                ("logged in", piece.logged_in),
                *((f"in state {key}", time) for key, time in piece.states),
                *((f"away for reason {key}", time) for key, time in piece.reasons),
            )
            for part, time in parts:
                if max(time) > longest:
                    return (
                        f"{both}: agent {piece.id} has {max(time)} s {part} in the hour"
                        f" between them, which lasts {HOUR.total_seconds():.0f} s"
                    )
    return None
