from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
from oauthlib.oauth1.rfc5849 import signature, utils

from bot.config import LivePersonSettings
from bot.errors import AuthRefused, UsageError, VendorAuthError, VendorBadResponse
from bot.metrics import CsatCounts, CsatReport, CsatRow, bucket_window
from bot.query import Query
from bot.render import Renderer
from bot.sources.http import BucketCache, VendorHTTP
from bot.sources.liveperson import LivePerson, parse_csat
from tests.fakes.clock import FakeClock, no_retry
from tests.words import said


def said_by_renderer(error: AuthRefused) -> str:
    """What the log and the terminal say about it (the reply's words, with the detail)."""
    return Renderer().said(error)


pytestmark = pytest.mark.anyio

DOMAIN = "https://api.liveperson.net/api/account/123/service"
DATA = "https://va.data.liveperson.net/operations/api/account/123/msgcsatdistribution"
TOKEN = (
    "https://va.sentinel.liveperson.net/sentinel/api/account/123/app/token"
    "?v=1.0&grant_type=client_credentials"
)
OAUTH2 = LivePersonSettings("123", client_id="cid", client_secret="csecret")
OAUTH1 = LivePersonSettings(
    "123", consumer_key="ckey", consumer_secret="csecret", token="tkey", token_secret="tsecret"
)
SKILL_4 = Query("/csat", "liveperson", "skill", ("4",), 60)
SKILL_4_15 = Query("/csat", "liveperson", "skill", ("4", "15"), 60)
ALL_AGENTS = Query("/csat", "liveperson", "agent", "all", 1440)
ACCOUNT = Query("/csat", "liveperson", timeframe=1440)


Scores = tuple[int, int, int, int, int]


def metrics(scores: Scores, csat_score: float | None = None) -> dict[str, Any]:
    """LivePerson's metric names for these answers; csat_score as LivePerson might send it."""
    total, positive = sum(scores), scores[3] + scores[4]
    body: dict[str, Any] = {f"csat_score{i}_answers": n for i, n in enumerate(scores, 1)}
    body |= {"total_answers": total, "positive_answers": positive}
    body["csat_score"] = csat_score if csat_score is not None else positive / total if total else 0
    return body


def counts(scores: Scores) -> CsatCounts:
    return CsatCounts.from_scores(scores)


A1001, A1002, A1003 = (1, 0, 2, 5, 12), (0, 1, 0, 2, 1), (2, 0, 1, 1, 3)
SKILL_4_TOTALS = (1, 1, 2, 7, 13)  # A1001 + A1002
ALL_TOTALS = (3, 1, 3, 8, 16)  # and A1003


def skills_body(element: str = "skillsMetricsPerAgent") -> dict[str, Any]:
    """The shape the client is built for (LivePerson documents none)."""
    return {
        element: {
            "metricsPerSkill": {
                "4": {
                    "metricsPerAgent": {"1001": metrics(A1001), "1002": metrics(A1002)},
                    "metricsTotals": metrics(SKILL_4_TOTALS),
                },
                "-1": {
                    "metricsPerAgent": {"1003": metrics(A1003)},
                    "metricsTotals": metrics(A1003),
                },
            },
            "metricsTotals": metrics(ALL_TOTALS),
        }
    }


SKILL_ROWS = (
    CsatRow(
        "skill",
        "4",
        None,
        counts(SKILL_4_TOTALS),
        (
            CsatRow("agent", "1001", None, counts(A1001)),
            CsatRow("agent", "1002", None, counts(A1002)),
        ),
    ),
    CsatRow(
        "skill",
        "-1",
        None,  # skill -1: Unassigned, in words
        counts(A1003),
        (CsatRow("agent", "1003", None, counts(A1003)),),
    ),
)


def agents_body() -> dict[str, Any]:
    return {
        "agentsMetrics": {
            "metricsPerAgent": {"1001": metrics(A1001), "1003": metrics(A1003)},
            "metricsTotals": metrics((3, 0, 3, 6, 15)),
        }
    }


