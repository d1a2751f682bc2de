"""Pure: is this a credible drop? Statistics and the evaluation of snapshot rows.

How sure: a CSAT drop must clear three bars before it pages anyone —
1. enough answers now (`min_answers`): below it the bot never alerts (nor resolves);
2. a big enough drop in points, against the previous snapshot or against the baseline
   (the answers of the last `baseline_runs` snapshots pooled);
3. a credible one: a one-sided two-proportion z-test says a drop this size would happen
   by chance less than `1 - confidence` of the time, divided by the number of entities
   checked in the same snapshot (Bonferroni). Each score is shown with its 95 % Wilson
   interval.
Availability: logged-in time well below the mean of recent snapshots (by `drop_share`,
and at least two standard deviations), or the Away share well above it (`away_points`).

Whether to tell anyone is `alerts.decide`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.config import Rule
from bot.snapshots.rows import away_share

Z95 = 1.959963984540054


def wilson(positive: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: honest even for small samples."""
    if total <= 0:
        return 0.0, 1.0
    p = positive / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def p_text(p: float) -> str:
    """A p-value the way people write it: p = 0.012, p < 0.001."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


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


@dataclass(frozen=True)
class Evaluation:
    """One entity and metric: firing (True/False) or unknown (None), and the numbers why."""

    entity_kind: str
    entity_id: str
    name: str
    metric: Metric
    firing: bool | None
    reason: str
    current: float | None = None
    against: float | None = None  # the value it is compared with
    against_label: str = ""  # "the previous snapshot" or "the last 7 snapshots"
    drop: float | None = None  # points (CSAT, Away share) or share (logged-in)
    answers: int = 0
    interval: tuple[float, float] | None = None
    against_interval: tuple[float, float] | None = None
    p_value: float | None = None
    movers: tuple[dict[str, Any], ...] = field(default=())


def _csat_counts(row: dict[str, Any]) -> tuple[int, int]:
    return int(row.get("positive") or 0), int(row.get("answers") or 0)


def evaluate_csat(
    row: dict[str, Any], history: list[dict[str, Any]], rule: Rule, tests: int = 1
) -> Evaluation:
    """A CSAT drop for one entity: `history` is its earlier snapshot rows, newest first.

    `tests` is how many entities the same snapshot checks: the bar is divided by it
    (Bonferroni), so checking 500 skills at once does not page for one chance dip.
    """
    x, n = _csat_counts(row)
    base = dict(
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        name=row.get("entity_name") or row["entity_id"],
        metric=Metric.CSAT,
        answers=n,
        current=x / n if n else None,
        interval=wilson(x, n) if n else None,
    )
    if n < rule.min_answers:
        return Evaluation(
            **base, firing=None, reason=f"only {n} answers (fewer than {rule.min_answers})"
        )
    alpha = (1 - rule.confidence) / max(1, tests)
    candidates = []
    if history:
        candidates.append(("the previous snapshot", [history[0]]))
    if len(history) > 1:
        candidates.append(
            (
                f"the last {min(len(history), rule.baseline_runs)} snapshots",
                history[: rule.baseline_runs],
            )
        )
    best: Evaluation | None = None
    for label, rows in candidates:
        xb = sum(_csat_counts(r)[0] for r in rows)
        nb = sum(_csat_counts(r)[1] for r in rows)
        if nb == 0:
            continue
        drop = (xb / nb - x / n) * 100
        p = drop_p_value(x, n, xb, nb)
        firing = drop >= rule.drop_points and p < alpha
        if firing:
            why = f"down {drop:.1f} points from {label} ({p_text(p)})"
        elif drop <= 0:
            why = f"up {-drop:.1f} points on {label}"
        elif drop < rule.drop_points:
            why = f"down {drop:.1f} points from {label}, less than {rule.drop_points:g}"
        else:
            why = f"down {drop:.1f} points from {label}, not a credible drop ({p_text(p)})"
        found = Evaluation(
            **base,
            firing=firing,
            reason=why,
            against=xb / nb,
            against_label=label,
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
        return Evaluation(**base, firing=False, reason="nothing earlier to compare with")
    return best


def evaluate_availability(
    row: dict[str, Any], history: list[dict[str, Any]], rule: Rule
) -> list[Evaluation]:
    """Logged-in time well below, or the Away share well above, recent snapshots."""
    base = dict(
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        name=row.get("entity_name") or row["entity_id"],
    )
    recent = history[: rule.baseline_runs]
    if len(recent) < 3:
        why = f"{len(recent)} earlier snapshots; at least 3 are needed for a baseline"
        return [
            Evaluation(**base, metric=m, firing=None, reason=why)
            for m in (Metric.LOGGED_IN, Metric.AWAY_SHARE)
        ]
    label = f"the last {len(recent)} snapshots"
    out = []
    logged = [float(r.get("logged_in") or 0) for r in recent]
    mean, spread = statistics.fmean(logged), statistics.pstdev(logged)
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
            against_label=label,
            drop=share * 100,
            reason=(
                f"logged-in time {share:.0%} below {label}"
                if firing
                else f"logged-in time {share:+.0%} against {label}: within normal"
            ),
        )
    )
    shares = [s for s in (away_share(r) for r in recent) if s is not None]
    current_share = away_share(row)
    if current_share is not None and len(shares) >= 3:
        mean_s, spread_s = statistics.fmean(shares), statistics.pstdev(shares)
        points = (current_share - mean_s) * 100
        firing = points >= rule.away_points and (current_share - mean_s) >= 2 * spread_s
        out.append(
            Evaluation(
                **base,
                metric=Metric.AWAY_SHARE,
                firing=firing,
                current=current_share,
                against=mean_s,
                against_label=label,
                drop=points,
                reason=(
                    f"Away share {points:.1f} points above {label}"
                    if firing
                    else f"Away share {points:+.1f} points: within normal"
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
        unit = "points"
    elif ev.metric == Metric.LOGGED_IN:
        gap, margin = (before - ev.current) / before * 100 if before else 0.0, rule.drop_share * 50
        unit = "% of logged-in time"
    else:
        gap, margin = (ev.current - before) * 100, rule.away_points / 2
        unit = "points of Away share"
    if gap > margin:
        why = f"still {gap:.1f} {unit} off the level before the alert"
        return replace(ev, firing=True, reason=why)
    why = f"back within {margin:g} {unit} of the level before the alert"
    return replace(ev, firing=False, reason=why)
