"""The review's history in one query: `series_past` against the rows it replaced.

The reference is the review as it was before: every earlier row of every entity read
back (`series_history`, JSON decoded) and evaluated with `statistics`. On random
histories (entities missing from runs, nulls, both vendors' away states, other series
interleaved, per-entity baselines) the query gives the same numbers and the review the
same decisions.
"""

from __future__ import annotations

import json
import logging
import math
import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlite_utils import Database

from bot.alerts.decide import Action, AlertState, Verdict, decide, judge, problem_key, state_of
from bot.alerts.detect import (
    Evaluation,
    Metric,
    Reason,
    csat_against,
    drop_p_value,
    still_firing,
    summarize,
)
from bot.config import AlertRules, Rule
from bot.metrics import membership, wilson
from bot.snapshots import queries as snapshots
from bot.snapshots.rows import TOTAL, away_share

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SOURCE = "liveperson"

# --- the review as it was: rows in, `statistics` over them -----------------------------------


def old_csat(row: dict[str, Any], history: list[dict[str, Any]], rule: Rule,
             tests: int) -> Evaluation:  # fmt: skip
    def counts(r: dict[str, Any]) -> tuple[int, int]:
        return int(r.get("positive") or 0), int(r.get("answers") or 0)

    x, n = counts(row)
    base: dict[str, Any] = dict(entity_kind=row["entity_kind"], entity_id=row["entity_id"],
        name=row.get("entity_name"), metric=Metric.CSAT, answers=n,
        current=x / n if n else None, interval=wilson(x, n) if n else None)  # fmt: skip
    if n < rule.min_answers:
        why = Reason("few_answers", {"answers": n, "needed": rule.min_answers})
        return Evaluation(**base, firing=None, reason=why)
    alpha = (1 - rule.confidence) / max(1, tests)
    candidates = []
    if history:
        candidates.append([history[0]])
    if len(history) > 1:
        candidates.append(history[: rule.baseline_runs])
    best: Evaluation | None = None
    for rows in candidates:
        xb = sum(counts(r)[0] for r in rows)
        nb = sum(counts(r)[1] for r in rows)
        if nb == 0:
            continue
        drop = (xb / nb - x / n) * 100
        p = drop_p_value(x, n, xb, nb)
        firing = drop >= rule.drop_points and p < alpha
        runs = len(rows)
        if firing:
            why = Reason("drop", {"points": drop, "runs": runs, "p": p, "alpha": alpha,
                                  "tests": max(1, tests)})  # fmt: skip
        elif drop <= 0:
            why = Reason("up", {"points": -drop, "runs": runs})
        elif drop < rule.drop_points:
            why = Reason("small_drop", {"points": drop, "runs": runs, "needed": rule.drop_points})
        else:
            why = Reason("not_credible", {"points": drop, "runs": runs, "p": p, "alpha": alpha,
                                          "tests": max(1, tests)})  # fmt: skip
        found = Evaluation(**base, firing=firing, reason=why, against=xb / nb,
                           against_runs=runs, drop=drop, against_interval=wilson(xb, nb),
                           p_value=p)  # fmt: skip
        if (
            best is None
            or (found.firing and not best.firing)
            or (found.firing == best.firing and (found.drop or 0) > (best.drop or 0))
        ):
            best = found
    if best is None:
        return Evaluation(**base, firing=False, reason=Reason("nothing_earlier"))
    return best