def csat_body_for(request: httpx.Request) -> dict[str, Any]:
    """What LivePerson answers to this query, in the shape of its unit."""
    if "skillIds" in request.url.params:
        return skills_body()
    if "agentIds" in request.url.params:
        return agents_body()
    return {"metricsTotals": metrics(ALL_TOTALS)}


@dataclass
class FakeLivePerson:
    """LivePerson's Domain API, sentinel and msgcsatdistribution, answering from memory."""

    csat_body: Any = None  # None: shaped after the query
    data_statuses: list[int] = field(default_factory=list)  # answered before any 200
    hosts: dict[str, str] = field(
        default_factory=lambda: {
            "leDataReporting": "va.data.liveperson.net",
            "sentinel": "va.sentinel.liveperson.net",
        }
    )
    token_body: dict[str, Any] | None = None
    token_status: int = 200
    requests: list[httpx.Request] = field(default_factory=list)
    tokens: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/baseURI.json"):
            service = path.split("/")[-2]
            return httpx.Response(200, json={"service": service, "baseURI": self.hosts[service]})
        if path.endswith("/app/token"):
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_client"})
            self.tokens += 1
            body = self.token_body or {"expires_in": 3600}
            return httpx.Response(200, json={"access_token": f"tok-{self.tokens}", **body})
        if path.endswith("/msgcsatdistribution"):
            if self.data_statuses:
                return httpx.Response(self.data_statuses.pop(0), json={"error": "no"})
            body = csat_body_for(request) if self.csat_body is None else self.csat_body
            return httpx.Response(200, json=body)
        return httpx.Response(404)

    def urls(self, ending: str = "") -> list[str]:
        return [str(r.url) for r in self.requests if r.url.path.endswith(ending)]

    def data_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/msgcsatdistribution")]


def liveperson(
    vendor: FakeLivePerson,
    settings: LivePersonSettings = OAUTH2,
    clock: FakeClock | None = None,
) -> LivePerson:
    clock = clock or FakeClock()
    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
    http = VendorHTTP("LivePerson", client, sleep=no_retry)
    return LivePerson(settings, http, BucketCache(clock), clock)


async def csat_all(source: LivePerson, queries: Iterable[Query]) -> list[CsatReport]:
    return [await source.csat(q) for q in queries]


# --- Domain API ----------------------------------------------------------------------


async def test_hosts_are_looked_up_once() -> None:
    vendor = FakeLivePerson()
    await csat_all(liveperson(vendor), [SKILL_4, ALL_AGENTS, SKILL_4])
    assert vendor.urls() == [
        f"{DOMAIN}/leDataReporting/baseURI.json?version=1.0",
        f"{DOMAIN}/sentinel/baseURI.json?version=1.0",
        TOKEN,
        f"{DATA}?timeframe=60&v=1&skillIds=4",
        f"{DATA}?timeframe=1440&v=1&agentIds=all",
    ]


