"""Pure: should anyone be told? Like Alertmanager's dedup stage, `decide()` is a function
of the open alert (if any), the evaluation and `now`, returning an action and a reason.

`judge()` does it for a whole snapshot: every entity evaluated against its `Past`, an open
alert held to the level before it opened, a drop inside a dropping parent folded into the
parent's thread, and what explains each drop (`cause`). It takes its data and `now` as
arguments, so the review runs it off the event loop (20,000 agents are a few hundred
milliseconds of arithmetic).

One problem, one voice: several digests or watches may look at the same problem at the
same scheduled time. The first to speak tells the thread; the others record what they
saw and say nothing (`told_for`, the scheduled time an alert last spoke for).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.alerts import cause, detect
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
    told_for: str | None = None  # the scheduled time it last spoke for


def decide(
    alert: AlertState | None,
    evaluation: Evaluation,
    now: datetime,
    rule: Rule,
    told_for: str | None = None,
) -> tuple[Action, str]:
    """The action for one problem, and why; `told_for` is the scheduled time the review
    speaks for (None: a review of its own, such as a digest run by hand)."""
    if evaluation.firing is None:
        return Action.NONE, f"no decision: {evaluation.reason}"
    open_alert = alert if alert is not None and alert.status == "firing" else None
    spoken = told_for is not None and alert is not None and alert.told_for == told_for
    if not evaluation.firing:
        if open_alert is None:
            return Action.NONE, "fine"
        if spoken:  # another digest spoke for this time: the next one tells the recovery
            return Action.SILENT, "told at this scheduled time already"
        return Action.RESOLVE, "recovered"
    if open_alert is None:
        if spoken:  # resolved at this very time by another digest's review: no flapping
            return Action.NONE, "resolved at this scheduled time"
        return Action.OPEN, "re-fires after resolving" if alert is not None else "first"
    if open_alert.snoozed_until is not None and open_alert.snoozed_until > now:
        return Action.SILENT, f"snoozed until {open_alert.snoozed_until:%Y-%m-%d %H:%M}"
    if spoken:
        return Action.SILENT, "told at this scheduled time already"
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
    headline: Mapping[str, Any] | None = None  # what a new alert says first (`cause.headline`)
    levels: Mapping[str, Any] | None = None  # a new alert's parts' levels before (`cause.levels`)


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
        row.get("told_for"),
    )


def judge(
    rows: list[dict[str, Any]],
    past: Mapping[tuple[str, str], Past],
    known: Mapping[str, dict[str, Any]],
    source: str,
    kind: str,
    rules: AlertRules,
    now: datetime,
    told_for: str | None = None,
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
    accounts: dict[Metric, Evaluation] = {}  # the account's own, for the headline
    for row in rows:
        key = (row["entity_kind"], row["entity_id"])
        rule = rules.rule_for(*key)
        if kind == "csat":
            evaluations = [detect.csat_against(row, past.get(key), rule, tests)]
        else:
            evaluations = detect.availability_against(row, past.get(key), rule)
        for ev in evaluations:
            if ev.entity_kind == TOTAL:
                accounts[ev.metric] = ev
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
                log.debug("alert %s: %s (%s)", problem,
                          *decide(state_of(latest), ev, now, rule, told_for))  # fmt: skip
    verdicts = []
    for problem, latest, ev, rule in kept:
        headline = levels = None
        open_alert = latest is not None and latest["status"] == "firing"
        if open_alert and latest is not None:  # against the level before the alert
            kept_levels = latest.get("parts")  # decoded by `alerts.queries`
            ev = replace(
                ev, movers=cause.explain(rows, kept_levels, ev, latest.get("opened_against"))
            )
        elif ev.firing:
            levels = cause.levels(rows, past, ev)
            ev = replace(ev, movers=cause.explain(rows, levels, ev, ev.against))
            headline = cause.headline(ev, ev.movers, accounts.get(ev.metric))
        action, why = decide(state_of(latest), ev, now, rule, told_for)
        # one problem, one thread: a drop inside a dropping parent is told in the
        # parent's thread (as what explains it), not as an alert of its own
        folded = any((*p, ev.metric) in firing for p in ancestors(ev))
        if action == Action.OPEN and folded:
            action, why = Action.NONE, "folded into its parent's alert"
        log.info("alert %s: %s (%s)", problem, action, why)
        verdicts.append(Verdict(problem, latest, ev, action, why, folded, headline, levels))
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
