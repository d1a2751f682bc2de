"""History beyond the vendors' windows: disk, collection time and answers from the store.

    python -m bench.history_bench [--days 90] [--skills 500] [--agents 20] [--runs 5]
                                  [--collect 5000]

About 3 minutes with the defaults, most of it filling the file.

A file database is filled with `--days` of hourly CSAT pieces for `--skills` skills of
`--agents` agents each, every piece with answers (the worst case: a real account has
none at night), plus each skill's total per hour, and the rollups per local day
(Europe/Berlin) added up from them as `store_csat` adds them. Printed: rows and bytes
on disk (after a checkpoint, WAL included).

Answers, each the median of `--runs` (the first, cold from the file, printed beside):
- `/csat skill all {days}d`: `csat_report_rows` for every skill over the window, which
  ends mid-day so that both edges are read from the hours;
- a 30-day trend of every skill, per day (`csat_series`), and of one skill;
- `/csat trend agent all {days}d` as `Trends` reads it: every agent ranked in SQL
  (`csat_top`), then the series of the busiest four and the account, week by week;
- `/csat agent 1234 {days}d` for one agent.

Collection of one hour of `--collect` agents (in `--collect / --agents` skills): the two
nested LivePerson answers (CSAT by skill and agent, agent states with away reasons) as
JSON text, decoded and parsed as the source parses them, subtracted into the hour's
pieces (`history.pieces`), and stored into the filled file (`store_csat`, `store_states`):
timed from the JSON text to the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.db import open_db, writing
from bot.history import queries

ZONE = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
MiB = 1024 * 1024


def pieces(rng: random.Random, hours: range, skills: int, agents: int) -> Iterator[tuple[Any, ...]]:
    """(hour, agent, skill, s1..s5, total, positive) for every piece and skill total, in
    primary-key order within each hour (agent '' first, then agents in text order); the
    answers are drawn from a pool, which keeps the filling fast."""
    pool = []
    for _ in range(997):
        scores = [rng.randrange(2), 0, rng.randrange(2), rng.randrange(3), 1 + rng.randrange(4)]
        pool.append((*scores, sum(scores), scores[3] + scores[4]))
    ids = sorted(
        (str(10_000 + s * agents + a), str(100 + s)) for s in range(skills) for a in range(agents)
    )
    skill_ids = sorted(str(100 + s) for s in range(skills))
    n = 0
    for hour in hours:
        totals = {skill: [0] * 7 for skill in skill_ids}
        rows = []
        for agent, skill in ids:
            values = pool[n % 997]
            n += 1
            rows.append((hour, agent, skill, *values))
            sums = totals[skill]
            for i in range(7):
                sums[i] += values[i]
        yield from ((hour, "", skill, *totals[skill]) for skill in skill_ids)
        yield from rows


def fill(db: Database, start: datetime, days: int, skills: int, agents: int) -> int:
    """The history of `days` days, written as `store_csat` writes it, in bulk."""
    first = queries.hour_of(start)
    hours = range(first, first + days * 24 * 3600, 3600)
    queries.ensure_zone(db, ZONE)
    rng = random.Random(7)
    with writing(db):
        db.conn.executemany(
            "insert into csat_hours values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            pieces(rng, hours, skills, agents),
        )
        db.conn.executemany(
            "insert into history_hours values ('csat', ?, ?)",
            ((h, start.isoformat()) for h in hours),
        )
    db.execute("delete from history_meta")  # the days, added up from the hours, as a
    queries.ensure_zone(db, ZONE)  # change of zone adds them up
    (rows,) = db.execute("select count(*) from csat_hours").fetchone()
    return int(rows)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(first, median of the rest) in milliseconds, and the last result."""
    times, result = [], None
    for _ in range(runs + 1):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return times[0], statistics.median(times[1:]), result


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def liveperson_bodies(rng: random.Random, skills: int, agents: int, hours: int) -> tuple[str, str]:
    """msgcsatdistribution (skillIds=all) and agentactivity (agentIds=all) answers for the
    last `hours` hours, as LivePerson sends them."""
    per_skill = {}
    for s in range(skills):
        members = {}
        for a in range(agents):
            scores = [rng.randrange(2 * hours + 1) for _ in range(5)]
            members[str(10_000 + s * agents + a)] = {
                **{f"csat_score{i + 1}_answers": n for i, n in enumerate(scores)},
                "total_answers": sum(scores),
                "positive_answers": scores[3] + scores[4],
                "csat_score": 0.5,
            }
        per_skill[str(100 + s)] = {"metricsPerAgent": members}
    csat = json.dumps({"skillsMetricsPerAgent": {"metricsPerSkill": per_skill}})

    def time_(total: int) -> dict[str, int]:
        return {"total": total, "chatting": total // 2, "notChatting": total - total // 2,
                "chattingInMaxConcurrency": 0}  # fmt: skip

    per_agent = {}
    for n in range(skills * agents):
        logged = rng.randrange(3600 * hours)
        away = logged // 10
        per_agent[str(10_000 + n)] = [
            {"id": 2, "name": "Online", "value": time_(logged - away)},
            {"id": 3, "name": "Back in 5", "value": time_(0)},
            {
                "id": 4,
                "name": "Away",
                "value": time_(away),
                "reasons": [{"id": "2642559712", "value": time_(away)}],
            },
            {"id": -1, "name": "Logged in", "value": time_(logged)},
        ]
    states = json.dumps({"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": []}})
    return csat, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--skills", type=int, default=500)
    parser.add_argument("--agents", type=int, default=20, help="agents per skill")
    parser.add_argument("--collect", type=int, default=5000, help="agents in one collection")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = open_db(str(path))
        start = datetime(2026, 6, 1, 22, tzinfo=UTC)  # 2 Jun 00:00 in Berlin
        began = time.perf_counter()
        rows = fill(db, start, args.days, args.skills, args.agents)
        filled = time.perf_counter() - began
        db.execute("pragma wal_checkpoint(truncate)")
        print(
            f"history: {args.days} days x {args.skills} skills x {args.agents} agents: "
            f"{rows:,} hourly rows (pieces and skill totals), "
            f"{db.execute('select count(*) from csat_days').fetchone()[0]:,} daily rows; "
            f"{size(path) / MiB:,.0f} MiB on disk ({size(path) / rows:.1f} bytes a row); "
            f"filled in {filled:.0f} s"
        )
        end = start + args.days * 24 * HOUR - 10 * HOUR  # mid-day: both edges from hours
        begin = end - args.days * 24 * HOUR + 2 * HOUR

        def skill_all() -> Any:
            return queries.csat_report_rows(db, begin, end, ZONE, "skill", "all")

        def trend_all() -> Any:
            return queries.csat_series(db, end - 30 * 24 * HOUR, end, ZONE, "skill", "all")

        def trend_one() -> Any:
            return queries.csat_series(db, end - 30 * 24 * HOUR, end, ZONE, "skill", ("123",))

        def trend_agents() -> Any:
            since = end - args.days * 24 * HOUR
            top, _ = queries.csat_top(db, since, end, ZONE, "agent", 4)
            return queries.csat_series(db, since, end, ZONE, "agent", "all", "week", only=top)

        def agent_one() -> Any:
            return queries.csat_report_rows(db, begin, end, ZONE, "agent", ("10500",))

        print(f"answers from history (median of {args.runs}; the first, cold, in brackets):")
        for label, fn, goal in (
            (f"/csat skill all {args.days}d", skill_all, 300),
            ("30-day trend, every skill, per day", trend_all, 300),
            ("30-day trend, one skill, per day", trend_one, 300),
            (f"{args.days}-day trend, busiest agents, weekly", trend_agents, None),
            (f"/csat agent 10500 {args.days}d", agent_one, None),
        ):
            first, median, _ = timed(fn, args.runs)
            versus = f"  (goal {goal} ms: {median / goal:.2f} of it)" if goal else ""
            print(f"  {label:<40} {median:8.1f} ms  [{first:7.1f} ms]{versus}")
        asyncio.run(answered(path, args, end))
        collect(db, args, end)
        db.close()
        os.sync()