@pytest.mark.parametrize(
    ("base_uri", "host"),
    [
        ("va.data.liveperson.net", "https://va.data.liveperson.net"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ],
)
async def test_base_uri_gets_a_scheme(base_uri: str, host: str) -> None:
    vendor = FakeLivePerson(hosts={"leDataReporting": base_uri})
    assert await liveperson(vendor).host("leDataReporting") == host


@pytest.mark.parametrize("answer", [{}, {"baseURI": ""}, {"baseURI": 7}, ["x"]])
async def test_domain_api_without_host_is_a_bad_response(answer: object) -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
    source = LivePerson(
        OAUTH2, VendorHTTP("LivePerson", client, sleep=no_retry), BucketCache(FakeClock())
    )
    with pytest.raises(VendorBadResponse) as caught:
        await source.host("leDataReporting")
    assert caught.value.vendor == "LivePerson"
    assert caught.value.detail == "Domain API gave no host for leDataReporting"


async def test_configured_hosts_skip_the_domain_api() -> None:
    settings = LivePersonSettings(
        "123",
        client_id="cid",
        client_secret="csecret",
        base_url="http://127.0.0.1:9001",
        sentinel_url="http://127.0.0.1:9002",
    )
    vendor = FakeLivePerson()
    await csat_all(liveperson(vendor, settings), [SKILL_4])
    assert vendor.urls() == [
        "http://127.0.0.1:9002/sentinel/api/account/123/app/token"
        "?v=1.0&grant_type=client_credentials",
        "http://127.0.0.1:9001/operations/api/account/123/msgcsatdistribution"
        "?timeframe=60&v=1&skillIds=4",
    ]


# --- OAuth 2.0 -----------------------------------------------------------------------


async def test_token_request_and_bearer() -> None:
    vendor = FakeLivePerson()
    await liveperson(vendor).csat(SKILL_4)
    [token] = [r for r in vendor.requests if r.url.path.endswith("/app/token")]
    assert (token.method, str(token.url)) == ("POST", TOKEN)
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token.content.decode()) == {"client_id": ["cid"], "client_secret": ["csecret"]}
    assert "authorization" not in token.headers
    [data] = vendor.data_requests()
    assert data.headers["authorization"] == "Bearer tok-1"


async def test_token_is_reused_then_refreshed_before_expiry() -> None:
    clock, vendor = FakeClock(), FakeLivePerson()
    source = liveperson(vendor, clock=clock)
    await source.csat(SKILL_4)
    await source.csat(ALL_AGENTS)
    clock.now += timedelta(seconds=3600 - 60 - 1)  # just inside expires_in minus the minute
    await source.csat(ACCOUNT)
    clock.now += timedelta(seconds=2)  # just past it; a new query, so not from the cache
    await source.csat(SKILL_4_15)
    assert [r.headers["authorization"] for r in vendor.data_requests()] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert vendor.tokens == 2


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


async def test_token_lifetime_from_jwt_exp() -> None:
    clock = FakeClock()
    exp = clock.now + timedelta(seconds=600)
    vendor = FakeLivePerson(token_body={"access_token": jwt({"exp": exp.timestamp()})})
    source = liveperson(vendor, clock=clock)
    await source.csat(SKILL_4)
    clock.now += timedelta(seconds=539)
    await source.csat(ALL_AGENTS)
    assert vendor.tokens == 1
    clock.now += timedelta(seconds=2)  # past exp minus the minute
    await source.csat(ACCOUNT)
    assert vendor.tokens == 2


async def test_401_fetches_one_new_token_and_retries() -> None:
    vendor = FakeLivePerson(data_statuses=[401])
    report = await liveperson(vendor).csat(SKILL_4)
    assert report.rows == SKILL_ROWS
    assert [r.headers["authorization"] for r in vendor.data_requests()] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert vendor.tokens == 2


async def test_a_fresh_token_refused_says_which_auth_and_version_was_tried() -> None:
    vendor = FakeLivePerson(data_statuses=[401, 401, 401])
    with pytest.raises(AuthRefused) as caught:
        await liveperson(vendor).csat(SKILL_4)
    refused = caught.value
    assert isinstance(refused, VendorAuthError)  # still the vendor refusing credentials
    assert (refused.vendor, refused.source, refused.status) == ("LivePerson", "liveperson", 401)
    assert refused.facts == {"auth": "oauth2", "token_version": "v1", "stage": "data"}
    assert refused.detail == (
        "OAuth 2.0 token V1 (/sentinel/api/account/123/app/token?v=1.0), "
        "the Operations API: HTTP 401"
    )
    assert len(vendor.data_requests()) == 2  # refreshed once, then refused again
    assert vendor.tokens == 2
    assert said_by_renderer(refused) == (
        "LivePerson's data API refused the bot's OAuth 2.0 token, fresh from its sentinel "
        "(token V1). An admin should set LIVEPERSON_TOKEN_VERSION=v2 and try again; if both "
        "are refused, the OAuth 2.0 app needs permission for the Operations API. ("
        + refused.detail
        + ")"
    )


