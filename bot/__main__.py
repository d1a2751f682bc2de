"""The command line: `python -m bot serve|socket|ask|demo|check|digest|directory|outbox|collect`.

Each verb reads settings, builds the parts it needs and runs; nothing happens at import.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta

from bot import __version__, config
from bot.errors import ConfigError, RenderError, StoreError

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
    check = verbs.add_parser("check", help="validate configuration and templates")
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask Slack and the vendors: the tokens, the channels, the user groups",
    )
    digest = verbs.add_parser("digest", help="run one configured digest now: digest NAME")
    digest.add_argument("name", help="the digest's name in bot.toml")
    digest.add_argument(
        "--dry-run", action="store_true", help="print instead of posting; store nothing"
    )
    directory = verbs.add_parser(
        "directory", help="the names the bot knows for each source's ids: directory [SOURCE]"
    )
    directory.add_argument("source", nargs="?", help="liveperson, livechat or ingested")
    directory.add_argument(
        "--refresh", action="store_true", help="read the vendors' directories now"
    )
    outbox = verbs.add_parser("outbox", help="survey responses forwarded to MaestroQA, by status")
    outbox.add_argument(
        "--retry-failed", action="store_true", help="queue the responses MaestroQA refused again"
    )
    verbs.add_parser(
        "collect", help="collect LivePerson's last hours into the bot's history now, once"
    )
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

            return run_check(settings, online=args.online)
        if args.verb == "ask":
            return asyncio.run(_ask(settings, " ".join(args.command)))
        if args.verb in ("serve", "socket") and (refused := _refused(settings, args.verb)):
            return refused
        if args.verb == "serve":
            return _serve(settings)
        if args.verb == "socket":
            return asyncio.run(_socket(settings))
        if args.verb == "digest":
            return asyncio.run(_digest(settings, args.name, args.dry_run))
        if args.verb == "directory":
            return asyncio.run(_directory(settings, args.source, args.refresh))
        if args.verb == "collect":
            return asyncio.run(_collect(settings))
        if args.verb == "outbox":
            from bot.surveys.report import run_outbox

            return run_outbox(settings, args.retry_failed)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except RenderError as exc:  # a deployment's words.yml that cannot be read, at start-up
        print(f"template error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:  # BOT_DB: missing folder, not a database, read-only, locked, full
        print(f"database error: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover


def _refused(settings: config.Settings, verb: str) -> int:
    """Refuse to start on anything `check` refuses: each problem, then one line; else 0."""
    from bot.app import require_slack
    from bot.check import startup_problems

    require_slack(settings, socket_mode=verb == "socket")  # the first thing to set
    problems = startup_problems(settings)
    if len(problems) == 1:
        print(f"{verb} refused to start: {problems[0]}", file=sys.stderr)
    elif problems:
        for line in problems:
            print(line, file=sys.stderr)
        print(f"{verb} refused to start: the {len(problems)} problems above "
              "(`python -m bot check` shows them with the rest of the set-up)",
              file=sys.stderr)  # fmt: skip
    return 2 if problems else 0


async def _ask(settings: config.Settings, line: str) -> int:
    from bot.app import build_commands
    from bot.render import to_text

    command, _, text = line.strip().partition(" ")
    if not command.startswith("/"):
        command, text = "/csat", line
    store = None
    # `/csat ingested ...` reads the stored responses; LivePerson beyond 24 hours, the
    # history, when there is a database to read it from (ask creates none)
    history = settings.liveperson is not None and os.path.exists(settings.db_path)
    if settings.ingest_token or history:
        from bot.db import Store

        store = Store(settings.db_path, writable=False)  # ask only reads
    commands = build_commands(settings, store=store, writes=False)  # names read, not kept
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
        if store is not None:
            store.close()


async def _directory(settings: config.Settings, source: str | None, refresh: bool) -> int:
    """What each source's directory names, and when it was read; `--refresh` reads it now.
    Exit 1 when a vendor refused or failed a collection (the lines say what to grant)."""
    from bot.app import build_names, build_sources
    from bot.db import Store
    from bot.names import queries, report
    from bot.sources import VENDOR_NAMES

    logging.getLogger().setLevel(logging.ERROR)  # the lines below say it all
    store = Store(settings.db_path, writable=refresh)
    sources = build_sources(settings, store=store)
    names = build_names(settings, sources, store)
    try:
        if source is not None and source not in sources.names:
            known = ", ".join(sources.names) or "none"
            print(f"directory: no source {source!r} is configured (configured: {known})",
                  file=sys.stderr)  # fmt: skip
            return 2
        trouble = False
        for name in [source] if source else sources.names:
            if refresh and name in names.fetchers:
                await names.refresh(name)
            directory = await names.stored(name)
            states = await store(functools.partial(queries.states, source=name))
            for line in report.lines(name, directory, states):
                print(line)
            vendor = VENDOR_NAMES.get(name, name)
            for problem in report.problems(name, vendor, states, name in names.fetchers):
                print(f"  {problem}")
            trouble = trouble or any(s["status"] in ("refused", "failed") for s in states)
        return 1 if trouble else 0
    finally:
        await names.aclose()
        await sources.aclose()
        store.close()


async def _collect(settings: config.Settings) -> int:
    """One collection of LivePerson's history: the hours stored per kind, those an earlier
    collection stored, those out of reach; then what `[history] keep` no longer keeps is
    deleted, as `serve` does daily (an operator with `collect = false` runs this from cron,
    and nothing else would ever delete). Exit 1 when LivePerson failed (nothing stored) or
    the deleting did."""
    from bot.app import build_sources
    from bot.db import Store
    from bot.errors import BotError
    from bot.history.collector import Collector, lines
    from bot.sources.liveperson import LivePerson

    if settings.liveperson is None:  # before opening (and creating) the database
        print("collect: LivePerson is not configured (LIVEPERSON_ACCOUNT_ID and its keys):"
              " there is no history to collect", file=sys.stderr)  # fmt: skip
        return 2
    logging.getLogger().setLevel(logging.ERROR)  # the lines below say it all
    store = Store(settings.db_path)
    sources = build_sources(settings, store=store)
    try:
        source = sources.get("liveperson")
        assert isinstance(source, LivePerson)
        history = settings.history
        collector = Collector(source, store, settings.timezone, keep=history.kept)
        result = await collector.collect()
        for line in lines(result, settings.timezone):
            print(line)
        try:
            deleted = await collector.prune()
        except StoreError as exc:
            print(f"collect: old history not deleted (the next collection tries again): {exc}",
                  file=sys.stderr)  # fmt: skip
            return 1
        if deleted:
            print(f"deleted {deleted:,} history rows older than [history] keep"
                  f" ({history.kept / timedelta(days=1):g} days)")  # fmt: skip
    except BotError as exc:
        print(f"collect failed, nothing stored (the next collection tries again): {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        await sources.aclose()
        store.close()
    return 0


def _serve(settings: config.Settings) -> int:
    import uvicorn

    from bot.app import build_asgi

    app = build_asgi(settings)
    log.info("serving on 0.0.0.0:%s", settings.port)
    uvicorn.run(app, host="0.0.0.0", port=settings.port, log_level="info", access_log=False)
    return 0


async def _socket(settings: config.Settings) -> int:
    """Socket Mode; with BOT_INGEST_TOKEN also `/healthz` and the ingestion endpoint on $PORT."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import build_bolt, build_parts, build_socket_http, require_slack, running

    require_slack(settings, socket_mode=True)
    parts = build_parts(settings)
    handler = AsyncSocketModeHandler(
        build_bolt(parts, socket_mode=True), settings.slack.app_token or ""
    )
    if not settings.ingest_token:
        async with running(parts):
            await handler.start_async()  # type: ignore[no-untyped-call]  # untyped in slack_bolt
        return 0
    import uvicorn

    log.info("socket mode, with ingestion and /healthz on 0.0.0.0:%s", settings.port)
    await uvicorn.Server(uvicorn.Config(
        build_socket_http(parts, handler), host="0.0.0.0", port=settings.port,
        log_level="info", access_log=False,
    )).serve()  # fmt: skip
    return 0


