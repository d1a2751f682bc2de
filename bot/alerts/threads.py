"""Alert lifecycle: one thread per problem in the alerts channel, for the team leads.

A problem is (source, kind, entity, metric). The first credible drop opens a top-level
message that calls in the configured team leads; while it persists, updates go into its
thread without pinging anyone; when it recovers the thread says so and the top message
is updated to show it resolved. Acknowledge and Snooze are recorded here (buttons in
`listeners/actions.py`). Decisions are `decide.decide`; this module only acts on them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup

from bot.alerts import detect
from bot.alerts.decide import Action, AlertState, decide
from bot.alerts.detect import Evaluation, Metric
from bot.alerts.queries import get_alert, insert_alert, latest_alerts, update_alert
from bot.config import AlertRules, Rule
from bot.db import Store
from bot.errors import ActionError
from bot.metrics import membership
from bot.render import Renderer
from bot.slack import Poster
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import TOTAL
from bot.timefmt import now_iso

log = logging.getLogger(__name__)
SNOOZES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}


def problem_key(source: str, kind: str, ev: Evaluation) -> str:
    return f"{source}|{kind}|{ev.entity_kind}:{ev.entity_id}|{ev.metric}"


def _state(row: dict[str, Any] | None) -> AlertState | None:
    if row is None:
        return None
    until = row.get("snoozed_until")
    return AlertState(
        row["status"],
        row.get("opened_drop"),
        row.get("acked_by"),
        datetime.fromisoformat(until) if until else None,
    )


class Alerting:
    """Reviews every snapshot a digest takes and keeps one thread per problem."""

    def __init__(
        self,
        rules: AlertRules,
        store_: Store,
        poster: Poster | None,
        renderer: Renderer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.rules = rules
        self.store = store_
        self.poster = poster
        self.renderer = renderer
        self.clock = clock

    def rule(self, entity_kind: str, entity_id: str) -> Rule:
        return self.rules.rule_for(entity_kind, entity_id)

    async def review(
        self,
        series: str,
        source: str,
        kind: str,
        run_id: int,
        rows: list[dict[str, Any]],
        digest: str,
    ) -> list[tuple[Action, Evaluation]]:
        """Evaluate a stored snapshot's rows against their history and act on each problem."""
        if not self.rules.channel or self.poster is None:
            return []
        runs = self.rules.baseline_runs
        history = await self.store(lambda db: snapshots.series_history(db, series, run_id, runs))
        evaluations: list[Evaluation] = []
        tests = sum(
            1
            for r in rows
            if (r.get("answers") or 0) >= self.rule(r["entity_kind"], r["entity_id"]).min_answers
        )
        for row in rows:
            key = (row["entity_kind"], row["entity_id"])
            rule = self.rule(*key)
            if kind == "csat":
                evaluations.append(detect.evaluate_csat(row, history.get(key, []), rule, tests))
            else:
                evaluations += detect.evaluate_availability(row, history.get(key, []), rule)
        movers = _movers(rows, history)
        # one read for every problem, not one store round trip per agent
        known = await self.store(lambda db: latest_alerts(db, source, kind))
        judged = []
        for ev in evaluations:
            problem = problem_key(source, kind, ev)
            latest = known.get(problem)
            if latest is not None and latest["status"] == "firing":
                rule = self.rule(ev.entity_kind, ev.entity_id)
                ev = detect.still_firing(ev, latest.get("opened_against"), rule)
            if ev.entity_kind == TOTAL and ev.metric == Metric.CSAT:
                ev = replace(ev, movers=movers)
            judged.append((problem, latest, ev))
        firing = {(e.entity_kind, e.entity_id, e.metric) for _, _, e in judged if e.firing}
        done = []
        for problem, latest, ev in judged:
            # one problem, one thread: a drop inside a dropping parent is told in the
            # parent's thread (as what moved it), not as an alert of its own
            folded = any((*p, ev.metric) in firing for p in _ancestors(ev))
            action = await self._act(problem, latest, source, kind, ev, digest, may_open=not folded)
            done.append((action, ev))
        return done

    async def _act(
        self,
        problem: str,
        row: dict[str, Any] | None,
        source: str,
        kind: str,
        ev: Evaluation,
        digest: str,
        may_open: bool = True,
    ) -> Action:
        rule = self.rule(ev.entity_kind, ev.entity_id)
        action, why = decide(_state(row), ev, self.clock(), rule)
        if action == Action.OPEN and not may_open:
            action, why = Action.NONE, "folded into its parent's alert"
        log.info("alert %s: %s (%s)", problem, action, why)
        if action == Action.OPEN:
            await self._open(problem, source, kind, ev, digest, why)
        elif action in (Action.THREAD, Action.WORSE, Action.RESOLVE) and row is not None:
            await self._follow(row, ev, action, why, digest)
        elif action == Action.SILENT and row is not None:
            await self._record(row["id"], ev)
        return action

    async def _open(
        self, problem: str, source: str, kind: str, ev: Evaluation, digest: str, why: str
    ) -> None:
        assert self.poster is not None and self.rules.channel is not None
        now = now_iso(self.clock())
        alert = {
            "problem": problem,
            "source": source,
            "kind": kind,
            "entity_kind": ev.entity_kind,
            "entity_id": ev.entity_id,
            "entity_name": ev.name,
            "metric": str(ev.metric),
            "status": "firing",
            "opened_at": now,
            "channel": self.rules.channel,
            "opened_drop": ev.drop,
            "opened_against": ev.against,
            "last_drop": ev.drop,
            "last_reason": ev.reason,
            "updates": 0,
        }
        alert_id = await self.store(lambda db: insert_alert(db, alert))
        alert["id"] = alert_id
        top = self.renderer.render(
            "alert.yml.j2",
            alert=alert,
            evaluation=ev,
            digest=digest,
            mention=Markup(self.rules.mention),  # configured: it may ping
            fresh=True,
        )
        ts = await self.poster.post(self.rules.channel, top)
        await self.store(lambda db: update_alert(db, alert_id, {"ts": ts}))
        detail = self.renderer.render(
            "alert_update.yml.j2", alert=alert, evaluation=ev, action="open", why=why, digest=digest
        )
        await self.poster.post(self.rules.channel, detail, thread_ts=ts)

    async def _follow(
        self, row: dict[str, Any], ev: Evaluation, action: Action, why: str, digest: str
    ) -> None:
        assert self.poster is not None
        update = self.renderer.render(
            "alert_update.yml.j2",
            alert=row,
            evaluation=ev,
            action=str(action),
            why=why,
            digest=digest,
        )
        await self.poster.post(row["channel"], update, thread_ts=row["ts"])
        changes: dict[str, Any] = {
            "last_drop": ev.drop,
            "last_reason": ev.reason,
            "updates": (row.get("updates") or 0) + 1,
        }
        if action == Action.RESOLVE:
            changes |= {"status": "resolved", "resolved_at": now_iso(self.clock())}
        await self.store(lambda db: update_alert(db, row["id"], changes))
        if action == Action.RESOLVE:
            await self._refresh({**row, **changes})

    async def _record(self, alert_id: int, ev: Evaluation) -> None:
        changes = {"last_drop": ev.drop, "last_reason": ev.reason}
        await self.store(lambda db: update_alert(db, alert_id, changes))

    async def _refresh(self, row: dict[str, Any]) -> None:
        """Re-render the top message (resolved, acknowledged, snoozed); no one is pinged."""
        assert self.poster is not None
        top = self.renderer.render(
            "alert.yml.j2",
            alert=row,
            evaluation=None,
            digest="",
            mention=Markup(self.rules.mention),  # configured: it may ping
            fresh=False,
        )
        await self.poster.update(row["channel"], row["ts"], top)

    # --- the buttons ------------------------------------------------------------------

    async def acknowledge(self, alert_id: int, user: str) -> dict[str, Any]:
        now = now_iso(self.clock())
        return await self._change(alert_id, {"acked_by": user, "acked_at": now})

    async def snooze(self, alert_id: int, user: str, period: str) -> dict[str, Any]:
        if period not in SNOOZES:
            raise ActionError("bad_snooze", period=period, periods=list(SNOOZES))
        until = now_iso(self.clock() + SNOOZES[period])
        return await self._change(alert_id, {"snoozed_until": until, "snoozed_by": user})

    async def _change(self, alert_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        row = await self.store(lambda db: get_alert(db, alert_id))
        if row is None:
            raise ActionError("no_alert", alert_id=alert_id)
        await self.store(lambda db: update_alert(db, alert_id, changes))
        row = {**row, **changes}
        if self.poster is not None and row.get("ts"):
            await self._refresh(row)
        return row


def _ancestors(ev: Evaluation) -> list[tuple[str, str]]:
    """The entities an entity rolls up into: an agent in a skill -> the skill -> the total."""
    if ev.entity_kind == TOTAL:
        return []
    within = membership(ev.entity_kind, ev.entity_id)
    if within is not None:
        unit, outer, _ = within
        return [(unit, outer), (TOTAL, "")]
    return [(TOTAL, "")]


def _movers(
    rows: list[dict[str, Any]], history: dict[tuple[str, str], list[dict[str, Any]]]
) -> tuple[dict[str, Any], ...]:
    """The entities that pulled the total down most: lost positive answers vs before."""
    moved = []
    for row in rows:
        before = history.get((row["entity_kind"], row["entity_id"]))
        if row["entity_kind"] == TOTAL or membership(row["entity_kind"], row["entity_id"]):
            continue
        if not before or not row.get("answers"):
            continue
        old = before[0]
        if not old.get("answers") or row.get("score") is None or old.get("score") is None:
            continue
        points = (row["score"] - old["score"]) * 100
        weight = row["answers"] * (row["score"] - old["score"])  # positives lost at this volume
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