async def test_the_v2_token_url_and_its_refusal() -> None:
    vendor = FakeLivePerson()
    settings = LivePersonSettings("123", client_id="cid", client_secret="csecret",
                                  token_version="v2")  # fmt: skip
    await liveperson(vendor, settings).csat(SKILL_4)
    [token] = [r for r in vendor.requests if r.url.path.endswith("/app/token")]
    assert (
        str(token.url) == "https://va.sentinel.liveperson.net/sentinel/api/v2/account/123/app/token"
    )
    assert parse_qs(token.content.decode()) == {
        "client_id": ["cid"], "client_secret": ["csecret"], "grant_type": ["client_credentials"],
    }  # fmt: skip
    refusing = FakeLivePerson(data_statuses=[403])
    with pytest.raises(AuthRefused) as caught:
        await liveperson(refusing, settings).csat(SKILL_4)
    assert caught.value.facts == {"auth": "oauth2", "token_version": "v2", "stage": "data"}
    assert "/sentinel/api/v2/account/123/app/token" in caught.value.detail
    assert refusing.tokens == 1  # 403: the app lacks permission; a new token would not help
    assert "set LIVEPERSON_TOKEN_VERSION=v1" in said_by_renderer(caught.value)


async def test_sentinel_refusing_the_client_says_check_the_client_id() -> None:
    vendor = FakeLivePerson(token_status=401)
    with pytest.raises(AuthRefused) as caught:
        await liveperson(vendor).csat(SKILL_4)
    assert caught.value.facts == {"auth": "oauth2", "token_version": "v1", "stage": "token"}
    assert caught.value.detail.startswith("OAuth 2.0 token V1 (/sentinel/api/account/123/app/"
                                          "token?v=1.0), sentinel: ")  # fmt: skip
    assert said_by_renderer(caught.value).startswith(
        "LivePerson would not give the bot a token (OAuth 2.0, token V1). An admin should check "
        "LIVEPERSON_CLIENT_ID and LIVEPERSON_CLIENT_SECRET, or try the other token URL with "
        "LIVEPERSON_TOKEN_VERSION=v2."
    )
    assert vendor.data_requests() == []


@pytest.mark.filterwarnings("ignore:use sign_hmac_sha1_with_client:DeprecationWarning")
async def test_a_refused_legacy_key_says_oauth1_is_over() -> None:
    vendor = FakeLivePerson(data_statuses=[401])
    with pytest.raises(AuthRefused) as caught:
        await liveperson(vendor, OAUTH1).csat(SKILL_4)
    assert caught.value.facts == {"auth": "oauth1", "token_version": "", "stage": "data"}
    assert caught.value.detail == "OAuth 1.0 API key: HTTP 401"
    assert "LivePerson ended those keys on 31 May 2026" in said_by_renderer(caught.value)
    assert vendor.tokens == 0


async def test_token_answer_without_access_token_is_a_bad_response() -> None:
    vendor = FakeLivePerson(token_body={"access_token": ""})
    with pytest.raises(VendorBadResponse) as caught:
        await liveperson(vendor).csat(SKILL_4)
    assert (caught.value.vendor, caught.value.detail) == (
        "LivePerson",
        "sentinel gave no access_token",
    )
    assert vendor.data_requests() == []


