"""`python -m bot demo`: the bot against a simulated contact center, offline.

A simulated LivePerson account and LiveChat license are served on loopback HTTP; the
bot reaches them through its real clients (Domain API, OAuth 2.0, retries, the bucket
cache) and real templates, and prints what Slack would show.
"""

from __future__ import annotations

import logging
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import config
from bot.app import build_commands, build_parts
from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SKILLS, SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.listeners.commands import answer_command, handle_command
from bot.render import Message, to_text

FAULT = "fault"  # a step that makes LivePerson fail before the command
SCRIPT = [
    (
        "/csat",
        "",
        "The whole account, last 24 hours (first call: Domain API look-up, OAuth "
        "token, and the account's directory, which names agents, skills and away reasons)",
    ),
    ("/csat", "skill all 60m", "Every active skill over the last hour, busiest first"),
    ("/csat", "skill orders 4h", "One skill, asked for by its name: its agents"),
    ("/csat", "agent ana,1004 2h", "Two agents, by name and by id"),
    ("/csat", "skill all 60m", "The same question inside the 5-minute bucket: no vendor call"),
    (
        "/agent-states",
        "zoe,“Ana”,1004 2h 30m",
        "Three agents' time, per half hour (accents and quotes optional)",
    ),
    ("/agent-states", "sam 2h", "Two agents go by Sam: the bot asks which, no vendor call"),
    ("/csat", "skill biling 2h", "A misspelt name: a suggestion, no vendor call"),
    ("/csat", "skill 99 2h", "An id the directory does not know: said so, no vendor call"),
    ("/agent-states", "all 60m", "Every agent over the last hour: the team at a glance"),
    ("/csat", "livechat 7d", "LiveChat: good ÷ (good + bad), the ranking and response times"),
    ("/csat", "livechat group all 7d", "LiveChat by group, each named by the license"),
    ("/agent-states", "livechat 7d", "LiveChat: logged-in, accepting and chatting time"),
    (FAULT, "skill 13 3h", "LivePerson fails three times in a row: the bot retries, then says so"),
    ("/csat", "skill 11 7d", "LivePerson keeps 24h: answered at once, the vendor is not called"),
    ("/agent-states", "all 60m 7m", "An interval that does not divide the timeframe"),
    ("/csat", "skil 11", "A typo: the bot says what is wrong and how to ask"),
    ("/csat", "help", "Help"),
]


def _print_message(label: str, message: Message) -> None:
    print(f"  {label}")
    print(textwrap.indent(to_text(message).rstrip(), "  │ ", predicate=lambda _: True))


DIGESTS = """
timezone = "Europe/Berlin"
default_source = "liveperson"

[[digest]]
name = "csat-daily"
kind = "csat"
channel = "C0TEAMLEADS"
cron = "0 9 * * 1-5"
skills = "all"
timeframe = "24h"

[[digest]]
name = "availability-daily"
kind = "availability"
channel = "C0TEAMLEADS"
cron = "0 9 * * 1-5"
timeframe = "8h"

[alerts]
channel = "C0ALERTS"
mention = "<!subteam^S0LEADS>"
min_answers = 20
"""


def _print_posts(slack: SimulatedSlack, since: int) -> int:
    """Print what the bot posted to Slack since call number `since`; the new count."""
    calls = slack.calls[since:]
    for call in calls:
        if call.path == "/api/chat.postMessage":
            body = call.data()
            where = f"#{body['channel']}" + (" (in the thread)" if body.get("thread_ts") else "")
            _print_message(f"posted to {where}:", body)
        elif call.path == "/api/chat.update":
            _print_message(f"updated the message in #{call.data()['channel']}:", call.data())
        elif call.path == "/api/files.getUploadURLExternal":
            data = call.data()
            print(
                f"  📎 in the thread: {data.get('filename')} ({int(data.get('length', 0)):,} bytes)"
            )
    return len(slack.calls)


async def run_digests(lp: SimulatedLivePerson, slack: SimulatedSlack, folder: Path) -> None:
    """Four mornings of digests: on the second, Orders' (skill 12's) customers got less happy."""
    (folder / "bot.toml").write_text(DIGESTS, encoding="utf-8")
    env = {
        **lp.env(),
        "BOT_CONFIG": str(folder / "bot.toml"),
        "BOT_DB": str(folder / "bot.db"),
        "SLACK_BOT_TOKEN": "xoxb-demo",
        "SLACK_API_URL": slack.api_url,
    }
    seen = len(slack.calls)
    mornings = [
        (1, {}, "csat-daily", "Monday 09:00: the CSAT digest (the first: nothing to compare)"),
        (
            2,
            {"12": -0.25},
            "csat-daily",
            "Tuesday 09:00: Orders' customers were less happy: the digest, and one alert",
        ),
        (
            3,
            {"12": -0.25},
            "csat-daily",
            "Wednesday 09:00: still down: the alert's thread gets an update, nobody is pinged",
        ),
        (4, {}, "csat-daily", "Thursday 09:00: recovered: the thread says so, the alert resolves"),
        (4, {}, "availability-daily", "Thursday 09:00: the availability digest, last 8 hours"),
    ]
    for day, shift, digest, why in mornings:
        lp.day, lp.shift = day, shift
        print(f"━━ {why}\n▶ python -m bot digest {digest}")
        parts = build_parts(config.load(env))  # a new process each morning: a fresh cache
        try:
            outcome = await parts.digests.run(digest)
        finally:
            await parts.aclose()
        seen = _print_posts(slack, seen)
        print(f"  stored a snapshot of {outcome.rows} rows in SQLite\n")


async def run_demo() -> int:
    """Run the script against the simulations and print every message."""
    logging.getLogger("bot").setLevel(logging.ERROR)  # the replies say it all
    with SimulatedLivePerson() as lp, SimulatedLiveChat() as lc:
        settings = config.load({**lp.env(), **lc.env(), "BOT_CONFIG": "/nonexistent/bot.toml"})
        settings = replace(settings, timezone=ZoneInfo("Europe/Berlin"))
        commands = build_commands(settings)
        print(f"Simulated LivePerson account {lp.account} on {lp.url}")
        print("  skills:", ", ".join(f"{k} {v}" for k, v in SKILLS.items()))
        print(f"Simulated LiveChat license on {lc.url} (the Reports API document's examples)")
        print("Times are shown in Europe/Berlin.\n")
        try:
            for command, text, why in SCRIPT:
                if command == FAULT:
                    lp.fail("/msgcsatdistribution", status=503, times=3)
                    command = "/csat"
                before = len(lp.calls) + len(lc.calls)
                print(f"━━ {why}\n▶ {command} {text}".rstrip())

                async def ack(**message: object) -> None:
                    _print_message("ack (only you see it, at once):", message)

                async def respond(**message: object) -> None:
                    _print_message("answer (through response_url):", message)

                plan = await handle_command({"command": command, "text": text}, ack, commands)
                if plan.query is not None:
                    await answer_command(plan, respond, commands)
                print(
                    f"  vendor calls for this command: {len(lp.calls) + len(lc.calls) - before}\n"
                )
        finally:
            await commands.sources.aclose()
        with SimulatedSlack() as slack, tempfile.TemporaryDirectory() as folder:
            await run_digests(lp, slack, Path(folder))
    print("Done. Every message above passed Slack's block models and limits.")
    return 0
