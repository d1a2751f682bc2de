"""A digest for 5,000 agents and 500 skills: answer -> posted, snapshot rows/s, memory.

    python -m bench.digest_bench [--runs 3] [--agents 5000] [--skills 500] [--repeats 5]

Starts the simulated Slack and LivePerson on loopback (in this process), overrides
LivePerson's `msgcsatdistribution` and `agentactivity` answers with generated bodies in
the real shapes (seeded), configures two digests posting to one channel (CSAT by skill,
availability of all agents) and runs each through `Digests.run` a few times.

Vendor answer -> posted: before each run the clock moves to a fresh 5-minute bucket and
the digest's vendor query is fetched once on its own (HTTP + JSON + parse, timed), so the
run that follows is served from the bucket cache and its time is what happens after the
vendor answered: compare, snapshot, render, post, thread attachments.

Snapshot rows/s: `snapshots.queries.save_snapshot` against a plain sqlite3 `executemany` of the same
rows into the same `snapshots` table (fresh migrated file DB each time, WAL,
synchronous=FULL, one transaction each). Peak memory: tracemalloc over one cold run
(fetch included), and the process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import Parts, build_parts
from bot.config import Digest, load
from bot.db import open_db
from bot.demo.sim.liveperson import SimulatedLivePerson, metrics
from bot.demo.sim.slack import SimulatedSlack
from bot.render.renderer import MAX_BLOCKS
from bot.snapshots.queries import save_snapshot
from bot.snapshots.rows import csat_rows, states_rows
from bot.timefmt import now_iso

CHANNEL = "C0BENCH"
DIGESTS = ("csat-skills", "availability")
REASON_IDS = [str(2642559000 + i) for i in range(6)]
MiB = 1024 * 1024


# --- generated vendor answers, in LivePerson's shapes ----------------------------------


def csat_body(rng: random.Random, skills: int, agents: int) -> dict[str, Any]:
    """msgcsatdistribution by skill: every agent answers in exactly one skill."""
    skill_ids = [str(100 + i) for i in range(skills)]
    per_skill: dict[str, dict[str, Any]] = {sid: {} for sid in skill_ids}
    for a in range(agents):
        volume = rng.randint(0, 60)
        mood = rng.uniform(0.4, 0.98)
        weights = [(1 - mood) * 0.5, (1 - mood) * 0.3, (1 - mood) * 0.2, mood * 0.35]
        scores = [int(volume * w) for w in weights]
        scores.append(volume - sum(scores))
        per_skill[rng.choice(skill_ids)][str(200000 + a)] = metrics(scores)

    def total(items: list[dict[str, Any]]) -> dict[str, Any]:
        return metrics([sum(m[f"csat_score{i}_answers"] for m in items) for i in range(1, 6)])

    element = {
        sid: {"metricsPerAgent": members, "metricsTotals": total(list(members.values()))}
        for sid, members in per_skill.items()
    }
    totals = total([s["metricsTotals"] for s in element.values()])
    return {"skillsMetricsPerAgent": {"metricsPerSkill": element, "metricsTotals": totals}}


def _time(total: int, chatting: int = 0, maxed: int = 0) -> dict[str, int]:
    return {"total": total, "chatting": chatting, "notChatting": total - chatting,
            "chattingInMaxConcurrency": maxed}  # fmt: skip


def activity_body(rng: random.Random, agents: int, seconds: int) -> dict[str, Any]:
    """agentactivity for the whole window: states 2, 3, 4 (with 0-2 reasons) and -1."""
    per_agent = {}
    for a in range(agents):
        logged = rng.randint(0, seconds)
        away = logged * rng.randint(0, 20) // 100
        back = logged * rng.randint(0, 15) // 100
        online = logged - away - back
        chatting = online * rng.randint(0, 80) // 100
        maxed = chatting * rng.randint(0, 30) // 100
        reasons = []
        left = away
        for rid in rng.sample(REASON_IDS, rng.randint(0, 2) if away else 0):
            part = left if not reasons and rng.random() < 0.3 else left * rng.randint(30, 70) // 100
            reasons.append({"id": rid, "value": _time(part)})
            left -= part
        per_agent[str(200000 + a)] = [
            {"id": 2, "name": "Online", "value": _time(online, chatting, maxed)},
            {"id": 3, "name": "Back in 5", "value": _time(back)},
            {"reasons": reasons, "id": 4, "name": "Away", "value": _time(away)},
            {"id": -1, "name": "Logged in", "value": _time(logged, chatting, maxed)},
        ]
    return {"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": []}}


CONFIG = f"""\
timezone = "UTC"