# --- OAuth 1.0 -----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:use sign_hmac_sha1_with_client:DeprecationWarning")
async def test_oauth1_signs_the_data_request() -> None:
    vendor = FakeLivePerson()
    await liveperson(vendor, OAUTH1).csat(Query("/csat", "liveperson", "skill", ("4", "15"), 90))
    assert vendor.urls() == [
        f"{DOMAIN}/leDataReporting/baseURI.json?version=1.0",
        f"{DATA}?timeframe=90&v=1&skillIds=4%2C15",
    ]
    assert "authorization" not in vendor.requests[0].headers
    [data] = vendor.data_requests()
    header = data.headers["authorization"]
    assert header.startswith("OAuth ")
    oauth = dict(utils.parse_authorization_header(header))
    assert oauth["oauth_signature_method"] == "HMAC-SHA1"
    assert oauth["oauth_consumer_key"] == "ckey"
    assert oauth["oauth_token"] == "tkey"
    assert {"oauth_nonce", "oauth_timestamp", "oauth_signature"} <= oauth.keys()

    params = signature.collect_parameters(
        uri_query=data.url.query.decode(),
        headers={"Authorization": header},
        exclude_oauth_signature=True,
    )
    base_string = signature.signature_base_string(
        data.method,
        signature.base_string_uri(str(data.url)),
        signature.normalize_parameters(params),
    )
    expected = signature.sign_hmac_sha1(base_string, "csecret", "tsecret")
    assert unquote(oauth["oauth_signature"]) == expected
    assert ("skillIds", "4,15") in params  # the signature covers the query


# --- the query -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (Query("/csat", "liveperson", timeframe=1440), {"timeframe": "1440", "v": "1"}),
        (
            Query("/csat", "liveperson", "skill", ("4", "15"), 120),
            {"timeframe": "120", "v": "1", "skillIds": "4,15"},
        ),
        (
            Query("/csat", "liveperson", "skill", "all", 5),
            {"timeframe": "5", "v": "1", "skillIds": "all"},
        ),
        (
            Query("/csat", "liveperson", "agent", "all", 60),
            {"timeframe": "60", "v": "1", "agentIds": "all"},
        ),
    ],
)
async def test_query_parameters(query: Query, params: dict[str, str]) -> None:
    vendor = FakeLivePerson(csat_body={"metricsTotals": metrics((0, 0, 0, 0, 0))})
    await liveperson(vendor).csat(query)
    [data] = vendor.data_requests()
    assert dict(data.url.params) == params


async def test_report() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 13, 29, tzinfo=UTC))
    source = liveperson(FakeLivePerson(), clock=clock)
    report = await source.csat(Query("/csat", "liveperson", "skill", "all", 7))
    assert report == CsatReport(
        source="liveperson",
        vendor="LivePerson",
        scope="skill",
        window=bucket_window(clock.now, 7),
        total=counts(ALL_TOTALS),
        rows=SKILL_ROWS,
        fetched_at=clock.now,
    )
    assert report.window.widened


async def test_concurrent_identical_queries_share_one_call() -> None:
    vendor = FakeLivePerson()
    source = liveperson(vendor)
    first, second = await asyncio.gather(source.csat(SKILL_4), source.csat(SKILL_4))
    assert first == second
    assert len(vendor.data_requests()) == 1
    assert vendor.tokens == 1


async def test_ids_in_another_order_or_repeated_share_one_call() -> None:
    vendor = FakeLivePerson()
    source = liveperson(vendor)
    for ids in (("4", "15"), ("15", "4"), ("15", "4", "15")):
        await source.csat(Query("/csat", "liveperson", "skill", ids, 60))
    [data] = vendor.data_requests()
    assert data.url.params["skillIds"] == "4,15"


async def test_unreadable_answer_through_the_client() -> None:
    vendor = FakeLivePerson(csat_body=["not", "an", "object"])
    with pytest.raises(VendorBadResponse) as caught:
        await liveperson(vendor).csat(SKILL_4)
    assert caught.value.vendor == "LivePerson"


def test_check_limits_timeframe() -> None:
    source = liveperson(FakeLivePerson())
    source.check(Query("/csat", "liveperson", timeframe=1440))
    with pytest.raises(UsageError) as caught:
        source.check(Query("/csat", "liveperson", timeframe=1441))
    assert "1440 minutes" in said(caught.value)
    assert "`24h 1m` is 1441 minutes" in said(caught.value)
    assert caught.value.command == "/csat"


