"""LiveChat Reports API: chats and agents reports, for /csat and /agent-states.

Only this module knows LiveChat's URLs and JSON shapes (see docs/vendors.md):
- `{api}/v{version}/reports/{chats|agents}/{report}`, POST with a JSON body of
  `timezone` and `filters` (from/to, agents, groups);
- a Personal Access Token goes as Basic `base64(account_id:token)`, an OAuth token
  as Bearer;
- errors come as `{"error": {"type", "message"}}`; `too_many_requests` is retried
  politely like a 429, `misdirected_request` names the region the license lives in
  (`WrongRegion`, with that region's API host);
- days without data are `{}`, and keys may be missing: both count as zero.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from bot.config import LiveChatSettings
from bot.directory import Collection, Entry, storable
from bot.errors import SourceError, UsageError, VendorAuthError, VendorBadResponse, WrongRegion
from bot.metrics import (
    ACCEPTING,
    NOT_ACCEPTING,
    AgentStates,
    AgentStatesReport,
    CsatReport,
    CsatRow,
    GoodBad,
    ResponseTimes,
    StateTime,
    exact_window,
    weighted_mean,
)
from bot.offloop import off_loop
from bot.query import Query
from bot.sources.http import RATE_LIMITED, BucketCache, VendorHTTP

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
T = TypeVar("T")
VENDOR = "LiveChat"
# the reports the bot reads (the Reports API has more: docs/vendors.md)
CHATS_REPORTS = ("ratings", "ranking", "response_time", "first_response_time")
AGENTS_REPORTS = ("availability", "performance")
# the Configuration API's lists: (action, kind, the token's scope it needs)
DIRECTORY = (("list_agents", "agent", "agents--all:ro"), ("list_groups", "group", "groups--all:ro"))
MAX_GROUPS = 60  # groups broken down in one answer: one ratings report each
REGION = re.compile(r"[a-z]{2,8}")  # LiveChat's region ids: dal, fra, ...
DEFAULT_REGION = "dal"  # the region https://api.livechatinc.com serves


def region_api(region: str) -> str:
    """The API host of a LiveChat region: api.livechatinc.com for dal, api-<region>. else."""
    if region == DEFAULT_REGION:
        return "https://api.livechatinc.com"
    return f"https://api-{region}.livechatinc.com"


def describe_error(response: httpx.Response) -> str | WrongRegion | None:
    """LiveChat's error body as a detail; RATE_LIMITED for too_many_requests, WrongRegion
    for a license kept in another region."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    if not isinstance(error, dict):
        return None
    kind, message = str(error.get("type", "")), str(error.get("message", "")).strip()
    if kind == "too_many_requests":
        return RATE_LIMITED
    if kind == "misdirected_request":
        data = error.get("data")
        region = data.get("region") if isinstance(data, dict) else None
        if isinstance(region, str) and REGION.fullmatch(region):
            return WrongRegion(VENDOR, "livechat", region, region_api(region))
        return f"{kind}: {message} (no region named)"
    return f"{kind}: {message}" if kind else message or None


def auth_header(settings: LiveChatSettings) -> str:
    """Basic for a Personal Access Token (with an account id), Bearer otherwise."""
    if settings.account_id:
        pair = f"{settings.account_id}:{settings.token}".encode()
        return "Basic " + base64.b64encode(pair).decode()
    return f"Bearer {settings.token}"


@dataclass(frozen=True)
class Filters:
    """The filters the bot sends: a time range, and optionally agents or groups."""

    start: datetime
    end: datetime
    agents: tuple[str, ...] = ()
    groups: tuple[int, ...] = ()

    def body(self, zone: ZoneInfo) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.start.astimezone(zone).isoformat(timespec="seconds"),
            "to": self.end.astimezone(zone).isoformat(timespec="seconds"),
        }
        if self.agents:
            out["agents"] = {"values": list(self.agents)}
        if self.groups:
            out["groups"] = {"values": list(self.groups)}
        return out


