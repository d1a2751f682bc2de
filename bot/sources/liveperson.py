"""LivePerson: Domain API, both auth generations, and Messaging CSAT Distribution.

Only this module knows LivePerson's hosts and JSON shapes (see docs/vendors.md):
- hosts come from the Domain API (`leDataReporting`, `sentinel`), looked up once and kept,
  unless LIVEPERSON_BASE_URL / LIVEPERSON_SENTINEL_URL say where they are;
- OAuth 2.0 client credentials: a Bearer token from sentinel, refreshed a minute before
  it expires and once when a call answers 401; legacy OAuth 1.0 keys are signed with
  HMAC-SHA1 by oauthlib;
- sentinel has two token URLs, V1 (`/sentinel/api/account/{id}/app/token?v=1.0`, which
  LivePerson's current page labels as for the Connector API only) and V2
  (`/sentinel/api/v2/account/{id}/app/token`); LIVEPERSON_TOKEN_VERSION picks one (V1 by
  default). A refusal says which auth and token version was tried (`AuthRefused`);
- `msgcsatdistribution` answers in `skillsMetrics` or `skillsMetricsPerAgent`, with a
  `csat_score` that is sometimes a fraction and sometimes a percentage, so the score is
  computed from positive/total; skill -1 means conversations without a skill.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config import LivePersonSettings
from bot.directory import Collection, Entry, storable
from bot.errors import (
    AuthRefused,
    SourceError,
    UsageError,
    VendorAuthError,
    VendorBadResponse,
)
from bot.metrics import (
    AWAY,
    BACK_SOON,
    ONLINE,
    AgentStates,
    AgentStatesReport,
    CsatCounts,
    CsatReport,
    CsatRow,
    Interval,
    StateTime,
    Window,
    add_states,
    bucket_window,
    exact_window,
    interval_bounds,
)
from bot.offloop import off_loop
from bot.query import Query
from bot.sources.http import BucketCache, VendorHTTP

if TYPE_CHECKING:  # httpx loads with the first vendor call (`VendorHTTP.client`)
    import httpx

log = logging.getLogger(__name__)
T = TypeVar("T")
VENDOR = "LivePerson"
MAX_TIMEFRAME = 1440
MIN_INTERVAL = 5
POST_ABOVE_IDS = 40  # longer agent lists go in a POST body instead of the URL
LOGGED_IN = "-1"
STATES = {"2": ONLINE, "3": BACK_SOON, "4": AWAY}  # LivePerson's state ids -> the bot's
ACCOUNT_CONFIG = "accountConfigReadOnly"  # the Domain API service that names ids
# the Account Configuration API's collections: (name, kind, path, version, read privilege)
DIRECTORY = (
    ("users", "agent", "le-users/users", "4.0", "Users"),
    ("skills", "skill", "le-users/skills", "4.0", "Skills"),
    ("agentGroups", "group", "le-users/agentGroups", "4.0", "Agent Groups"),
    ("status-reasons", "reason", "le-agents/status-reasons", "1.0", "Agent Status Reason"),
)


@dataclass
class _Token:
    value: str
    expires_at: datetime


class LivePerson:
    """The LivePerson source: `csat()` for /csat, sharing calls through a BucketCache."""

    name = "liveperson"
    vendor = VENDOR
    units: tuple[str, ...] = ("account", "skill", "agent")

    def __init__(
        self,
        settings: LivePersonSettings,
        http: VendorHTTP,
        cache: BucketCache,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.http = http
        self.cache = cache
        self.clock = clock
        self._hosts: dict[str, str] = {}
        if settings.base_url:
            self._hosts["leDataReporting"] = settings.base_url
        if settings.sentinel_url:
            self._hosts["sentinel"] = settings.sentinel_url
        if settings.account_config_url:
            self._hosts[ACCOUNT_CONFIG] = settings.account_config_url
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self._host_lock = asyncio.Lock()
        self._auth: httpx.Auth | None = None
        if not settings.uses_oauth2:  # the legacy app key: oauthlib loads only for it
            from bot.sources.oauth1 import OAuth1Auth

            self._auth = OAuth1Auth(settings)

    def check(self, query: Query) -> None:
        if query.ids not in (None, "all"):
            odd = [i for i in query.ids or () if not i.lstrip("-").isdigit()]
            if odd:
                raise UsageError(
                    "ids_not_numbers", query.command, source=self.name, unit=query.unit,
                    id=odd[0][:40],
                )  # fmt: skip
        if query.timeframe > MAX_TIMEFRAME:
            raise UsageError(
                "timeframe_too_long", query.command, source=self.name,
                timeframe=query.timeframe, limit=MAX_TIMEFRAME,
            )  # fmt: skip
        interval = query.interval
        if interval is not None and (
            interval < MIN_INTERVAL or interval > query.timeframe or query.timeframe % interval
        ):
            raise UsageError(
                "interval_does_not_fit", query.command, source=self.name, interval=interval,
                timeframe=query.timeframe, least=MIN_INTERVAL,
            )  # fmt: skip

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- hosts and auth ---------------------------------------------------------------

    async def host(self, service: str) -> str:
        """The base URL of a LivePerson service, from the Domain API once, then kept."""
        if service in self._hosts:
            return self._hosts[service]
        async with self._host_lock:
            if service not in self._hosts:
                url = (
                    f"{self.settings.domain_api_url}/api/account/{self.settings.account_id}"
                    f"/service/{service}/baseURI.json"
                )
                body = await self.http.get_json(url, params={"version": "1.0"})
                base = body.get("baseURI") if isinstance(body, dict) else None
                if not isinstance(base, str) or not base:
                    raise VendorBadResponse(VENDOR, f"Domain API gave no host for {service}")
                self._hosts[service] = (base if "://" in base else f"https://{base}").rstrip("/")
        return self._hosts[service]

    async def _bearer(self, stale: str | None = None) -> str:
        """A valid OAuth 2.0 token; `stale` is one the vendor just refused."""
        async with self._token_lock:
            token = self._token
            fresh = token and token.value != stale and token.expires_at > self.clock()
            if not fresh:
                token = self._token = await self._fetch_token()
            assert token is not None
            return token.value

    def token_path(self) -> str:
        """sentinel's token URL path for the configured version (as the log shows it)."""
        account = self.settings.account_id
        if self.settings.token_version == "v2":
            return f"/sentinel/api/v2/account/{account}/app/token"
        return f"/sentinel/api/account/{account}/app/token?v=1.0"

    async def _fetch_token(self) -> _Token:
        sentinel = await self.host("sentinel")
        path = self.token_path().partition("?")[0]
        form = {"client_id": self.settings.client_id, "client_secret": self.settings.client_secret}
        if self.settings.token_version == "v2":  # grant_type in the form, as OAuth 2.0 says
            params, form = {}, {**form, "grant_type": "client_credentials"}
        else:  # V1: in the query, as LivePerson's V1 examples send it
            params = {"v": "1.0", "grant_type": "client_credentials"}
        try:
            body = await self.http.post_json(f"{sentinel}{path}", params=params, data=form)
        except VendorAuthError as exc:
            raise self._refused(exc, "token") from exc
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise VendorBadResponse(VENDOR, "sentinel gave no access_token")
        lifetime = _lifetime(body, value, self.clock())
        # refresh a minute early (or halfway through a short lifetime)
        margin = min(timedelta(seconds=60), lifetime / 2)
        return _Token(value, self.clock() + lifetime - margin)

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        """A data call's JSON (see `_send`)."""
        return await self.http.read_json(await self._send(method, url, **kwargs))

    async def _send(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A data call with whichever auth the account uses; OAuth 2.0 refreshes once on 401."""
        headers = headers or {}
        if self._auth is not None:
            try:
                return await self.http.request(
                    method, url, auth=self._auth, headers=headers, **kwargs
                )
            except VendorAuthError as exc:
                raise self._refused(exc, "data") from exc
        token = await self._bearer()
        try:
            return await self.http.request(
                method, url, headers={**headers, **_auth_header(token)}, **kwargs
            )
        except VendorAuthError as exc:
            if exc.status != 401:  # 403: the app lacks permission; a new token won't help
                raise self._refused(exc, "data") from exc
            log.info("LivePerson refused the token; fetching a new one once")
            token = await self._bearer(stale=token)
            try:
                return await self.http.request(
                    method, url, headers={**headers, **_auth_header(token)}, **kwargs
                )
            except VendorAuthError as again:  # a token sentinel gave just now: wrong kind
                raise self._refused(again, "data") from again

    def _refused(self, exc: VendorAuthError, stage: str) -> AuthRefused:
        """Credentials refused, saying which auth (and token version) was tried."""
        if self._auth is not None:
            tried = "OAuth 1.0 API key"
            return AuthRefused(VENDOR, self.name, f"{tried}: {exc.detail}", exc.status, "oauth1")
        version = self.settings.token_version
        where = "sentinel" if stage == "token" else "the Operations API"
        detail = f"OAuth 2.0 token {version.upper()} ({self.token_path()}), {where}: {exc.detail}"
        return AuthRefused(VENDOR, self.name, detail, exc.status, "oauth2", version, stage)

    async def _report(
        self,
        name: str,
        params: dict[str, str],
        parse: Callable[[datetime, Any], T],
        post: bool = False,
        shared: bool = True,
    ) -> tuple[datetime, T]:
        """One Operations API report, parsed, shared by identical queries in the same bucket
        (unless not `shared`: asked now, for an answer whose window is its own moment's).

        Parsing happens inside the shared fetch, so an unreadable answer is a failure
        the next caller retries, not a result kept for the rest of the bucket.
        """

        async def fetch() -> tuple[datetime, T]:
            base = await self.host("leDataReporting")
            url = f"{base}/operations/api/account/{self.settings.account_id}/{name}"
            now = self.clock()
            if post:  # long agent lists travel in the body, as the document says
                body = await self._call("POST", url, json=params)
            else:
                body = await self._call("GET", url, params=params)
            return now, await off_loop(parse, now, body)  # 20,000 agents: 200 ms of Python

        if not shared:
            return await fetch()
        return await self.cache.get((self.name, name, tuple(sorted(params.items()))), fetch)

    # --- the directory: names for ids ------------------------------------------------

    async def directory(self, revisions: Mapping[str, str]) -> list[Collection]:
        """Users, skills, agent groups and status reasons, people who left included.

        `revisions` are the ones the bot keeps, by collection; each is sent as
        `If-None-Match`, and a 304 (or the same revision again) means the collection is
        unchanged. A collection refused (401/403) or unreadable is reported as such; the
        others are still read.
        """
        try:
            base = await self.host(ACCOUNT_CONFIG)
        except SourceError as exc:  # the look-up needs no privilege: no grant would help
            return [replace(self._collection_failed(c, exc), status="failed") for c in DIRECTORY]
        prefix = f"{base}/api/account/{self.settings.account_id}/configuration"
        return list(
            await asyncio.gather(*(self._collection(prefix, c, revisions) for c in DIRECTORY))
        )

    async def _collection(
        self, prefix: str, collection: tuple[str, str, str, str, str], revisions: Mapping[str, str]
    ) -> Collection:
        name, kind, path, version, _ = collection
        known = revisions.get(name)
        headers = {"If-None-Match": known} if known else {}
        params = {"v": version, "include_deleted": "true", "select": "$all"}
        try:
            response = await self._send("GET", f"{prefix}/{path}", headers=headers, params=params)
            revision = response.headers.get("ac-revision") or response.headers.get("etag")
            if response.status_code == 304 or (known and revision == known):
                return Collection(self.name, name, kind, "unchanged", revision=known)
            body = await self.http.read_json(response)
            entries = await off_loop(parse_directory, kind, body)
        except SourceError as exc:
            return self._collection_failed(collection, exc)
        return Collection(self.name, name, kind, "ok", entries, revision)

    def _collection_failed(
        self, collection: tuple[str, str, str, str, str], exc: SourceError
    ) -> Collection:
        name, kind, _, _, privilege = collection
        refused = isinstance(exc, VendorAuthError) and getattr(exc, "stage", "data") == "data"
        cause = exc.__cause__  # the refusal itself, not the auth tried for reports
        detail = cause.detail if refused and isinstance(cause, SourceError) else exc.detail
        return Collection(
            self.name, name, kind, "refused" if refused else "failed",
            detail=detail or str(exc), grant=f'the "{privilege}" read privilege',
        )  # fmt: skip

    # --- reports ----------------------------------------------------------------------

    async def csat(self, query: Query) -> CsatReport:
        params = {"timeframe": str(query.timeframe), "v": "1"}
        if query.unit == "skill":
            params["skillIds"] = query.ids_text
        elif query.unit == "agent":
            params["agentIds"] = query.ids_text
        fetched_at, (total, rows) = await self._report(
            "msgcsatdistribution", params, lambda now, body: parse_csat(body, query.unit)
        )
        return CsatReport(
            source=self.name,
            vendor=VENDOR,
            scope=query.unit,
            window=bucket_window(fetched_at, query.timeframe),
            total=total,
            rows=rows,
            fetched_at=fetched_at,
        )

    async def csat_raw(self, timeframe: int) -> tuple[datetime, tuple[CsatRow[CsatCounts], ...]]:
        """Every skill with its agents over the last `timeframe` minutes, asked now and
        never from the bucket cache: the history's nested windows each start at their own
        call's moment (`bot.history.collector`)."""
        params = {"timeframe": str(timeframe), "v": "1", "skillIds": "all"}
        fetched_at, (_, rows) = await self._report(
            "msgcsatdistribution", params, lambda now, body: parse_csat(body, "skill"), shared=False
        )
        return fetched_at, rows

    async def states_raw(self, timeframe: int) -> tuple[datetime, tuple[AgentStates, ...]]:
        """Every agent's states over the last `timeframe` minutes, asked now (see `csat_raw`)."""
        params = {"timeframe": str(timeframe), "v": "1", "agentIds": "all"}

        def parse(now: datetime, body: Any) -> tuple[AgentStates, ...]:
            return parse_agent_activity(body, exact_window(now, timeframe), None)[0]

        return await self._report("agentactivity", params, parse, shared=False)

    async def agent_states(self, query: Query) -> AgentStatesReport:
        params = {"timeframe": str(query.timeframe), "v": "1", "agentIds": query.ids_text}
        if query.interval is not None:
            params["interval"] = str(query.interval)
        long_list = query.ids != "all" and len(query.ids or ()) > POST_ABOVE_IDS

        def parse(now: datetime, body: Any) -> tuple[Any, ...]:
            return parse_agent_activity(body, exact_window(now, query.timeframe), query.interval)

        fetched_at, (agents, intervals, labels) = await self._report(
            "agentactivity", params, parse, post=long_list
        )
        if query.ids not in (None, "all"):  # exactly the agents asked for, whatever came
            asked = set(query.ids or ())
            agents = tuple(a for a in agents if a.id in asked)
            intervals = tuple(
                replace(i, agents=tuple(a for a in i.agents if a.id in asked)) for i in intervals
            )
        window = exact_window(fetched_at, query.timeframe)
        return AgentStatesReport(
            source=self.name,
            vendor=VENDOR,
            window=window,
            agents=agents,
            intervals=intervals,
            fetched_at=fetched_at,
            labels=labels,
        )


def _auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _lifetime(body: Mapping[str, Any], token: str, now: datetime) -> timedelta:
    """How long a token lives: `expires_in`, else the JWT's `exp`, else an hour."""
    try:
        seconds = float(body.get("expires_in", ""))
        if math.isfinite(seconds) and seconds > 0:
            return timedelta(seconds=seconds)
    except (TypeError, ValueError):
        pass
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        seconds = float(claims["exp"]) - now.timestamp()
        if seconds > 0:
            return timedelta(seconds=seconds)
    except (IndexError, KeyError, TypeError, ValueError):
        pass
    return timedelta(hours=1)


# --- parsing: the only place that knows msgcsatdistribution's shape --------------------


def parse_csat(body: Any, unit: str) -> tuple[CsatCounts, tuple[CsatRow[CsatCounts], ...]]:
    """The totals and the per-skill or per-agent rows of a msgcsatdistribution answer."""
    if not isinstance(body, dict):
        raise VendorBadResponse(VENDOR, "CSAT answer is not a JSON object")
    if unit == "skill":
        element = _element(body, "skillsMetrics", "skillsMetricsPerAgent")
        per_skill = _mapping(element.get("metricsPerSkill"), "metricsPerSkill")
        rows = tuple(_skill_row(sid, data) for sid, data in per_skill.items())
        return _totals(element, rows), rows
    if unit == "agent":
        element = _element(body, "agentsMetrics")
        per_agent = _mapping(element.get("metricsPerAgent"), "metricsPerAgent")
        rows = tuple(_agent_row(aid, data) for aid, data in per_agent.items())
        return _totals(element, rows), rows
    if "metricsTotals" not in body:
        raise VendorBadResponse(VENDOR, "CSAT answer has no metricsTotals")
    return counts_from(body["metricsTotals"]), ()


def _element(body: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if name in body:
            value = body[name]
            return value if isinstance(value, dict) else {}
    # no data at all for the requested ids comes back without the element
    if "metricsTotals" in body:
        return {"metricsTotals": body["metricsTotals"]}
    raise VendorBadResponse(VENDOR, f"CSAT answer has none of {', '.join(names)}")


def _mapping(value: Any, name: str) -> dict[str, Any]:
    """A per-id map; "no data" comes back as {}, "", [] or null."""
    if value in (None, "", [], {}):
        return {}
    if not isinstance(value, dict):
        raise VendorBadResponse(VENDOR, f"{name} is not an object")
    return value


def _skill_row(skill_id: str, data: Any) -> CsatRow[CsatCounts]:
    if not isinstance(data, dict):
        raise VendorBadResponse(VENDOR, f"skill {skill_id} is not an object")
    agents_map = _mapping(data.get("metricsPerAgent"), f"skill {skill_id} metricsPerAgent")
    agents = tuple(_agent_row(aid, a) for aid, a in agents_map.items())
    if "metricsTotals" in data:
        counts = counts_from(data["metricsTotals"])
    elif any(k.startswith("csat_") or k == "total_answers" for k in data):
        counts = counts_from(data)
    else:
        counts = sum((a.counts for a in agents), CsatCounts())
    return CsatRow("skill", str(skill_id), None, counts, agents)  # skill -1: Unassigned


def _agent_row(agent_id: str, data: Any) -> CsatRow[CsatCounts]:
    return CsatRow("agent", str(agent_id), None, counts_from(data))


def _totals(element: dict[str, Any], rows: tuple[CsatRow[CsatCounts], ...]) -> CsatCounts:
    totals = element.get("metricsTotals")
    if isinstance(totals, dict) and totals:
        return counts_from(totals)
    return sum((r.counts for r in rows), CsatCounts())


_SCORES = tuple(f"csat_score{i}_answers" for i in range(1, 6))
_S1, _S2, _S3, _S4, _S5 = _SCORES
_LEFT_OUT = object()


def counts_from(metrics: Any) -> CsatCounts:
    """CsatCounts from LivePerson's metric names; the score is derived, never trusted."""
    if type(metrics) is dict:  # the common case first: plain counts (20,000 rows per answer)
        get = metrics.get
        one, two, three = get(_S1, 0), get(_S2, 0), get(_S3, 0)
        four, five = get(_S4, 0), get(_S5, 0)
        if (
            type(one) is int
            and type(two) is int
            and type(three) is int
            and type(four) is int
            and type(five) is int
            and min(one, two, three, four, five) >= 0
        ):
            total = get("total_answers", _LEFT_OUT)
            positive = get("positive_answers", _LEFT_OUT)
            if total is _LEFT_OUT:
                total = one + two + three + four + five
            if positive is _LEFT_OUT:
                positive = four + five
            if type(total) is int and type(positive) is int and 0 <= positive <= total:
                return CsatCounts((one, two, three, four, five), total, positive)
    if not isinstance(metrics, dict):
        raise VendorBadResponse(VENDOR, "CSAT metrics are not an object")
    one, two, three, four, five = (_count(metrics, key) for key in _SCORES)
    scores = (one, two, three, four, five)
    total = _count(metrics, "total_answers", default=sum(scores))
    positive = _count(metrics, "positive_answers", default=four + five)
    if positive > total:
        raise VendorBadResponse(VENDOR, f"{positive} positive answers out of {total}")
    return CsatCounts(scores, total, positive)


def _count(metrics: dict[str, Any], key: str, default: int = 0) -> int:
    value = metrics.get(key, default)
    if type(value) is int and value >= 0:  # nearly every count: 400,000 in a big answer
        return value
    if isinstance(value, bool):
        raise VendorBadResponse(VENDOR, f"{key} is not a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise VendorBadResponse(VENDOR, f"{key} is not a count: {value!r}")
    return value


# --- parsing: the Account Configuration API ----------------------------------------------


def parse_directory(kind: str, body: Any) -> tuple[Entry, ...]:
    """One collection's entries: a plain JSON array of objects.

    Ids come as numbers (and groups' as strings in the examples): joined to reports by
    their text. An agent is named by nickname, then full name, then login name; a reason by
    `text` (the overview table says `name`). Entries without an id or any name are skipped.
    """
    if not isinstance(body, list):
        raise VendorBadResponse(VENDOR, f"the {kind} directory is not a JSON array")
    keys = _NAME_KEYS[kind]
    found = []
    for item in body:
        if not isinstance(item, dict):
            continue
        raw = item.get("id")
        if isinstance(raw, bool) or not isinstance(raw, int | str) or str(raw).strip() == "":
            continue
        name = next(
            (v.strip() for k in keys if isinstance(v := item.get(k), str) and v.strip()), None
        )
        if name is None:
            continue
        deleted = item.get("deleted") is True
        found.append(Entry(kind, storable(str(raw)), storable(name), deleted))
    return tuple(found)


_NAME_KEYS = {
    "agent": ("nickname", "fullName", "loginName"),
    "skill": ("name",),
    "group": ("name",),
    "reason": ("text", "name"),
}


# --- parsing: agentactivity -------------------------------------------------------------


def parse_agent_activity(
    body: Any, window: Window, interval: int | None
) -> tuple[tuple[AgentStates, ...], tuple[Interval, ...], dict[str, str]]:
    """Per-agent states for the whole window, per interval when asked for, and the names
    LivePerson gave states the bot has no id for.

    `body` is the decoded answer, read once: its agents are taken out of it as they are read.

    The whole-window element is often empty beside intervals (the document's own
    example), so agents are then summed over the intervals.
    """
    labels: dict[str, str] = {}
    if not isinstance(body, dict):
        raise VendorBadResponse(VENDOR, "agent activity answer is not a JSON object")
    intervals: list[Interval] = []
    raw_intervals = body.get("metricsByIntervals")
    if raw_intervals is not None:
        if not isinstance(raw_intervals, list):
            raise VendorBadResponse(VENDOR, "metricsByIntervals is not a list")
        ends, slices = [], []
        for item in raw_intervals:
            if not isinstance(item, dict) or not isinstance(item.get("timestamp"), int | float):
                raise VendorBadResponse(VENDOR, "an interval has no timestamp")
            ends.append(datetime.fromtimestamp(item["timestamp"] / 1000, UTC))
            data = item.get("metricsData") or {}
            slices.append(_agents_of(data if isinstance(data, dict) else {}, labels))
        bounds = (
            interval_bounds(ends, interval or 0, window) if interval else [(e, e) for e in ends]
        )
        intervals = sorted(
            (
                Interval(start, end, agents)
                for (start, end), agents in zip(bounds, slices, strict=True)
            ),
            key=lambda i: i.end,
        )
    elif "agentsMetrics" not in body:
        raise VendorBadResponse(VENDOR, "agent activity answer has no agentsMetrics")
    agents = _agents_of(body, labels)
    if not agents and intervals:
        by_id: dict[str, list[AgentStates]] = {}
        for part in intervals:
            for agent in part.agents:
                by_id.setdefault(agent.id, []).append(agent)
        agents = tuple(add_states(rows, aid, rows[0].name) for aid, rows in by_id.items())
    return agents, tuple(intervals), labels


def _agents_of(data: dict[str, Any], labels: dict[str, str]) -> tuple[AgentStates, ...]:
    element = data.get("agentsMetrics")
    if element in (None, "", [], {}):
        return ()
    if not isinstance(element, dict):
        raise VendorBadResponse(VENDOR, "agentsMetrics is not an object")
    per_agent = _mapping(element.get("metricsPerAgent"), "metricsPerAgent")
    # each agent's part of the decoded answer is let go once read: the report grows into
    # the memory the answer gives back (20,000 agents: a 15 MiB lower peak)
    return tuple(_agent_states(str(aid), per_agent.pop(aid), labels) for aid in list(per_agent))


def _agent_states(agent_id: str, states: Any, labels: dict[str, str]) -> AgentStates:
    """One agent's states; 20,000 agents and 100,000 state times per answer, so the
    common case (known ids, four plain counts, in display order) takes the short way."""
    if type(states) is not list:
        raise VendorBadResponse(VENDOR, f"agent {agent_id}'s states are not a list")
    logged_in: StateTime | None = None
    found: list[tuple[str, StateTime]] = []
    reasons: list[tuple[str, StateTime]] = []
    last, in_order = -1, True
    for state in states:
        if type(state) is not dict:
            raise VendorBadResponse(VENDOR, f"agent {agent_id} has a state that is not an object")
        raw = state.get("id")
        known = _KNOWN.get(raw) if type(raw) is int or type(raw) is str else None
        time = _state_time(state.get("value"), agent_id)
        if known is None:  # a state the bot does not know (`_KNOWN` has every form of the others)
            key, position = f"state:{raw}", len(_ORDER)
            if state.get("name"):
                labels[key] = str(state["name"])  # LivePerson's name for it
        elif known is _LOGGED_IN:
            logged_in = time
            continue
        else:
            key, position = known
        found.append((key, time))
        if position < last:
            in_order = False
        last = position
        given = state.get("reasons")
        for reason in given if type(given) is list else ():  # anything else names none
            if type(reason) is dict:
                reason_id = reason.get("id", "?")
                reasons.append((
                    reason_id if type(reason_id) is str else str(reason_id),
                    _state_time(reason.get("value"), agent_id),
                ))  # fmt: skip
    if logged_in is None:  # not sent: the sum of the states is the best we have
        logged_in = sum((t for _, t in found), StateTime())
    if not in_order:
        found.sort(key=_display_order)
    return AgentStates(agent_id, None, logged_in, tuple(found), tuple(reasons))


_ORDER = {key: i for i, key in enumerate(STATES.values())}  # the bot's states, in display order
# LivePerson's state ids as they come (numbers, or text) -> (the bot's state, its position)
_LOGGED_IN = (LOGGED_IN, -1)
_KNOWN: dict[int | str, tuple[str, int]] = {
    **{sid: (key, _ORDER[key]) for sid, key in STATES.items()},
    **{int(sid): (key, _ORDER[key]) for sid, key in STATES.items()},
    LOGGED_IN: _LOGGED_IN,
    int(LOGGED_IN): _LOGGED_IN,
}


def _display_order(item: tuple[str, StateTime]) -> int:
    return _ORDER.get(item[0], len(_ORDER))


_new_tuple = tuple.__new__  # a StateTime without the Python of its generated __new__


def _state_time(value: Any, agent_id: str) -> StateTime:
    if type(value) is dict:  # the common case first: four plain counts (100,000 per answer)
        try:
            total, chatting = value["total"], value["chatting"]
            idle, maxed = value["notChatting"], value["chattingInMaxConcurrency"]
        except KeyError:
            pass  # a count left out counts 0: below
        else:
            if (
                type(total) is int
                and type(chatting) is int
                and type(idle) is int
                and type(maxed) is int
                and total >= 0
                and chatting >= 0
                and idle >= 0
                and maxed >= 0
            ):
                return _new_tuple(StateTime, (total, chatting, idle, maxed))
    if value is None:
        return StateTime()
    if not isinstance(value, dict):
        raise VendorBadResponse(VENDOR, f"agent {agent_id} has a state value that is not an object")
    return StateTime(
        _count(value, "total"),
        _count(value, "chatting"),
        _count(value, "notChatting"),
        _count(value, "chattingInMaxConcurrency"),
    )
