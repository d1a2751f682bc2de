"""Acks while a big digest runs, in `serve`: p99 beside idle, answer -> post, peak memory.

    python -m bench.digest_acks [--runs 3] [--agents 5000 20000] [--skills 500]
                                [--burst 20] [--every 0.1] [--window 10]

For each account size and run, a fresh `python -m bot serve` runs as a process with two
digests that fire every minute, each to its own channel (Slack's pace is one message a
second per channel): CSAT by skill for all agents and availability of all agents, 24 h,
against the simulated Slack and a simulated LivePerson whose 24-hour answers are
generated for that many agents (`bench/digest_bench.py`'s generators, in LivePerson's
shapes; 13 MB of JSON for availability at 20,000 agents). A fresh process per run, with
the catch-up at its start claimed beforehand: otherwise the digests' answers would come
from the bucket cache a minute later.

Each run has two windows of `--window` seconds, measured the same way from
`bench/load_client.py` (a process of its own): a burst of `--burst` signed `/csat`
commands every `--every` seconds. The digest window starts half a second before the
minute, when both digests fire; the idle window starts 25 s into the next minute. Printed
per run: p50 and p99 of the acks in each window and the p99 ratio; then medians and the
min-max of the ratios.

Vendor asked -> posted: from LivePerson receiving the digest's request (it answers at
once) to Slack receiving the digest's chat.postMessage: transfer, decoding, parsing,
rows, comparison, snapshot, message. Memory: `serve`'s VmRSS before the digests and its
VmHWM (peak RSS), and the peak of the digest process it starts (`bot/worker.py`), where
the digests run; the highest of the runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.ack_latency import fire, signed
from bench.digest_bench import activity_body, csat_body
from bot.db import open_db
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.server import Call, Reply, reply
from bot.demo.sim.slack import SimulatedSlack
from bot.digests.queries import claim_run
from bot.schedule import scheduled_key
from tests.fakes.process import SECRET, RunningBot

CHANNEL = "C0DIGEST"
DIGESTS = ("csat-skills", "availability")
PREFIX = {"csat-skills": "CSAT digest", "availability": "Availability digest"}  # `text`
CONFIG = f"""\
timezone = "UTC"

[[digest]]
name = "{DIGESTS[0]}"
kind = "csat"
channel = "{CHANNEL}"
cron = "* * * * *"
skills = "all"
timeframe = "24h"

[[digest]]
name = "{DIGESTS[1]}"
kind = "availability"
channel = "{CHANNEL}2"
cron = "* * * * *"
agents = "all"
timeframe = "24h"
"""


class BigLivePerson(SimulatedLivePerson):
    """The generated answers for the digests' 24-hour queries; the usual ones otherwise."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        super().__init__()
        self.bodies = bodies

    def route(self, call: Call) -> Reply:
        params = call.query if call.method == "GET" else {}
        if params.get("timeframe") == "1440" and self._authorised(call):
            for fragment, body in self.bodies.items():
                if call.path.endswith(fragment):
                    return reply(200, body)
        return super().route(call)


def requests(burst: int, bursts: int, answers: str) -> list[list[str]]:
    """Signed /csat commands, one query for all: its answer is cached after the first."""
    return [[signed("skill 11 45m", answers) for _ in range(burst)] for _ in range(bursts)]


def fire_all(port: int, bursts: list[list[str]], every: float) -> list[float]:
    """Every ack's seconds, the bursts one after another."""
    return [s for burst in fire(port, bursts, every) for s in burst]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def vendor_to_slack(
    lp: SimulatedLivePerson, slack: SimulatedSlack, began: float, limit: float = 60.0
) -> dict[str, float]:
    """Per digest: its 24-hour vendor request (since `began`) -> its chat.postMessage."""
    deadline, took = time.monotonic() + limit, {}
    while len(took) < len(DIGESTS) and time.monotonic() < deadline:
        for digest, fragment in zip(DIGESTS, ("/msgcsatdistribution", "/agentactivity"),
                                    strict=True):  # fmt: skip
            asked = [c for c in lp.calls_to(fragment)
                     if c.at > began and c.query.get("timeframe") == "1440"]  # fmt: skip
            posts = [c for c in slack.calls_to("/chat.postMessage") if c.at > began]
            posted = [c for c in posts if str(c.data().get("text", "")).startswith(PREFIX[digest])]
            if asked and posted:
                took[digest] = posted[0].at - asked[0].at
        time.sleep(0.2)
    return took


def status(pid: int, key: str) -> float:
    """A /proc/<pid>/status figure in MiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def skip_catch_up(path: Path) -> None:
    """Claim this minute's runs, so the bot's catch-up at start does not fetch them: its
    answers would sit in the bucket cache and serve the measured run a minute later."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    db = open_db(str(path))
    try:
        for name in DIGESTS:
            claim_run(db, name, scheduled_key(minute, ZoneInfo("UTC")), CHANNEL)  # any channel
    finally:
        db.close()


