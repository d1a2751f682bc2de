"""The history tables: LivePerson's hourly pieces, their rollup per local day, and which
hours were collected.

Every function takes the `Database` and runs on the store's thread (`await store(fn)`).

An hour is stored once: `history_hours` says which were collected, and a piece for an
hour already there is skipped in the same transaction, so two collections (a restart, a
second process, `python -m bot collect` beside `serve`) never count an answer twice.

Counts add up exactly, so a window is a sum: its whole local days come from the `*_days`
rollups and the hours at its edges from the `*_hours` pieces. The hours and days are
listed with `IN (...)`, so every read is a seek on the primary key `(hour|day, agent, …)`:
a skill's total is its row with `agent = ''`, found without reading its agents' pieces.
Days are dates in the configured zone (`date.toordinal()`), an hour belonging to the day
its start falls in; when the zone changes, `ensure_zone` rebuilds them from the hours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.db import writing
from bot.metrics import (
    AWAY,
    BACK_SOON,
    ONLINE,
    AgentStates,
    CsatCounts,
    CsatRow,
    Interval,
    StateTime,
)

HOUR = timedelta(hours=1)
CSAT, STATES = "csat", "states"
LOGGED_IN = "logged_in"  # the state row of the time logged in (all states together)
REASON = "reason:"  # prefix of an away reason's state row
_COUNTS = "s1, s2, s3, s4, s5, total, positive"
_SUMS = "sum(s1), sum(s2), sum(s3), sum(s4), sum(s5), sum(total), sum(positive)"
_TIMES = "total, chatting, not_chatting, max_concurrency"
_TIME_SUMS = "sum(total), sum(chatting), sum(not_chatting), sum(max_concurrency)"
_ORDER = {ONLINE: 0, BACK_SOON: 1, AWAY: 2}
Ids = tuple[str, ...] | Literal["all"] | None


# --- hours and days ---------------------------------------------------------------------


def hour_of(moment: datetime) -> int:
    """The unix second an hour starts at, for the hour `moment` falls in."""
    seconds = int(moment.astimezone(UTC).timestamp())
    return seconds - seconds % 3600


def moment(hour: int) -> datetime:
    return datetime.fromtimestamp(hour, UTC)


@lru_cache(maxsize=65536)
def day_of(hour: int, zone: ZoneInfo) -> int:
    """The local date (as an ordinal) of the day an hour belongs to: the one its start is in."""
    return moment(hour).astimezone(zone).date().toordinal()


@lru_cache(maxsize=4096)
def day_hours(day: int, zone: ZoneInfo) -> tuple[int, ...]:
    """Every hour that belongs to a local day: 24, or 23 and 25 on the days clocks change."""
    midnight = datetime.combine(date.fromordinal(day), datetime.min.time(), zone)
    first = hour_of(midnight) - 7200  # a little before, for zones with half-hour offsets
    return tuple(h for h in range(first, first + 30 * 3600, 3600) if day_of(h, zone) == day)


def split(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[list[int], list[int]]:
    """The window [start, end) (whole hours) as the local days wholly inside it and the
    hours left at its edges."""
    hours = range(hour_of(start), hour_of(end - timedelta(microseconds=1)) + 1, 3600)
    if end <= start:
        return [], []
    by_day: dict[int, list[int]] = defaultdict(list)
    for hour in hours:
        by_day[day_of(hour, zone)].append(hour)
    days, edges = [], []
    for day, inside in by_day.items():
        if len(inside) == len(day_hours(day, zone)):
            days.append(day)
        else:
            edges.extend(inside)
    return days, edges


def _in(values: Sequence[Any]) -> str:
    return f"({', '.join('?' * len(values))})" if values else "(NULL)"


# --- collection -------------------------------------------------------------------------


def collected_hours(db: Database, kind: str, start: datetime, end: datetime) -> list[datetime]:
    """The hours of [start, end) that were collected, oldest first."""
    rows = db.execute(
        "select hour from history_hours where kind = ? and hour >= ? and hour < ? order by hour",
        [kind, hour_of(start), int(end.timestamp())],
    ).fetchall()
    return [moment(hour) for (hour,) in rows]


def first_hour(db: Database, kind: str) -> datetime | None:
    """The oldest hour kept: since when the bot has history (as far as it keeps it)."""
    (hour,) = db.execute("select min(hour) from history_hours where kind = ?", [kind]).fetchone()
    return None if hour is None else moment(hour)


def last_hour(db: Database, kind: str) -> datetime | None:
    """The latest hour collected; the next collection starts after it."""
    (hour,) = db.execute("select max(hour) from history_hours where kind = ?", [kind]).fetchone()
    return None if hour is None else moment(hour)


def _claim(db: Database, kind: str, hours: Iterable[datetime], at: str) -> list[int]:
    """The hours not collected yet, marked collected (inside the caller's transaction)."""
    fresh = []
    for when in hours:
        hour = hour_of(when)
        cursor = db.execute(
            "insert or ignore into history_hours (kind, hour, collected_at) values (?, ?, ?)",
            [kind, hour, at],
        )
        if cursor.rowcount:
            fresh.append(hour)
    return fresh


def store_csat(
    db: Database,
    pieces: Mapping[datetime, Sequence[CsatRow[CsatCounts]]],
    zone: ZoneInfo,
    collected_at: datetime,
) -> list[datetime]:
    """Each hour's skill rows (their totals, and their agents' pieces), stored once: hours
    already collected are skipped. One transaction; the days' rollups add them. An hour
    with no answers is still collected (and stores no rows). Returns the hours stored."""
    with writing(db):
        ensure_zone(db, zone)  # under the write lock: no process flips the zone meanwhile
        fresh = _claim(db, CSAT, sorted(pieces), collected_at.astimezone(UTC).isoformat())
        by_hour = {hour_of(h): rows for h, rows in pieces.items()}
        rows = [
            (hour, agent, skill, *counts)
            for hour in fresh
            for agent, skill, counts in _csat_values(by_hour[hour])
        ]
        _put(db, "csat_hours", "hour", "agent, skill", _COUNTS, rows)
        _add_days(db, "csat_days", "agent, skill", _COUNTS, rows, zone)
    return [moment(h) for h in fresh]


def _csat_values(rows: Sequence[CsatRow[CsatCounts]]) -> Iterable[tuple[str, str, tuple[int, ...]]]:
    for row in rows:
        if row.counts.total or any(row.counts.scores):
            yield "", row.id, (*row.counts.scores, row.counts.total, row.counts.positive)
        for agent in row.agents:
            c = agent.counts
            if c.total or any(c.scores):
                yield agent.id, row.id, (*c.scores, c.total, c.positive)


def store_states(
    db: Database,
    pieces: Mapping[datetime, Sequence[AgentStates]],
    zone: ZoneInfo,
    collected_at: datetime,
) -> list[datetime]:
    """Each hour's agents (logged in, each state, each away reason), stored once, as
    `store_csat` stores CSAT. Returns the hours stored."""
    with writing(db):
        ensure_zone(db, zone)  # as in store_csat
        fresh = _claim(db, STATES, sorted(pieces), collected_at.astimezone(UTC).isoformat())
        by_hour = {hour_of(h): agents for h, agents in pieces.items()}
        rows = [
            (hour, agent.id, state, *time)
            for hour in fresh
            for agent in by_hour[hour]
            for state, time in _state_values(agent)
        ]
        _put(db, "state_hours", "hour", "agent, state", _TIMES, rows)
        _add_days(db, "state_days", "agent, state", _TIMES, rows, zone)
    return [moment(h) for h in fresh]


def _state_values(agent: AgentStates) -> Iterable[tuple[str, StateTime]]:
    if any(agent.logged_in):
        yield LOGGED_IN, agent.logged_in
    for state, time in agent.states:
        if any(time):
            yield state, time
    for reason, time in agent.reasons:
        if any(time):
            yield f"{REASON}{reason}", time


def _put(
    db: Database, table: str, at: str, keys: str, values: str, rows: list[tuple[Any, ...]]
) -> None:
    marks = ", ".join("?" * (3 + len(values.split(","))))
    db.conn.executemany(f"insert into {table} ({at}, {keys}, {values}) values ({marks})", rows)


def _add_days(
    db: Database,
    table: str,
    keys: str,
    values: str,
    rows: list[tuple[Any, ...]],
    zone: ZoneInfo,
) -> None:
    """Hours added into their local days' rollups."""
    names = [v.strip() for v in values.split(",")]
    marks = ", ".join("?" * (3 + len(names)))
    added = ", ".join(f"{n} = {n} + excluded.{n}" for n in names)
    db.conn.executemany(
        f"insert into {table} (day, {keys}, {values}) values ({marks})"
        f" on conflict (day, {keys}) do update set {added}",
        ((day_of(row[0], zone), *row[1:]) for row in rows),
    )


def ensure_zone(db: Database, zone: ZoneInfo) -> bool:
    """Days in `zone`: when the history's days were added up in another zone, they are
    added up again from the hours (once). True when they were.

    The stores call it inside their transaction, so the zone they add hours in is the one
    the days are in; a read calls it before reading. The zone is read again under the
    write lock: another process may have just changed it."""
    if _zone(db) == zone.key:  # the usual case: no write lock taken
        return False
    with writing(db):
        kept = _zone(db)
        if kept == zone.key:
            return False
        db.execute(
            "insert into history_meta (key, value) values ('zone', ?)"
            " on conflict (key) do update set value = excluded.value",
            [zone.key],
        )
        if kept is None and not db.execute("select 1 from history_hours limit 1").fetchone():
            return False
        db.execute("create temp table if not exists day_map (hour integer primary key, day)")
        db.execute("delete from day_map")
        hours = db.execute("select distinct hour from history_hours").fetchall()
        db.conn.executemany(
            "insert into day_map values (?, ?)", ((h, day_of(h, zone)) for (h,) in hours)
        )
        for table, keys, values in (
            ("csat", "agent, skill", _COUNTS),
            ("state", "agent, state", _TIMES),
        ):
            sums = ", ".join(f"sum({v.strip()})" for v in values.split(","))
            db.execute(f"delete from {table}_days")
            db.execute(
                f"insert into {table}_days (day, {keys}, {values})"
                f" select m.day, {keys}, {sums} from {table}_hours join day_map m using (hour)"
                f" group by m.day, {keys}"
            )
        db.execute("delete from day_map")
    return True


def _zone(db: Database) -> str | None:
    row = db.execute("select value from history_meta where key = 'zone'").fetchone()
    return None if row is None else str(row[0])


def prune(db: Database, before: datetime, zone: ZoneInfo) -> int:
    """Everything older than `before` forgotten (`[history] keep`), cut at the start of
    the local day `before` falls in, so that no day keeps a rollup of hours that are gone.
    Returns the rows deleted."""
    day = day_of(hour_of(before), zone)
    hour = day_hours(day, zone)[0]
    deleted = 0
    with writing(db):
        for table, column, bound in (
            ("csat_hours", "hour", hour),
            ("state_hours", "hour", hour),
            ("csat_days", "day", day),
            ("state_days", "day", day),
            ("history_hours", "hour", hour),
        ):
            deleted += db.execute(f"delete from {table} where {column} < ?", [bound]).rowcount
    return deleted


# --- CSAT -------------------------------------------------------------------------------


def _counts(row: Sequence[int]) -> CsatCounts:
    s1, s2, s3, s4, s5, total, positive = row
    return CsatCounts((s1, s2, s3, s4, s5), total, positive)


def _csat_sums(
    db: Database,
    days: list[int],
    hours: list[int],
    where: str,
    args: list[Any],
    group: str,
) -> dict[tuple[Any, ...], CsatCounts]:
    """Sums over days and edge hours, by `group` (columns), for rows matching `where`."""
    found: dict[tuple[Any, ...], CsatCounts] = {}
    width = group.count(",") + 1
    for table, at, keys in (("csat_days", "day", days), ("csat_hours", "hour", hours)):
        if not keys:
            continue
        sql = (
            f"select {group}, {_SUMS} from {table} where {at} in {_in(keys)} and {where}"
            f" group by {group}"
        )
        for row in db.execute(sql, [*keys, *args]).fetchall():
            key, counts = tuple(row[:width]), _counts(row[width:])
            found[key] = found[key] + counts if key in found else counts
    return found


def _ids_filter(column: str, ids: Ids) -> tuple[str, list[Any]]:
    if ids is None or ids == "all":
        return f"{column} != ''", []
    return f"{column} in {_in(ids)}", list(ids)


def csat_report_rows(
    db: Database,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    unit: str,
    ids: Ids,
    with_agents: bool = False,
) -> tuple[CsatCounts, tuple[CsatRow[CsatCounts], ...]]:
    """The totals and rows of a /csat answer over the hours of [start, end): `unit` is
    account, skill or agent; skill rows carry their agents when `with_agents`."""
    days, hours = split(start, end, zone)
    if unit == "agent":
        where, args = _ids_filter("agent", ids)
        sums = _csat_sums(db, days, hours, where, args, "agent")
        rows = tuple(CsatRow("agent", agent, None, c) for (agent,), c in sums.items())
        return sum((r.counts for r in rows), CsatCounts()), rows
    where, args = _ids_filter("skill", ids if unit == "skill" else "all")
    skills = _csat_sums(db, days, hours, f"agent = '' and {where}", args, "skill")
    total = sum(skills.values(), CsatCounts())
    if unit == "account":
        return total, ()
    members: dict[str, list[CsatRow[CsatCounts]]] = defaultdict(list)
    if with_agents:
        pieces = _csat_sums(db, days, hours, f"agent != '' and {where}", args, "skill, agent")
        for (skill, agent), counts in pieces.items():
            members[skill].append(CsatRow("agent", agent, None, counts))
    rows = tuple(
        CsatRow("skill", skill, None, counts, tuple(members.get(skill, ())))
        for (skill,), counts in skills.items()
    )
    return total, rows


def _entity(unit: str) -> tuple[str, str]:
    """The column a unit's rows are told apart by, and the rows that are its entities: a
    skill's own total (`agent = ''`), or an agent's pieces in every skill."""
    return ("agent", "agent != ''") if unit == "agent" else ("skill", "agent = ''")


def csat_top(
    db: Database, start: datetime, end: datetime, zone: ZoneInfo, unit: str, limit: int
) -> tuple[tuple[str, ...], int]:
    """The `limit` skills or agents with the most answers over [start, end) (the most
    first, then by id), and how many had any. Ranked and counted in SQL, which sqlite runs
    without holding the GIL: the process that acks Slack stays free while 5,000 agents'
    90 days are added up, and Python sees only the few it will show."""
    days, hours = split(start, end, zone)
    column, where = _entity(unit)
    parts, args = [], []
    for table, at, keys in (("csat_days", "day", days), ("csat_hours", "hour", hours)):
        if keys:
            parts.append(
                f"select {column} as id, sum(total) as answers from {table}"
                f" where {at} in {_in(keys)} and {where} group by {column}"
            )
            args += keys
    if not parts:
        return (), 0
    rows = db.execute(
        f"select id, count(*) over () from ({' union all '.join(parts)})"
        f" group by id having sum(answers) > 0 order by sum(answers) desc, id limit ?",
        [*args, max(1, limit)],  # one row at least, to carry the count
    ).fetchall()
    return tuple(str(id) for id, _ in rows[: max(0, limit)]), rows[0][1] if rows else 0


def csat_series(
    db: Database,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    unit: str,
    ids: Ids,
    step: Literal["day", "week"] = "day",
    only: Sequence[str] | None = None,
) -> dict[str, list[tuple[date, CsatCounts]]]:
    """Counts per local day (or ISO week, keyed by its Monday) over [start, end), per
    entity, and "" the total of what was asked: the account (the skills' totals, answers
    without an agent included) for the account and for `all`, the ids together otherwise.
    `only`: the entities whose own series are read (the busiest of `all`, `csat_top`).
    Days and weeks without answers are left out.

    Everything is summed in SQL, by day or week: Python sees one row per day (or week)
    and entity, so the work per trend is the days times the entities shown."""
    days, hours = split(start, end, zone)
    column, where = _entity(unit)
    if unit == "account" or ids is None or ids == "all":
        totals = _series_sums(db, days, hours, zone, step, "", "agent = '' and skill != ''", [])
    else:
        totals = _series_sums(
            db, days, hours, zone, step, "", f"{where} and {column} in {_in(ids)}", list(ids)
        )
    series: dict[str, list[tuple[date, CsatCounts]]] = {"": totals[""]} if "" in totals else {}
    wanted = None if unit == "account" else only if only is not None else ids
    if wanted is None:
        return series
    if wanted == "all":
        found = _series_sums(db, days, hours, zone, step, column, where, [])
    elif wanted:
        found = _series_sums(
            db, days, hours, zone, step, column, f"{where} and {column} in {_in(wanted)}",
            list(wanted),
        )  # fmt: skip
    else:
        found = {}
    series.update((entity, points) for entity, points in found.items() if entity)
    return series


def _series_sums(
    db: Database,
    days: list[int],
    hours: list[int],
    zone: ZoneInfo,
    step: Literal["day", "week"],
    column: str,
    where: str,
    args: list[Any],
) -> dict[str, list[tuple[date, CsatCounts]]]:
    """Sums per day (or week: its Monday, `day - (day + 6) % 7` for a date's ordinal) and
    per `column` ("" sums every row matching `where` together), from the whole days'
    rollups and the edge hours (whose days travel with them), oldest first."""
    key = "day - (day + 6) % 7" if step == "week" else "day"
    entity = column or "''"
    group = f"{key}, {column}" if column else key
    rows: list[Any] = []
    if days:
        sql = (
            f"select {key}, {entity}, {_SUMS} from csat_days where day in {_in(days)}"
            f" and {where} group by {group}"
        )
        rows += db.execute(sql, [*days, *args]).fetchall()
    if hours:
        pairs = [value for hour in hours for value in (hour, day_of(hour, zone))]
        marks = ", ".join(["(?, ?)"] * len(hours))
        sql = (
            f"with m (hour, day) as (values {marks}) select {key}, {entity}, {_SUMS}"
            f" from m join csat_hours c on c.hour = m.hour where {where} group by {group}"
        )
        rows += db.execute(sql, [*pairs, *args]).fetchall()
    sums: dict[tuple[int, str], list[int]] = {}
    for day, name, *values in rows:  # a day or week in both tables at most: two rows
        kept = sums.get((day, name))
        if kept is None:
            sums[(day, name)] = values
        else:
            kept[:] = [a + b for a, b in zip(kept, values, strict=True)]
    series: dict[str, list[tuple[date, CsatCounts]]] = defaultdict(list)
    for (day, name), values in sorted(sums.items()):
        series[str(name)].append((date.fromordinal(day), _counts(values)))
    return dict(series)


# --- agent states ----------------------------------------------------------------------


def _states_of(agent: str, times: Mapping[str, StateTime]) -> AgentStates:
    logged_in = times.get(LOGGED_IN, StateTime())
    states = sorted(
        ((k, t) for k, t in times.items() if k != LOGGED_IN and not k.startswith(REASON)),
        key=lambda item: (_ORDER.get(item[0], len(_ORDER)), item[0]),
    )
    reasons = tuple((k.removeprefix(REASON), t) for k, t in times.items() if k.startswith(REASON))
    return AgentStates(agent, None, logged_in, tuple(states), reasons)


def _state_sums(
    db: Database, table: str, at: str, keys: Sequence[int], ids: Ids
) -> list[tuple[Any, ...]]:
    if not keys:
        return []
    where, args = _ids_filter("agent", ids)
    sql = (
        f"select {at}, agent, state, {_TIME_SUMS} from {table} where {at} in {_in(keys)}"
        f" and {where} group by {at}, agent, state"
    )
    return db.execute(sql, [*keys, *args]).fetchall()


def state_rows(
    db: Database, start: datetime, end: datetime, zone: ZoneInfo, ids: Ids
) -> tuple[AgentStates, ...]:
    """Each agent's time over the hours of [start, end)."""
    days, hours = split(start, end, zone)
    times: dict[str, dict[str, StateTime]] = defaultdict(dict)
    for table, at, keys in (("state_days", "day", days), ("state_hours", "hour", hours)):
        for _, agent, state, *parts in _state_sums(db, table, at, keys, ids):
            time = StateTime(*parts)
            kept = times[agent]
            kept[state] = kept[state] + time if state in kept else time
    return tuple(_states_of(agent, t) for agent, t in times.items())


def state_slices(
    db: Database,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    ids: Ids,
    step: int | Literal["day"] = "day",
) -> tuple[Interval, ...]:
    """The window in slices: local days (23 or 25 hours when clocks change), or `step`
    minutes (a multiple of 60) from its start; each with every agent's time in it."""
    first, last = hour_of(start), hour_of(end - timedelta(microseconds=1)) + 3600
    if end <= start:
        return ()
    bounds: list[tuple[int, int]] = []
    if step == "day":
        day = day_of(first, zone)
        while True:
            hours = [h for h in day_hours(day, zone) if first <= h < last]
            if not hours and bounds:
                break
            if hours:
                bounds.append((hours[0], hours[-1] + 3600))
            day += 1
    else:
        size = max(3600, step * 60 // 3600 * 3600)
        bounds = [(h, min(h + size, last)) for h in range(first, last, size)]
    slices = []
    for low, high in bounds:
        agents = state_rows(db, moment(low), moment(high), zone, ids)
        slices.append(Interval(moment(low), moment(high), agents))
    return tuple(slices)