[[digest]]
name = "{DIGESTS[0]}"
kind = "csat"
channel = "{CHANNEL}"
cron = "0 9 * * 1-5"
skills = "all"
timeframe = "24h"
timezone = "UTC"

[[digest]]
name = "{DIGESTS[1]}"
kind = "availability"
channel = "{CHANNEL}"
cron = "0 9 * * 1-5"
agents = "all"
timeframe = "24h"
timezone = "UTC"
"""


# --- the clock: every run in its own, fresh 5-minute bucket -----------------------------


class Clock:
    """Real time plus an offset; `fresh_bucket()` jumps to 1 s into the next bucket."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def fresh_bucket(self) -> None:
        now = self().timestamp()
        self.offset += 300 - now % 300 + 1


# --- timing one digest run ----------------------------------------------------------------


class Marks:
    """Moments inside a run: when the main message was posted, time in render and pacing."""

    def __init__(self, parts: Parts) -> None:
        self.posted: list[tuple[float, float]] = []  # (started, returned) of top-level posts
        self.render = 0.0
        self.paced = 0.0
        poster = parts.digests.poster
        renderer = parts.digests.renderer
        assert poster is not None
        post, render, sleep = poster.post, renderer.render, poster._sleep

        async def timed_post(channel: str, message: Any, thread_ts: str | None = None,
                             broadcast: bool = False) -> str:  # fmt: skip
            start = time.perf_counter()
            ts = await post(channel, message, thread_ts, broadcast)
            if thread_ts is None:
                self.posted.append((start, time.perf_counter()))
            return ts

        def timed_render(name: str, **context: Any) -> Any:
            start = time.perf_counter()
            try:
                return render(name, **context)
            finally:
                self.render += time.perf_counter() - start

        async def counted_sleep(seconds: float) -> None:
            self.paced += seconds
            await sleep(seconds)

        poster.post = timed_post  # type: ignore[method-assign]
        renderer.render = timed_render  # type: ignore[method-assign]
        poster._sleep = counted_sleep

    def reset(self) -> None:
        self.posted.clear()
        self.render = self.paced = 0.0


async def fetch(parts: Parts, digest: Digest) -> Any:
    """The digest's vendor query, exactly as `Digests._run` asks it."""
    query, source = parts.commands.sources.resolve(digest.query())
    if digest.kind == "csat":
        return await source.csat(query)
    return await source.agent_states(query)