def children(pid: int) -> list[int]:
    """The process's children (the digest process, multiprocessing's resource tracker)."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in found]


def sleep_until_second(second: float) -> None:
    """Sleep until `second` past a wall-clock minute (the next one if already past)."""
    left = (second - time.time() % 60) % 60
    time.sleep(left if left > 1 else left + 60)


def one_size(args: argparse.Namespace, agents: int) -> dict[str, Any]:
    rng = random.Random(7)
    bodies = {
        "/msgcsatdistribution": json.dumps(csat_body(rng, args.skills, agents)).encode(),
        "/agentactivity": json.dumps(activity_body(rng, agents, 24 * 3600)).encode(),
    }
    mb = {k.strip("/"): round(len(v) / 1e6, 1) for k, v in bodies.items()}
    bursts = round(args.window / args.every)
    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-acks-"))
    figures: dict[str, Any] = {"runs": [], "mb": mb}
    with SimulatedSlack() as slack, BigLivePerson(bodies) as lp:
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, "BOT_SCHEDULER": "on", **lp.env()}  # fmt: skip
        figures.update(idle_rss=0.0, peak_rss=0.0, child_peak=0.0)
        for run in range(1, args.runs + 1):
            # a process per run: its digests fetch afresh (the bucket cache lives 5 minutes)
            sleep_until_second(20)  # start between two digests
            skip_catch_up(tmp / "bot.db")
            bot = RunningBot(env, tmp, config=CONFIG)
            try:
                fire_all(bot.port, requests(3, 1, slack.response_url()), 0)  # warm: token, hosts
                time.sleep(2)
                figures["idle_rss"] = max(figures["idle_rss"], status(bot.proc.pid, "VmRSS"))
                sleep_until_second(59.5)
                began = time.monotonic()  # the simulators' clock: Call.at
                during = fire_all(bot.port, requests(args.burst, bursts, slack.response_url()),
                              args.every)  # fmt: skip
                took = vendor_to_slack(lp, slack, began)
                sleep_until_second(25)
                idle = fire_all(bot.port, requests(args.burst, bursts, slack.response_url()),
                            args.every)  # fmt: skip
                figures["peak_rss"] = max(figures["peak_rss"], status(bot.proc.pid, "VmHWM"))
                figures["child_peak"] = max(
                    figures["child_peak"],
                    *(status(c, "VmHWM") for c in children(bot.proc.pid)),
                )
            finally:
                bot.stop()
            result = {
                "during": (pct(during, 0.5), pct(during, 0.99)),
                "idle": (pct(idle, 0.5), pct(idle, 0.99)),
                "took": took,
            }
            result["ratio"] = result["during"][1] / result["idle"][1]
            figures["runs"].append(result)
            posted = ", ".join(f"{d} {t * 1e3:,.0f} ms" for d, t in took.items())
            print(f"  {agents:6,} agents run {run}: acks during the digests p50 "
                  f"{result['during'][0] * 1e3:5.1f} p99 {result['during'][1] * 1e3:6.1f} "
                  f"ms; idle p50 {result['idle'][0] * 1e3:5.1f} p99 "
                  f"{result['idle'][1] * 1e3:6.1f} ms; ratio {result['ratio']:.2f}x; "
                  f"asked -> posted {posted}", flush=True)  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--agents", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--skills", type=int, default=500)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--every", type=float, default=0.1)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    print(f"acks during digests in serve: {args.runs} runs per size; bursts of {args.burst} "
          f"/csat every {args.every:g} s for {args.window:g} s per window", flush=True)  # fmt: skip
    for agents in args.agents:
        f = one_size(args, agents)
        runs = f["runs"]
        ratios = [r["ratio"] for r in runs]
        during = statistics.median(r["during"][1] for r in runs) * 1e3
        idle = statistics.median(r["idle"][1] for r in runs) * 1e3
        worst = max(r["during"][1] for r in runs) * 1e3
        print(f"  {agents:6,} agents: answers {f['mb']} MB; ack p99 during {during:.1f} ms "
              f"(worst run {worst:.1f}; goal <= 250), idle {idle:.1f} ms; ratio median "
              f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}; "
              "goal <= 1.5x)")  # fmt: skip
        for digest in DIGESTS:
            took = [r["took"][digest] for r in runs if digest in r["took"]]
            if took:
                print(f"  {agents:6,} agents: {digest} asked -> posted median "
                      f"{statistics.median(took) * 1e3:,.0f} ms (min {min(took) * 1e3:,.0f}, "
                      f"max {max(took) * 1e3:,.0f}; goal <= 1,000)")  # fmt: skip
        print(f"  {agents:6,} agents: serve's RSS before the digests {f['idle_rss']:.0f} MiB, "
              f"peak {f['peak_rss']:.0f} MiB; the digest process's peak "
              f"{f['child_peak']:.0f} MiB (goal < 200)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
