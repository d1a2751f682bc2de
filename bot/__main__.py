"""The command line: `python -m bot serve|socket|ask|demo|check`.

Each verb reads settings, builds the parts it needs and runs; nothing happens at import.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot import __version__, config
from bot.errors import ConfigError

log = logging.getLogger("bot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="CSAT and agent availability from your contact-center vendors, in Slack.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("serve", help="HTTP mode: POST /slack/events, GET /healthz on $PORT")
    verbs.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN)")
    ask = verbs.add_parser("ask", help='run one slash command locally: ask "/csat skill 4 60m"')
    ask.add_argument("command", nargs="+", help="the command and its words")
    verbs.add_parser("demo", help="the whole bot against a simulated contact center, offline")
    verbs.add_parser("check", help="validate configuration and templates")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    if args.verb == "demo":
        from bot.demo import run_demo

        return asyncio.run(run_demo())
    try:
        settings = config.load()
        if args.verb == "check":
            from bot.check import run_check

            return run_check(settings)
        if args.verb == "ask":
            return asyncio.run(_ask(settings, " ".join(args.command)))
        if args.verb == "serve":
            return _serve(settings)
        if args.verb == "socket":
            return asyncio.run(_socket(settings))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover


async def _ask(settings: config.Settings, line: str) -> int:
    from bot.app import build_commands
    from bot.render import to_text

    command, _, text = line.strip().partition(" ")
    if not command.startswith("/"):
        command, text = "/csat", line
    commands = build_commands(settings)
    try:
        plan = commands.prepare(command, text)
        print(to_text(plan.ack))
        if plan.query is None:
            return 0 if "help" in text.lower() else 2
        reply = await commands.answer(plan)
        print(to_text(reply))
        return 0 if reply["blocks"] and reply["blocks"][0]["type"] == "header" else 1
    finally:
        await commands.sources.aclose()


def _serve(settings: config.Settings) -> int:
    import uvicorn

    from bot.app import build_asgi

    app = build_asgi(settings)
    log.info("serving on 0.0.0.0:%s", settings.port)
    uvicorn.run(app, host="0.0.0.0", port=settings.port, log_level="info", access_log=False)
    return 0


async def _socket(settings: config.Settings) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import build_bolt, build_commands

    if not settings.slack.app_token:
        raise ConfigError("environment", "SLACK_APP_TOKEN", "the app-level token (xapp-...)")
    commands = build_commands(settings)
    app = build_bolt(settings, commands, socket_mode=True)
    try:
        await AsyncSocketModeHandler(app, settings.slack.app_token).start_async()
    finally:
        await commands.sources.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