def old_availability(row: dict[str, Any], history: list[dict[str, Any]],
                     rule: Rule) -> list[Evaluation]:  # fmt: skip
    base: dict[str, Any] = dict(entity_kind=row["entity_kind"], entity_id=row["entity_id"],
                                name=row.get("entity_name"))  # fmt: skip
    recent = history[: rule.baseline_runs]
    if len(recent) < 3:
        why = Reason("few_snapshots", {"snapshots": len(recent)})
        return [Evaluation(**base, metric=m, firing=None, reason=why)
                for m in (Metric.LOGGED_IN, Metric.AWAY_SHARE)]  # fmt: skip
    runs = len(recent)
    logged = [float(r.get("logged_in") or 0) for r in recent]
    mean, spread = statistics.fmean(logged), statistics.pstdev(logged)
    now = float(row.get("logged_in") or 0)
    share = (mean - now) / mean if mean else 0.0
    firing = share >= rule.drop_share and (mean - now) >= 2 * spread
    code = "logged_in_low" if firing else "logged_in_normal"
    out = [Evaluation(**base, metric=Metric.LOGGED_IN, firing=firing, current=now, against=mean,
                      against_runs=runs, drop=share * 100,
                      reason=Reason(code, {"share": share, "runs": runs}))]  # fmt: skip
    shares = [s for s in (away_share(r) for r in recent) if s is not None]
    current_share = away_share(row)
    if current_share is not None and len(shares) >= 3:
        mean_s, spread_s = statistics.fmean(shares), statistics.pstdev(shares)
        points = (current_share - mean_s) * 100
        firing = points >= rule.away_points and (current_share - mean_s) >= 2 * spread_s
        why = (Reason("away_high", {"points": points, "runs": runs}) if firing
               else Reason("away_normal", {"points": points}))  # fmt: skip
        out.append(Evaluation(**base, metric=Metric.AWAY_SHARE, firing=firing,
                              current=current_share, against=mean_s, against_runs=runs,
                              drop=points, reason=why))  # fmt: skip
    return out


def old_movers(
    rows: list[dict[str, Any]], history: dict[tuple[str, str], list[dict[str, Any]]]
) -> tuple[Any, ...]:
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
        moved.append({"entity_kind": row["entity_kind"], "entity_id": row["entity_id"],
                      "entity_name": row.get("entity_name"), "points": points,
                      "answers": row["answers"],
                      "weight": row["answers"] * (row["score"] - old["score"])})  # fmt: skip
    moved.sort(key=lambda m: m["weight"])
    return tuple(m for m in moved[:5] if m["points"] < 0)


def old_ancestors(ev: Evaluation) -> list[tuple[str, str]]:
    if ev.entity_kind == TOTAL:
        return []
    within = membership(ev.entity_kind, ev.entity_id)
    return [(within[0], within[1]), (TOTAL, "")] if within else [(TOTAL, "")]


def old_review(
    db: Database, series: str, kind: str, run_id: int, rows: list[dict[str, Any]],
    known: dict[str, dict[str, Any]], rules: AlertRules,
) -> list[tuple[str, Action, str, Evaluation]]:  # fmt: skip
    history = snapshots.series_history(db, series, run_id, rules.baseline_runs)
    tests = sum(1 for r in rows if (r.get("answers") or 0)
                >= rules.rule_for(r["entity_kind"], r["entity_id"]).min_answers)  # fmt: skip
    evaluations: list[Evaluation] = []
    for row in rows:
        key = (row["entity_kind"], row["entity_id"])
        rule = rules.rule_for(*key)
        if kind == "csat":
            evaluations.append(old_csat(row, history.get(key, []), rule, tests))
        else:
            evaluations += old_availability(row, history.get(key, []), rule)
    movers = old_movers(rows, history)
    judged = []
    for ev in evaluations:
        problem = problem_key(SOURCE, kind, ev)
        latest = known.get(problem)
        if latest is not None and latest["status"] == "firing":
            ev = still_firing(ev, latest.get("opened_against"),
                              rules.rule_for(ev.entity_kind, ev.entity_id))  # fmt: skip
        if ev.entity_kind == TOTAL and ev.metric == Metric.CSAT:
            ev = replace(ev, movers=movers)
        judged.append((problem, latest, ev))
    firing = {(e.entity_kind, e.entity_id, e.metric) for _, _, e in judged if e.firing}
    out = []
    for problem, latest, ev in judged:
        folded = any((*p, ev.metric) in firing for p in old_ancestors(ev))
        state = None
        if latest is not None:
            until = latest.get("snoozed_until")
            state = AlertState(latest["status"], latest.get("opened_drop"),
                               latest.get("acked_by"),
                               datetime.fromisoformat(until) if until else None)  # fmt: skip
        action, why = decide(state, ev, NOW, rules.rule_for(ev.entity_kind, ev.entity_id))
        if action == Action.OPEN and folded:
            action, why = Action.NONE, "folded into its parent's alert"
        out.append((problem, action, why, ev))
    return out


