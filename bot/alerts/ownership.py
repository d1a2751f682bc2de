"""Pure: who owns an alert and what a click does to it.

An open alert is firing; it may have an owner (whoever acknowledged it last) and be
snoozed until a time. A click is one of Acknowledge, Resolve (with an optional note),
Snooze (1 h, 1 d, 1 w or until a chosen time) and Unsnooze. `apply` turns a click on the
alert's stored row into the changes to store and the event to keep, or refuses it with an
`ActionError` the clicker is told: a click on a resolved alert, or on one a newer alert of
the same problem replaced (a stale message), changes nothing. `now` is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.errors import ActionError
from bot.render.safe import clean
from bot.timefmt import now_iso

SNOOZES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}
LONGEST_SNOOZE = timedelta(days=90)
NOTE_CHARS = 2000
NAME_CHARS = 80


class Click(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    SNOOZE = "snooze"
    UNSNOOZE = "unsnooze"


@dataclass(frozen=True)
class Change:
    """What a click changes: the alert's columns, and the event that records it."""

    alert: dict[str, Any]
    event: dict[str, Any]


def state(row: Mapping[str, Any], now: datetime) -> str:
    """resolved, snoozed, acknowledged or firing: what the top message shows."""
    if row.get("status") != "firing":
        return "resolved"
    if snoozed(row, now):
        return "snoozed"
    return "acknowledged" if row.get("acked_by") else "firing"


def snoozed(row: Mapping[str, Any], now: datetime) -> bool:
    until = row.get("snoozed_until")
    return isinstance(until, str) and bool(until) and datetime.fromisoformat(until) > now


def apply(
    row: Mapping[str, Any],
    click: Click,
    user: str,
    now: datetime,
    *,
    latest_id: int | None = None,
    until: datetime | None = None,
    note: str = "",
    name: str = "",
) -> Change:
    """The change `click` makes to the alert `row`; an `ActionError` when it makes none.

    `latest_id` is the newest alert of the row's problem: a click on an older one is stale.
    A snooze needs `until` in the future (at most 90 days ahead). `name` is what Slack
    calls the clicker: the thread names them by it, not by a mention that would ping.
    """
    if row.get("status") != "firing":
        raise ActionError(
            "stale_resolved", resolved_at=row.get("resolved_at") or "",
            resolved_by=row.get("resolved_by") or "",
        )  # fmt: skip
    if latest_id is not None and latest_id != row["id"]:
        raise ActionError("stale_newer", alert_id=row["id"])
    when = now_iso(now)
    event: dict[str, Any] = {"alert_id": row["id"], "at": when, "user": user, "action": str(click)}
    if name := clean(name).strip()[:NAME_CHARS]:
        event["user_name"] = name
    if click == Click.ACKNOWLEDGE:
        if row.get("acked_by") == user:
            raise ActionError("already_yours", acked_at=row.get("acked_at") or "")
        changes: dict[str, Any] = {"acked_by": user, "acked_at": when}
        if row.get("acked_by"):
            event["note"] = f"from {row['acked_by']}"  # a take-over: whose it was
    elif click == Click.RESOLVE:
        note = clean(note).strip()[:NOTE_CHARS]  # SQLite stores no lone surrogate
        changes = {"status": "resolved", "resolved_at": when, "resolved_by": user,
                   "resolved_note": note}  # fmt: skip
        event["note"] = note
    elif click == Click.SNOOZE:
        if until is None or until <= now:
            raise ActionError("snooze_past")
        if until - now > LONGEST_SNOOZE:
            raise ActionError("snooze_far", days=LONGEST_SNOOZE.days)
        changes = {"snoozed_until": now_iso(until), "snoozed_by": user}
        event["until"] = changes["snoozed_until"]
    else:
        if not snoozed(row, now):
            raise ActionError("not_snoozed")
        changes = {"snoozed_until": None, "snoozed_by": None}
    return Change(changes, event)


def snooze_until(period: str, now: datetime) -> datetime:
    """The end of a snooze chosen from the menu (1h, 1d, 1w)."""
    if period not in SNOOZES:
        raise ActionError("bad_snooze", period=period, periods=list(SNOOZES))
    return now + SNOOZES[period]
