"""Writes against plain SQLite: snapshots, survey ingestion, and the ingestion endpoint.

    python -m bench.write_bench [--runs 3] [--parts snapshots ingest endpoint]
        [--rows 5000 20000] [--repeats 5] [--items 20000] [--clients 1 10 50]
        [--requests 200] [--rounds 3] [--probe-every 0.05] [--seed 7]

Every reference is a plain `sqlite3` connection to a file migrated by `open_db` (the same
tables and indexes), with the bot's pragmas: WAL, synchronous=FULL, foreign_keys=ON, a
busy timeout. Each figure is the median of its run; a ratio is the bot's rate divided by
the reference's in the same run, and the min-max of the ratios over the runs is printed.

1. Snapshots: `save_snapshot` against BEGIN, one insert of the run row, one
   `executemany` of the same rows into `snapshots`, COMMIT, on a fresh file each time,
   the two alternating. Rows come from `snapshots/rows.py` out of generated reports:
   CSAT by skill (a skill row and one row per agent within it) and availability (one row
   per agent, states and reasons as JSON), at each `--rows`.
2. Ingestion writes: `save_groups` (what the endpoint's `Writer` runs on the store's
   thread: create-or-update per item, the responses and their outbox rows) against
   `executemany` of the same two upserts with the same rows, built beforehand from the
   same validated items. Transactions of 100 items (one request) and of 2,000 (a full
   group of 20 requests), `--items` in all, on a fresh file each time.
3. The endpoint: `python -m bot serve` (BOT_INGEST_TOKEN set) as a process, driven by a
   load client in a process of its own (this module with `--load-client`: raw sockets,
   one keep-alive connection per client, bodies prepared before the clock starts) with
   `--requests` POSTs of 100 survey responses at each of `--clients` concurrent clients.
   Items/s is items over the wall time from the first request written to the last
   answer read; every answer must be a 201 with every item a success. The reference is
   SQLite itself taking the same items, validated beforehand: one connection, the same
   two upserts by `executemany`, in two shapes, each into its own file that grows with
   the bot's:
   - per request: one transaction per POST's 100 items, as a server without group
     commit would have to (more connections would only queue for SQLite's one writer);
   - grouped: min(clients, 20) POSTs per transaction, the largest group the `Writer`
     can form, i.e. as if every commit were shared by every client in flight.
   Rounds alternate which goes first. While the load runs, a signed `/csat help` goes to
   `/slack/events` every `--probe-every` seconds on a connection of its own: its answer
   is the ack itself, so its latency is how long the event loop made Slack wait.
   The load client shares the machine's cores with the bot: on 2 cores its own work
   (writing requests, reading answers) is part of what the figures pay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.digest_bench import run_row, via_save_snapshot
from bot.db import LOCK_WAIT_SECONDS, open_db
from bot.metrics import (
    AgentStates,
    AgentStatesReport,
    CsatCounts,
    CsatReport,
    CsatRow,
    StateTime,
    Window,
)
from bot.snapshots.rows import csat_rows, states_rows
from bot.surveys.endpoint import MAX_ITEMS, Writer
from bot.surveys.items import Item, read_document, validate_item
from bot.surveys.queries import _UPSERT_OUTBOX, _UPSERT_RESPONSE, response_row, save_groups
from bot.timefmt import iso_ms

PATH = "/api/v1/create-customer-feedback"
TOKEN = "bench-token"
NOW = "2026-12-02T09:00:00.000Z"
Rates = dict[str, list[float]]


# --- plain SQLite, as the reference of every part -------------------------------------------


def plain(path: Path) -> sqlite3.Connection:
    """A fresh migrated file, opened as plain sqlite3 with the bot's pragmas."""
    open_db(str(path)).close()  # the same schema; WAL is a property of the file
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")
    return conn


def summary(bot: Sequence[float], ref: Sequence[float]) -> tuple[float, float, float]:
    """(bot median, reference median, bot ÷ reference) of rates."""
    b, r = statistics.median(bot), statistics.median(ref)
    return b, r, b / r


def spread(ratios: Sequence[float]) -> str:
    return f"median {statistics.median(ratios):.2f}x, min-max {min(ratios):.2f}-{max(ratios):.2f}x"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- 1. snapshots -------------------------------------------------------------------------


def window() -> Window:
    now = datetime.now(UTC)
    return Window(now - timedelta(days=1), now - timedelta(days=1), now)