# --- random histories ---------------------------------------------------------------------


def random_states(rng: random.Random, logged: int | None) -> str | None:
    if logged is None or rng.random() < 0.05:
        return rng.choice([None, "", "{}"])
    away = int((logged or 0) * rng.uniform(0.0, 0.3))
    key = rng.choice(["away", "away", "not_accepting", "both", "neither"])
    states: dict[str, int] = {"online": (logged or 0) - away}
    if key in ("away", "both"):
        states["away"] = away
    if key in ("not_accepting", "both"):
        states["not_accepting"] = away // 2
    return json.dumps(states)


def random_row(rng: random.Random, kind: str, entity: tuple[str, str], mood: float,
               dropped: bool) -> dict[str, Any]:  # fmt: skip
    row: dict[str, Any] = {"entity_kind": entity[0], "entity_id": entity[1],
                           "entity_name": rng.choice([None, f"name {entity[1]}"])}  # fmt: skip
    if kind == "csat":
        answers = rng.choice([None, 0, rng.randint(1, 30), rng.randint(20, 400)])
        happy = mood - (0.3 if dropped else 0.0)
        positive = sum(rng.random() < happy for _ in range(answers or 0))
        if answers is not None and rng.random() < 0.05:
            positive = None
        score = positive / answers if answers and positive is not None else None
        return {**row, "answers": answers, "positive": positive, "score": score}
    logged = rng.choice([None, 0] + [int(28800 * mood * rng.uniform(0.9, 1.1))] * 8)
    if dropped and logged:
        logged = int(logged * rng.uniform(0.2, 0.6))
    return {**row, "logged_in": logged, "states": random_states(rng, logged)}


def entities(kind: str, count: int) -> list[tuple[str, str]]:
    if kind == "csat":
        found = [(TOTAL, ""), *((("skill", str(s))) for s in range(1, 5))]
        return found + [("skill_agent", f"{1 + a % 4}:{900 + a}") for a in range(count)]
    return [(TOTAL, "")] + [("agent", str(900 + a)) for a in range(count)]


def build(db: Database, rng: random.Random, kind: str,
          runs: int) -> tuple[str, int, list[dict[str, Any]]]:  # fmt: skip
    """`runs` snapshots of one series (others interleaved), then the current one; its rows."""
    series = f"digest:{kind}-{rng.randint(0, 10**6)}"
    everyone = entities(kind, rng.randint(5, 40))
    mood = {e: rng.uniform(0.5, 0.95) for e in everyone}
    run_id, mine, rows = 0, 0, []
    for day in range(runs + 1):
        current = day == runs
        present = [e for e in everyone if current or rng.random() < 0.8]
        rows = [random_row(rng, kind, e, mood[e], current and rng.random() < 0.3)
                for e in present]  # fmt: skip
        taken = (NOW - timedelta(days=runs - day)).isoformat()
        for name in (series, "digest:other"):
            run = {"series": name, "source": SOURCE, "kind": kind, "scope": "skill",
                   "window_start": taken, "window_end": taken, "taken_at": taken}  # fmt: skip
            run_id = snapshots.save_snapshot(db, run, [dict(r) for r in rows])
            if name == series:
                mine = run_id
    return series, mine, rows


def random_rules(rng: random.Random, rows: list[dict[str, Any]]) -> AlertRules:
    default = Rule(min_answers=rng.choice([1, 5, 20]), baseline_runs=rng.choice([1, 3, 7]))
    thresholds = {}
    for row in rng.sample(rows, min(3, len(rows))):
        if row["entity_kind"] != "skill_agent":
            key = f"{row['entity_kind']}:{row['entity_id']}"
            thresholds[key] = Rule(baseline_runs=rng.choice([1, 2, 4, 9]), drop_points=3.0)
    return AlertRules(channel="C0LEADS", rule=default,
                      thresholds=thresholds if rng.random() < 0.6 else {})  # fmt: skip


