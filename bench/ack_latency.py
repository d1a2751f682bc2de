"""Ack latency with a slow vendor, and vendor calls for identical commands.

    python -m bench.ack_latency [--rounds 5] [--concurrency 50] [--vendor-delay 2]

Runs `python -m bot serve` and `bench/bare_app.py` (a Bolt app on the same uvicorn +
Starlette stack that only acks) as child processes against the simulated Slack and
LivePerson on loopback, fires signed /csat commands at both, and prints p50/p99 of the
time to Slack's 200. Then sends 100 identical commands inside one 5-minute bucket and
prints how many calls reached LivePerson. Goal: bot p99 within 1.3x the bare app; 1 call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, sign, slash_command
from tests.fakes.process import SECRET, RunningBot


async def burst(
    bot: RunningBot, slack: SimulatedSlack, texts: list[str]
) -> tuple[list[float], list[str]]:
    """Send all commands at once; seconds from send to the 200 for each, and their URLs."""
    async with httpx.AsyncClient(
        base_url=bot.url, timeout=30, limits=httpx.Limits(max_connections=len(texts))
    ) as client:

        async def one(text: str) -> tuple[float, str]:
            url = slack.response_url()
            body = slash_command("/csat", text, url)
            start = time.perf_counter()
            response = await client.post("/slack/events", content=body, headers=sign(SECRET, body))
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.text
            return elapsed, url

        results = await asyncio.gather(*(one(t) for t in texts))
    return [r[0] for r in results], [r[1] for r in results]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_answers(slack: SimulatedSlack, urls: list[str], limit: float = 60) -> None:
    for url in urls:
        slack.wait_for(url.removeprefix(slack.url), timeout=limit)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--vendor-delay", type=float, default=2.0)
    parser.add_argument("--identical", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            **lp.env(),
        }
        for name in ("bot", "bare"):
            (tmp / name).mkdir()
        bot = RunningBot(env, tmp / "bot")
        bare = RunningBot(env, tmp / "bare", [sys.executable, "bench/bare_app.py"])
        try:
            # warm both: auth.test, Domain API, token, connection pools
            for server in (bot, bare):
                asyncio.run(burst(server, slack, ["skill 11 5m"] * 3))
            lp.delay = args.vendor_delay
            samples: dict[str, list[float]] = {"bot": [], "bare": []}
            answered: list[str] = []
            for r in range(args.rounds):
                for name, server in (("bot", bot), ("bare", bare)):
                    texts = [
                        f"skill 11 {10 + r * args.concurrency + i}m"
                        for i in range(args.concurrency)
                    ]
                    times, urls = asyncio.run(burst(server, slack, texts))
                    samples[name] += times
                    if name == "bot":
                        # each round on its own: the previous round's answers are not
                        # still being rendered and posted while this round is acked
                        wait_answers(slack, urls, limit=120)
                        answered += urls
            print(
                f"ack latency, {args.rounds} rounds x {args.concurrency} concurrent /csat, "
                f"vendor answering in {args.vendor_delay:.0f} s:"
            )
            for name in ("bare", "bot"):
                s = samples[name]
                print(
                    f"  {name:4}  p50 {pct(s, 0.5) * 1000:7.1f} ms"
                    f"   p99 {pct(s, 0.99) * 1000:7.1f} ms"
                    f"   mean {statistics.mean(s) * 1000:7.1f} ms   n={len(s)}"
                )
            ratio = pct(samples["bot"], 0.99) / pct(samples["bare"], 0.99)
            print(
                f"  bot p99 / bare p99 = {ratio:.2f}x (goal <= 1.3x);"
                f" all {len(answered)} answers arrived"
            )

            # identical commands in one bucket: wait out a bucket edge if one is near
            left = 300 - time.time() % 300
            if left < 20 + args.vendor_delay:
                time.sleep(left + 1)
            before = len(lp.data_calls())
            _, urls = asyncio.run(burst(bot, slack, ["skill all 33m"] * args.identical))
            wait_answers(slack, urls, limit=120)
            calls = len(lp.data_calls()) - before
            print(
                f"vendor calls for {args.identical} identical /csat in one bucket: {calls} (goal 1)"
            )
        finally:
            bot.stop()
            bare.stop()


if __name__ == "__main__":
    main()