def test_check_accepts_a_fitting_interval() -> None:
    liveperson(FakeLivePerson()).check(
        Query("/agent-states", "liveperson", "agent", "all", 120, 30)
    )


@pytest.mark.parametrize("interval", [3, 180, 7], ids=["under-5m", "over-timeframe", "not-divisor"])
def test_check_limits_interval(interval: int) -> None:
    source = liveperson(FakeLivePerson())
    with pytest.raises(UsageError):
        source.check(Query("/agent-states", "liveperson", "agent", "all", 120, interval))


# --- parse_csat ----------------------------------------------------------------------


@pytest.mark.parametrize("element", ["skillsMetricsPerAgent", "skillsMetrics"])
def test_parse_skills(element: str) -> None:
    assert parse_csat(skills_body(element), "skill") == (counts(ALL_TOTALS), SKILL_ROWS)


@pytest.mark.parametrize("csat_score", [0.8, 80, 0])
def test_score_is_computed_not_trusted(csat_score: float) -> None:
    body = {"metricsTotals": metrics((1, 0, 2, 5, 12), csat_score)}
    total, rows = parse_csat(body, "account")
    assert total == CsatCounts((1, 0, 2, 5, 12), 20, 17)
    assert total.score == 0.85
    assert rows == ()


@pytest.mark.parametrize("empty", [{}, "", None, []])
def test_no_data_for_the_skills(empty: object) -> None:
    body = {"skillsMetrics": {"metricsPerSkill": empty, "metricsTotals": metrics((0, 0, 0, 0, 0))}}
    assert parse_csat(body, "skill") == (CsatCounts(), ())


def test_no_element_but_totals() -> None:
    body = {"metricsTotals": metrics((0, 0, 0, 0, 0))}
    assert parse_csat(body, "skill") == (CsatCounts(), ())
    assert parse_csat(body, "agent") == (CsatCounts(), ())


def test_skill_without_totals_adds_its_agents() -> None:
    body = {
        "skillsMetrics": {
            "metricsPerSkill": {
                "7": {"metricsPerAgent": {"1001": metrics(A1001), "1002": metrics(A1002)}},
                "8": metrics(A1003),
            }
        }
    }
    assert parse_csat(body, "skill") == (
        counts(ALL_TOTALS),
        (
            CsatRow(
                "skill",
                "7",
                None,
                counts(SKILL_4_TOTALS),
                (
                    CsatRow("agent", "1001", None, counts(A1001)),
                    CsatRow("agent", "1002", None, counts(A1002)),
                ),
            ),
            CsatRow("skill", "8", None, counts(A1003)),
        ),
    )


def test_parse_account() -> None:
    body = {"metricsTotals": metrics(A1001, 0.85)}
    assert parse_csat(body, "account") == (counts(A1001), ())


def test_parse_agents() -> None:
    assert parse_csat(agents_body(), "agent") == (
        counts((3, 0, 3, 6, 15)),
        (
            CsatRow("agent", "1001", None, counts(A1001)),
            CsatRow("agent", "1003", None, counts(A1003)),
        ),
    )


def test_counts_accept_whole_floats_and_digit_strings() -> None:
    body = {
        "metricsTotals": {
            "csat_score1_answers": "1",
            "csat_score5_answers": 3.0,
            "total_answers": " 4 ",
            "positive_answers": 3,
        }
    }
    assert parse_csat(body, "account") == (CsatCounts((1, 0, 0, 0, 3), 4, 3), ())