async def answered(path: Path, args: argparse.Namespace, now: datetime) -> None:
    """The whole answers as `serve` gives them: the command prepared, `HistoryBacked` reading
    the store on its thread, the message rendered (each run a different timeframe, so no
    run is a kept answer)."""
    from bot import config
    from bot.app import build_commands
    from bot.commands import grammar
    from bot.db import Store
    from bot.query import Query

    env = {"LIVEPERSON_ACCOUNT_ID": "1", "LIVEPERSON_CLIENT_ID": "bench",
           "LIVEPERSON_CLIENT_SECRET": "bench", "LIVEPERSON_DOMAIN_API_URL": "http://127.0.0.1:9",
           "BOT_DB": str(path), "BOT_CONFIG": str(path.parent / "absent.toml")}  # fmt: skip
    settings = replace(config.load(env), timezone=ZONE)
    store = Store(str(path))
    commands = build_commands(settings, lambda: now, store, fetch_names=False)
    assert commands.trends is not None
    trends = commands.trends
    try:
        for label, text, goal in (
            (f"/csat skill all {args.days}d, answered", "skill all {d}d", 300),
            ("/csat trend skill all 30d, answered", "trend skill all {d}d", 300),
        ):
            times = []
            for n in range(args.runs + 1):
                days = (args.days if "trend" not in text else 30) - n
                began = time.perf_counter()
                if "trend" in text:
                    query = grammar.parse("/csat", text.format(d=days))
                    assert isinstance(query, Query)
                    resolved, _ = trends.resolve(query)
                    message = await trends.answer(resolved)
                else:
                    plan = commands.prepare("/csat", text.format(d=days))
                    message = await commands.answer(plan)
                times.append((time.perf_counter() - began) * 1000)
                assert "blocks" in message, message
            median = statistics.median(times[1:])
            print(
                f"  {label:<40} {median:8.1f} ms  [{times[0]:7.1f} ms]"
                f"  (goal {goal} ms: {median / goal:.2f} of it)"
            )
    finally:
        await commands.sources.aclose()
        store.close()


