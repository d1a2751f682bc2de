"""Builds the parts from settings and wires them into Bolt and the HTTP server.

Nothing runs at import. One asyncio loop holds everything: the Bolt AsyncApp, the
vendor clients (httpx.AsyncClient) with their bucket cache, the scheduler and the
store's worker thread, so a slash command and a scheduled digest share one client per
vendor and one cache.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot import slack as slack_api
from bot.alerting import Alerting
from bot.commands import Commands
from bot.config import Settings
from bot.digests import Digests, digests_from
from bot.errors import ConfigError
from bot.listeners import actions as action_listeners
from bot.listeners import commands as command_listeners
from bot.render import Renderer
from bot.scheduler import DigestScheduler
from bot.sources import Source, Sources
from bot.sources.http import BucketCache, VendorHTTP
from bot.sources.livechat import LiveChat, describe_error
from bot.sources.liveperson import LivePerson
from bot.store import Store

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_sources(settings: Settings, clock: Clock = utcnow) -> Sources:
    """One client per configured vendor, all sharing one bucket cache."""
    cache = BucketCache(clock)
    found: dict[str, Source] = {}
    if settings.liveperson is not None:
        found["liveperson"] = LivePerson(
            settings.liveperson, VendorHTTP("LivePerson", _client(settings)), cache, clock
        )
    if settings.livechat is not None:
        found["livechat"] = LiveChat(
            settings.livechat,
            VendorHTTP("LiveChat", _client(settings), describe=describe_error),
            cache,
            clock,
            settings.timezone,
        )
    return Sources(found, settings.default_source)


def _client(settings: Settings) -> httpx.AsyncClient:
    """One connection pool per vendor, with the configured time-out on every call."""
    timeout = httpx.Timeout(settings.vendor_timeout, connect=min(5.0, settings.vendor_timeout))
    return httpx.AsyncClient(timeout=timeout, headers={"User-Agent": _agent()})


def build_commands(settings: Settings, clock: Clock = utcnow) -> Commands:
    return Commands(build_sources(settings, clock), Renderer(settings.templates, settings.timezone))


@dataclass
class Parts:
    """Everything a process needs, built once and shared."""

    settings: Settings
    commands: Commands
    store: Store
    digests: Digests
    web: AsyncWebClient | None
    alerting: Alerting

    async def aclose(self) -> None:
        await self.commands.sources.aclose()
        self.store.close()


def build_parts(settings: Settings, clock: Clock = utcnow, db_path: str | None = None) -> Parts:
    commands = build_commands(settings, clock)
    store = Store(db_path or settings.db_path)
    token = settings.slack.bot_token
    web = slack_api.client(token, settings.slack.api_url) if token else None
    poster = slack_api.Poster(web) if web else None
    alerting = Alerting(settings.alerts, store, poster, commands.renderer, clock)
    digests = Digests(
        digests_from(settings.digests, settings.timezone),
        commands.sources,
        store,
        commands.renderer,
        poster,
        alerting,
    )
    return Parts(settings, commands, store, digests, web, alerting)


def build_bolt(parts: Parts, *, socket_mode: bool = False) -> AsyncApp:
    """The Bolt app with every listener; needs the bot token and, over HTTP, the secret."""
    slack = parts.settings.slack
    if parts.web is None:
        raise ConfigError("environment", "SLACK_BOT_TOKEN", "the bot token (xoxb-...)")
    if not socket_mode and not slack.signing_secret:
        raise ConfigError("environment", "SLACK_SIGNING_SECRET", "the app's signing secret")
    app = AsyncApp(
        signing_secret=slack.signing_secret or "unused-in-socket-mode",
        client=parts.web,
        process_before_response=False,
    )
    command_listeners.register(app, parts.commands)
    action_listeners.register(app, parts.alerting)
    return app


@asynccontextmanager
async def running(parts: Parts) -> AsyncIterator[DigestScheduler | None]:
    """The scheduler for the life of a process (unless BOT_SCHEDULER=off), then cleanup."""
    scheduler = None
    if parts.settings.scheduler and parts.digests.digests:
        scheduler = DigestScheduler(parts.digests)
        scheduler.start()
    try:
        yield scheduler
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        await parts.aclose()


def build_asgi(settings: Settings, clock: Clock = utcnow) -> Starlette:
    """`serve`'s HTTP app: Slack events and health (ingestion joins here)."""
    parts = build_parts(settings, clock)
    handler = AsyncSlackRequestHandler(build_bolt(parts))

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {
                "ok": True,
                "version": __version__,
                "sources": parts.commands.sources.names,
                "digests": sorted(parts.digests.digests),
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(parts):
            yield

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _agent() -> str:
    return f"csat-bot/{__version__} (+httpx)"