def csat_report(rng: random.Random, rows: int) -> CsatReport:
    """CSAT by skill: the total, ~1 skill per 10 agents, every agent within its skill."""
    skills = max(1, rows // 11)
    members: list[list[CsatRow[CsatCounts]]] = [[] for _ in range(skills)]
    for a in range(rows - 1 - skills):
        volume, mood = rng.randint(0, 60), rng.uniform(0.4, 0.98)
        s1, s2, s3 = (int(volume * (1 - mood) * w) for w in (0.5, 0.3, 0.2))
        s4 = int(volume * mood * 0.35)
        counts = CsatCounts.from_scores((s1, s2, s3, s4, volume - s1 - s2 - s3 - s4))
        members[rng.randrange(skills)].append(CsatRow("agent", str(200000 + a), None, counts))
    skill_rows = []
    for i, agents in enumerate(members):
        total = sum((m.counts for m in agents), CsatCounts())
        skill_rows.append(CsatRow("skill", str(100 + i), f"Support tier {i}", total, tuple(agents)))
    total = sum((r.counts for r in skill_rows), CsatCounts())
    return CsatReport("liveperson", "liveperson", "skill", window(), total, tuple(skill_rows))


def states_report(rng: random.Random, rows: int) -> AgentStatesReport:
    """Availability: one agent per row (and the team), states and 0-2 away reasons."""
    agents = []
    for a in range(rows - 1):
        logged = rng.randint(0, 86_400)
        away, back = logged * rng.randint(0, 20) // 100, logged * rng.randint(0, 15) // 100
        online = logged - away - back
        chatting = online * rng.randint(0, 80) // 100
        reasons = tuple(
            (str(2642559000 + r), StateTime(away // 2))
            for r in rng.sample(range(6), rng.randint(0, 2) if away else 0)
        )
        states = (("online", StateTime(online, chatting)), ("back_soon", StateTime(back)),
                  ("away", StateTime(away)))  # fmt: skip
        name = f"Agent Ñame {a}" if a % 3 else None
        agents.append(
            AgentStates(str(200000 + a), name, StateTime(logged, chatting), states, reasons)
        )
    return AgentStatesReport("liveperson", "liveperson", window(), tuple(agents))


def snapshot_rows(kind: str, rows: int, rng: random.Random) -> list[dict[str, Any]]:
    made = (
        csat_rows(csat_report(rng, rows))
        if kind == "csat"
        else states_rows(states_report(rng, rows))
    )
    assert len(made) == rows, (kind, len(made), rows)
    return made


def via_executemany(path: Path, kind: str, rows: list[dict[str, Any]]) -> float:
    """The same rows' values, made before the clock starts: what SQLite itself takes."""
    conn = plain(path)
    try:
        columns = list(dict.fromkeys(c for row in rows for c in row))
        run = run_row(kind)
        insert_run = (
            f"insert into snapshot_runs ({', '.join(run)}) values ({', '.join('?' * len(run))})"
        )
        insert = (
            f"insert into snapshots ({', '.join(columns)}, run_id) "
            f"values ({', '.join('?' * (len(columns) + 1))})"
        )
        values = [[row.get(c) for c in columns] for row in rows]
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        run_id = conn.execute(insert_run, list(run.values())).lastrowid
        for value in values:
            value.append(run_id)
        conn.executemany(insert, values)
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def stored(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("select * from snapshots order by id").fetchall()


def snapshots_part(args: argparse.Namespace, tmp: Path) -> None:
    print(
        "\n1. snapshots: save_snapshot vs plain executemany, rows/s (fresh file, one transaction)"
    )
    rng = random.Random(args.seed)
    for kind in ("csat", "availability"):
        for size in args.rows:
            rows = snapshot_rows(kind, size, rng)
            runs: list[Rates] = []
            for run in range(args.runs):
                rates: Rates = {"save_snapshot": [], "executemany": []}
                for i in range(args.repeats):
                    paths = {
                        name: tmp / f"snap-{kind}-{size}-{run}-{i}-{name}.db" for name in rates
                    }
                    order = list(rates) if i % 2 == 0 else list(reversed(rates))
                    for name in order:
                        way = via_save_snapshot if name == "save_snapshot" else via_executemany
                        rates[name].append(size / way(paths[name], kind, rows))
                    if run == 0 and i == 0:  # the same rows, column for column
                        assert stored(paths["save_snapshot"]) == stored(paths["executemany"])
                    for path in paths.values():
                        path.unlink()
                runs.append(rates)
            report(f"{kind} {size:,} rows", runs, "save_snapshot", "executemany", "rows/s")


def report(label: str, runs: list[Rates], bot: str, ref: str, unit: str) -> None:
    per_run = [summary(r[bot], r[ref]) for r in runs]
    every_bot = [x for r in runs for x in r[bot]]
    every_ref = [x for r in runs for x in r[ref]]
    b, f, _ = summary(every_bot, every_ref)
    print(
        f"  {label:30} {bot} {b:9,.0f}  {ref} {f:9,.0f} {unit}  ratio "
        f"{b / f:.2f}x; per run {', '.join(f'{s[2]:.2f}' for s in per_run)} "
        f"({spread([s[2] for s in per_run])})"
    )


# --- survey responses, as a tool sends them -----------------------------------------------


def bodies(requests: int, prefix: str) -> list[bytes]:
    """`requests` bodies of 100 distinct responses in MaestroQA's format: 0-10 scores,
    comments of 0-2 sentences (some beyond ASCII), one or two clarifying answers."""
    start = datetime.now(UTC) - timedelta(days=1)
    made = []
    for r in range(requests):
        data = []
        for i in range(MAX_ITEMS):
            answers = [{"question": "Resolved?", "score": 1 + i % 5}]
            if i % 4 == 0:
                answers.append({"question": "Would you ask us again?", "score": i % 11,
                                "min_score": "0", "max_score": "10",
                                "comment": "Perhaps."})  # fmt: skip
            data.append({
                "submitted_at": iso_ms(start + timedelta(milliseconds=r * MAX_ITEMS + i)),
                "ticket_id": f"{prefix}-{r}-{i}", "agent_id": str(1000 + i % 40),
                "agent_email": f"agent{i % 40}@example.com", "score": i % 11, "min_score": 0,
                "max_score": 10, "score_label": "",
                "comment": ("Waited a while, but the answer was right. " if i % 5 else
                            "Très bien, merci ! ") * (i % 3),
                "clarifying_answers": answers,
            })  # fmt: skip
        made.append(json.dumps({"data": data}).encode())
    return made


def items_of(body: bytes) -> list[Item]:
    """The body's items as the endpoint validates them (valid, JSON encoded, id known)."""
    document, sound = read_document(body)
    found = [validate_item(raw, sound=sound) for raw in document["data"]]
    assert all(isinstance(i, Item) for i in found)
    return [i for i in found if isinstance(i, Item)]


def plain_ingest(conn: sqlite3.Connection, transactions: list[list[Item]]) -> float:
    """The items' rows by executemany of the bot's two upserts, one transaction per list;
    rows are built before the clock starts. Seconds."""
    prepared = [
        ([response_row(i, NOW) for i in items], [(i.id, NOW, NOW) for i in items])
        for items in transactions
    ]
    start = time.perf_counter()
    for responses, outbox in prepared:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_UPSERT_RESPONSE, responses)
        conn.executemany(_UPSERT_OUTBOX, outbox)
        conn.execute("COMMIT")
    return time.perf_counter() - start


def flat(groups: list[list[Item]]) -> list[Item]:
    return [item for group in groups for item in group]


def in_transactions(requests: list[list[Item]], per: int) -> list[list[list[Item]]]:
    """Requests (100 items each) grouped `per` to a transaction."""
    return [requests[i : i + per] for i in range(0, len(requests), per)]


# --- 2. ingestion writes ------------------------------------------------------------------


def ingest_part(args: argparse.Namespace, tmp: Path) -> None:
    print(
        f"\n2. ingestion writes: save_groups vs plain executemany of the same rows, items/s "
        f"({args.items:,} items, fresh file)"
    )
    requests = [items_of(b) for b in bodies(args.items // MAX_ITEMS, "writes")]
    for per in (1, Writer.MAX_GROUP):
        groups = in_transactions(requests, per)
        runs: list[Rates] = []
        for run in range(args.runs):
            rates: Rates = {"save_groups": [], "executemany": []}
            for i in range(args.repeats):
                order = list(rates) if i % 2 == 0 else list(reversed(rates))
                for name in order:
                    path = tmp / f"ingest-{per}-{run}-{i}-{name}.db"
                    if name == "save_groups":
                        db = open_db(str(path))
                        start = time.perf_counter()
                        for group in groups:
                            save_groups(db, [(items, NOW) for items in group])
                        seconds = time.perf_counter() - start
                        db.close()
                    else:
                        conn = plain(path)
                        seconds = plain_ingest(conn, [flat(g) for g in groups])
                        conn.close()
                    rates[name].append(args.items / seconds)
                    path.unlink()
            runs.append(rates)
        report(f"{per * MAX_ITEMS:,} items a transaction", runs, "save_groups", "executemany",
               "items/s")  # fmt: skip


# --- 3. the endpoint, from a load client in its own process -------------------------------


def slack_probe(port: int) -> str:
    """A signed `/csat help` as Slack posts it: the ack is the whole answer."""
    from bot.demo.sim.slack import sign, slash_command
    from tests.fakes.process import SECRET

    body = slash_command("/csat", "help", "http://127.0.0.1:9/never")
    headers = {**sign(SECRET, body), "Host": f"127.0.0.1:{port}",
               "Content-Length": str(len(body.encode()))}  # fmt: skip
    return "POST /slack/events HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    ) + "\r\n" + body  # fmt: skip


def drive(
    port: int, payloads: list[bytes], clients: int, tmp: Path, probe_every: float
) -> dict[str, Any]:
    """The POSTs from the load client's own process; its figures."""
    bodies_file = tmp / "bodies.ndjson"
    bodies_file.write_bytes(b"\n".join(payloads))
    spec = {"port": port, "token": TOKEN, "clients": clients, "bodies": str(bodies_file),
            "probe": slack_probe(port) if probe_every else "",
            "probe_every": probe_every}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.write_bench", "--load-client"],
        input=json.dumps(spec), capture_output=True, text=True, timeout=600, check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    bad = [s for s in result["statuses"] if s != 201]
    assert not bad and not result["failed_items"], (bad[:5], result["failed_items"])
    assert all(s == 200 for s in result["probe_statuses"]), result["probe_statuses"][:5]
    return result


def endpoint_part(args: argparse.Namespace, tmp: Path) -> None:
    from bot.demo.sim.slack import SimulatedSlack
    from tests.fakes.process import SECRET

    print(
        f"\n3. the endpoint: {args.requests} POSTs of {MAX_ITEMS} items per round at each "
        f"concurrency, {args.rounds} rounds a run, vs SQLite taking the same items, items/s"
    )
    runs: list[dict[int, Rates]] = []
    with SimulatedSlack() as slack:
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, "BOT_INGEST_TOKEN": TOKEN}  # fmt: skip
        for run in range(args.runs):
            folder = tmp / f"endpoint-{run}"
            folder.mkdir()
            runs.append(endpoint_run(args, env, folder))
            for c, rates in runs[-1].items():
                line = ", ".join(f"{statistics.median(rates[k]):,.0f}" for k in SIDES)
                print(f"  run {run + 1}, {c:2} clients: {', '.join(SIDES)}: {line} items/s")
    print("  summary (medians of every round; ratio min-max over the runs' medians):")
    for c in args.clients:
        every = {k: [x for run in runs for x in run[c][k]] for k in [*SIDES, "post", "ack"]}
        bot, posts, acks = statistics.median(every["bot"]), every["post"], every["ack"]
        p50, p99 = statistics.median(posts) * 1000, pct(posts, 0.99) * 1000
        print(f"  {c:2} clients: bot {bot:8,.0f} items/s; per POST p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms")  # fmt: skip
        for k in SIDES[1:]:
            ratios = [statistics.median(r[c]["bot"]) / statistics.median(r[c][k]) for r in runs]
            ref = statistics.median(every[k])
            print(
                f"      vs SQLite {k:11} {ref:8,.0f} items/s: {bot / ref:.2f}x ({spread(ratios)})"
            )
        if acks:
            print(f"      /csat help acks meanwhile: {len(acks)}, p50 "
                  f"{statistics.median(acks) * 1000:.1f} ms, p99 {pct(acks, 0.99) * 1000:.1f} ms, "
                  f"max {max(acks) * 1000:.1f} ms")  # fmt: skip


SIDES = ("bot", "per request", "grouped")


def endpoint_run(args: argparse.Namespace, env: dict[str, str], folder: Path) -> dict[int, Rates]:
    """One bot process and two fresh references; per concurrency, each round's figures."""
    from tests.fakes.process import RunningBot

    bot = RunningBot(env, folder)
    refs = {
        "per request": plain(folder / "per-request.db"),
        "grouped": plain(folder / "grouped.db"),
    }
    found: dict[int, Rates] = {c: {k: [] for k in [*SIDES, "post", "ack"]} for c in args.clients}
    try:
        warm = bodies(10, f"warm-{folder.name}")
        drive(bot.port, warm, 2, folder, 0)
        for conn in refs.values():  # the same ten requests, so the three files stay alike
            plain_ingest(conn, [items_of(b) for b in warm])
        for r in range(args.rounds):
            for c in args.clients:
                payloads = bodies(args.requests, f"{folder.name}-{r}-{c}")
                items = len(payloads) * MAX_ITEMS
                requests = [items_of(p) for p in payloads]
                groups = in_transactions(requests, min(c, Writer.MAX_GROUP))
                for side in ("bot", "reference") if r % 2 == 0 else ("reference", "bot"):
                    if side == "bot":
                        answer = drive(bot.port, payloads, c, folder, args.probe_every)
                        found[c]["bot"].append(items / answer["seconds"])
                        found[c]["post"] += answer["latencies"]
                        found[c]["ack"] += answer["probe"]
                    else:
                        seconds = plain_ingest(refs["per request"], requests)
                        found[c]["per request"].append(items / seconds)
                        seconds = plain_ingest(refs["grouped"], [flat(g) for g in groups])
                        found[c]["grouped"].append(items / seconds)
    finally:
        bot.stop()
        for conn in refs.values():
            conn.close()
    return found


# --- the load client (its own process) ----------------------------------------------------


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return int(head.split(b" ", 2)[1]), await reader.readexactly(length)


async def load_client(spec: dict[str, Any]) -> dict[str, Any]:
    """POST every body over `clients` keep-alive connections; probe the Slack ack alongside."""
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{spec['port']}\r\n"
            f"apiToken: {spec['token']}\r\nContent-Type: application/json\r\n"
            "Content-Length: ").encode()  # fmt: skip
    queue = deque(
        head + str(len(b)).encode() + b"\r\n\r\n" + b
        for b in Path(spec["bodies"]).read_bytes().split(b"\n")
    )
    latencies: list[float] = []
    statuses: list[int] = []
    failed = 0
    opened = [
        await asyncio.open_connection("127.0.0.1", spec["port"]) for _ in range(spec["clients"])
    ]
    done = asyncio.Event()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal failed
        while queue:
            request = queue.popleft()
            start = time.perf_counter()
            writer.write(request)
            status, body = await _answer(reader)
            latencies.append(time.perf_counter() - start)
            statuses.append(status)
            failed += body.count(b'"success":false')

    probes: list[float] = []
    probe_statuses: list[int] = []

    async def probe() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
        request = spec["probe"].encode()
        while not done.is_set():
            start = time.perf_counter()
            writer.write(request)
            status, _ = await _answer(reader)
            probes.append(time.perf_counter() - start)
            probe_statuses.append(status)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), spec["probe_every"])
        writer.close()

    prober = asyncio.create_task(probe()) if spec["probe"] else None
    start = time.perf_counter()
    await asyncio.gather(*(client(r, w) for r, w in opened))
    seconds = time.perf_counter() - start
    done.set()
    if prober is not None:
        await prober
    for _, writer in opened:
        writer.close()
    return {"seconds": seconds, "latencies": latencies, "statuses": statuses,
            "failed_items": failed, "probe": probes, "probe_statuses": probe_statuses}  # fmt: skip


# --- main -----------------------------------------------------------------------------------


PARTS: dict[str, Callable[[argparse.Namespace, Path], None]] = {
    "snapshots": snapshots_part, "ingest": ingest_part, "endpoint": endpoint_part,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 20_000])
    parser.add_argument("--repeats", type=int, default=5, help="writes per run (parts 1, 2)")
    parser.add_argument("--items", type=int, default=20_000, help="items per write (part 2)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--requests", type=int, default=200, help="POSTs per round (part 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per run (part 3)")
    parser.add_argument("--probe-every", type=float, default=0.05, help="seconds; 0: no probe")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--load-client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_client:
        json.dump(asyncio.run(load_client(json.load(sys.stdin))), sys.stdout)
        return
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="write-bench-"))
    print(f"write bench: {args.runs} runs; ratios are the bot's rate over plain SQLite's")
    try:
        for name in args.parts:
            PARTS[name](args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the endpoint's files reach a gigabyte or more
    print(f"\nbench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
