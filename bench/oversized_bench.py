"""Memory under oversized, unauthenticated requests: the bot against a bare Bolt app.

    python -m bench.oversized_bench [--requests 4] [--mib 64]

Starts `python -m bot serve` and `bench/bare_app.py` (Bolt's own Starlette handler on the
same uvicorn stack) as child processes, reads each one's resident memory (VmRSS), sends
`--requests` concurrent unsigned POSTs of `--mib` MiB to `/slack/events`, and reads the
memory again. The bare app reads every body whole before its signature check; the bot
refuses on the declared length. Prints each process's growth and how each request ended.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.process import SECRET, RunningBot

MiB = 1024 * 1024


def rss(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def oversized(port: int, size: int, outcome: list[str]) -> None:
    """One unsigned POST of `size` bytes, sent in full unless the server stops it."""
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    chunk = b"x" * MiB
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            conn.sendall(head)
            sent = 0
            while sent < size:
                conn.sendall(chunk)
                sent += len(chunk)
            answer = conn.recv(200)
        outcome.append(answer.split(b"\r\n", 1)[0].decode() or "closed")
    except OSError as exc:  # the server answered early and closed: the rest was not read
        outcome.append(f"stopped early ({type(exc).__name__})")


def attack(server: RunningBot, requests: int, size: int) -> tuple[float, float, list[str]]:
    pid = server.proc.pid
    time.sleep(0.5)
    before = rss(pid)
    outcome: list[str] = []
    threads = [
        threading.Thread(target=oversized, args=(server.port, size, outcome))
        for _ in range(requests)
    ]
    for thread in threads:
        thread.start()
    peak = before
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss(pid))
        time.sleep(0.05)
    time.sleep(0.5)
    return before, max(peak, rss(pid)), outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--mib", type=int, default=64)
    args = parser.parse_args()
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp, tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, **lp.env()}  # fmt: skip
        (tmp / "bot").mkdir()
        (tmp / "bare").mkdir()
        bot = RunningBot(env, tmp / "bot")
        bare = RunningBot(env, tmp / "bare", [sys.executable, "bench/bare_app.py"])
        try:
            print(f"{args.requests} concurrent unsigned POSTs of {args.mib} MiB to /slack/events")
            for name, server in (("bare", bare), ("bot", bot)):
                before, peak, outcome = attack(server, args.requests, args.mib * MiB)
                print(f"  {name:5} resident {before:7.1f} MiB before, peak {peak:7.1f} MiB: "
                      f"+{peak - before:.1f} MiB; {sorted(set(outcome))}")  # fmt: skip
        finally:
            bot.stop()
            bare.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
