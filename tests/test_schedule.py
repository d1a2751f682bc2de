"""Schedule maths: cron weekdays as cron means them, last fire times across DST, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import cron_problem
from bot.schedule import (
    CATCH_UP_WITHIN,
    catch_up,
    cron_trigger,
    describe,
    last_fire,
    next_fires,
    scheduled_key,
    shortest_gap,
    weekdays,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("1/2", "mon,wed,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("MON-FRI", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("6-7", "sun,sat"),
        ("0-7", "sun,mon,tue,wed,thu,fri,sat"),
        ("0,6", "sun,sat"),
        ("sat,sun", "sun,sat"),
        ("1,1,2", "mon,tue"),
        ("sun-sat", "sun,mon,tue,wed,thu,fri,sat"),
    ],
)
def test_weekdays_reads_cron_numbering(field: str, days: str) -> None:
    assert weekdays(field) == days


@pytest.mark.parametrize("field", ["8", "-1", "fri-mon", "5-1", "xyz", "", "1/0", "*/0", "1,,2"])
def test_weekdays_refuses_what_is_not_a_weekday(field: str) -> None:
    with pytest.raises(ValueError):
        weekdays(field)


def test_weekdays_range_starting_at_seven_is_sunday() -> None:
    assert weekdays("7-7") == "sun"


def as_utc(moment: datetime | None) -> datetime | None:
    """In UTC: Python never calls a time in a DST gap or fold equal to one in another zone."""
    return None if moment is None else moment.astimezone(UTC)


def fires(expr: str, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    trigger = cron_trigger(expr, zone)
    found: list[datetime] = []
    moment = trigger.get_next_fire_time(None, start)
    while moment is not None and len(found) < count:
        found.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(minutes=1))
    return found


def test_cron_trigger_fires_monday_to_friday_at_nine_local() -> None:
    week = fires("0 9 * * 1-5", BERLIN, utc(2026, 3, 1), 6)  # from Sunday 1 March
    assert [(f"{m.astimezone(BERLIN):%a %d %H:%M}", m.astimezone(UTC).hour) for m in week] == [
        ("Mon 02 09:00", 8),
        ("Tue 03 09:00", 8),
        ("Wed 04 09:00", 8),
        ("Thu 05 09:00", 8),
        ("Fri 06 09:00", 8),
        ("Mon 09 09:00", 8),
    ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 8, 12, 0), utc(2026, 3, 6, 8, 0)),  # Sunday -> the previous Friday
        (utc(2026, 3, 7, 8, 0), utc(2026, 3, 6, 8, 0)),  # Saturday 09:00: no run
        (utc(2026, 3, 9, 7, 59), utc(2026, 3, 6, 8, 0)),  # Monday 08:59
        (utc(2026, 3, 9, 8, 0), utc(2026, 3, 9, 8, 0)),  # Monday 09:00 exactly
        (utc(2026, 3, 9, 8, 0, 30), utc(2026, 3, 9, 8, 0)),
        (utc(2026, 3, 10, 7, 0), utc(2026, 3, 9, 8, 0)),
        (utc(2026, 3, 30, 7, 0), utc(2026, 3, 30, 7, 0)),  # summer time: 09:00 is 07:00 UTC
    ],
)
def test_last_fire_on_weekdays(now: datetime, expected: datetime) -> None:
    assert as_utc(last_fire(cron_trigger("0 9 * * 1-5", BERLIN), now)) == expected


def test_last_fire_is_none_beyond_the_lookback() -> None:
    trigger = cron_trigger("0 9 1 1 *", BERLIN)  # once a year
    assert last_fire(trigger, utc(2026, 6, 1)) is None
    assert as_utc(last_fire(trigger, utc(2026, 1, 3), timedelta(days=8))) == utc(2026, 1, 1, 8)


# Every scheduled time around the 2026 DST changes in Berlin, as UTC.
DST_DAYS = {
    # spring forward, Sunday 29 March: 02:00 CET -> 03:00 CEST
    ("0 9 * * *", 3): [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)],
    # 02:30 does not exist on the 29th: it runs once, at 03:30 CEST (01:30 UTC)
    ("30 2 * * *", 3): [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
    # fall back, Sunday 25 October: 03:00 CEST -> 02:00 CET
    ("0 9 * * *", 10): [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)],
    # 02:30 happens twice on the 25th (00:30 and 01:30 UTC): one scheduled time
    ("30 2 * * *", 10): [
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 26, 1, 30),
    ],
}


@pytest.mark.parametrize(
    ("expr", "month", "now", "expected"),
    [
        ("0 9 * * *", 3, utc(2026, 3, 29, 6, 59), utc(2026, 3, 28, 8)),
        ("0 9 * * *", 3, utc(2026, 3, 29, 7, 0), utc(2026, 3, 29, 7)),  # 09:00 CEST
        ("0 9 * * *", 3, utc(2026, 3, 29, 8, 30), utc(2026, 3, 29, 7)),
        ("0 9 * * *", 10, utc(2026, 10, 25, 7, 30), utc(2026, 10, 24, 7)),
        ("0 9 * * *", 10, utc(2026, 10, 25, 8, 0), utc(2026, 10, 25, 8)),  # 09:00 CET
        ("30 2 * * *", 3, utc(2026, 3, 29, 1, 29), utc(2026, 3, 28, 1, 30)),
        ("30 2 * * *", 3, utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30)),
        ("30 2 * * *", 3, utc(2026, 3, 29, 23, 0), utc(2026, 3, 29, 1, 30)),
        ("30 2 * * *", 10, utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 0, 30)),
        ("30 2 * * *", 10, utc(2026, 10, 25, 1, 45), utc(2026, 10, 25, 1, 30)),
        ("30 2 * * *", 10, utc(2026, 10, 25, 23, 0), utc(2026, 10, 25, 1, 30)),
    ],
)
def test_last_fire_across_dst_days(
    expr: str, month: int, now: datetime, expected: datetime
) -> None:
    assert as_utc(last_fire(cron_trigger(expr, BERLIN), now)) == expected
    assert expected in DST_DAYS[(expr, month)]


def test_the_doubled_half_past_two_is_one_scheduled_time() -> None:
    first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)
    assert first.astimezone(BERLIN).utcoffset() != second.astimezone(BERLIN).utcoffset()
    assert scheduled_key(first, BERLIN) == scheduled_key(second, BERLIN)
    assert scheduled_key(first, BERLIN) == "2026-10-25T02:30 Europe/Berlin"
    keys = {scheduled_key(m, BERLIN) for m in DST_DAYS[("30 2 * * *", 10)]}
    assert keys == {
        "2026-10-24T02:30 Europe/Berlin",
        "2026-10-25T02:30 Europe/Berlin",
        "2026-10-26T02:30 Europe/Berlin",
    }


def test_the_missing_half_past_two_is_one_scheduled_time() -> None:
    keys = [scheduled_key(m, BERLIN) for m in DST_DAYS[("30 2 * * *", 3)]]
    assert keys == [
        "2026-03-28T02:30 Europe/Berlin",
        "2026-03-29T03:30 Europe/Berlin",  # 02:30 CET would be 03:30 CEST: named as it happens
        "2026-03-30T02:30 Europe/Berlin",
    ]


class CountingTrigger:
    """A trigger that counts the questions asked and stops an endless loop with an error."""

    def __init__(self, expr: str, limit: int = 200) -> None:
        self._trigger = cron_trigger(expr, BERLIN)
        self.calls = 0
        self._limit = limit

    def get_next_fire_time(self, previous: Any, now: datetime) -> datetime | None:
        self.calls += 1
        if self.calls > self._limit:
            raise RuntimeError(f"last_fire asked {self.calls} times: it does not terminate")
        return self._trigger.get_next_fire_time(previous, now)


@pytest.mark.parametrize(("expr", "month"), sorted(DST_DAYS))
def test_last_fire_terminates_and_is_right_for_every_minute_of_dst_days(
    expr: str, month: int
) -> None:
    day = 29 if month == 3 else 25
    start = datetime(2026, month, day, tzinfo=BERLIN).astimezone(UTC) - timedelta(hours=1)
    known = DST_DAYS[(expr, month)]
    wrong = []
    for minute in range(26 * 60):
        now = start + timedelta(minutes=minute)
        trigger = CountingTrigger(expr)
        found = as_utc(last_fire(trigger, now, timedelta(days=2)))  # type: ignore[arg-type]
        expected = max(m for m in known if m <= now)
        if found != expected:
            wrong.append((now, found, expected))
    assert wrong == []


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 8, 5), utc(2026, 3, 2, 8)),  # just missed
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 8), utc(2026, 3, 2, 8)),  # the very moment
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 20), utc(2026, 3, 2, 8)),  # 12 h: still news
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 20, 0, 1), None),  # older: skipped
        (utc(2026, 3, 2, 8), utc(2026, 3, 5, 8), None),
        (None, utc(2026, 3, 2, 8), None),
    ],
)
def test_catch_up(last: datetime | None, now: datetime, expected: datetime | None) -> None:
    assert catch_up(last, now) == expected


def test_catch_up_window_is_twelve_hours_and_adjustable() -> None:
    assert timedelta(hours=12) == CATCH_UP_WITHIN
    assert catch_up(utc(2026, 3, 2, 8), utc(2026, 3, 2, 9), timedelta(minutes=30)) is None


@pytest.mark.parametrize(
    "expr", ["0 9 * * 1-5", "0 9 * * 0", "30 2 * * *", "*/15 8-17 * * mon-fri"]
)
def test_check_accepts_what_the_scheduler_runs(expr: str) -> None:
    cron_trigger(expr, BERLIN)
    assert cron_problem(expr) is None


@pytest.mark.parametrize("expr", ["0 9 * * 7", "0 9 * * 5-7"])
def test_check_accepts_sunday_as_seven(expr: str) -> None:
    assert weekdays(expr.split()[-1])  # the scheduler reads it
    assert cron_problem(expr) is None


def test_check_refuses_what_the_scheduler_refuses() -> None:
    with pytest.raises(ValueError):
        cron_trigger("0 9 * * mon-sun", BERLIN)
    assert cron_problem("0 9 * * mon-sun") is not None


SPRING = utc(2026, 3, 26)  # the week in which Berlin's clocks go forward (29 March)
AUTUMN = utc(2026, 10, 22)  # and back (25 October: 02:00-03:00 happens twice)


@pytest.mark.parametrize(
    ("expr", "start", "gap"),
    [
        ("*/15 * * * *", SPRING, timedelta(minutes=15)),
        ("*/15 * * * *", AUTUMN, timedelta(minutes=15)),  # ends, through the hour repeated
        ("* * * * *", AUTUMN, timedelta(minutes=1)),
        ("0 */6 * * *", SPRING, timedelta(hours=6)),
        ("0 8,17 * * *", SPRING, timedelta(hours=9)),
        ("0 9 * * *", SPRING, timedelta(days=1)),  # 23 real hours on 29 March: one day
        ("0 9 * * *", AUTUMN, timedelta(days=1)),
        ("30 2 * * *", AUTUMN, timedelta(days=1)),  # 02:30 twice on 25 October: one time
        ("0 9 * * 1-5", SPRING, timedelta(days=1)),
        ("0 9 * * 1", SPRING, None),  # once a week: once in the week after start
        ("0 9 1 * *", SPRING, None),
    ],
)
def test_shortest_gap_between_fire_times_as_the_wall_clock_reads_them(
    expr: str, start: datetime, gap: timedelta | None
) -> None:
    assert shortest_gap(expr, BERLIN, start) == gap


def test_shortest_gap_looks_as_far_as_it_is_asked() -> None:
    assert shortest_gap("0 9 * * 1", BERLIN, SPRING, timedelta(days=14)) == timedelta(days=7)
    assert shortest_gap("0 9 * * *", BERLIN, SPRING, timedelta(hours=12)) is None


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        ("2026-10-25T00:30:00+00:00", "2026-10-25T02:30:00+02:00"),
        ("2026-10-25T00:54:00+00:00", "2026-10-25T02:45:00+02:00"),
        ("2026-10-25T01:00:00+00:00", "2026-10-25T02:00:00+01:00"),
        ("2026-10-25T01:12:00+00:00", "2026-10-25T02:00:00+01:00"),
        ("2026-10-25T01:30:00+00:00", "2026-10-25T02:30:00+01:00"),
        ("2026-11-02T08:00:00+00:00", "2026-11-02T09:00:00+01:00"),
    ],
)
def test_the_last_fire_of_a_frequent_schedule_across_the_clocks_going_back(
    utc: str, expected: str
) -> None:
    """Every 15 minutes in Berlin, the night the clocks go back and the week after: the
    walk once compared times by the wall clock and never ended."""
    trigger = cron_trigger("*/15 * * * *", ZoneInfo("Europe/Berlin"))
    found = last_fire(trigger, datetime.fromisoformat(utc))
    assert found is not None and found.isoformat() == expected


UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("expr", "zone", "words"),
    [
        ("0 9 * * 1-5", BERLIN, "weekdays at 09:00 (Europe/Berlin)"),
        ("0 9 * * mon-fri", BERLIN, "weekdays at 09:00 (Europe/Berlin)"),
        ("30 8 * * *", UTC_ZONE, "every day at 08:30 (UTC)"),
        ("30 8 * * 0-6", UTC_ZONE, "every day at 08:30 (UTC)"),
        ("30 8 * * 1-7", UTC_ZONE, "every day at 08:30 (UTC)"),
        ("0 9 * * 1", BERLIN, "Mondays at 09:00 (Europe/Berlin)"),
        ("0 9 * * 0", BERLIN, "Sundays at 09:00 (Europe/Berlin)"),
        ("0 9 * * 7", BERLIN, "Sundays at 09:00 (Europe/Berlin)"),
        ("0 7 * * 1,3,5", BERLIN, "Mondays, Wednesdays and Fridays at 07:00 (Europe/Berlin)"),
        ("0 7 * * 1-5/2", BERLIN, "Mondays, Wednesdays and Fridays at 07:00 (Europe/Berlin)"),
        ("0 10 * * 6,0", BERLIN, "weekends at 10:00 (Europe/Berlin)"),
        ("0 10 * * 5-7", BERLIN, "Fridays, Saturdays and Sundays at 10:00 (Europe/Berlin)"),
        ("0 10 * * 0,1", BERLIN, "Mondays and Sundays at 10:00 (Europe/Berlin)"),
        ("0 9,17 * * 1-5", BERLIN, "weekdays at 09:00 and 17:00 (Europe/Berlin)"),
        ("0,30 9 * * *", UTC_ZONE, "every day at 09:00 and 09:30 (UTC)"),
        ("15 * * * *", UTC_ZONE, "every hour at :15"),
        ("*/15 * * * *", BERLIN, "every 15 minutes"),
        ("0/30 * * * *", BERLIN, "every 30 minutes"),
        ("* * * * *", BERLIN, "every minute"),
        ("*/15 * * * 1-5", BERLIN, "every 15 minutes on weekdays (Europe/Berlin)"),
        ("0 * * * 1", UTC_ZONE, "every hour at :00 on Mondays (UTC)"),
        ("0 */6 * * *", UTC_ZONE, "every 6 hours at :00 (UTC)"),
        ("0 9-17 * * 1-5", BERLIN, "every hour from 09:00 to 17:00 on weekdays (Europe/Berlin)"),
        ("0 9 1 * *", BERLIN, "on the 1st of each month at 09:00 (Europe/Berlin)"),
        ("0 9 1,15 * *", BERLIN, "on the 1st and 15th of each month at 09:00 (Europe/Berlin)"),
        ("0 9 2,3,22 * *", UTC_ZONE, "on the 2nd, 3rd and 22nd of each month at 09:00 (UTC)"),
        ("0 9 11,12,13 * *", UTC_ZONE, "on the 11th, 12th and 13th of each month at 09:00 (UTC)"),
        ("0 9 31 * *", UTC_ZONE, "on the 31st of each month at 09:00 (UTC)"),
    ],
)
def test_describe_says_a_schedule_in_words(expr: str, zone: ZoneInfo, words: str) -> None:
    assert describe(expr, zone) == words


@pytest.mark.parametrize(
    "expr",
    [
        "5 4 * 2 *",  # a month
        "0 9 1 * 1",  # a day of the month and a weekday: cron runs on either
        "*/7 * * * *",  # not evenly every 7 minutes (:56, then :00)
        "0 */5 * * *",
        "*/15 8-17 * * mon-fri",
        "* 9 * * *",
        "0 8,9,10,11,12,13,14 * * *",  # more times than read well
        "0 9 * * mon-sun",  # what the scheduler refuses
        "0 9 * *",
        "0 9 L * *",
        "0 25 * * *",
    ],
)
def test_describe_falls_back_to_the_cron_itself(expr: str) -> None:
    assert describe(expr, UTC_ZONE) == f"cron {expr} (UTC)"


def test_describe_reads_weekdays_as_the_scheduler_does() -> None:
    """Every weekday field the scheduler reads names the days it fires on."""
    for field, days in [("1-5", "weekdays"), ("7", "Sundays"), ("0", "Sundays"), ("2", "Tuesdays")]:
        fired = {f"{m:%A}s" for m in next_fires(f"0 9 * * {field}", BERLIN, SPRING, 7)}
        assert describe(f"0 9 * * {field}", BERLIN).startswith(days)
        if days != "weekdays":
            assert fired == {days}
        else:
            assert fired == {"Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays"}


def test_next_fires_are_the_next_scheduled_times_after_now() -> None:
    now = utc(2026, 3, 6, 8, 0)  # Friday 09:00 in Berlin, exactly: not "after"
    found = next_fires("0 9 * * 1-5", BERLIN, now)
    assert [f"{m:%a %d %H:%M %Z}" for m in found] == [
        "Mon 09 09:00 CET",
        "Tue 10 09:00 CET",
        "Wed 11 09:00 CET",
    ]
    assert all(m.tzinfo is not None for m in found)
    assert found[0] == utc(2026, 3, 9, 8)
    assert next_fires("0 9 * * 1-5", BERLIN, now, count=1) == found[:1]
    assert next_fires("0 9 * * 1-5", BERLIN, now, count=0) == []


def test_next_fires_across_the_clocks_going_forward() -> None:
    found = next_fires("30 2 * * *", BERLIN, utc(2026, 3, 27, 12))
    assert [m.astimezone(UTC) for m in found] == DST_DAYS[("30 2 * * *", 3)]


def test_next_fires_lists_the_doubled_half_past_two_once() -> None:
    found = next_fires("30 2 * * *", BERLIN, utc(2026, 10, 23, 12))
    assert [m.astimezone(UTC) for m in found] == [
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST; 02:30 CET is the same scheduled time
        utc(2026, 10, 26, 1, 30),
    ]


def test_next_fires_of_a_frequent_schedule_through_the_hour_repeated() -> None:
    found = next_fires("*/15 * * * *", BERLIN, utc(2026, 10, 24, 23, 50), 8)
    assert [f"{m:%H:%M %Z}" for m in found] == [
        "02:00 CEST",
        "02:15 CEST",
        "02:30 CEST",
        "02:45 CEST",
        "03:00 CET",  # 02:00-02:45 CET are the scheduled times already listed
        "03:15 CET",
        "03:30 CET",
        "03:45 CET",
    ]


def test_next_fires_uses_the_scheduler_trigger_and_refuses_what_it_refuses() -> None:
    with pytest.raises(ValueError):
        next_fires("0 9 * * mon-sun", BERLIN, SPRING)
