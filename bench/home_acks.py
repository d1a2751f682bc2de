"""Home tab acks: the bot beside a bare Bolt app, under bursts of `app_home_opened` events
and of digest form submissions, side by side.

    python -m bench.home_acks [--runs 3] [--rounds 5] [--concurrency 10 50]

Starts `python -m bot serve` (a bot.toml whose `[slack] admins` names the user group
S0LEADS, whose member is U0LEAD, and two digests) and `bench/bare_app.py` twice (an
`AsyncApp` with Bolt's own Starlette handler on the same uvicorn stack, whose
`app_home_opened` and `digest_edit` listeners only ack): `bare` with Bolt's defaults, as
`bench/ack_latency.py` runs it, and `bare-pbr` with `process_before_response=True`, as the
bot runs, where an ack leaves when its listener returns instead of at the next of Bolt's
10 ms looks. All are processes; the simulated Slack and LivePerson run in this one. The
load comes from `bench/load_client.py`, a process of its own (see `bench/ack_latency.py`).

Two scenarios, each in rounds that give each server the first turn in turn:

- `opened`: a burst of `app_home_opened` events (JSON bodies), each from a user who has not
  opened the tab before. The bot acks, then reads its state and publishes the view; before
  the next server's turn the bot's views are waited for, so its acks never compete with
  the previous round's publishing.
- `submitted`: a burst of `digest_edit` submissions by the admin U0LEAD, the form the bot
  opens on `home_add_digest` (taken from the simulated Slack's `views.open`) filled in
  with a cron that cannot be read. The bot checks the form before its ack (admin, the
  stored digests, the file's rules) and answers `response_action: "errors"` on the cron's
  block; the bare apps only ack. The admin answer is cached first by one submission.

Printed per run: p50 and p99 per server and the bot's ratios to each bare app; then the
medians and the min-max of the ratios over the runs. Last, per concurrency, how long the
bot took to publish each view after its event: bursts written from this process (the
load client reports durations, not clock times), each event's write timed against the
moment the simulated Slack received that user's `views.publish`. The bare apps publish
nothing.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.ack_latency import fire, pct
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, home_opened, interaction, sign
from tests.e2e.test_home import submission
from tests.fakes.process import SECRET, RunningBot

LEAD = "U0LEAD"  # in the simulated Slack's S0LEADS user group
BAD_CRON = "0 25 * * 1-5"  # a typo a lead can make: there is no hour 25
CONFIG = """\
timezone = "UTC"
default_source = "liveperson"

[slack]
admins = ["S0LEADS"]

[[digest]]
name = "csat-daily"
channel = "C0LEADS"
cron = "0 9 * * 1-5"
skills = "all"

[[digest]]
name = "availability-weekly"
kind = "availability"
channel = "C0LEADS"
cron = "0 8 * * 1"
agents = "all"
timeframe = "7d"
"""
SCENARIOS = ("opened", "submitted")
PUBLISH = "/api/views.publish"
REFERENCES = ("bare", "bare-pbr")  # Bolt's defaults, and process_before_response=True
QS = ("p50", "p99")
_viewers = itertools.count(1)
_names = itertools.count(1)


def headers(body: str, json_body: bool) -> dict[str, str]:
    found = sign(SECRET, body)
    if json_body:  # Events API bodies are JSON; interactivity posts a form
        found["Content-Type"] = "application/json"
    return found


def whole(body: str, json_body: bool = False) -> str:
    """A signed request as Slack posts it, whole, as the load client writes it."""
    fields = {**headers(body, json_body), "Host": "bot", "Content-Length": str(len(body.encode()))}
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return f"POST /slack/events HTTP/1.1\r\n{head}\r\n{body}"


def viewers(count: int) -> list[str]:
    """Users who have not opened the Home tab yet."""
    return [f"U0HOME{next(_viewers):06d}" for _ in range(count)]


def bad_submission(form: dict[str, Any]) -> str:
    """The digest form as U0LEAD submits it: every field sound but the cron."""
    values = {"name": f"leads-weekly-{next(_names)}", "channel": "C0LEADS", "cron": BAD_CRON,
              "skills": ["4"], "timeframe": "24h"}  # fmt: skip
    return submission(LEAD, form, values)


def published_at(slack: SimulatedSlack, users: list[str], before: int) -> dict[str, float]:
    """When the simulated Slack received each user's `views.publish`, the `before` calls
    to it there were before theirs left out (woken by each call, no polling)."""
    calls = slack.wait_for(PUBLISH, before + len(users), timeout=120)[before:]
    found = {str(call.data().get("user_id")): call.at for call in calls}
    assert set(found) == set(users), f"views published for others: {set(found) - set(users)}"
    return found


def burst(slack: SimulatedSlack, server: RunningBot, name: str, scenario: str, count: int,
          form: dict[str, Any]) -> list[float]:  # fmt: skip
    """One burst from the load client; the bot's views waited for after an `opened` one."""
    if scenario == "opened":
        users, before = viewers(count), len(slack.calls_to(PUBLISH))
        seconds = fire(server.port, [[whole(home_opened(u), json_body=True) for u in users]])
        if name == "bot":
            published_at(slack, users, before)
        return seconds[0]
    return fire(server.port, [[whole(bad_submission(form)) for _ in range(count)]])[0]


