"""Pure: what explains a drop, and the headline that says it first.

A parent (the account, or a skill) dropped; its parts (the skills of the account, the
agents of a skill) explain it. A part's share of the lost points is what the parent would
have kept had that part held its level before: its answers now × (its level before − its
score now) ÷ the parent's answers now. The parts' shares add up to the parent's drop but
for the mix: points that moved only because answers shifted between parts of different
levels. Availability: a part's lost logged-in seconds against its own mean before.

The levels before are taken when the alert opens and kept with it (`alerts.parts`), so
every later update and the recovery compare with the level before the alert, not with
yesterday. Parts are dicts (`entity_kind`, `entity_id`, `entity_name`, `now`, `before`,
`answers`, `lost`, `share`, and for the account's skills `within`: the agents that explain
the skill's own drop): the templates read them, the store keeps them as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.alerts.detect import Evaluation, Metric, Reason
from bot.metrics import membership
from bot.snapshots.queries import Past
from bot.snapshots.rows import TOTAL, away_share

Key = tuple[str, str]
Part = dict[str, Any]
SHOWN = 5  # parts named in a message
WITHIN = 3  # agents named under each skill of the account's alert
MINOR = 0.1  # a part with less than this share of the drop is not named
WITHIN_SKILLS, WITHIN_KEPT = 50, 25  # the account's skills whose agents are kept, and how many
KEPT = 200  # levels kept with an alert: the parts with the most answers before


def children(rows: list[dict[str, Any]], kind: str, id: str) -> list[dict[str, Any]]:
    """The rows that make up one entity: the account's skills (or agents, or groups), a
    skill's agents within it; an agent has none."""
    return _members(rows).get((kind, id), [])


def _members(rows: list[dict[str, Any]]) -> dict[Key, list[dict[str, Any]]]:
    """Every entity's parts, found in one pass over the rows (a big account's review
    looks at hundreds of skills: one pass each would be quadratic)."""
    found: dict[Key, list[dict[str, Any]]] = {}
    for r in rows:
        if r["entity_kind"] == TOTAL:
            continue
        within = membership(r["entity_kind"], r["entity_id"])
        parent = (TOTAL, "") if within is None else (within[0], within[1])
        found.setdefault(parent, []).append(r)
    return found


def _shown_as(row: Mapping[str, Any]) -> tuple[str, str]:
    """An agent within a skill is shown as the agent."""
    within = membership(row["entity_kind"], row["entity_id"])
    return ("agent", within[2]) if within is not None else (row["entity_kind"], row["entity_id"])


def levels(rows: list[dict[str, Any]], past: Mapping[Key, Past], ev: Evaluation) -> dict[str, Any]:
    """The level before of each part of `ev`'s entity, as `alerts.parts` keeps it.

    CSAT: (positive, answers) on the same basis the parent was judged on (the previous
    snapshot, or the pooled baseline); availability: the mean logged-in seconds and the
    mean Away share. At most `KEPT` parts: those with the most answers (or time) before;
    for the account, the `WITHIN_KEPT` busiest agents of each of its `WITHIN_SKILLS`
    busiest skills too, so a skill it names can name its agents.
    """
    members = _members(rows)
    kept: dict[str, Any] = {
        "metric": str(ev.metric),
        "parts": _levels(members.get((ev.entity_kind, ev.entity_id), []), past, ev)[:KEPT],
    }
    if ev.entity_kind == TOTAL and ev.metric == Metric.CSAT:  # the agents within each skill
        inner = []
        for part in kept["parts"][:WITHIN_SKILLS]:
            agents = _levels(members.get((part[0], part[1]), []), past, ev)[:WITHIN_KEPT]
            inner += [[*p, part[1]] for p in agents]
        kept["within"] = inner
    return kept


def _levels(
    found: list[dict[str, Any]], past: Mapping[Key, Past], ev: Evaluation
) -> list[list[Any]]:
    """Each row's level before, busiest first: [row kind, row id, kind, id, level, weight]."""
    pooled = ev.against_runs > 1
    out: list[list[Any]] = []
    for row in found:
        before = past.get((row["entity_kind"], row["entity_id"]))
        if before is None:
            continue
        kind, id = _shown_as(row)
        if ev.metric == Metric.CSAT:
            x, n = (
                (before.positive_sum, before.answers_sum)
                if pooled
                else (int(before.positive or 0), int(before.answers or 0))
            )
            if n:
                out.append([row["entity_kind"], row["entity_id"], kind, id, x, n])
        elif ev.metric == Metric.LOGGED_IN:
            out.append([row["entity_kind"], row["entity_id"], kind, id, before.logged_mean, 1])
        elif before.share_mean is not None:
            out.append([row["entity_kind"], row["entity_id"], kind, id, before.share_mean, 1])
    out.sort(key=lambda p: -(p[5] if ev.metric == Metric.CSAT else p[4]))
    return out


