"""Builds the parts from settings and wires them into Bolt and the HTTP server.

Nothing runs at import. One asyncio loop holds everything: the Bolt AsyncApp, the
vendor clients (httpx.AsyncClient) with their bucket cache, the scheduler and the
store's worker thread, so a slash command and a scheduled digest share one client per
vendor and one cache.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import bot.db  # noqa: F401  # first, so that sqlite-utils loads without numpy (see there)
from bot import __version__, web
from bot import slack as slack_api
from bot.alerts.queries import alert_windows
from bot.alerts.threads import Alerting
from bot.commands.service import Commands
from bot.commands.trend import Trends
from bot.config import Settings
from bot.db import Store
from bot.digests.run import Digests
from bot.errors import ConfigError
from bot.history.source import HistoryBacked
from bot.home.service import Home, Wiring
from bot.listeners import actions as action_listeners
from bot.listeners import commands as command_listeners
from bot.listeners import detractors as detractor_listeners
from bot.listeners import home as home_listeners
from bot.listeners import trend as trend_listeners
from bot.listeners.reply import AckFirst, Replies
from bot.names.service import Fetcher, Names
from bot.offloop import share_the_gil
from bot.render import Renderer
from bot.slackconfig.catalog import Catalog
from bot.sources import Source, Sources
from bot.sources.http import BucketCache, RetryPolicy, VendorHTTP
from bot.sources.livechat import LiveChat, describe_error
from bot.sources.liveperson import LivePerson
from bot.surveys import endpoint as ingest
from bot.surveys.detractors import Detractor, DetractorAlerts
from bot.surveys.items import Stored
from bot.surveys.queries import daily_distribution, detractor_counts
from bot.surveys.source import Ingested
from bot.worker import DigestWorker

if TYPE_CHECKING:  # Socket Mode's client, APScheduler, httpx and the forwarder load only
    # where they run (httpx with the first vendor call or answer)
    import httpx
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.digests.scheduler import DigestScheduler
    from bot.history.collector import Collector
    from bot.surveys.forwarder import Forwarder

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
ALERTS_DRAIN_SECONDS = 60.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def build_sources(
    settings: Settings, clock: Clock = utcnow, store: Store | None = None, status: bool = True
) -> Sources:
    """One client per configured vendor, all sharing one bucket cache; `ingested` needs a
    store, and so does LivePerson beyond 24 hours (its answers come from the history).
    With a store (and `status`), each vendor call's outcome is kept for the home view."""
    from bot.sources.status import SourceStatus

    cache = BucketCache(clock)
    policy = RetryPolicy(deadline=settings.vendor_timeout)
    found: dict[str, Source] = {}
    client = functools.partial(_client, settings)  # made at each vendor's first call
    told = SourceStatus(store, clock).told if store is not None and status else None
    if settings.liveperson is not None:
        http = VendorHTTP("LivePerson", client, policy, outcomes=told and told("liveperson"))
        if store is not None:
            found["liveperson"] = HistoryBacked(
                settings.liveperson,
                http,
                cache,
                store,
                settings.timezone,
                settings.history.keep,
                clock,
            )
        else:
            found["liveperson"] = LivePerson(settings.liveperson, http, cache, clock)
    if settings.livechat is not None:
        outcomes = told and told("livechat")
        found["livechat"] = LiveChat(
            settings.livechat,
            VendorHTTP("LiveChat", client, policy, describe=describe_error, outcomes=outcomes),
            cache,
            clock,
            settings.timezone,
        )
    if settings.ingest_token and store is not None:
        found["ingested"] = Ingested(store, clock)
    return Sources(found, settings.default_source)