def collect(db: Database, args: argparse.Namespace, now: datetime) -> None:
    """One hour of `--collect` agents: JSON text to the commit."""
    from bot.history import pieces as hp
    from bot.jsonscan import loads_whole
    from bot.metrics import Window
    from bot.sources.liveperson import parse_agent_activity, parse_csat

    rng = random.Random(11)
    skills = max(1, args.collect // args.agents)
    older = liveperson_bodies(rng, skills, args.agents, 2)
    newer = liveperson_bodies(rng, skills, args.agents, 1)
    hour = now.replace(minute=0, second=0, microsecond=0)
    window = Window(hour - 2 * HOUR, hour - 2 * HOUR, now)
    runs = []
    for n in range(args.runs):
        when = hour + (n + 1) * 24 * HOUR  # a new hour each run: nothing skipped
        began = time.perf_counter()
        csat = [parse_csat(loads_whole(body.encode()), "skill")[1] for body in (older[0], newer[0])]
        states = [
            parse_agent_activity(loads_whole(b.encode()), window, None)[0]
            for b in (older[1], newer[1])
        ]
        csat_piece = hp.csat_difference(csat[0], csat[1])
        states_piece = hp.states_difference(states[0], states[1])
        queries.store_csat(db, {when: csat_piece}, ZONE, when)
        queries.store_states(db, {when: states_piece}, ZONE, when)
        runs.append((time.perf_counter() - began) * 1000)
    print(
        f"collection of one hour, {skills * args.agents:,} agents in {skills} skills "
        f"(decode, parse, subtract, store): median {statistics.median(runs):,.0f} ms "
        f"(goal 2,000 ms: {statistics.median(runs) / 2000:.2f} of it)"
    )


if __name__ == "__main__":
    main()