async def _digest(settings: config.Settings, name: str, dry_run: bool) -> int:
    """Run one digest now; one line on failure, the message itself on --dry-run."""
    import os

    from bot.app import build_parts
    from bot.errors import BotError
    from bot.render import to_text

    exists = os.path.exists(settings.db_path)
    if settings.digest(name) is None and not exists:  # before creating the database
        known = sorted(d.name for d in settings.digests)
        print(
            f"digest {name} failed: no digest named {name!r} in {settings.config_path} "
            f"(configured: {', '.join(known) or 'none'})",
            file=sys.stderr,
        )
        return 1
    logging.getLogger().setLevel(logging.WARNING)  # the outcome line is what matters here
    # a dry run stores nothing: without a database yet, read from an empty one in memory
    db_path = ":memory:" if dry_run and not exists else None
    parts = build_parts(settings, db_path=db_path, writes=not dry_run)
    try:  # the file's digests, and those made in Slack (`Digests.get`)
        outcome = await parts.digests.run(name, dry_run=dry_run)
    except BotError as exc:
        print(f"digest {name} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        await parts.aclose()
    if outcome.message is not None and dry_run:
        print(to_text(outcome.message))
    print(f"digest {name}: {outcome.status}" + (f" (ts {outcome.ts})" if outcome.ts else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
