"""Schedule maths, pure: standard cron in a time zone, when to catch up, how often it fires.

APScheduler 3 numbers weekdays from Monday = 0, while cron (and the contract's
`0 9 * * 1-5`) means Sunday = 0: `cron_trigger` rewrites the weekday field into names
so a schedule means what a person reading it expects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # APScheduler loads with the first schedule: `serve` without digests never
    from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CATCH_UP_WITHIN = timedelta(hours=12)  # a run missed longer ago than this is skipped


def weekdays(field: str) -> str:
    """A cron weekday field (0 or 7 = Sunday, names allowed) as APScheduler day names."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if rng == "*":
            lo, hi = 0, 6
        else:
            first, _, last = rng.partition("-")
            lo = _day(first)
            hi = _day(last) if last else (6 if step_text else lo)
        if step < 1 or hi < lo:
            raise ValueError(f"weekday range {part!r} runs backwards")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(DAY_NAMES[d] for d in sorted(days))


def _day(text: str) -> int:
    """0-7 (7 stays 7 so ranges like 5-7 run forward; days are taken modulo 7 later)."""
    text = text.strip()
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    if text[:3] in DAY_NAMES:
        return DAY_NAMES.index(text[:3])
    raise ValueError(f"{text!r} is not a weekday (0-7 or sun-sat)")


def cron_trigger(expr: str, zone: ZoneInfo) -> CronTrigger:
    """A trigger for a five-field cron expression in `zone`, weekdays as cron means them."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"five fields (minute hour day month weekday), got {expr!r}")
    minute, hour, day, month, weekday = fields
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekdays(weekday),
        timezone=zone,
    )  # fmt: skip


def last_fire(
    trigger: CronTrigger, now: datetime, lookback: timedelta = timedelta(days=8)
) -> datetime | None:
    """The latest scheduled time at or before `now`, within `lookback`.

    Walked in UTC, at least a minute a step: two times of one zone compare by the wall
    clock, and in the hour the clocks go back APScheduler 3 answers times inside it again
    and again; compared as they were, a schedule more often than hourly never ended."""
    found: datetime | None = None
    after, limit = (now - lookback).astimezone(UTC), now.astimezone(UTC)
    while (moment := trigger.get_next_fire_time(None, after)) is not None:
        instant = moment.astimezone(UTC)
        if instant > limit:
            break
        if found is None or instant > found.astimezone(UTC):
            found = moment
        after = max(after, instant) + timedelta(minutes=1)
    return found


def shortest_gap(
    expr: str, zone: ZoneInfo, start: datetime, within: timedelta = timedelta(days=7)
) -> timedelta | None:
    """The shortest time between two consecutive fire times of `expr` in `zone`, over the
    fire times in `within` after `start`; None when it fires fewer than twice in it.

    Times as the wall clock reads them: a daily digest is 24 hours apart even on the day
    the clocks change, and the 02:30 a night the clocks go back repeats is one time, as
    `scheduled_key` makes it. Walked in UTC, at least a minute a step (APScheduler 3,
    asked for the time after one inside that repeated hour, can answer an earlier one),
    so it ends; and it stops at a one-minute gap, which no cron schedule undercuts.
    """
    trigger = cron_trigger(expr, zone)
    shortest: timedelta | None = None
    previous: datetime | None = None  # a wall-clock time, without its zone
    after = start.astimezone(UTC)
    while (moment := trigger.get_next_fire_time(None, after)) is not None:
        if moment > start + within:
            break
        wall = moment.astimezone(zone).replace(tzinfo=None)
        if previous is not None and wall > previous:
            shortest = min(shortest or wall - previous, wall - previous)
            if shortest <= timedelta(minutes=1):
                break
        previous = wall if previous is None else max(previous, wall)
        after = max(after, moment.astimezone(UTC)) + timedelta(minutes=1)
    return shortest


def scheduled_key(moment: datetime, zone: ZoneInfo) -> str:
    """A scheduled time as the wall clock names it: the key that makes a run happen once.

    On the night the clocks go back, 02:30 happens twice; both are one scheduled time.
    """
    return f"{moment.astimezone(zone):%Y-%m-%dT%H:%M} {zone.key}"


def catch_up(
    last_scheduled: datetime | None, now: datetime, within: timedelta = CATCH_UP_WITHIN
) -> datetime | None:
    """The one missed scheduled time to run after downtime, or None.

    Only the latest missed time (once, not a burst), and only while it is still news.
    Whether it already ran is the store's business: a claimed time is never run twice.
    """
    if last_scheduled is None or now - last_scheduled > within:
        return None
    return last_scheduled
