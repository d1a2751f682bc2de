"""Pure: reports -> snapshot rows, and what changed since the previous snapshot.

A snapshot row holds every metric value of one entity (a skill, an agent, a group, or
the total) so later runs, charts and alerts can compare without asking the vendor.
Entities and states are kept by id; `entity_name` only when the vendor gave a name.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from bot import jsonscan
from bot.metrics import (
    AgentStates,
    AgentStatesReport,
    CsatCounts,
    CsatReport,
    GoodBad,
    away_seconds,
    member,
)

TOTAL = "total"
Key = tuple[str, str]  # (entity_kind, entity_id)


def csat_rows(report: CsatReport) -> list[dict[str, Any]]:
    """The total and one row per skill, agent or group, with every count."""
    rows = [_csat_row(TOTAL, "", None, report.total)]
    for r in report.rows:
        rows.append(_csat_row(r.kind, r.id, r.name, r.counts))
        # an agent within a skill: its own entity, as the same agent may serve several skills
        rows += [_csat_row(*member(r.kind, r.id, a.id), None, a.counts) for a in r.agents]
    return rows


def _csat_row(kind: str, id: str, name: str | None, counts: CsatCounts | GoodBad) -> dict[str, Any]:
    if isinstance(counts, GoodBad):
        return {
            "entity_kind": kind, "entity_id": id, "entity_name": name,
            "answers": counts.total, "score": counts.score, "positive": counts.good,
            "good": counts.good, "bad": counts.bad, "chats": counts.chats,
        }  # fmt: skip
    s1, s2, s3, s4, s5 = counts.scores  # one literal: 20,000 rows are built per digest
    return {
        "entity_kind": kind, "entity_id": id, "entity_name": name,
        "answers": counts.total, "score": counts.score, "positive": counts.positive,
        "s1": s1, "s2": s2, "s3": s3, "s4": s4, "s5": s5,
    }  # fmt: skip


def states_rows(report: AgentStatesReport) -> list[dict[str, Any]]:
    """The team and one row per agent: logged-in and chatting seconds, states, reasons.

    `states` and `reasons` are JSON `{id: seconds}`: state ids (`away`, ...) and reason ids.
    """
    return [_states_row(TOTAL, report.team)] + [_states_row("agent", a) for a in report.agents]


def _states_row(kind: str, agent: AgentStates) -> dict[str, Any]:
    return {
        "entity_kind": kind,
        "entity_id": "" if kind == TOTAL else agent.id,
        "entity_name": None if kind == TOTAL else agent.name,
        "logged_in": agent.logged_in.total,
        "chatting": agent.logged_in.chatting,
        "states": jsonscan.dumps({key: t.total for key, t in agent.states}),
        "reasons": jsonscan.dumps({key: t.total for key, t in agent.reasons}),
    }


class Change(NamedTuple):
    """How one entity moved since the previous snapshot; None where it was not there.

    A named tuple: a digest makes one per entity (20,000 agents), and a frozen dataclass's
    `__init__` took eight times as long as `tuple.__new__`."""

    score_points: float | None = None  # CSAT, in percentage points
    answers: int | None = None
    logged_in: int | None = None  # seconds
    away_share_points: float | None = None  # share of logged-in time away, in points


NEW = Change()  # an entity the previous snapshot did not have
_new_tuple = tuple.__new__


def away_share(row: dict[str, Any]) -> float | None:
    """Share of logged-in time in Away (LivePerson) or Not accepting (LiveChat)."""
    if "away_seconds" in row:  # read by SQLite with the row (`queries.compared_rows`)
        away = row["away_seconds"]
    else:
        states = row.get("states") or {}
        if isinstance(states, str):
            states = jsonscan.loads(states)  # once per agent in a comparison
        away = away_seconds(states)
    logged = row.get("logged_in") or 0
    return away / logged if away is not None and logged else None


def compare(
    current: list[dict[str, Any]], previous: dict[Key, dict[str, Any]]
) -> dict[Key, Change]:
    """Per entity of `current`, its change against the same entity in `previous`."""
    changes = {}
    for row in current:
        key = (row["entity_kind"], row["entity_id"])
        before = previous.get(key)
        if before is None:
            changes[key] = NEW
            continue
        score = _points(row.get("score"), before.get("score"))
        answers = _minus(row.get("answers"), before.get("answers"))
        logged = _minus(row.get("logged_in"), before.get("logged_in"))
        away = _points(away_share(row), away_share(before))
        changes[key] = _new_tuple(Change, (score, answers, logged, away))
    return changes


def _points(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else (now - before) * 100


def _minus(now: int | None, before: int | None) -> int | None:
    return None if now is None or before is None else now - before