def random_known(rng: random.Random, kind: str, rows: list[dict[str, Any]],
                 rules: AlertRules) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Some problems with an alert: open (some acknowledged or snoozed) or resolved."""
    metrics = [Metric.CSAT] if kind == "csat" else [Metric.LOGGED_IN, Metric.AWAY_SHARE]
    known = {}
    for row in rows:
        for metric in metrics:
            if rng.random() < 0.25:
                ev = Evaluation(row["entity_kind"], row["entity_id"], None, metric, None,
                                Reason("x"))  # fmt: skip
                until = (NOW + timedelta(hours=rng.choice([-1, 1]))).isoformat()
                known[problem_key(SOURCE, kind, ev)] = {
                    "id": len(known) + 1, "status": rng.choice(["firing", "firing", "resolved"]),
                    "opened_drop": rng.uniform(0, 30),
                    "opened_against": rng.uniform(0.5, 1.0) if kind == "csat"
                    else rng.uniform(0.0, 30000),
                    "acked_by": rng.choice([None, "U0LEAD"]),
                    "snoozed_until": rng.choice([None, until]),
                }  # fmt: skip
    return known


def near(a: Any, b: Any) -> bool:
    """Equal, floats within rounding (sums taken in another order), through tuples and dicts."""
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(near(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(near(a[k], b[k]) for k in a)
    return bool(a == b)


def same(new: Evaluation, old: Evaluation) -> None:
    """The same evaluation; what explains it (`movers`) is `cause`'s, tested on its own."""
    for field in Evaluation.__dataclass_fields__:
        if field == "movers":
            continue
        if field == "reason":
            assert new.reason.code == old.reason.code
            assert near(dict(new.reason.numbers), dict(old.reason.numbers)), (new, old)
        else:
            assert near(getattr(new, field), getattr(old, field)), (field, new, old)


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["csat", "availability"])
def test_the_query_reduces_history_as_the_rows_did(
    fresh_db: Database, kind: str, seed: int
) -> None:
    rng = random.Random(seed)
    series, run_id, _ = build(fresh_db, rng, kind, rng.randint(0, 9))
    for runs, baseline, limits in [(7, 7, {}), (3, 7, {}), (7, 3, {}), (5, 2, {"total:": 5}),
                                   (1, 1, {}), (9, 4, {"agent:901": 1, "skill:2": 9})]:  # fmt: skip
        found = snapshots.series_past(fresh_db, series, run_id, runs, baseline, limits)
        history = snapshots.series_history(fresh_db, series, run_id, runs)
        assert set(found) == set(history)
        for key, rows_before in history.items():
            pooled = limits.get(f"{key[0]}:{key[1]}", baseline)
            expected = summarize(rows_before, pooled)
            assert expected is not None
            got = found[key]
            assert got[:6] == expected[:6], key  # counts and the newest row: exactly
            assert near(tuple(got), tuple(expected)), (key, got, expected)


def test_a_small_spread_of_large_numbers_is_not_lost(fresh_db: Database) -> None:
    """Whole seconds are summed as integers: a spread of 1 s on 10^9 s survives."""
    series = "digest:big"
    for i, logged in enumerate([10**9, 10**9 + 2, 10**9, 10**9 + 2, 10**9 + 1]):
        taken = (NOW + timedelta(days=i)).isoformat()
        run = {"series": series, "source": SOURCE, "kind": "availability", "scope": "agent",
               "window_start": taken, "window_end": taken, "taken_at": taken}  # fmt: skip
        row = {"entity_kind": "agent", "entity_id": "7", "logged_in": logged, "states": None}
        run_id = snapshots.save_snapshot(fresh_db, run, [row])
    found = snapshots.series_past(fresh_db, series, run_id, 7, 7)[("agent", "7")]
    assert (found.runs, found.logged_mean, found.logged_spread) == (4, 10**9 + 1, 1.0)
    assert found.shares == 0 and found.share_mean is None and found.share_spread is None


