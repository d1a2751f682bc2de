"""Pure: is this a credible drop? Statistics and the evaluation of snapshot rows.

How sure: a CSAT drop must clear three bars before it pages anyone —
1. enough answers now (`min_answers`): below it the bot never alerts (nor resolves);
2. a big enough drop in points, against the previous snapshot or against the baseline
   (the answers of the last `baseline_runs` snapshots pooled; only snapshots whose
   windows overlap neither the current one nor each other, so no answer counts twice);
3. a credible one: a one-sided two-proportion z-test says a drop this size would happen
   by chance less than `1 - confidence` of the time, divided by the number of entities
   checked in the same snapshot (Bonferroni); the bar used is kept in the `Reason` and
   shown. Each score is shown with its 95 % Wilson interval.
Availability: logged-in time well below the mean of recent snapshots (by `drop_share`,
and at least two standard deviations), or the Away share well above it (`away_points`).

An entity's history comes as its `Past` (`snapshots.queries.series_past` reduces the
earlier runs in SQLite, `summarize` does the same from rows), so a review holds one small
tuple per entity, not every earlier row. Every evaluation says why as a `Reason`: a code
and its numbers, worded by the templates (`_alert_macros.j2`). Whether to tell anyone is
`alerts.decide`.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.config import Rule
from bot.metrics import wilson
from bot.snapshots.queries import Past
from bot.snapshots.rows import away_share


def drop_p_value(x_now: int, n_now: int, x_before: int, n_before: int) -> float:
    """One-sided p-value that the proportion fell (two-proportion z-test, pooled)."""
    if n_now <= 0 or n_before <= 0:
        return 1.0
    pooled = (x_now + x_before) / (n_now + n_before)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_now + 1 / n_before))
    if spread == 0:
        return 1.0 if x_now / n_now >= x_before / n_before else 0.0
    z = (x_before / n_before - x_now / n_now) / spread
    return 0.5 * math.erfc(z / math.sqrt(2))


class Metric(StrEnum):
    CSAT = "csat"
    LOGGED_IN = "logged_in"
    AWAY_SHARE = "away_share"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an evaluation came out as it did: a code and its numbers, never a sentence.

    Codes: few_answers (answers, needed), nothing_earlier, drop (points, runs, p, alpha,
    tests), up (points, runs), small_drop (points, runs, needed), not_credible (points,
    runs, p, alpha, tests),
    few_snapshots (snapshots), logged_in_low (share, runs), logged_in_normal (share, runs),
    away_high (points, runs), away_normal (points), still_off (gap, metric),
    back_within (margin, metric); and `text` (text) for an alert stored before reasons
    had codes. `runs` is how many snapshots it was compared with (1: the previous one).
    """

    code: str
    numbers: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:  # for the log
        return f"{self.code} {json.dumps(dict(self.numbers))}"

    def dump(self) -> str:
        """As `alerts.last_reason` keeps it."""
        return json.dumps({"code": self.code, **self.numbers})

    @classmethod
    def load(cls, stored: str | None) -> Reason | None:
        """What `dump` kept; an older sentence is kept as it was, as code `text`."""
        if not stored:
            return None
        try:
            found = json.loads(stored)
        except ValueError:
            found = None
        if not isinstance(found, dict) or not isinstance(found.get("code"), str):
            return cls("text", {"text": stored})
        code = found.pop("code")
        return cls(code, found)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One entity and metric: firing (True/False) or unknown (None), and the numbers why."""

    entity_kind: str
    entity_id: str
    name: str | None  # as the vendor named it
    metric: Metric
    firing: bool | None
    reason: Reason
    current: float | None = None
    against: float | None = None  # the value it is compared with
    against_runs: int = 0  # how many snapshots that is: 1, the previous one
    drop: float | None = None  # points (CSAT, Away share) or share (logged-in)
    answers: int = 0
    interval: tuple[float, float] | None = None
    against_interval: tuple[float, float] | None = None
    p_value: float | None = None
    movers: tuple[dict[str, Any], ...] = field(default=())  # what explains it (`cause`)


def _csat_counts(row: dict[str, Any]) -> tuple[int, int]:
    return int(row.get("positive") or 0), int(row.get("answers") or 0)


def summarize(history: list[dict[str, Any]], baseline_runs: int) -> Past | None:
    """Earlier snapshot rows (newest first) reduced to the `Past` the evaluations use.

    What `snapshots.queries.series_past` computes in SQLite, here from rows: for callers
    that hold the rows anyway, and as the reference the tests hold the query to.
    """
    if not history:
        return None
    first, recent = history[0], history[:baseline_runs]
    counts = [_csat_counts(r) for r in recent]
    logged = [float(r.get("logged_in") or 0) for r in recent]
    shares = [s for s in (away_share(r) for r in recent) if s is not None]
    return Past(
        runs=len(recent),
        positive=first.get("positive"),
        answers=first.get("answers"),
        score=first.get("score"),
        positive_sum=sum(x for x, _ in counts),
        answers_sum=sum(n for _, n in counts),
        logged_mean=statistics.fmean(logged),
        logged_spread=statistics.pstdev(logged),
        shares=len(shares),
        share_mean=statistics.fmean(shares) if shares else None,
        share_spread=statistics.pstdev(shares) if shares else None,
    )


def evaluate_csat(
    row: dict[str, Any], history: list[dict[str, Any]], rule: Rule, tests: int = 1
) -> Evaluation:
    """A CSAT drop for one entity: `history` is its earlier snapshot rows, newest first."""
    return csat_against(row, summarize(history, rule.baseline_runs), rule, tests)


def evaluate_availability(
    row: dict[str, Any], history: list[dict[str, Any]], rule: Rule
) -> list[Evaluation]:
    """Availability for one entity: `history` is its earlier snapshot rows, newest first."""
    return availability_against(row, summarize(history, rule.baseline_runs), rule)


def csat_against(row: dict[str, Any], past: Past | None, rule: Rule, tests: int = 1) -> Evaluation:
    """A CSAT drop for one entity against its `Past` (None: nothing earlier).

    `tests` is how many entities the same snapshot checks: the bar is divided by it
    (Bonferroni), so checking 500 skills at once does not page for one chance dip.
    """
    x, n = _csat_counts(row)
    base = dict(
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        name=row.get("entity_name"),
        metric=Metric.CSAT,
        answers=n,
        current=x / n if n else None,
        interval=wilson(x, n) if n else None,
    )
    if n < rule.min_answers or n == 0:  # min_answers = 0 still needs an answer
        why = Reason("few_answers", {"answers": n, "needed": rule.min_answers})
        return Evaluation(**base, firing=None, reason=why)
    alpha = (1 - rule.confidence) / max(1, tests)
    candidates: list[tuple[int, int, int]] = []  # positive, answers, snapshots pooled
    if past is not None:  # the previous snapshot, and the baseline when it pools more
        candidates.append((int(past.positive or 0), int(past.answers or 0), 1))
        if past.runs > 1:
            candidates.append((past.positive_sum, past.answers_sum, past.runs))
    best: Evaluation | None = None
    for xb, nb, runs in candidates:
        if nb == 0:
            continue
        drop = (xb / nb - x / n) * 100
        p = drop_p_value(x, n, xb, nb)
        firing = drop >= rule.drop_points and p < alpha
        if firing:  # the bar it cleared, as used: the confidence split across the tests
            why = Reason("drop", {"points": drop, "runs": runs, "p": p, "alpha": alpha,
                                  "tests": max(1, tests)})  # fmt: skip
        elif drop <= 0:
            why = Reason("up", {"points": -drop, "runs": runs})
        elif drop < rule.drop_points:
            why = Reason("small_drop", {"points": drop, "runs": runs, "needed": rule.drop_points})
        else:
            why = Reason("not_credible", {"points": drop, "runs": runs, "p": p, "alpha": alpha,
                                          "tests": max(1, tests)})  # fmt: skip
        found = Evaluation(
            **base,
            firing=firing,
            reason=why,
            against=xb / nb,
            against_runs=runs,
            drop=drop,
            against_interval=wilson(xb, nb),
            p_value=p,
        )
        if (
            best is None
            or (found.firing and not best.firing)
            or (found.firing == best.firing and (found.drop or 0) > (best.drop or 0))
        ):
            best = found
    if best is None:
        return Evaluation(**base, firing=False, reason=Reason("nothing_earlier"))
    return best


def availability_against(row: dict[str, Any], past: Past | None, rule: Rule) -> list[Evaluation]:
    """Logged-in time well below, or the Away share well above, recent snapshots."""
    base = dict(
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        name=row.get("entity_name"),
    )
    runs = past.runs if past is not None else 0
    if past is None or runs < 3:
        why = Reason("few_snapshots", {"snapshots": runs})
        return [
            Evaluation(**base, metric=m, firing=None, reason=why)
            for m in (Metric.LOGGED_IN, Metric.AWAY_SHARE)
        ]
    out = []
    mean, spread = past.logged_mean, past.logged_spread
    now = float(row.get("logged_in") or 0)
    share = (mean - now) / mean if mean else 0.0
    firing = share >= rule.drop_share and (mean - now) >= 2 * spread
    out.append(
        Evaluation(
            **base,
            metric=Metric.LOGGED_IN,
            firing=firing,
            current=now,
            against=mean,
            against_runs=runs,
            drop=share * 100,
            reason=Reason(
                "logged_in_low" if firing else "logged_in_normal", {"share": share, "runs": runs}
            ),
        )
    )
    current_share = away_share(row)
    if current_share is not None and past.shares >= 3 and past.share_mean is not None:
        mean_s, spread_s = past.share_mean, past.share_spread or 0.0
        points = (current_share - mean_s) * 100
        firing = points >= rule.away_points and (current_share - mean_s) >= 2 * spread_s
        out.append(
            Evaluation(
                **base,
                metric=Metric.AWAY_SHARE,
                firing=firing,
                current=current_share,
                against=mean_s,
                against_runs=runs,
                drop=points,
                reason=(
                    Reason("away_high", {"points": points, "runs": runs})
                    if firing
                    else Reason("away_normal", {"points": points})
                ),
            )
        )
    return out


def still_firing(ev: Evaluation, before: float | None, rule: Rule) -> Evaluation:
    """An open alert's problem judged against the level before it opened (hysteresis).

    While an alert is open its own bad days enter the recent snapshots, so comparing
    with them would call a lasting drop "recovered". It recovers when it is back within
    half the threshold of where it was before the drop.
    """
    if ev.firing is None or ev.current is None or before is None:
        return ev
    if ev.metric == Metric.CSAT:
        gap, margin = (before - ev.current) * 100, rule.drop_points / 2
    elif ev.metric == Metric.LOGGED_IN:
        gap, margin = (before - ev.current) / before * 100 if before else 0.0, rule.drop_share * 50
    else:
        gap, margin = (ev.current - before) * 100, rule.away_points / 2
    if gap > margin:  # how far off the level before is what "worse" is judged by
        why = Reason("still_off", {"gap": gap, "metric": str(ev.metric)})
        return replace(ev, firing=True, reason=why, drop=gap)
    why = Reason("back_within", {"margin": margin, "metric": str(ev.metric)})
    return replace(ev, firing=False, reason=why)
