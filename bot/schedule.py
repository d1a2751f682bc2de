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


def next_fires(cron: str, zone: ZoneInfo, now: datetime, count: int = 3) -> list[datetime]:
    """The next `count` scheduled times after `now`, in `zone`: what the home view shows.

    The scheduler's own trigger, walked in UTC at least a minute a step like `last_fire`
    (so it ends in the hour the clocks go back); the 02:30 that night repeats is one
    scheduled time (`scheduled_key`), listed once, as it runs once.
    """
    trigger = cron_trigger(cron, zone)
    found: list[datetime] = []
    seen: set[str] = set()
    limit = now.astimezone(UTC)
    after = limit
    while len(found) < count and (moment := trigger.get_next_fire_time(None, after)) is not None:
        instant = moment.astimezone(UTC)
        key = scheduled_key(moment, zone)
        if instant > limit and key not in seen:
            seen.add(key)
            found.append(moment.astimezone(zone))
        after = max(after, instant) + timedelta(minutes=1)
    return found


# Days as a team lead reads them: the week from Monday, Sunday last.
_DAY_WORDS = {
    "mon": "Mondays",
    "tue": "Tuesdays",
    "wed": "Wednesdays",
    "thu": "Thursdays",
    "fri": "Fridays",
    "sat": "Saturdays",
    "sun": "Sundays",
}
_MOST_TIMES = 6  # more times a day than this read better as the cron itself


def describe(cron: str, zone: ZoneInfo) -> str:
    """A cron expression in words for a team lead ("weekdays at 09:00 (Europe/Berlin)").

    The home view and the digest modal show schedules to people who do not read cron;
    whatever cannot be said simply is shown as the cron itself, never guessed at.
    Weekdays are read by `weekdays`, as the scheduler reads them (0 or 7 = Sunday).
    """
    fallback = f"cron {' '.join(cron.split())} ({zone.key})"
    fields = cron.split()
    if len(fields) != 5:
        return fallback
    minute, hour, day, month, weekday = fields
    try:
        days = _days_in_words(day, month, weekday)
        times = _times_in_words(minute, hour)
    except ValueError:
        return fallback
    if days is None or times is None:
        return fallback
    text, at_a_time = times
    if at_a_time:  # "weekdays at 09:00", "every day at 08:30"
        return f"{days or 'every day'} {text} ({zone.key})"
    if days:  # "every 15 minutes on weekdays"
        on = days if days.startswith("on ") else f"on {days}"
        return f"{text} {on} ({zone.key})"
    if hour == "*":  # the same whatever the zone's whole-hour offset
        return text
    return f"{text} ({zone.key})"


def _days_in_words(day: str, month: str, weekday: str) -> str | None:
    """ "" for every day, "weekdays", "Mondays", "on the 1st of each month"; None when the
    days are not that simple (months, both a day and a weekday, "L")."""
    if month != "*":
        return None
    if day == "*":
        if weekday == "*":
            return ""
        names = weekdays(weekday).split(",")
        if len(names) == 7:
            return ""
        if names == ["mon", "tue", "wed", "thu", "fri"]:
            return "weekdays"
        if names == ["sun", "sat"]:
            return "weekends"
        ordered = [word for name, word in _DAY_WORDS.items() if name in names]
        return _and(ordered)
    if weekday != "*":
        return None  # cron runs on either; rare, and easy to misread in words
    dates = _numbers(day, 1, 31)
    if dates is None or len(dates) > 4:
        return None
    return f"on the {_and([_ordinal(d) for d in dates])} of each month"


def _times_in_words(minute: str, hour: str) -> tuple[str, bool] | None:
    """("at 09:00 and 17:00", True) for times of day; ("every 15 minutes", False) for what
    repeats within the day; None when it is not that simple."""
    if hour == "*":
        if minute == "*":
            return "every minute", False
        step = _step(minute, 59)
        if step is not None:
            return ("every minute" if step == 1 else f"every {step} minutes"), False
        minutes = _numbers(minute, 0, 59)
        if minutes is None or len(minutes) != 1:
            return None
        return f"every hour at :{minutes[0]:02d}", False
    minutes = _numbers(minute, 0, 59)
    if minutes is None:
        return None
    hour_step = _step(hour, 23)
    if hour_step is not None and len(minutes) == 1:
        every = "every hour" if hour_step == 1 else f"every {hour_step} hours"
        return f"{every} at :{minutes[0]:02d}", False
    first, dash, last = hour.partition("-")
    if dash and first.isdigit() and last.isdigit() and len(minutes) == 1:
        lo, hi = int(first), int(last)
        if 0 <= lo < hi <= 23:
            m = minutes[0]
            return f"every hour from {lo:02d}:{m:02d} to {hi:02d}:{m:02d}", False
    hours = _numbers(hour, 0, 23)
    if hours is None or len(hours) * len(minutes) > _MOST_TIMES:
        return None
    times = sorted(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
    return f"at {_and(times)}", True


def _numbers(field: str, lo: int, hi: int) -> list[int] | None:
    """A field of plain numbers ("9", "9,17") in [lo, hi], sorted; None for anything else."""
    parts = field.split(",")
    if not all(p.isdigit() for p in parts):
        return None
    values = sorted({int(p) for p in parts})
    if values[0] < lo or values[-1] > hi:
        return None
    return values


def _step(field: str, most: int) -> int | None:
    """N of "*/N" (or "0/N"), N dividing the field's whole range evenly; None otherwise.

    "*/7" minutes fires at :00 and :56 and then :00 again: not "every 7 minutes"."""
    start, slash, step = field.partition("/")
    if not slash or start not in ("*", "0") or not step.isdigit():
        return None
    n = int(step)
    return n if 1 <= n <= most and (most + 1) % n == 0 else None


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _and(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
