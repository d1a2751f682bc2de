"""Survey ingestion and MaestroQA forwarding: items/s, p99, and the rate limit kept.

    python -m bench.ingest_bench [--requests 200] [--concurrency 8] [--forward-items 12000]

1. Ingestion: `python -m bot serve` (BOT_INGEST_TOKEN set, MaestroQA not configured so
   nothing competes for the store) takes `--requests` POSTs of 100 items each from
   `--concurrency` clients at once; prints items/s and p50/p99 of one 100-item POST
   (HTTP, JSON, validation, a durable transaction for the responses and their outbox
   rows, the 201), then the latency of 50 POSTs sent one at a time.
2. Baseline: the same rows with a plain sqlite3 `executemany` into the same migrated
   `responses` table, one transaction per 100 rows, WAL and synchronous=FULL like the bot.
3. Forwarding: a bot pointed at the simulated MaestroQA (10 requests/s, 100/min, 429
   beyond) forwards `--forward-items` responses; prints items/s, requests, the most
   requests MaestroQA saw in any second and any minute, and the 429s the limits caused.
   At 100 items a request the minute limit allows 10,000 items a minute: 12,000 items
   take a little over a minute by design.

`bench/write_bench.py` compares the endpoint with SQLite at 1, 10 and 50 clients, from a
client in a process of its own, with the outbox rows in the reference too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.db import open_db
from bot.demo.sim.slack import SimulatedSlack
from bot.surveys.items import Item, validate_item
from bot.surveys.queries import response_row
from bot.timefmt import iso_ms
from tests.fakes.maestroqa import SimulatedMaestroQA
from tests.fakes.process import SECRET, RunningBot

PATH = "/api/v1/create-customer-feedback"
TOKEN = "bench-token"


def bodies(requests: int, prefix: str) -> list[list[dict[str, Any]]]:
    """`requests` lists of 100 distinct survey responses in MaestroQA's format."""
    start = datetime.now(UTC) - timedelta(days=1)
    return [
        [{"submitted_at": iso_ms(start + timedelta(milliseconds=r * 100 + i)),
          "ticket_id": f"{prefix}-{r}-{i}", "agent_id": str(1000 + i % 40),
          "agent_email": f"agent{i % 40}@example.com", "score": i % 11, "min_score": 0,
          "max_score": 10, "comment": "Waited a while, but the answer was right." * (i % 3),
          "score_label": "", "clarifying_answers": [{"question": "Resolved?", "score": 1 + i % 5}]}
         for i in range(100)]
        for r in range(requests)
    ]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def ingest(url: str, payloads: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Post every payload with `concurrency` clients; wall seconds and each POST's seconds."""
    queue = list(reversed(payloads))
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                start = time.perf_counter()
                answer = await client.post(PATH, content=body, headers={"apiToken": TOKEN,
                                           "Content-Type": "application/json"})  # fmt: skip
                latencies.append(time.perf_counter() - start)
                assert answer.status_code == 201, answer.text
                assert all(r["success"] for r in answer.json()["results"])

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies


def baseline(batches: list[list[dict[str, Any]]], folder: Path) -> tuple[float, list[float]]:
    """The same rows by plain executemany, one transaction per 100; seconds, per batch."""
    path = str(folder / "plain.db")
    open_db(path).close()  # the same migrated schema
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    now = iso_ms(datetime.now(UTC))
    items = [[i for i in map(validate_item, batch) if isinstance(i, Item)] for batch in batches]
    rows = [[response_row(item, now) for item in batch] for batch in items]
    marks = ",".join("?" * len(rows[0][0]))
    sql = (
        "insert into responses (id, ticket_id, submitted_at, agent_id, agent_email, agent, "
        "score, min_score, max_score, score5, comment, score_label, clarifying_answers, raw, "
        f"received_at, updated_at) values ({marks})"
    )
    times = []
    began = time.perf_counter()
    for batch in rows:
        start = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(sql, batch)
        db.execute("COMMIT")
        times.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - began
    db.close()
    return elapsed, times


def busiest(times: list[float], span: float) -> int:
    """The most requests in any window of `span` seconds."""
    ordered, best, j = sorted(times), 0, 0
    for i, t in enumerate(ordered):
        while ordered[j] <= t - span:
            j += 1
        best = max(best, i - j + 1)
    return best


def forwarding(items: int, folder: Path, slack: dict[str, str]) -> None:
    batches = bodies(items // 100, "fwd")
    with SimulatedMaestroQA() as mqa:
        bot = RunningBot({**slack, **mqa.env()}, folder)
        try:
            began = time.perf_counter()
            for batch in batches:
                assert bot.http.post(PATH, json={"data": batch},
                                     headers={"apiToken": TOKEN}).status_code == 201  # fmt: skip
            ingested = time.perf_counter() - began
            mqa.wait_stored(items, timeout=300)
            elapsed = time.perf_counter() - began
        finally:
            bot.stop()
        sent = mqa.accepted_requests
        print(f"forwarding: {items:,} items in {elapsed:.1f}s = {items / elapsed:,.0f} items/s "
              f"(ingested in {ingested:.1f}s); {len(sent)} requests to MaestroQA, at most "
              f"{busiest(sent, 1.0)} in any second and {busiest(sent, 60.0)} in any minute "
              f"(limits 10 and 100); {mqa.over_limit} answered 429 by the limits; "
              f"each response arrived {max(mqa.arrivals.values())}x at most")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--forward-items", type=int, default=12_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    for name in ("bot", "forward"):
        (tmp / name).mkdir()

    with SimulatedSlack() as slack:
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, "BOT_INGEST_TOKEN": TOKEN}  # fmt: skip
        run(args, tmp, env)


def run(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    batches = bodies(args.requests, "ing")
    payloads = [json.dumps({"data": batch}).encode() for batch in batches]
    bot = RunningBot(env, tmp / "bot")
    try:
        asyncio.run(ingest(bot.url, [json.dumps({"data": b}).encode()
                                     for b in bodies(5, "warm")], 2))  # fmt: skip
        elapsed, latencies = asyncio.run(ingest(bot.url, payloads, args.concurrency))
        alone = [json.dumps({"data": b}).encode() for b in bodies(50, "one")]
        _, single = asyncio.run(ingest(bot.url, alone, 1))
    finally:
        bot.stop()
    items = 100 * len(payloads)
    p50, p99 = statistics.median(latencies) * 1000, pct(latencies, 0.99) * 1000
    print(f"ingestion: {items:,} items in {len(payloads)} POSTs of 100, {args.concurrency} "
          f"clients: {items / elapsed:,.0f} items/s; per POST p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")  # fmt: skip
    print(f"ingestion, one client at a time: per POST p50 {statistics.median(single) * 1000:.1f} "
          f"ms, p99 {pct(single, 0.99) * 1000:.1f} ms")  # fmt: skip

    plain, per_batch = baseline(batches, tmp)
    print(f"plain executemany: {items / plain:,.0f} items/s, one transaction per 100 rows; "
          f"p50 {statistics.median(per_batch) * 1000:.1f} ms, "
          f"p99 {pct(per_batch, 0.99) * 1000:.1f} ms per transaction")  # fmt: skip
    print(
        f"the endpoint reaches {plain / elapsed * 100:.0f}% of plain executemany's items/s "
        f"(HTTP, JSON, validation, upserts, outbox rows, 201 included)"
    )

    if args.forward_items:
        forwarding(args.forward_items, tmp / "forward", env)


if __name__ == "__main__":
    main()