def _client(settings: Settings) -> httpx.AsyncClient:
    """One connection pool per vendor, with the configured time-out on every call."""
    import httpx

    timeout = httpx.Timeout(settings.vendor_timeout, connect=min(5.0, settings.vendor_timeout))
    return httpx.AsyncClient(timeout=timeout, headers={"User-Agent": _agent()}, verify=_tls())


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's TLS context, made once: each client's own would load the CA bundle again."""
    import httpx

    return httpx.create_ssl_context()


def build_names(
    settings: Settings,
    sources: Sources,
    store: Store | None,
    clock: Clock = utcnow,
    fetch: bool = True,
    writes: bool = True,
) -> Names:
    """Each source's directory, `[names]` laid over all. With `fetch`, the vendors that
    have one are read (the digest process does not: it reads what `serve` stored); with
    `writes`, what is read is stored (a dry run and `ask` keep it in memory)."""
    fetchers: dict[str, Fetcher] = {}
    for name in sources.names:
        source = sources.get(name)
        if fetch and isinstance(source, LivePerson | LiveChat):
            fetchers[name] = source
    return Names(store, sources.names, fetchers, settings.names.by_kind(), clock, writes)


def build_commands(
    settings: Settings,
    clock: Clock = utcnow,
    store: Store | None = None,
    ack_first: AckFirst | None = None,
    fetch_names: bool = True,
    writes: bool = True,
) -> Commands:
    """`ack_first`: answers render only when the acks in flight are out (`serve`, `socket`).

    The renderer names ids through the directories (`Renderer.names`) and links them as
    `[links]` says (`Renderer.links`)."""
    renderer = Renderer(settings.templates, settings.timezone)
    turn = ack_first.turn if ack_first is not None else None
    sources = build_sources(settings, clock, store, status=writes)  # `ask` only reads
    names = build_names(settings, sources, store, clock, fetch_names, writes)
    renderer.names = names.name
    renderer.links = settings.links
    trends = None
    if store is not None:  # trends read the history and the survey responses
        trends = Trends(sources, renderer, store, settings.timezone, clock, daily_distribution,
                        alert_windows)  # fmt: skip
    return Commands(sources, renderer, turn, names, trends)


@dataclass
class Parts:
    """Everything a process needs, built once and shared."""

    settings: Settings
    commands: Commands
    store: Store
    digests: Digests
    web: AsyncWebClient | None
    alerting: Alerting
    forwarder: Forwarder | None = None  # when MaestroQA is configured
    detractors: DetractorAlerts | None = None  # when ingesting, with an alerts channel and Slack
    replies: Replies = field(default_factory=Replies)  # answers to response_urls
    ack_first: AckFirst = field(default_factory=AckFirst)  # answers start after the acks
    catalog: Catalog | None = None  # every digest, the file's and Slack's
    scheduler: DigestScheduler | None = None  # while `running`, unless BOT_SCHEDULER=off
    runs: DigestWorker | None = None  # where digests run: the digest process while `running`
    home: Home | None = None  # the App Home tab, with Slack's Web API

    async def aclose(self) -> None:
        # alerts still being posted get a minute; the next review posts what did not go out
        await self.alerting.drain(ALERTS_DRAIN_SECONDS)
        if self.home is not None:
            await self.home.drain()
        await self.replies.aclose()
        if self.commands.names is not None:
            await self.commands.names.aclose()
        await self.commands.sources.aclose()
        if self.forwarder is not None:
            await self.forwarder.client.aclose()
        self.store.close()


def build_parts(
    settings: Settings,
    clock: Clock = utcnow,
    db_path: str | None = None,
    writes: bool = True,
    fetch_names: bool = True,
) -> Parts:
    """Everything a process runs; `writes=False` for one that only reads (a dry run),
    `fetch_names=False` for one that names ids from the store alone (the digest process)."""
    store = Store(db_path or settings.db_path, writable=writes)
    ack_first = AckFirst()
    commands = build_commands(settings, clock, store, ack_first, fetch_names, writes)
    token = settings.slack.bot_token
    web = slack_api.client(token, settings.slack.api_url) if token else None
    poster = slack_api.Poster(web) if web else None
    catalog = Catalog(settings, store)  # the file's digests and those made in Slack
    alerting = Alerting(settings.alerts, store, poster, commands.renderer, clock,
                        catalog.alert_rules)  # fmt: skip
    digests = Digests(
        {d.name: d for d in settings.digests},
        commands.sources,
        store,
        commands.renderer,
        poster,
        alerting,
        commands.names,
        detractor_counts,  # digests say how the detractors since the last one fared
        catalog,
    )
    forwarder = None
    if settings.maestroqa_token:
        from bot.surveys.forwarder import Forwarder, Policy

        policy = Policy(timeout=settings.vendor_timeout)
        forwarder = Forwarder(store, _client(settings), settings.maestroqa_url,
                              settings.maestroqa_token, policy)  # fmt: skip
    detractors = None
    channel, mention = settings.alerts.channel, settings.alerts.mention
    if settings.ingest_token and poster is not None:  # the channel may come from Slack
        detractors = DetractorAlerts(store, commands.renderer, poster, channel or "", mention,
                                     rules=settings.detractors, now=clock,
                                     current=catalog.alert_rules)  # fmt: skip
    replies = Replies(_replies_client)
    parts = Parts(settings, commands, store, digests, web, alerting, forwarder, detractors,
                  replies, ack_first, catalog)  # fmt: skip
    if web is not None:  # the Home tab: what `running` starts is looked up when needed
        wiring = Wiring(lambda: parts.scheduler, lambda: parts.runs or parts.digests)
        parts.home = Home(settings, store, catalog, commands.sources, commands.renderer, web,
                          poster, wiring, commands.names, clock)  # fmt: skip
    return parts


def require_slack(settings: Settings, *, socket_mode: bool = False) -> None:
    """Refuse to start without Slack's credentials, before anything is opened or created."""
    if not settings.slack.bot_token:
        raise ConfigError("environment", "SLACK_BOT_TOKEN", "the bot token (xoxb-...)")
    if socket_mode and not settings.slack.app_token:
        raise ConfigError("environment", "SLACK_APP_TOKEN", "the app-level token (xapp-...)")
    if not socket_mode and not settings.slack.signing_secret:
        raise ConfigError("environment", "SLACK_SIGNING_SECRET", "the app's signing secret")


