"""Start-up and idle memory: the bot beside a bare Bolt app, process by process.

    python -m bench.startup_bench [--runs 5] [--commands 5] [--idle 1.5]
                                  [--pythonpath DIR] [--imports 15]

Starts `python -m bot serve` (with the simulated Slack and LivePerson in this process,
the way `bench/ack_latency.py` runs it) and `bench/bare_app.py` (an `AsyncApp` with
Bolt's own Starlette handler on the same uvicorn stack, whose /csat only acks), one
after the other, alternating which goes first. Each is timed from the moment its process
is spawned to the first 200 on `/healthz` (polled every 2 ms), with the CPU time it had
used by then (user + system: less at the mercy of a busy machine than the wall clock);
its resident memory (VmRSS) is read after `--idle` seconds of idle, and again after
`--commands` signed `/csat` commands (the bot's answers waited for) and the same idle.
Each keeps its database folder across runs, and modules load from bytecode as an
installed package's do, so the timed starts are restarts; one untimed start of each comes
first. Printed: every run, then the medians and the bot / bare ratios (median, min-max).

`--pythonpath DIR` puts DIR first on both children's `PYTHONPATH`: with the extras of
`uvicorn[standard]` installed there (`pip install --target DIR --no-deps httptools uvloop
websockets watchfiles python-dotenv`), both run on uvloop and httptools, and the project's
own environment stays as it is. `--imports N` then starts each once more under
`python -X importtime` and prints the N packages whose modules took longest to import.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, sign, slash_command
from tests.fakes.process import ROOT, SECRET, clean_env, free_port

COMMANDS = {
    "bot": [sys.executable, "-m", "bot", "serve"],
    "bare": [sys.executable, "bench/bare_app.py"],
}


@dataclass
class Sample:
    """One start of one server."""

    startup: float  # seconds from spawn to the first 200 on /healthz
    cpu: float  # seconds of CPU the process had used by then (user + system)
    idle: float  # MiB resident after the idle wait
    after: float  # MiB resident after the commands and the idle wait


def rss(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu(pid: int) -> float:
    """CPU time a process has used, user and system, in seconds (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def healthy(port: int) -> bool:
    """One GET /healthz: True on 200, False while nothing listens or it is not ready."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def started(
    name: str, env: dict[str, str], folder: Path, flags: tuple[str, ...] = ()
) -> Iterator[tuple[subprocess.Popen[bytes], int, float, float]]:
    """A server process, its port, how long it took to answer /healthz with 200 and the CPU
    time it had used by then."""
    port = free_port()
    full = clean_env(**env, PORT=str(port), BOT_DB=str(folder / "bot.db"),
                     BOT_CONFIG=str(folder / "absent.toml"), BOT_SCHEDULER="off")  # fmt: skip
    full.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules load from bytecode
    argv = [COMMANDS[name][0], *flags, *COMMANDS[name][1:]]
    log = (folder / f"{name}.log").open("wb")
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    try:
        while not healthy(port):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {(folder / f'{name}.log').read_text()}")
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{name} not ready: {(folder / f'{name}.log').read_text()}")
            time.sleep(0.002)
        took = time.perf_counter() - start
        yield proc, port, took, cpu(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def measure(
    name: str, env: dict[str, str], folder: Path, slack: SimulatedSlack, commands: int,
    idle: float,
) -> Sample:  # fmt: skip
    with started(name, env, folder) as (proc, port, took, used):
        time.sleep(idle)
        at_idle = rss(proc.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for i in range(commands):
                url = slack.response_url()
                body = slash_command("/csat", f"skill 11 {15 + i}m", url)
                ack = client.post("/slack/events", content=body, headers=sign(SECRET, body))
                assert ack.status_code == 200, f"{name}: /csat answered {ack.status_code}"
                if name == "bot":
                    slack.wait_for(url.removeprefix(slack.url), timeout=30)
        time.sleep(idle)
        return Sample(took, used, at_idle, rss(proc.pid))


def imports(name: str, env: dict[str, str], folder: Path, top: int) -> list[tuple[str, float]]:
    """The `top` top-level packages whose own modules took longest to import at start, in ms."""
    with started(name, env, folder, ("-X", "importtime")):
        pass
    own: dict[str, float] = {}
    pattern = re.compile(r"import time:\s+(\d+) \|\s+\d+ \| +(\S+)$")  # each module's own time
    for line in (folder / f"{name}.log").read_text().splitlines():
        if found := pattern.match(line):
            package = found.group(2).split(".")[0]
            own[package] = own.get(package, 0.0) + int(found.group(1)) / 1000
    return sorted(own.items(), key=lambda item: -item[1])[:top]


FIGURES: list[tuple[str, str, float, int, Callable[[Sample], float]]] = [
    ("start-up", "ms", 1e3, 0, lambda s: s.startup),
    ("CPU", "ms", 1e3, 0, lambda s: s.cpu),
    ("idle RSS", "MiB", 1.0, 1, lambda s: s.idle),
    ("RSS after", "MiB", 1.0, 1, lambda s: s.after),
]


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}x (min {min(values):.2f}, max {max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--commands", type=int, default=5, help="/csat commands before the second reading"
    )
    parser.add_argument("--idle", type=float, default=1.5, help="seconds idle before each reading")
    parser.add_argument("--pythonpath", help="a folder put first on the children's PYTHONPATH")
    parser.add_argument("--imports", type=int, default=0, help="print the N slowest imports")
    args = parser.parse_args()
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp, tempfile.TemporaryDirectory() as t:
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, **lp.env()}  # fmt: skip
        if args.pythonpath:
            paths = [args.pythonpath, os.environ.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        folders = {name: Path(t) / name for name in COMMANDS}
        for folder in folders.values():
            folder.mkdir()
        for name in COMMANDS:  # untimed: creates the database, warms the file cache
            with started(name, env, folders[name]):
                pass
        samples: dict[str, list[Sample]] = {name: [] for name in COMMANDS}
        extra = f"; PYTHONPATH starts with {args.pythonpath}" if args.pythonpath else ""
        print(f"start-up to the first 200 on /healthz, then VmRSS after {args.idle:g} s idle "
              f"and after {args.commands} /csat; {args.runs} interleaved runs{extra}")  # fmt: skip
        for run in range(args.runs):
            order = list(COMMANDS) if run % 2 == 0 else list(reversed(COMMANDS))
            for name in order:
                samples[name].append(
                    measure(name, env, folders[name], slack, args.commands, args.idle)
                )
            bot, bare = samples["bot"][-1], samples["bare"][-1]
            print(f"  run {run + 1}: " + "; ".join(
                f"{label} bot {get(bot) * scale:.{digits}f}, bare {get(bare) * scale:.{digits}f} "
                f"{unit} ({get(bot) / get(bare):.2f}x)"
                for label, unit, scale, digits, get in FIGURES))  # fmt: skip
        print("medians over the runs; ratios bot / bare, run by run (goal <= 1.3x):")
        bots, bares = samples["bot"], samples["bare"]
        for label, unit, scale, digits, get in FIGURES:
            ratios = [get(b) / get(r) for b, r in zip(bots, bares, strict=True)]
            bot_median = statistics.median([get(s) for s in bots]) * scale
            bare_median = statistics.median([get(s) for s in bares]) * scale
            print(f"  {label:9} bot {bot_median:7.{digits}f} {unit:3}  bare "
                  f"{bare_median:7.{digits}f} {unit:3}  ratio {spread(ratios)}")  # fmt: skip
        if args.imports:
            for name in COMMANDS:
                found = imports(name, env, folders[name], args.imports)
                print(f"slowest imports of {name}: "
                      + ", ".join(f"{p} {ms:.0f} ms" for p, ms in found))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
