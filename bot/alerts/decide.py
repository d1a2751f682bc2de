"""Pure: should anyone be told? Like Alertmanager's dedup stage, `decide()` is a function
of the open alert (if any), the evaluation and `now`, returning an action and a reason.

`judge()` does it for a whole snapshot: every entity evaluated against its `Past`, an open
alert held to the level before it opened, a drop inside a dropping parent folded into the
parent's thread. It takes its data and `now` as arguments, so the review runs it off the
event loop (20,000 agents are a few hundred milliseconds of arithmetic).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.alerts import detect
from bot.alerts.detect import Evaluation, Metric
from bot.config import AlertRules, Rule
from bot.metrics import membership
from bot.snapshots.queries import Past
from bot.snapshots.rows import TOTAL

log = logging.getLogger(__name__)


class Action(StrEnum):
    OPEN = "open"  # a new top-level message, calling in the team leads
    THREAD = "thread"  # an update in the open alert's thread, nobody pinged
    WORSE = "worse"  # a thread update saying it got worse, nobody pinged
    RESOLVE = "resolve"  # a thread message and the top message marked resolved
    SILENT = "silent"  # recorded only (snoozed)
    NONE = "none"


@dataclass(frozen=True)
class AlertState:
    """What the store knows of the latest alert for a problem."""

    status: str  # firing | resolved
    opened_drop: float | None = None
    acked_by: str | None = None
    snoozed_until: datetime | None = None


def decide(
    alert: AlertState | None, evaluation: Evaluation, now: datetime, rule: Rule
) -> tuple[Action, str]:
    """The action for one problem, and why."""
    if evaluation.firing is None:
        return Action.NONE, f"no decision: {evaluation.reason}"
    open_alert = alert if alert is not None and alert.status == "firing" else None
    if not evaluation.firing:
        if open_alert is None:
            return Action.NONE, "fine"
        return Action.RESOLVE, "recovered"
    if open_alert is None:
        return Action.OPEN, "re-fires after resolving" if alert is not None else "first"
    if open_alert.snoozed_until is not None and open_alert.snoozed_until > now:
        return Action.SILENT, f"snoozed until {open_alert.snoozed_until:%Y-%m-%d %H:%M}"
    if (evaluation.drop or 0) >= (open_alert.opened_drop or 0) + rule.worse_points:
        return Action.WORSE, "worse than when it opened"
    if open_alert.acked_by:
        return Action.THREAD, f"persists (acknowledged by {open_alert.acked_by})"
    return Action.THREAD, "persists"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One problem of a snapshot: its latest alert row (if any), evaluation and action."""

    problem: str
    alert: dict[str, Any] | None
    evaluation: Evaluation
    action: Action
    why: str
    folded: bool = False  # a parent fires too: this one is told in the parent's thread


def problem_key(source: str, kind: str, ev: Evaluation) -> str:
    return f"{source}|{kind}|{ev.entity_kind}:{ev.entity_id}|{ev.metric}"


def state_of(row: Mapping[str, Any] | None) -> AlertState | None:
    """The `AlertState` of an `alerts` row."""
    if row is None:
        return None
    until = row.get("snoozed_until")
    return AlertState(
        row["status"],
        row.get("opened_drop"),
        row.get("acked_by"),
        datetime.fromisoformat(until) if until else None,
    )


def judge(
    rows: list[dict[str, Any]],
    past: Mapping[tuple[str, str], Past],
    known: Mapping[str, dict[str, Any]],
    source: str,
    kind: str,
    rules: AlertRules,
    now: datetime,
) -> list[Verdict]:
    """The problems of one snapshot that something happens to: decided, folded, with why.

    `rows` is the snapshot, `past` each entity's earlier rows reduced (`series_past`),
    `known` the latest alert of each problem (`alerts.queries.latest_alerts`). Every
    entity is evaluated, and an open alert held to the level before it opened; only a
    problem that fires or has an open alert can lead to an action, so only those are kept
    (20,000 agents who are fine leave nothing behind, not even a log line unless asked).
    """
    tests = sum(
        1
        for r in rows
        if (r.get("answers") or 0) >= rules.rule_for(r["entity_kind"], r["entity_id"]).min_answers
    )
    chatty = log.isEnabledFor(logging.DEBUG)
    kept: list[tuple[str, dict[str, Any] | None, Evaluation, Rule]] = []
    firing: set[tuple[str, str, Metric]] = set()
    for row in rows:
        key = (row["entity_kind"], row["entity_id"])
        rule = rules.rule_for(*key)
        if kind == "csat":
            evaluations = [detect.csat_against(row, past.get(key), rule, tests)]
        else:
            evaluations = detect.availability_against(row, past.get(key), rule)
        for ev in evaluations:
            problem = problem_key(source, kind, ev)
            latest = known.get(problem)
            open_alert = latest is not None and latest["status"] == "firing"
            if open_alert and latest is not None:
                ev = detect.still_firing(ev, latest.get("opened_against"), rule)
            if ev.firing:
                firing.add((ev.entity_kind, ev.entity_id, ev.metric))
            if ev.firing or (open_alert and ev.firing is not None):
                kept.append((problem, latest, ev, rule))
            elif chatty:
                log.debug("alert %s: %s (%s)", problem, *decide(state_of(latest), ev, now, rule))
    verdicts = []
    for problem, latest, ev, rule in kept:
        if ev.entity_kind == TOTAL and ev.metric == Metric.CSAT:
            ev = replace(ev, movers=movers(rows, past))
        action, why = decide(state_of(latest), ev, now, rule)
        # one problem, one thread: a drop inside a dropping parent is told in the
        # parent's thread (as what moved it), not as an alert of its own
        folded = any((*p, ev.metric) in firing for p in ancestors(ev))
        if action == Action.OPEN and folded:
            action, why = Action.NONE, "folded into its parent's alert"
        log.info("alert %s: %s (%s)", problem, action, why)
        verdicts.append(Verdict(problem, latest, ev, action, why, folded))
    return verdicts


def ancestors(ev: Evaluation) -> list[tuple[str, str]]:
    """The entities an entity rolls up into: an agent in a skill -> the skill -> the total."""
    if ev.entity_kind == TOTAL:
        return []
    within = membership(ev.entity_kind, ev.entity_id)
    if within is not None:
        unit, outer, _ = within
        return [(unit, outer), (TOTAL, "")]
    return [(TOTAL, "")]


def movers(
    rows: list[dict[str, Any]], past: Mapping[tuple[str, str], Past]
) -> tuple[dict[str, Any], ...]:
    """The entities that pulled the total down most: lost positive answers vs before."""
    moved = []
    for row in rows:
        if row["entity_kind"] == TOTAL or membership(row["entity_kind"], row["entity_id"]):
            continue
        before = past.get((row["entity_kind"], row["entity_id"]))
        if before is None or not row.get("answers"):
            continue
        if not before.answers or row.get("score") is None or before.score is None:
            continue
        points = (row["score"] - before.score) * 100
        weight = row["answers"] * (row["score"] - before.score)  # positives lost at this volume
        moved.append(
            {
                "entity_kind": row["entity_kind"],
                "entity_id": row["entity_id"],
                "entity_name": row.get("entity_name"),
                "points": points,
                "answers": row["answers"],
                "weight": weight,
            }
        )
    moved.sort(key=lambda m: m["weight"])
    return tuple(m for m in moved[:5] if m["points"] < 0)