def run_once(
    slack: SimulatedSlack, servers: dict[str, RunningBot], scenario: str, count: int,
    rounds: int, form: dict[str, Any],
) -> dict[str, list[float]]:  # fmt: skip
    samples: dict[str, list[float]] = {name: [] for name in servers}
    names = list(servers)
    for r in range(rounds):  # each server first in turn
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name] += burst(slack, servers[name], name, scenario, count, form)
    return samples


def publish_delays(slack: SimulatedSlack, bot: RunningBot, count: int) -> list[float]:
    """Seconds from each event's write to Slack receiving its view, for a burst of `count`
    written from this process (connections opened first)."""
    users, before = viewers(count), len(slack.calls_to(PUBLISH))
    connections = [http.client.HTTPConnection("127.0.0.1", bot.port, timeout=30) for _ in users]
    for connection in connections:
        connection.connect()
    written = {}
    for user, connection in zip(users, connections, strict=True):
        body = home_opened(user)
        written[user] = time.monotonic()
        connection.request("POST", "/slack/events", body.encode(), headers(body, json_body=True))
    for connection in connections:
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status
        connection.close()
    at = published_at(slack, users, before)
    return [at[user] - written[user] for user in users]


def digest_form(slack: SimulatedSlack, bot: RunningBot) -> dict[str, Any]:
    """The form the bot opens when U0LEAD clicks "Add a digest" (this asks Slack whether
    U0LEAD is an admin, and the bot keeps the answer)."""
    opened = len(slack.views("open"))
    click = interaction({
        "type": "block_actions", "user": {"id": LEAD, "username": "u0lead", "name": LEAD},
        "api_app_id": "A0BOT", "team": {"id": "T0SIM"}, "trigger_id": f"trig.{time.time()}",
        "container": {"type": "view"}, "view": {"id": "VHOME", "type": "home"},
        "actions": [{"action_id": "home_add_digest", "type": "button", "value": "add"}],
    })  # fmt: skip
    bot.http.post("/slack/events", content=click, headers=headers(click, json_body=False))
    deadline = time.monotonic() + 10
    while len(slack.views("open")) == opened:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the digest form did not open: {bot.log.read_text()[-2000:]}")
        time.sleep(0.02)
    form: dict[str, Any] = slack.views("open")[-1]["view"]
    assert form.get("callback_id") == "digest_edit", form.get("callback_id")
    return form


def warm(slack: SimulatedSlack, servers: dict[str, RunningBot], form: dict[str, Any]) -> None:
    """Imports, pools, the workspace's url and the admin answer; and the answers checked."""
    for name, server in servers.items():
        body = bad_submission(form)
        answer = server.http.post("/slack/events", content=body, headers=headers(body, False))
        assert answer.status_code == 200, answer.text
        if name == "bot":
            said = answer.json()
            assert said.get("response_action") == "errors" and set(said["errors"]) == {"cron"}, said
        for scenario in SCENARIOS:
            burst(slack, server, name, scenario, 3, form)
    time.sleep(1)