def test_nothing_earlier_is_no_entry(fresh_db: Database) -> None:
    series, run_id, rows = build(fresh_db, random.Random(1), "csat", 0)
    assert snapshots.series_past(fresh_db, series, run_id, 7, 7) == {}
    assert rows


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("kind", ["csat", "availability"])
def test_the_review_decides_as_it_did(fresh_db: Database, kind: str, seed: int) -> None:
    rng = random.Random(1000 + seed)
    series, run_id, rows = build(fresh_db, rng, kind, rng.randint(0, 9))
    rules = random_rules(rng, rows)
    known = random_known(rng, kind, rows, rules)
    before = old_review(fresh_db, series, kind, run_id, rows, known, rules)
    limits = {key: rule.baseline_runs for key, rule in rules.thresholds.items()}
    past = snapshots.series_past(
        fresh_db, series, run_id, rules.baseline_runs, rules.rule.baseline_runs, limits
    )
    now = judge(rows, past, known, SOURCE, kind, rules, NOW)
    # judge keeps what something happens to: every action but `none`, and the folded
    before = [x for x in before if x[1] != Action.NONE or x[2].startswith("folded")]
    assert [(v.problem, v.action, v.why) for v in now] == [(p, a, w) for p, a, w, _ in before]
    for verdict, (*_, ev) in zip(now, before, strict=True):
        same(verdict.evaluation, ev)
    assert all(isinstance(v, Verdict) and v.alert is known.get(v.problem) for v in now)


def test_the_random_reviews_reach_every_decision(fresh_db: Database) -> None:
    """The random histories above do open, follow, resolve, snooze and fold."""
    seen: set[str] = set()
    for kind in ("csat", "availability"):
        for seed in range(25):
            rng = random.Random(1000 + seed)
            series, run_id, rows = build(fresh_db, rng, kind, rng.randint(0, 9))
            rules = random_rules(rng, rows)
            known = random_known(rng, kind, rows, rules)
            limits = {key: rule.baseline_runs for key, rule in rules.thresholds.items()}
            past = snapshots.series_past(
                fresh_db, series, run_id, rules.baseline_runs, rules.rule.baseline_runs, limits
            )
            for v in judge(rows, past, known, SOURCE, kind, rules, NOW):
                seen.add(str(v.action))
                seen.add("folded" if v.why.startswith("folded") else "")
    assert {"open", "thread", "worse", "resolve", "silent", "none", "folded"} <= seen


def test_entities_that_are_fine_leave_a_line_only_when_asked(
    fresh_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    series, run_id, rows = build(fresh_db, random.Random(5), "availability", 4)
    past = snapshots.series_past(fresh_db, series, run_id, 7, 7)
    rules = AlertRules(channel="C0LEADS")
    with caplog.at_level(logging.INFO, logger="bot.alerts.decide"):
        judge(rows, past, {}, SOURCE, "availability", rules, NOW)
    assert not any("(fine)" in r.getMessage() for r in caplog.records)
    with caplog.at_level(logging.DEBUG, logger="bot.alerts.decide"):
        judge(rows, past, {}, SOURCE, "availability", rules, NOW)
    assert any(r.getMessage().endswith(": none (fine)") for r in caplog.records)


def test_no_answers_now_is_no_decision_even_with_min_answers_0() -> None:
    """Before, min_answers = 0 and a skill nobody rated divided by zero and lost the review."""
    row = {"entity_kind": "skill", "entity_id": "4", "answers": 0, "positive": 0}
    past = summarize([{**row, "answers": 100, "positive": 90}], 7)
    ev = csat_against(row, past, Rule(min_answers=0))
    assert (ev.firing, ev.reason) == (None, Reason("few_answers", {"answers": 0, "needed": 0}))


def test_state_of_reads_an_alerts_row() -> None:
    row = {"status": "firing", "opened_drop": 7.0, "acked_by": None,
           "snoozed_until": "2026-03-02T10:00:00+00:00"}  # fmt: skip
    assert state_of(row) == AlertState("firing", 7.0, None, NOW + timedelta(hours=1))
    assert state_of(None) is None