async def timed(coro: Awaitable[Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await coro
    return time.perf_counter() - start, result


async def digest_runs(
    parts: Parts, clock: Clock, lp: SimulatedLivePerson, runs: int
) -> tuple[dict[str, list[dict[str, float]]], dict[str, Any], dict[str, int]]:
    """Per digest: figures of each run, the last report fetched, and tracemalloc peaks."""
    marks = Marks(parts)
    figures: dict[str, list[dict[str, float]]] = {}
    reports: dict[str, Any] = {}
    peaks: dict[str, int] = {}
    # warm: Domain API hosts and the OAuth token, outside any timed fetch
    clock.fresh_bucket()
    for name in DIGESTS:
        await fetch(parts, parts.digests.get(name))
    for name in DIGESTS:
        digest = parts.digests.get(name)
        report_path = "msgcsatdistribution" if digest.kind == "csat" else "agentactivity"
        figures[name] = []
        for _ in range(runs):
            clock.fresh_bucket()
            await asyncio.sleep(1.05)  # let the previous run's per-channel pacing lapse
            vendor, reports[name] = await timed(fetch(parts, digest))
            calls = len(lp.data_calls(report_path))
            marks.reset()
            start = time.perf_counter()
            outcome = await parts.digests.run(name)
            end = time.perf_counter()
            assert outcome.status == "posted", outcome
            assert len(lp.data_calls(report_path)) == calls, "the run asked the vendor again"
            (post_start, posted), *_ = marks.posted
            figures[name].append({
                "vendor": vendor, "to_post_call": post_start - start, "render": marks.render,
                "posted": posted - start, "thread": end - start, "paced": marks.paced,
                "total": vendor + end - start, "rows": outcome.rows,
            })  # fmt: skip
        # peak memory of one whole cold run: fetch, parse, snapshot, render, post, attach
        clock.fresh_bucket()
        await asyncio.sleep(1.05)
        calls = len(lp.data_calls(report_path))
        tracemalloc.start()
        tracemalloc.reset_peak()
        await parts.digests.run(name)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(lp.data_calls(report_path)) == calls + 1, "the cold run did not fetch"
    return figures, reports, peaks


# --- snapshot rows per second -----------------------------------------------------------


def run_row(kind: str) -> dict[str, Any]:
    now = now_iso()
    return {"series": "bench", "source": "liveperson", "kind": kind, "scope": "skill",
            "window_start": now, "window_end": now, "taken_at": now, "digest": "bench"}  # fmt: skip


def via_save_snapshot(path: Path, kind: str, rows: list[dict[str, Any]]) -> float:
    db = open_db(str(path))
    try:
        start = time.perf_counter()
        save_snapshot(db, run_row(kind), rows)
        return time.perf_counter() - start
    finally:
        db.close()


def via_executemany(path: Path, kind: str, rows: list[dict[str, Any]]) -> float:
    open_db(str(path)).close()  # the same migrated schema, WAL already on
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
        columns = list(dict.fromkeys(c for row in rows for c in row))
        run = run_row(kind)
        insert_run = (
            f"INSERT INTO snapshot_runs ({', '.join(run)}) VALUES ({', '.join('?' * len(run))})"
        )
        insert = (
            f"INSERT INTO snapshots ({', '.join(columns)}, run_id) "
            f"VALUES ({', '.join('?' * (len(columns) + 1))})"
        )
        start = time.perf_counter()
        conn.execute("BEGIN")
        run_id = conn.execute(insert_run, list(run.values())).lastrowid
        conn.executemany(insert, ([*(row.get(c) for c in columns), run_id] for row in rows))
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def snapshot_rates(
    folder: Path, kind: str, rows: list[dict[str, Any]], repeats: int
) -> dict[str, list[float]]:
    """Rows per second of each way, on a fresh file DB every time, alternating the order."""
    ways: dict[str, Callable[[Path, str, list[dict[str, Any]]], float]] = {
        "save_snapshot": via_save_snapshot, "executemany": via_executemany,
    }  # fmt: skip
    rates: dict[str, list[float]] = {name: [] for name in ways}
    for i in range(repeats):
        order = list(ways) if i % 2 == 0 else list(reversed(ways))
        for name in order:
            path = folder / f"{kind}-{name}-{i}.db"
            seconds = ways[name](path, kind, rows)
            with sqlite3.connect(path) as conn:
                stored = conn.execute("select count(*) from snapshots").fetchone()[0]
            assert stored == len(rows), (name, stored, len(rows))
            rates[name].append(len(rows) / seconds)
    return rates


# --- checks on what reached Slack -------------------------------------------------------


def slack_checks(slack: SimulatedSlack) -> dict[str, dict[str, Any]]:
    """Per digest: blocks of its last main message, and lines of its last CSV upload."""
    titles = {}
    for call in slack.calls_to("/api/files.completeUploadExternal"):
        for item in json.loads(call.data().get("files", "[]")):
            titles[item["id"]] = item.get("title", "")
    found: dict[str, dict[str, Any]] = {name: {} for name in DIGESTS}
    for body in slack.posts(CHANNEL):
        if body.get("thread_ts"):
            continue
        for name in DIGESTS:
            if f" {name}:" in body.get("text", ""):
                blocks = body.get("blocks") or []
                found[name]["blocks"] = len(
                    json.loads(blocks) if isinstance(blocks, str) else blocks
                )
    for call in slack.uploads():
        title = titles.get(call.path.rsplit("/", 1)[-1], "")
        for name in DIGESTS:
            if title.startswith(f"{name}: all"):
                found[name]["csv_lines"] = call.body.decode().count("\n")
                found[name]["csv_bytes"] = len(call.body)
    return found


# --- output -----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="timed runs per digest")
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--skills", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5, help="snapshot write repetitions")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    began = time.perf_counter()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    bodies = {
        "/msgcsatdistribution": csat_body(rng, args.skills, args.agents),
        "/agentactivity": activity_body(rng, args.agents, 24 * 3600),
    }
    encoded = {path: json.dumps(body).encode() for path, body in bodies.items()}
    del bodies
    (tmp / "bot.toml").write_text(CONFIG, encoding="utf-8")
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp:
        # bytes are answered as they are: the simulator does no JSON work per request
        lp.overrides.update(encoded)
        env = {
            "BOT_CONFIG": str(tmp / "bot.toml"),
            "BOT_DB": str(tmp / "bot.db"),
            "BOT_SCHEDULER": "off",
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_API_URL": slack.api_url,
            **lp.env(),
        }
        clock = Clock()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        async def go() -> tuple[Any, ...]:
            parts = build_parts(load(env), clock)
            try:
                return await digest_runs(parts, clock, lp, args.runs)
            finally:
                await parts.aclose()

        figures, reports, peaks = asyncio.run(go())
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        checks = slack_checks(slack)

    print(
        f"digest bench: {args.agents:,} agents in {args.skills} skills, seed {args.seed}; "
        f"answers {len(encoded['/msgcsatdistribution']) / MiB:.1f} MiB (CSAT) and "
        f"{len(encoded['/agentactivity']) / MiB:.1f} MiB (agentactivity) from the simulator"
    )
    print(
        "how: each run starts in a fresh 5-minute bucket; the digest's vendor query is "
        "fetched once alone (vendor = HTTP + JSON + parse), so the run is a cache hit and "
        "its time is vendor answer -> posted. 'posted' = chat.postMessage returned; "
        "'thread' = run done, attachments included (Poster paces 1 s per channel)."
    )
    for name in DIGESTS:
        print(f"\n{name} ({figures[name][0]['rows']:,} snapshot rows per run):")
        print(
            "  run      vendor  answer->post call   (render)  answer->posted"
            "  answer->thread  (paced)   total wall"
        )
        for i, f in enumerate(figures[name], 1):
            print(
                f"  {i:3} {ms(f['vendor'])}  {ms(f['to_post_call']):>17}  {ms(f['render'])}"
                f"     {ms(f['posted'])}     {ms(f['thread'])}  {f['paced']:5.2f} s  "
                f"{ms(f['total'])}"
            )
    print("  (run 1 of the CSAT digest includes importing matplotlib for its charts)")

    rows = {
        "csat": csat_rows(reports[DIGESTS[0]]),
        "availability": states_rows(reports[DIGESTS[1]]),
    }
    rates = {kind: snapshot_rates(tmp, kind, r, args.repeats) for kind, r in rows.items()}
    print(
        f"\nsnapshot rows/s, {args.repeats} writes each, fresh migrated file DB, WAL, "
        "synchronous=FULL, one transaction (median / best):"
    )
    for kind, r in rates.items():
        save, plain = r["save_snapshot"], r["executemany"]
        ratio = statistics.median(save) / statistics.median(plain)
        print(
            f"  {kind:12} {len(rows[kind]):5,} rows   save_snapshot {statistics.median(save):9,.0f}"
            f" / {max(save):9,.0f}   executemany {statistics.median(plain):9,.0f}"
            f" / {max(plain):9,.0f}   save/plain {ratio:.2f}x"
        )

    print("\npeak memory:")
    for name in DIGESTS:
        print(f"  tracemalloc peak, one cold run of {name:13} {peaks[name] / MiB:7.1f} MiB")
    print(
        f"  ru_maxrss of the process: {rss_before / 1024:.1f} MiB after generating the answers, "
        f"{rss_after / 1024:.1f} MiB at the end (simulators run in this process)"
    )

    print("\nwhat reached Slack (last run of each digest):")
    ok = True
    for name in DIGESTS:
        c = checks[name]
        blocks_ok = 0 < c.get("blocks", 0) <= MAX_BLOCKS
        ok &= blocks_ok
        print(
            f"  {name:13} main message {c.get('blocks', 0)} blocks "
            f"({'ok' if blocks_ok else 'FAIL'}, <= {MAX_BLOCKS});  CSV in thread: "
            f"{c.get('csv_lines', 0):,} lines, {c.get('csv_bytes', 0) / 1024:.0f} KiB"
        )
    biggest = max(c.get("csv_lines", 0) for c in checks.values())
    csv_ok = biggest >= args.agents
    ok &= csv_ok
    print(
        f"  a CSV with {args.agents:,}+ lines uploaded: {'yes' if csv_ok else 'NO'} "
        f"({biggest:,} lines)"
    )

    print("\nsummary")
    print(f"  {'figure':52} {DIGESTS[0]:>14} {DIGESTS[1]:>14}")

    def line(label: str, value: Callable[[str], str]) -> None:
        print(f"  {label:52} {value(DIGESTS[0]):>14} {value(DIGESTS[1]):>14}")

    def med(key: str) -> Callable[[str], str]:
        return lambda n: f"{statistics.median(f[key] for f in figures[n]) * 1000:,.0f} ms"

    line("vendor fetch (HTTP + JSON + parse), median", med("vendor"))
    line("vendor answer -> main message posted, median", med("posted"))
    line("vendor answer -> thread attachments done, median", med("thread"))
    line("total wall per run (fetch + run), median", med("total"))
    line("tracemalloc peak, one cold run", lambda n: f"{peaks[n] / MiB:.1f} MiB")
    kinds = dict(zip(DIGESTS, rows, strict=True))
    line("snapshot rows", lambda n: f"{len(rows[kinds[n]]):,}")
    line("save_snapshot rows/s, median",
         lambda n: f"{statistics.median(rates[kinds[n]]['save_snapshot']):,.0f}")  # fmt: skip
    line("plain executemany rows/s, median",
         lambda n: f"{statistics.median(rates[kinds[n]]['executemany']):,.0f}")  # fmt: skip
    line("main message blocks (<= 50)", lambda n: str(checks[n].get("blocks", 0)))
    line("CSV lines in thread", lambda n: f"{checks[n].get('csv_lines', 0):,}")
    print(f"  process ru_maxrss {rss_after / 1024:.1f} MiB; checks {'passed' if ok else 'FAILED'};"
          f" bench took {time.perf_counter() - began:.1f} s")  # fmt: skip
    print(
        f"reproduce: .venv/bin/python -m bench.digest_bench --runs {args.runs} "
        f"--agents {args.agents} --skills {args.skills} --repeats {args.repeats} --seed {args.seed}"
    )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
