"""Ack latency: the bot beside a bare Bolt app, under bursts of /csat, side by side.

    python -m bench.ack_latency [--runs 3] [--rounds 5] [--concurrency 10 50 200]
                                [--vendor-delay 2] [--identical 100]

Starts `python -m bot serve` and `bench/bare_app.py` (an `AsyncApp` with Bolt's own
Starlette handler on the same uvicorn stack, whose /csat only acks) as processes, with
the simulated Slack and LivePerson (answering in `--vendor-delay` s) in this one. The
load comes from `bench/load_client.py`, a process of its own that opens its connections
first and then writes every signed request of a burst at once.

For each concurrency, rounds alternate between the two servers (bot first in even rounds,
bare first in odd ones); every command of a round is a different query, or all are the
same one (`identical`). Before the next round the bot's answers are waited for, so a
round's acks do not compete with the previous round's answers. Printed: p50 and p99 per
server and the p99 ratio for each run, then the median and min-max over the runs. Last,
`--identical` identical commands in one 5-minute bucket and the vendor calls they cost.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, sign, slash_command
from tests.fakes.process import ROOT, SECRET, RunningBot

_queries = itertools.count(1)


def signed(text: str, url: str) -> str:
    """A signed /csat as Slack posts it: the whole HTTP request, as the load client sends it."""
    body = slash_command("/csat", text, url)
    headers = {**sign(SECRET, body), "Host": "bot", "Content-Length": str(len(body.encode()))}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST /slack/events HTTP/1.1\r\n{head}\r\n{body}"


def request(slack: SimulatedSlack, text: str) -> tuple[str, str]:
    """A signed /csat with a response_url of its own, and that url."""
    url = slack.response_url()
    return signed(text, url), url


def fire(port: int, bursts: list[list[str]], every: float = 0.0) -> list[list[float]]:
    """The bursts, from the load client's own process (one every `every` s if given);
    seconds per request, burst by burst."""
    spec = json.dumps({"port": port, "bursts": bursts, "every": every})
    done = subprocess.run(
        [sys.executable, "-m", "bench.load_client"], input=spec, capture_output=True,
        text=True, cwd=ROOT, timeout=600, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout)
    bad = [s for codes in result["statuses"] for s in codes if s != 200]
    assert not bad, f"{len(bad)} requests were not acknowledged: {bad[:5]}"
    return list(result["seconds"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def texts(kind: str, count: int) -> list[str]:
    if kind == "identical":
        return ["skill 11 45m"] * count
    return [f"skill 11 {10 + next(_queries) % 1400}m" for _ in range(count)]


def run_once(
    slack: SimulatedSlack, servers: dict[str, RunningBot], concurrency: int, kind: str,
    rounds: int,
) -> dict[str, list[float]]:  # fmt: skip
    samples: dict[str, list[float]] = {name: [] for name in servers}
    for r in range(rounds):
        order = list(servers) if r % 2 == 0 else list(reversed(servers))
        for name in order:
            made = [request(slack, t) for t in texts(kind, concurrency)]
            samples[name] += fire(servers[name].port, [[m[0] for m in made]])[0]
            if name == "bot":
                for _, url in made:
                    slack.wait_for(url.removeprefix(slack.url), timeout=120)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--kinds", nargs="+", default=["different", "identical"])
    parser.add_argument("--vendor-delay", type=float, default=2.0)
    parser.add_argument("--identical", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp:
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, **lp.env()}  # fmt: skip
        for name in ("bot", "bare"):
            (tmp / name).mkdir()
        servers = {
            "bot": RunningBot(env, tmp / "bot"),
            "bare": RunningBot(env, tmp / "bare", [sys.executable, "bench/bare_app.py"]),
        }
        try:
            for server in servers.values():  # warm: auth, Domain API, token, pools
                made = [request(slack, "skill 11 5m") for _ in range(3)]
                fire(server.port, [[m[0] for m in made]])
            time.sleep(1)
            lp.delay = args.vendor_delay
            print(f"ack latency: {args.runs} runs x {args.rounds} interleaved rounds per "
                  f"concurrency; LivePerson answers in {args.vendor_delay:g} s")  # fmt: skip
            for concurrency in args.concurrency:
                for kind in args.kinds:
                    ratios, p99s = [], {"bot": [], "bare": []}
                    for run in range(1, args.runs + 1):
                        s = run_once(slack, servers, concurrency, kind, args.rounds)
                        ratio = pct(s["bot"], 0.99) / pct(s["bare"], 0.99)
                        ratios.append(ratio)
                        for name in s:
                            p99s[name].append(pct(s[name], 0.99))
                        print(f"  {concurrency:3} {kind:9} run {run}:  "
                              + "   ".join(f"{n} p50 {pct(v, .5) * 1e3:6.1f} p99 "
                                         f"{pct(v, .99) * 1e3:6.1f} ms" for n, v in s.items())
                              + f"   p99 ratio {ratio:.2f}x")  # fmt: skip
                    print(f"  {concurrency:3} {kind:9} median p99: bot "
                          f"{statistics.median(p99s['bot']) * 1e3:.1f} ms, bare "
                          f"{statistics.median(p99s['bare']) * 1e3:.1f} ms; p99 ratio median "
                          f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max "
                          f"{max(ratios):.2f}; goal <= 1.3x)")  # fmt: skip

            left = 300 - time.time() % 300  # identical commands in one bucket
            if left < 20 + args.vendor_delay:
                time.sleep(left + 1)
            before = len(lp.data_calls())
            made = [request(slack, "skill all 33m") for _ in range(args.identical)]
            fire(servers["bot"].port, [[m[0] for m in made]])
            for _, url in made:
                slack.wait_for(url.removeprefix(slack.url), timeout=120)
            calls = len(lp.data_calls()) - before
            print(f"vendor calls for {args.identical} identical /csat in one bucket: {calls} "
                  "(goal 1)")  # fmt: skip
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