class LiveChat:
    """The LiveChat source: ratings, ranking and response times; performance, availability."""

    name = "livechat"
    vendor = VENDOR
    units: tuple[str, ...] = ("account", "group", "agent")

    def __init__(
        self,
        settings: LiveChatSettings,
        http: VendorHTTP,
        cache: BucketCache,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: ZoneInfo | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.cache = cache
        self.clock = clock
        self.timezone = timezone or ZoneInfo("UTC")
        self._headers = {"Authorization": auth_header(settings), "X-API-Version": settings.version}

    def check(self, query: Query) -> None:
        if query.interval is not None:
            raise UsageError("no_intervals", query.command, source=self.name)
        if query.unit == "group" and query.ids not in (None, "all"):
            bad = [i for i in query.ids or () if not i.isdigit()]
            if bad:
                raise UsageError(
                    "ids_not_numbers", query.command, source=self.name, unit="group",
                    id=bad[0][:40],
                )  # fmt: skip

    async def aclose(self) -> None:
        await self.http.aclose()

    async def directory(self, revisions: Mapping[str, str]) -> list[Collection]:
        """Agents and groups from the Configuration API. No revision is offered, so the
        bot makes one from what was read (the same list again is `unchanged`); the lists
        hold present agents only, so an id missing from them is not called unknown."""
        return list(await asyncio.gather(*(self._collection(*c, revisions) for c in DIRECTORY)))

    async def _collection(
        self, action: str, kind: str, scope: str, revisions: Mapping[str, str]
    ) -> Collection:
        try:
            entries = await self._listed(action, kind)
        except SourceError as exc:
            status = "refused" if isinstance(exc, VendorAuthError) else "failed"
            return Collection(self.name, action, kind, status, detail=exc.detail or str(exc),
                              grant=f"the {scope} scope", whole=False)  # fmt: skip
        revision = hashlib.sha256(repr(sorted(entries)).encode()).hexdigest()[:20]
        if revisions.get(action) == revision:
            return Collection(self.name, action, kind, "unchanged", revision=revision, whole=False)
        return Collection(self.name, action, kind, "ok", entries, revision, whole=False)

    async def _listed(self, action: str, kind: str) -> tuple[Entry, ...]:
        """One Configuration API list (`list_agents`, `list_groups`), read."""
        url = f"{self.settings.api_url}/v{self.settings.version}/configuration/action/{action}"
        body = await self.http.post_json(url, json={}, headers=self._headers)
        return await off_loop(parse_directory, kind, body)

    def url(self, kind: str, report: str) -> str:
        return f"{self.settings.api_url}/v{self.settings.version}/reports/{kind}/{report}"

    async def report(self, report: str, filters: Filters) -> dict[str, Any]:
        """One chats or agents report the bot reads, as LiveChat sends it."""
        kind = "chats" if report in CHATS_REPORTS else "agents" if report in AGENTS_REPORTS else ""
        if not kind:
            raise ValueError(f"unknown LiveChat report {report!r}")
        body: dict[str, Any] = {
            "timezone": self.timezone.key,
            "filters": filters.body(self.timezone),
        }
        answer = await self.http.post_json(self.url(kind, report), json=body, headers=self._headers)
        records = answer.get("records") if isinstance(answer, dict) else "missing"
        if not isinstance(answer, dict) or (
            records not in (None, [], "") and not isinstance(records, dict)
        ):
            raise VendorBadResponse(VENDOR, f"{report} report is not an object with records")
        return answer

    def _filters(self, query: Query, now: datetime) -> Filters:
        ids = () if query.ids in (None, "all") else tuple(query.canonical_ids or ())
        start = now - timedelta(minutes=query.timeframe)
        if query.unit == "group":
            return Filters(start, now, groups=tuple(int(i) for i in ids))
        if query.unit == "agent":
            return Filters(start, now, agents=ids)
        return Filters(start, now)

    async def _shared(
        self, query: Query, reports: tuple[str, ...], parse: Callable[[list[Any]], T]
    ) -> tuple[datetime, T]:
        """Several reports for one query, fetched together and parsed, shared in the bucket.

        Parsing happens inside the shared fetch: an unreadable answer is a failure the
        next caller retries, not a result kept for the rest of the bucket.
        """
        key = (self.name, reports, query.unit, query.canonical_ids, query.timeframe)

        async def fetch() -> tuple[datetime, T]:
            now = self.clock()
            filters = self._filters(query, now)
            answers = await asyncio.gather(*(self._optional(r, filters) for r in reports))
            return now, await off_loop(parse, list(answers))  # a big account: off the loop

        return await self.cache.get(key, fetch)

    async def _optional(self, report: str, filters: Filters) -> Any:
        """Response times are extras: their failure must not cost the CSAT answer."""
        if report not in ("first_response_time", "response_time"):
            return await self.report(report, filters)
        try:
            return await self.report(report, filters)
        except SourceError as exc:
            log.warning("LiveChat %s report unavailable: %s", report, exc)
            return None

    async def csat(self, query: Query) -> CsatReport:
        by_group = query.unit == "group"  # rows by group: the agents' ranking is not asked

        def parse(answers: list[Any]) -> tuple[Any, ...]:
            ratings, *ranking, first, response = answers
            return (
                parse_ratings(ratings),
                parse_ranking(ranking[0]) if ranking else (),
                parse_response_times(first, response),
            )

        reports: tuple[str, ...] = ("ratings", "ranking", "first_response_time", "response_time")
        if by_group:
            reports = ("ratings", "first_response_time", "response_time")
        now, (total, rows, times) = await self._shared(query, reports, parse)
        if by_group:
            rows = await self._by_group(query)
        if query.unit == "agent" and query.ids not in (None, "all"):
            rows = tuple(r for r in rows if r.id.lower() in (query.ids or ()))
        return CsatReport(
            source=self.name,
            vendor=VENDOR,
            scope=query.unit,
            window=exact_window(now, query.timeframe),
            total=total,
            rows=rows,
            fetched_at=now,
            response_times=times,
        )

    async def _by_group(self, query: Query) -> tuple[CsatRow[GoodBad], ...]:
        """One row per group: the ratings report filtered to each (the ranking is by agent).

        `group all` asks which groups there are (`list_groups`, once per bucket); a token
        that may not list them gets the total without the breakdown.
        """
        if query.ids == "all":
            groups = await self._group_ids()
        else:
            groups = list(query.canonical_ids or ())
        if len(groups) < 2:  # one group: the total is its row
            return ()

        async def one(group: str) -> CsatRow[GoodBad]:
            alone = replace(query, ids=(group,))
            _, (counts,) = await self._shared(alone, ("ratings",), lambda a: (parse_ratings(a[0]),))
            return CsatRow("group", group, None, counts)

        return tuple(await asyncio.gather(*(one(g) for g in groups[:MAX_GROUPS])))

    async def _group_ids(self) -> list[str]:
        """The license's group ids, from the Configuration API, shared in the bucket."""

        async def fetch() -> list[str]:
            return [e.id for e in await self._listed("list_groups", "group")]

        try:
            return await self.cache.get((self.name, "list_groups"), fetch)
        except SourceError as exc:
            log.warning("LiveChat groups could not be listed (%s): no breakdown by group", exc)
            return []

    async def agent_states(self, query: Query) -> AgentStatesReport:
        def parse(answers: list[Any]) -> tuple[Any, ...]:
            performance, availability = answers
            return parse_performance(performance), parse_availability(availability)

        now, (agents, hours) = await self._shared(query, ("performance", "availability"), parse)
        if query.ids not in (None, "all"):
            agents = tuple(a for a in agents if a.id.lower() in (query.ids or ()))
        return AgentStatesReport(
            source=self.name,
            vendor=VENDOR,
            window=exact_window(now, query.timeframe),
            agents=agents,
            availability_hours=hours,
            fetched_at=now,
        )


# --- parsing: the only place that knows the reports' shapes -----------------------------


def _records(answer: Any, report: str) -> dict[str, Any]:
    if answer is None:
        return {}
    records = answer.get("records", {}) if isinstance(answer, dict) else None
    if records in (None, [], ""):
        return {}
    if not isinstance(records, dict):
        raise VendorBadResponse(VENDOR, f"{report} records are not an object")
    return records


def _number(record: Mapping[str, Any], key: str, report: str) -> float:
    value = record.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise VendorBadResponse(VENDOR, f"{report}: {key} is not a number: {value!r}")
    return float(value)


def _day(record: Any, report: str) -> Mapping[str, Any]:
    if not isinstance(record, dict):
        raise VendorBadResponse(VENDOR, f"{report}: a record is not an object")
    return record


def parse_ratings(answer: Any) -> GoodBad:
    """Good, bad and chats summed over the days; empty days and missing keys are zero."""
    total = GoodBad()
    for record in _records(answer, "ratings").values():
        day = _day(record, "ratings")
        total += GoodBad(*(int(_number(day, k, "ratings")) for k in ("good", "bad", "chats")))
    return total


def parse_ranking(answer: Any) -> tuple[CsatRow[GoodBad], ...]:
    """Per agent: good and bad ratings over their chats."""
    rows = []
    for agent, record in _records(answer, "ranking").items():
        day = _day(record, "ranking")
        counts = GoodBad(*(int(_number(day, k, "ranking")) for k in ("good", "bad", "total")))
        rows.append(CsatRow("agent", agent, agent, counts))
    return tuple(rows)


def parse_directory(kind: str, body: Any) -> tuple[Entry, ...]:
    """`list_agents` or `list_groups`: a JSON array of `{"id", "name", ...}`; agent ids are
    e-mail addresses (reports key agents by them), group ids numbers (0 is General)."""
    if not isinstance(body, list):
        raise VendorBadResponse(VENDOR, f"the {kind} list is not a JSON array")
    found = []
    for item in body:
        if not isinstance(item, dict):
            continue
        raw, name = item.get("id"), item.get("name")
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip():
            continue
        if not isinstance(name, str) or not name.strip():
            continue
        id = str(raw).strip()
        found.append(Entry(kind, storable(id.lower() if kind == "agent" else id), storable(name)))
    return tuple(found)


def parse_daily_average(answer: Any, report: str, key: str) -> tuple[float | None, int]:
    """A count-weighted average of per-day averages, and the chats behind it."""
    pairs = []
    for record in _records(answer, report).values():
        day = _day(record, report)
        if key in day:
            pairs.append((_number(day, key, report), int(_number(day, "count", report))))
    return weighted_mean(pairs), sum(count for _, count in pairs)


def parse_response_times(first: Any, response: Any) -> ResponseTimes | None:
    """Both averages; an unreadable report counts as absent, never costing the CSAT answer."""
    if first is None and response is None:
        return None
    averages = []
    for answer, report in ((first, "first_response_time"), (response, "response_time")):
        try:
            averages.append(parse_daily_average(answer, report, report))
        except VendorBadResponse as exc:
            log.warning("ignoring LiveChat %s: %s", report, exc)
            averages.append((None, 0))
    (first_avg, first_chats), (avg, chats) = averages
    return ResponseTimes(first_avg, first_chats, avg, chats)


def parse_performance(answer: Any) -> tuple[AgentStates, ...]:
    """Per agent: logged in (with chatting time), accepting and not accepting chats."""
    agents = []
    for agent, record in _records(answer, "performance").items():
        day = _day(record, "performance")
        seconds = {k: int(_number(day, k, "performance")) for k in (
            "logged_in_time", "chatting_time", "accepting_chats_time", "not_accepting_chats_time",
        )}  # fmt: skip
        logged = seconds["logged_in_time"]
        chatting = seconds["chatting_time"]
        agents.append(AgentStates(
            agent, agent,
            StateTime(logged, chatting, max(0, logged - chatting)),
            ((ACCEPTING, StateTime(seconds["accepting_chats_time"])),
             (NOT_ACCEPTING, StateTime(seconds["not_accepting_chats_time"]))),
        ))  # fmt: skip
    return tuple(agents)


def parse_availability(answer: Any) -> float | None:
    """Hours the chat was available: `total`, else the days' hours (or hours' minutes)."""
    if answer is None:
        return None
    if "total" in answer:
        return _number(answer, "total", "availability")
    hours = 0.0
    for record in _records(answer, "availability").values():
        day = _day(record, "availability")
        hours += (
            _number(day, "hours", "availability") + _number(day, "minutes", "availability") / 60
        )
    return hours
