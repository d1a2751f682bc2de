"""`python -m bot demo`: the bot against a simulated contact center, offline.

A simulated LivePerson account is served on loopback HTTP; the bot reaches it through
the real client (Domain API, OAuth 2.0, retries, bucket cache) and the real templates,
and what Slack would show is printed.
"""

from __future__ import annotations

import textwrap

from bot import config
from bot.app import build_commands
from bot.listeners.commands import handle_command
from bot.render import Message, to_text
from bot.sim.liveperson import SKILLS, SimulatedLivePerson

SCRIPT = [
    ("/csat", "", "The whole account over the last 24 hours"),
    ("/csat", "skill all 60m", "Every active skill over the last hour, busiest first"),
    ("/csat", "skill 12 4h", "One skill: its agents"),
    ("/csat", "agent 1001,1004 2h", "Two agents"),
    (
        "/csat",
        "skill all 60m",
        "The same question again inside the 5-minute bucket: no new vendor call",
    ),
    ("/csat", "skill 11 7d", "LivePerson keeps 24h: answered at once, the vendor is not called"),
    ("/csat", "skil 11", "A typo: the bot says what is wrong and how to ask"),
    ("/csat", "help", "Help"),
]


def _print_message(label: str, message: Message) -> None:
    print(f"  {label}")
    print(textwrap.indent(to_text(message).rstrip(), "  │ ", predicate=lambda _: True))


async def run_demo() -> int:
    """Run the script against the simulation and print every message."""
    with SimulatedLivePerson() as lp:
        env = {**lp.env(), "BOT_CONFIG": "/nonexistent/bot.toml"}
        settings = config.load(env)
        from zoneinfo import ZoneInfo

        settings = config.Settings(**{**settings.__dict__, "timezone": ZoneInfo("Europe/Berlin")})
        commands = build_commands(settings)
        print("Simulated LivePerson account", lp.account, "on", lp.url)
        print("Skills:", ", ".join(f"{k} {v}" for k, v in SKILLS.items()), "\n")
        steps = [*SCRIPT[:5], ("fault", "", ""), *SCRIPT[5:]]
        try:
            for command, text, why in steps:
                if command == "fault":
                    lp.fail("/msgcsatdistribution", status=503, times=3)
                    command, text, why = (
                        "/csat",
                        "skill 13 3h",
                        ("LivePerson fails three times in a row: the bot retries, then says so"),
                    )
                before = len(lp.data_calls())
                print(f"━━ {why}\n▶ {command} {text}".rstrip())

                async def ack(**message: object) -> None:
                    _print_message("ack (ephemeral, at once):", message)

                async def respond(**message: object) -> None:
                    _print_message("answer (through response_url):", message)

                await handle_command({"command": command, "text": text}, ack, respond, commands)
                print(
                    f"  LivePerson CSAT calls for this command: {len(lp.data_calls()) - before}\n"
                )
        finally:
            await commands.sources.aclose()
    print("Done. Every message above passed Slack's block models and limits.")
    return 0