def explain(
    rows: list[dict[str, Any]], kept: Mapping[str, Any] | None, ev: Evaluation,
    before: float | None,
) -> tuple[Part, ...]:  # fmt: skip
    """The parts that explain `ev`'s drop against the kept levels, most first.

    `before` is the parent's level it is judged against (the level before the alert).
    Only parts that lost are named; the share is of the parent's lost points (CSAT) or
    lost logged-in time, None where there is nothing lost to share.
    """
    if not kept or not kept.get("parts") or ev.current is None:
        return ()
    now_rows = {(r["entity_kind"], r["entity_id"]): r for r in rows}
    parent = now_rows.get((ev.entity_kind, ev.entity_id))
    if parent is None:
        return ()
    found: list[Part] = []
    if ev.metric == Metric.CSAT:
        total = int(parent.get("answers") or 0)
        parent_lost = (before - ev.current) * 100 if before is not None else None
        for row_kind, row_id, kind, id, x_before, n_before in kept["parts"]:
            row = now_rows.get((row_kind, row_id))
            answers = int(row.get("answers") or 0) if row is not None else 0
            if row is None or not answers or not total or not n_before:
                continue
            level, score = x_before / n_before, int(row.get("positive") or 0) / answers
            lost = answers * (level - score) / total * 100
            found.append(_part(kind, id, row, score, level, answers, lost, parent_lost))
    else:
        logged = ev.metric == Metric.LOGGED_IN
        parent_lost = (before - ev.current) if logged and before is not None else None
        for row_kind, row_id, kind, id, level, _ in kept["parts"]:
            row = now_rows.get((row_kind, row_id))
            if logged:  # an agent the report leaves out logged in for no time at all
                now = float(row.get("logged_in") or 0) if row is not None else 0.0
                lost = level - now
            elif row is None:
                continue
            else:
                share = away_share(row)
                if share is None:
                    continue
                now, lost = share, (share - level) * 100
            found.append(_part(kind, id, row, now, level, None, lost, parent_lost))
    found.sort(key=lambda p: -p["lost"])
    shown = tuple(p for p in found[:SHOWN] if _matters(p, ev.metric))
    if ev.metric == Metric.CSAT and kept.get("within"):
        shown = tuple(_with_agents(rows, kept["within"], p) for p in shown)
    return shown


def _matters(part: Part, metric: Metric) -> bool:
    """A part worth naming: it lost, and not a sliver of the drop (a tenth at least, and
    half a CSAT point) — noise left out, so the parts named are the ones to act on."""
    if part["lost"] <= 0 or (part["share"] is not None and part["share"] < MINOR):
        return False
    return metric != Metric.CSAT or part["lost"] >= 0.5


def _with_agents(rows: list[dict[str, Any]], within: list[list[Any]], part: Part) -> Part:
    """A skill of the account's alert with the agents that explain its own drop."""
    inner = {"metric": "csat", "parts": [p[:6] for p in within if p[6] == part["entity_id"]]}
    skill = replace(
        _STUB, entity_kind=part["entity_kind"], entity_id=part["entity_id"], current=part["now"]
    )
    agents = explain(rows, inner, skill, part["before"])[:WITHIN]
    return {**part, "within": agents} if agents else part


_STUB = Evaluation("", "", None, Metric.CSAT, True, Reason("drop"))


def _part(
    kind: str, id: str, row: Mapping[str, Any] | None, now: float, before: float,
    answers: int | None, lost: float, parent_lost: float | None,
) -> Part:  # fmt: skip
    share = lost / parent_lost if parent_lost and parent_lost > 0 else None
    name = row.get("entity_name") if row is not None and kind == row["entity_kind"] else None
    return {
        "entity_kind": kind, "entity_id": id, "entity_name": name, "now": now,
        "before": before, "answers": answers, "lost": lost, "share": share,
    }  # fmt: skip


def headline(ev: Evaluation, parts: tuple[Part, ...], account: Evaluation | None) -> dict[str, Any]:
    """What the top message says first: the entity that moved most, its value now and its
    change, and the account's (when the alert is not the account's own).

    For the account's own alert the part that lost most is the headline when there is
    one: "CSAT drop in Orders: 50 % (−24 pts) · account 66 % (−8)".
    """
    found: dict[str, Any] = {"metric": str(ev.metric), "p": ev.p_value, "answers": ev.answers}
    signed = _change(ev.metric, ev.current, ev.against)
    if ev.entity_kind == TOTAL and parts:
        top = parts[0]
        found |= {
            "entity_kind": top["entity_kind"], "entity_id": top["entity_id"],
            "entity_name": top["entity_name"], "now": top["now"],
            "change": _change(ev.metric, top["now"], top["before"]),
            "account_now": ev.current, "account_change": signed,
        }  # fmt: skip
        return found
    found |= {
        "entity_kind": ev.entity_kind, "entity_id": ev.entity_id, "entity_name": ev.name,
        "now": ev.current, "change": signed,
    }  # fmt: skip
    if ev.entity_kind != TOTAL and account is not None and account.current is not None:
        found |= {
            "account_now": account.current,
            "account_change": _change(ev.metric, account.current, account.against),
        }
    return found


def _change(metric: Metric | str, now: float | None, before: float | None) -> float | None:
    """Signed: CSAT and Away share in points, logged-in time in % of the level before."""
    if now is None or before is None:
        return None
    if metric == Metric.LOGGED_IN:
        return (now - before) / before * 100 if before else None
    return (now - before) * 100