def test_missing_totals_follow_from_scores() -> None:
    body = {"metricsTotals": {"csat_score2_answers": 1, "csat_score4_answers": 2}}
    assert parse_csat(body, "account") == (CsatCounts((0, 1, 0, 2, 0), 3, 2), ())


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ({"total_answers": 9}, CsatCounts((0, 1, 0, 2, 0), 9, 2)),  # positives from scores
        ({"positive_answers": 1}, CsatCounts((0, 1, 0, 2, 0), 3, 1)),  # total from scores
        ({"total_answers": 2, "positive_answers": 2}, CsatCounts((0, 1, 0, 2, 0), 2, 2)),
    ],
)
def test_a_count_left_out_follows_from_the_scores_and_one_given_is_kept(
    totals: dict[str, int], expected: CsatCounts
) -> None:
    body = {"metricsTotals": {"csat_score2_answers": 1, "csat_score4_answers": 2, **totals}}
    assert parse_csat(body, "account") == (expected, ())


@pytest.mark.parametrize("given", [None, -1, True, 1.5, "x"])
def test_a_total_given_as_something_else_is_refused_not_derived(given: object) -> None:
    body = {"metricsTotals": {"csat_score4_answers": 2, "total_answers": given}}
    with pytest.raises(VendorBadResponse, match="total_answers"):
        parse_csat(body, "account")


@pytest.mark.parametrize(
    ("body", "unit", "detail"),
    [
        pytest.param([skills_body()], "skill", "CSAT answer is not a JSON object", id="list-body"),
        pytest.param(
            {"metricsTotals": {"csat_score1_answers": "abc"}},
            "account",
            "csat_score1_answers is not a count: 'abc'",
            id="string-count",
        ),
        pytest.param(
            {"metricsTotals": {"total_answers": -3}},
            "account",
            "total_answers is not a count: -3",
            id="negative-count",
        ),
        pytest.param(
            {"metricsTotals": {"total_answers": 2.5}},
            "account",
            "total_answers is not a count: 2.5",
            id="fractional-count",
        ),
        pytest.param(
            {"metricsTotals": {"total_answers": True}},
            "account",
            "total_answers is not a number",
            id="boolean-count",
        ),
        pytest.param(
            {"metricsTotals": {"total_answers": 3, "positive_answers": 4}},
            "account",
            "4 positive answers out of 3",
            id="positive-over-total",
        ),
        pytest.param({}, "account", "CSAT answer has no metricsTotals", id="no-totals"),
        pytest.param(
            {"something": {}},
            "skill",
            "CSAT answer has none of skillsMetrics, skillsMetricsPerAgent",
            id="no-skills-element",
        ),
        pytest.param(
            {"skillsMetrics": {}},
            "agent",
            "CSAT answer has none of agentsMetrics",
            id="no-agents-element",
        ),
        pytest.param(
            {"metricsTotals": [1, 2]}, "account", "CSAT metrics are not an object", id="list-totals"
        ),
        pytest.param(
            {"skillsMetrics": {"metricsPerSkill": ["4"]}},
            "skill",
            "metricsPerSkill is not an object",
            id="list-per-skill",
        ),
        pytest.param(
            {"skillsMetrics": {"metricsPerSkill": {"4": 17}}},
            "skill",
            "skill 4 is not an object",
            id="number-skill",
        ),
        pytest.param(
            {"agentsMetrics": {"metricsPerAgent": {"1001": "x"}}},
            "agent",
            "CSAT metrics are not an object",
            id="string-agent",
        ),
    ],
)
def test_unreadable_answers(body: Any, unit: str, detail: str) -> None:
    with pytest.raises(VendorBadResponse) as caught:
        parse_csat(body, unit)
    assert (caught.value.vendor, caught.value.detail) == ("LivePerson", detail)


def test_check_wants_numeric_ids() -> None:
    source = liveperson(FakeLivePerson())
    source.check(Query("/csat", "liveperson", "skill", ("-1", "4"), 60))
    with pytest.raises(UsageError) as caught:
        source.check(Query("/csat", "liveperson", "agent", ("7", "a1"), 60))
    assert said(caught.value) == "LivePerson agent ids are numbers; `a1` is not."