def build_bolt(parts: Parts, *, socket_mode: bool = False) -> AsyncApp:
    """The Bolt app with every listener."""
    require_slack(parts.settings, socket_mode=socket_mode)
    slack = parts.settings.slack
    assert parts.web is not None
    app = AsyncApp(
        name="app.py",  # Bolt's default (this file's name), given: finding it reads the stack
        signing_secret=slack.signing_secret or "unused-in-socket-mode",
        client=parts.web,
        # listeners only ack and hand their work to `ack_first`: Bolt answers the moment
        # they return, instead of looking for the ack every 10 ms
        process_before_response=True,
        # `web.slack_events` checks every signature before Bolt sees the request (and
        # Socket Mode has none): a second check would only cost each ack its time
        request_verification_enabled=False,
    )
    command_listeners.register(app, parts.commands, parts.replies, parts.ack_first)
    action_listeners.register(app, parts.alerting, parts.ack_first)
    detractor_listeners.register(app, parts.detractors, parts.commands.renderer, parts.ack_first)
    trend_listeners.register(app, parts.commands.trends, parts.alerting.poster,
                             parts.commands.renderer, parts.ack_first)  # fmt: skip
    home_listeners.register(app, parts.home, parts.ack_first)
    return app


@asynccontextmanager
async def running(parts: Parts) -> AsyncIterator[DigestScheduler | None]:
    """The scheduler for the life of a process (unless BOT_SCHEDULER=off), then cleanup."""
    scheduler, worker = None, None
    background: list[asyncio.Task[None]] = []
    try:
        collecting = history_collector(parts) is not None
        # scheduled digests, those sent from the Home tab and the history's collection
        # run in the digest process, away from the acks (worker.py); it starts now when
        # there is work for it, else with the first digest
        worker = DigestWorker(parts.settings)
        parts.runs = worker
        if parts.digests.digests or collecting:
            worker.start()
        if parts.settings.scheduler:  # digests made in Slack may come at any time
            from bot.digests.scheduler import DigestScheduler

            scheduler = DigestScheduler(worker, catalog=parts.catalog)
            scheduler.start()
            parts.scheduler = scheduler
        background = await _start_ingestion(parts)
        if parts.commands.names is not None and parts.commands.names.fetchers:
            # directories hourly, away from the acks; a first answer that needs one reads it
            background.append(asyncio.get_running_loop().create_task(parts.commands.names.run()))
        if collecting and worker is not None:  # LivePerson's history, hourly
            from bot.history.collector import hourly

            collect = hourly(worker.collect, utcnow, asyncio.sleep)
            background.append(asyncio.get_running_loop().create_task(collect))
        share_the_gil()  # worker threads hand the loop the GIL within a millisecond
        # what start-up made lives as long as the process: the collector need not walk
        # it again and again while a burst of commands waits for its acks
        gc.freeze()
        yield scheduler
    finally:
        try:  # answers already started get a few seconds to go out
            async with asyncio.timeout(5):
                await parts.ack_first.drain()
        except TimeoutError:
            log.warning("shutting down with answers still being prepared")
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if parts.detractors is not None:
            await parts.detractors.aclose()
        if scheduler is not None:
            scheduler.shutdown()
            parts.scheduler = None
        if worker is not None:
            worker.shutdown()
            parts.runs = None
        await parts.aclose()


