"""Drop-alert review for thousands of agents: its time and memory, and alerts posted meanwhile.

    python -m bench.alert_bench [--runs 3] [--agents 5000 20000] [--alerts 60] [--seed 7]

About 7 minutes with the defaults, two of them per posting run (60 alerts are 120
messages at one a second); `--alerts 0` measures the review alone.

Review: for each number of agents, a file database holds 7 earlier snapshots and the
current one of an availability series (every agent's states and reasons as JSON, as
`states_rows` makes them) and of a CSAT series (one skill per 10 agents, each agent
within its skill). The numbers wander a little from run to run, so nothing fires and the
figure is the review itself: `Alerting.review` timed (median of `--runs`), the longest
the event loop waited meanwhile (a 1 ms ticker), tracemalloc's peak over one review, and
the growth of the process's peak resident memory (VmHWM, reset before the review).

Posting: `--alerts` agents of the first size lose most of their logged-in time in the
current snapshot, so as many alerts open; the real `Poster` (1 s per channel) posts them
to the simulated Slack on loopback. Timed: how long `review` holds the digest, until
every top message is posted, and until `drain()` returns (every thread reply out too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot import slack as slack_api
from bot.alerts.threads import Alerting
from bot.config import AlertRules, Rule
from bot.db import Store, writing
from bot.demo.sim.slack import SimulatedSlack
from bot.render import Renderer
from bot.snapshots.queries import save_snapshot
from bot.timefmt import now_iso

CHANNEL = "C0BENCHALERTS"
HISTORY = 7  # earlier snapshots stored: the default baseline_runs
REASON_IDS = [str(2642559000 + i) for i in range(6)]
MiB = 1024 * 1024


# --- snapshots in the shapes `snapshots.rows` makes ---------------------------------------


class Agents:
    """Each agent's usual day, seeded; `day()` is one snapshot of every agent, a little off."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.ids = [str(200000 + a) for a in range(count)]
        self.logged = [rng.randint(4, 9) * 3600 for _ in self.ids]
        self.away = [rng.uniform(0.02, 0.15) for _ in self.ids]
        self.volume = [rng.randint(0, 40) for _ in self.ids]
        self.mood = [rng.uniform(0.6, 0.95) for _ in self.ids]

    def availability(self, dropped: Collection[int] = ()) -> list[dict[str, Any]]:
        rng, rows = self.rng, []
        team: dict[str, int] = {"logged_in": 0, "chatting": 0, "online": 0, "back_soon": 0,
                                "away": 0}  # fmt: skip
        for i, agent in enumerate(self.ids):
            logged = int(self.logged[i] * rng.uniform(0.97, 1.03) * (0.4 if i in dropped else 1))
            away = int(logged * self.away[i] * rng.uniform(0.95, 1.05))
            back = logged * rng.randint(0, 10) // 100
            online = logged - away - back
            chatting = online * rng.randint(30, 80) // 100
            reasons = {rid: away // 2 for rid in rng.sample(REASON_IDS, 2)} if away else {}
            for key, value in (("logged_in", logged), ("chatting", chatting), ("online", online),
                               ("back_soon", back), ("away", away)):  # fmt: skip
                team[key] += value
            rows.append({
                "entity_kind": "agent", "entity_id": agent, "entity_name": None,
                "logged_in": logged, "chatting": chatting,
                "states": json.dumps({"online": online, "back_soon": back, "away": away}),
                "reasons": json.dumps(reasons),
            })  # fmt: skip
        states = {key: team[key] for key in ("online", "back_soon", "away")}
        total = {"entity_kind": "total", "entity_id": "", "entity_name": None,
                 "logged_in": team["logged_in"], "chatting": team["chatting"],
                 "states": json.dumps(states), "reasons": "{}"}  # fmt: skip
        return [total, *rows]

    def csat(self) -> list[dict[str, Any]]:
        rng, rows, skills = self.rng, [], {}
        for i, agent in enumerate(self.ids):
            answers = self.volume[i]
            positive = sum(rng.random() < self.mood[i] for _ in range(answers))
            skill = str(100 + i // 10)
            x, n = skills.get(skill, (0, 0))
            skills[skill] = (x + positive, n + answers)
            rows.append(_csat("skill_agent", f"{skill}:{agent}", positive, answers))
        everyone = (sum(x for x, _ in skills.values()), sum(n for _, n in skills.values()))
        return [
            _csat("total", "", *everyone),
            *(_csat("skill", skill, x, n) for skill, (x, n) in skills.items()),
            *rows,
        ]


def _csat(kind: str, id: str, positive: int, answers: int) -> dict[str, Any]:
    return {"entity_kind": kind, "entity_id": id, "entity_name": None, "answers": answers,
            "positive": positive, "score": positive / answers if answers else None}  # fmt: skip


def store_runs(store: Store, series: str, kind: str, days: list[list[dict[str, Any]]]) -> int:
    """Each day's rows as one snapshot of `series`; the last run's id."""
    run_id = 0
    for rows in days:
        now = now_iso()
        run = {"series": series, "source": "liveperson", "kind": kind, "scope": "agent",
               "window_start": now, "window_end": now, "taken_at": now,
               "digest": series}  # fmt: skip
        run_id = store.sync(lambda db, run=run, rows=rows: save_snapshot(db, run, rows))
    return run_id


# --- measuring ------------------------------------------------------------------------------


def rss(field: str) -> int:
    """VmRSS or VmHWM of this process, in bytes (0 where /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak_rss() -> bool:
    """Make VmHWM the current RSS (Linux), so the next peak is this review's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Stalls:
    """The longest the event loop kept a 1 ms timer waiting, while it runs."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, loop.time() - before - 0.001)

    def __enter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


def alerting(store: Store, poster: slack_api.Poster) -> Alerting:
    rules = AlertRules(channel=CHANNEL, mention="<!subteam^S0LEADS>", rule=Rule())
    return Alerting(rules, store, poster, Renderer())


async def review_figures(
    store: Store, poster: slack_api.Poster, kind: str, run_id: int, rows: list[dict[str, Any]],
    runs: int,
) -> dict[str, float]:  # fmt: skip
    """One cold review for resident memory, `runs` timed ones, one under tracemalloc."""
    alerts = alerting(store, poster)
    series = f"bench:{kind}"

    async def review() -> int:
        done = await alerts.review(series, "liveperson", kind, run_id, rows, series)
        await alerts.drain()
        return sum(action != "none" for action, _ in done)

    before = rss("VmRSS")
    reset_ok = reset_peak_rss()
    acted = await review()
    grown = rss("VmHWM") - before if reset_ok else float("nan")
    times, stalls = [], []
    for _ in range(runs):
        with Stalls() as stall:
            start = time.perf_counter()
            await alerts.review(series, "liveperson", kind, run_id, rows, series)
            times.append(time.perf_counter() - start)
        stalls.append(stall.worst)
        await alerts.drain()
    tracemalloc.start()
    await alerts.review(series, "liveperson", kind, run_id, rows, series)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    await alerts.drain()
    return {"time": statistics.median(times), "stall": statistics.median(stalls),
            "traced": peak, "rss": grown, "acted": acted}  # fmt: skip


def forget_alerts(db: Database) -> None:
    with writing(db):
        db.execute("delete from alerts")


async def posting_figures(
    store: Store, poster: slack_api.Poster, slack: SimulatedSlack, run_id: int,
    rows: list[dict[str, Any]], alerts_wanted: int,
) -> dict[str, float]:  # fmt: skip
    """A review that opens `alerts_wanted` alerts: held for, tops posted, all posted."""
    store.sync(forget_alerts)
    alerts = alerting(store, poster)
    seen = len(slack.posts(CHANNEL))
    await asyncio.sleep(1.05)  # the previous run's pacing lapses
    start = time.perf_counter()
    done = await alerts.review("bench:drops", "liveperson", "availability", run_id, rows, "b")
    held = time.perf_counter() - start
    opened = sum(action == "open" for action, _ in done)

    def tops() -> int:
        return sum(not p.get("thread_ts") for p in slack.posts(CHANNEL)[seen:])

    while tops() < opened:
        await asyncio.sleep(0.02)
    all_tops = time.perf_counter() - start
    await alerts.drain()
    drained = time.perf_counter() - start
    posts = slack.posts(CHANNEL)[seen:]
    threaded = sum(bool(p.get("thread_ts")) for p in posts)
    assert len(posts) - threaded == opened == threaded, (len(posts), opened, threaded)
    return {"held": held, "tops": all_tops, "drained": drained, "opened": opened,
            "posts": len(posts)}  # fmt: skip


def median_of(found: list[dict[str, float]], key: str) -> float:
    return statistics.median(f[key] for f in found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="timed reviews per size")
    parser.add_argument("--agents", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--alerts", type=int, default=60, help="alerts opened at once (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    began = time.perf_counter()
    folder = tempfile.TemporaryDirectory(prefix="bench-alerts-")  # 120 MB at 20,000 agents
    tmp = Path(folder.name)
    print(f"alert bench: {HISTORY} earlier snapshots per series, seed {args.seed}, "
          f"{args.runs} timed reviews per size (median)")  # fmt: skip
    with SimulatedSlack() as slack:
        web = slack_api.client("xoxb-bench", slack.api_url)
        reviews: dict[tuple[str, int], dict[str, float]] = {}
        posting: list[dict[str, float]] = []

        async def go() -> None:
            poster = slack_api.Poster(web)
            for agents in args.agents:
                store = Store(str(tmp / f"review-{agents}.db"))
                try:
                    people = Agents(random.Random(args.seed), agents)
                    makers: dict[str, Callable[[], list[dict[str, Any]]]] = {
                        "availability": people.availability, "csat": people.csat,
                    }  # fmt: skip
                    for kind, make in makers.items():
                        days = [make() for _ in range(HISTORY + 1)]
                        run_id = store_runs(store, f"bench:{kind}", kind, days)
                        rows = days[-1]
                        del days
                        reviews[(kind, agents)] = await review_figures(
                            store, poster, kind, run_id, rows, args.runs
                        )
                        print(f"  reviewed {kind} for {agents:,} agents", flush=True)
                finally:
                    store.close()
            if not args.alerts:
                return
            agents = args.agents[0]
            store = Store(str(tmp / "posting.db"))
            try:
                people = Agents(random.Random(args.seed), agents)
                days = [people.availability() for _ in range(HISTORY)]
                dropped = set(random.Random(args.seed).sample(range(agents), args.alerts))
                days.append(people.availability(dropped))
                run_id = store_runs(store, "bench:drops", "availability", days)
                for i in range(args.runs):
                    posting.append(
                        await posting_figures(store, poster, slack, run_id, days[-1], args.alerts)
                    )
                    print(f"  posting run {i + 1}: {posting[-1]['drained']:.1f} s", flush=True)
            finally:
                store.close()

        try:
            asyncio.run(go())
        finally:
            folder.cleanup()

    print("\nreview (nothing fires; history read, every entity evaluated, decisions stored):")
    print("  kind          agents  entities   review  loop stall  tracemalloc peak  "
          "peak RSS growth  traced per entity")  # fmt: skip
    for (kind, agents), f in reviews.items():
        entities = agents + 1 + (agents // 10 if kind == "csat" else 0)
        print(
            f"  {kind:12} {agents:7,} {entities:9,} {f['time'] * 1000:7.0f} ms "
            f"{f['stall'] * 1000:7.1f} ms  {f['traced'] / MiB:12.1f} MiB  "
            f"{f['rss'] / MiB:11.1f} MiB  {f['traced'] / entities:10,.0f} B"
        )
    if posting:
        print(f"\nposting {args.alerts} alerts, {args.agents[0]:,} agents, real pace "
              "(1 s per channel), median of runs:")  # fmt: skip
        print(f"  review holds the digest for   {median_of(posting, 'held') * 1000:8.0f} ms")
        print(f"  every top message posted at   {median_of(posting, 'tops'):8.1f} s")
        print(f"  drain() returns (all posted)  {median_of(posting, 'drained'):8.1f} s "
              f"({median_of(posting, 'posts'):.0f} messages)")  # fmt: skip
    print(f"\nbench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