def summary(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5) * 1e3:6.1f} p99 {pct(values, 0.99) * 1e3:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    with SimulatedSlack() as slack, SimulatedLivePerson() as lp:
        env = {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.api_url, **lp.env()}  # fmt: skip
        bare = [sys.executable, "bench/bare_app.py"]
        for name in ("bot", *REFERENCES):
            (tmp / name).mkdir()
        servers = {
            "bot": RunningBot(env, tmp / "bot", config=CONFIG),
            "bare": RunningBot(env, tmp / "bare", bare),
            "bare-pbr": RunningBot({**env, "BARE_BEFORE_RESPONSE": "1"}, tmp / "bare-pbr", bare),
        }
        try:
            form = digest_form(slack, servers["bot"])
            warm(slack, servers, form)
            asked = len(slack.calls_to("/api/usergroups.users.list"))
            print(f"home acks: {args.runs} runs x {args.rounds} interleaved rounds per "
                  f"concurrency; submissions {len(bad_submission(form).encode()):,} bytes "
                  f"each, cron {BAD_CRON!r}; bare-pbr: the bare app with "
                  "process_before_response=True, as the bot runs")  # fmt: skip
            for count in args.concurrency:
                for scenario in args.scenarios:
                    measure(slack, servers, scenario, count, args.runs, args.rounds, form)
            print("views published after their event (bursts written from this process):")
            for count in dict.fromkeys([1, *args.concurrency]):  # one alone, the baseline
                delays = [d for _ in range(args.rounds)
                          for d in publish_delays(slack, servers["bot"], count)]  # fmt: skip
                print(f"  {count:3} at once: {summary(delays)}, max "
                      f"{max(delays) * 1e3:.1f} ms ({len(delays)} views)")  # fmt: skip
            asked = len(slack.calls_to("/api/usergroups.users.list")) - asked
            print(f"S0LEADS members asked of Slack while measuring: {asked} "
                  "(the bot keeps the answer 5 minutes)")  # fmt: skip
        finally:
            for server in servers.values():
                server.stop()


def measure(
    slack: SimulatedSlack, servers: dict[str, RunningBot], scenario: str, count: int,
    runs: int, rounds: int, form: dict[str, Any],
) -> None:  # fmt: skip
    """Print each run's p50 and p99 per server and the bot's ratios to each reference, then
    the medians over the runs and the ratios' min-max."""
    p50s: dict[str, list[float]] = {name: [] for name in servers}
    p99s: dict[str, list[float]] = {name: [] for name in servers}
    ratios: dict[str, list[float]] = {f"{q} {ref}": [] for ref in REFERENCES for q in QS}
    for run in range(1, runs + 1):
        s = run_once(slack, servers, scenario, count, rounds, form)
        for name, values in s.items():
            p50s[name].append(pct(values, 0.5))
            p99s[name].append(pct(values, 0.99))
        for ref in REFERENCES:
            ratios[f"p50 {ref}"].append(p50s["bot"][-1] / p50s[ref][-1])
            ratios[f"p99 {ref}"].append(p99s["bot"][-1] / p99s[ref][-1])
        print(f"  {count:3} {scenario:9} run {run}:  "
              + "   ".join(f"{n} {summary(v)}" for n, v in s.items())
              + "".join(f"   bot/{ref} " + " ".join(f"{q} {ratios[f'{q} {ref}'][-1]:.2f}x"
                                                   for q in QS) for ref in REFERENCES))  # fmt: skip
    print(f"  {count:3} {scenario:9} median:  "
          + "   ".join(f"{n} p50 {statistics.median(p50s[n]) * 1e3:6.1f} p99 "
                       f"{statistics.median(p99s[n]) * 1e3:6.1f} ms" for n in servers)
          + "".join(f"   bot/{ref} " + " ".join(
              f"{q} {statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"
              for q in QS for r in [ratios[f"{q} {ref}"]]) for ref in REFERENCES))  # fmt: skip


if __name__ == "__main__":
    main()