def history_collector(parts: Parts, always: bool = False) -> Collector | None:
    """The history's collector, when LivePerson is configured and `[history] collect` is on
    (`always`: whatever that says, for `python -m bot collect` and the digest process)."""
    source = parts.commands.sources.get("liveperson")
    collecting = always or parts.settings.history.collect
    if not collecting or not isinstance(source, LivePerson):
        return None
    from bot.history.collector import Collector

    settings = parts.settings
    return Collector(source, parts.store, settings.timezone, keep=settings.history.kept)


async def _start_ingestion(parts: Parts) -> list[asyncio.Task[None]]:
    """The MaestroQA forwarder, and detractors a previous process never posted."""
    if parts.detractors is not None:
        await parts.detractors.start()
    if parts.forwarder is None:
        return []
    return [asyncio.get_running_loop().create_task(parts.forwarder.run())]


def _on_stored(parts: Parts) -> ingest.OnStored:
    """After survey responses are stored: wake the forwarder, group the detractors."""

    def on_stored(stored: list[Stored]) -> None:
        if parts.forwarder is not None:
            parts.forwarder.notify()
        found = [Detractor.of(s.item) for s in stored if s.action == "create" and s.item.detractor]
        if found and parts.detractors is not None:
            parts.detractors.add(found)
        elif found:
            log.info("%d detractors stored; no Slack token to tell", len(found))

    return on_stored


def build_asgi(settings: Settings, clock: Clock = utcnow) -> Starlette:
    """`serve`'s HTTP app: Slack events, health and the CSAT ingestion endpoint."""
    require_slack(settings)
    parts = build_parts(settings, clock)
    events = web.slack_events(
        build_bolt(parts), settings.slack.signing_secret or "", parts.ack_first
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(parts):
            yield

    routes = [Route("/slack/events", events, methods=["POST"]), *http_routes(parts, clock)]
    return Starlette(routes=routes, lifespan=lifespan)


def build_socket_http(
    parts: Parts, handler: AsyncSocketModeHandler, clock: Clock = utcnow
) -> Starlette:
    """`socket`'s HTTP app when it ingests: health and the ingestion endpoint, no Slack.

    Its lifespan runs the parts and the Socket Mode connection, so the shutdown uvicorn
    does on SIGTERM closes them too.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(parts):
            await handler.connect_async()  # type: ignore[no-untyped-call]  # untyped in slack_bolt
            try:
                yield
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]

    return Starlette(routes=http_routes(parts, clock), lifespan=lifespan)


def http_routes(parts: Parts, clock: Clock = utcnow) -> list[Route]:
    """`/healthz` and the ingestion endpoint, the same in `serve` and `socket`."""

    async def healthz(request: Request) -> Response:
        problem = await parts.store.health()  # a real write, at most every few seconds
        return JSONResponse(
            {
                "ok": problem is None,
                "version": __version__,
                "database": problem.reason if problem else "ok",
                "sources": parts.commands.sources.names,
                "digests": sorted(parts.digests.digests),
            },
            status_code=503 if problem else 200,
        )

    feedback = ingest.endpoint(parts.store, parts.settings.ingest_token, _on_stored(parts), clock)
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/v1/create-customer-feedback", feedback, methods=["POST"]),
    ]


def _replies_client() -> httpx.AsyncClient:
    """The client behind answers to response_urls, made with the first answer."""
    import httpx

    return httpx.AsyncClient(timeout=httpx.Timeout(15.0), verify=_tls())


def _agent() -> str:
    return f"csat-bot/{__version__} (+httpx)"
