"""Pure: should anyone be told? Like Alertmanager's dedup stage, `decide()` is a function
of the open alert (if any), the evaluation and `now`, returning an action and a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.alerts.detect import Evaluation
from bot.config import Rule


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
