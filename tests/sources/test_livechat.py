"""LiveChat Reports API client over httpx.MockTransport, answering the document's examples.

The example payloads are bot/sim/livechat_examples.json, copied from the Reports API
document. Expected numbers are worked out by hand from those payloads.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot import config
from bot.config import DEFAULT_TEMPLATES, LiveChatSettings
from bot.demo.sim.livechat import EXAMPLES, error
from bot.errors import (
    UsageError,
    VendorAuthError,
    VendorBadResponse,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
    WrongRegion,
)
from bot.metrics import (
    AgentStates,
    AgentStatesReport,
    CsatReport,
    CsatRow,
    GoodBad,
    ResponseTimes,
    StateTime,
    exact_window,
)
from bot.query import Query
from bot.render import Renderer
from bot.sources.http import BucketCache, VendorHTTP
from bot.sources.livechat import (
    AGENTS_REPORTS,
    CHATS_REPORTS,
    Filters,
    LiveChat,
    describe_error,
    parse_availability,
    parse_daily_average,
    parse_performance,
    parse_ranking,
    parse_ratings,
    parse_response_times,
)
from tests.fakes.clock import FakeClock, no_retry
from tests.words import said

API = "https://api.livechatinc.com"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 13, 25, tzinfo=UTC)
WEEK = 7 * 1440
BEARER = LiveChatSettings("lc-token")
PAT = LiveChatSettings("lc-pat", account_id="acc-123")


@dataclass
class FakeLiveChat:
    """The Reports API from memory: scripted responses per report first, then `answers`."""

    answers: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(EXAMPLES))
    scripted: dict[str, list[httpx.Response]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        report = request.url.path.rsplit("/", 1)[-1]
        queue = self.scripted.get(report)
        if queue:
            return queue.pop(0)
        return httpx.Response(200, json=self.answers[report])

    def to(self, report: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(f"/{report}")]

    def body(self, report: str) -> Any:
        [request] = self.to(report)
        return json.loads(request.content)


def fail(status: int, kind: str, message: str, **data: Any) -> httpx.Response:
    return httpx.Response(status, json=error(kind, message, **data))


def livechat(
    vendor: FakeLiveChat,
    settings: LiveChatSettings = BEARER,
    sleep: Callable[[float], Any] | None = None,
    zone: ZoneInfo = BERLIN,
) -> LiveChat:
    http = VendorHTTP(
        "LiveChat",
        httpx.AsyncClient(transport=httpx.MockTransport(vendor)),
        sleep=sleep or no_retry,
        describe=describe_error,
    )
    clock = FakeClock(NOW)
    return LiveChat(settings, http, BucketCache(clock), clock, zone)


def week() -> Filters:
    return Filters(NOW - timedelta(days=7), NOW)


# --- the numbers in the document's examples, worked out by hand ---------------------------

# ratings: good 5+10+10+7, bad 6+8+2+1, chats 10+23+17+3+2+28 (= the example's total 83)
RATINGS = GoodBad(good=32, bad=17, chats=83)
RANKING = (
    CsatRow("agent", "smith@example.com", "smith@example.com", GoodBad(0, 2, 2)),
    CsatRow("agent", "agent@example.com", "agent@example.com", GoodBad(13, 6, 19)),
)
# (14.22*3 + 41.35*4 + 10.1*3 + 3.34*9 + 8.5*5 + 32.3*6) / (3+4+3+9+5+6) = 504.72 / 30
AVERAGE = 16.824
TIMES = ResponseTimes(AVERAGE, 30, AVERAGE, 30)
PERFORMANCE = (
    AgentStates(
        "smith@example.com",
        "smith@example.com",
        StateTime(45304, 55, 45304 - 55),
        (("accepting", StateTime(35296)), ("not_accepting", StateTime(10008))),
    ),
    AgentStates(
        "agent@example.com",
        "agent@example.com",
        StateTime(32110, 275, 32110 - 275),
        (("accepting", StateTime(24567)), ("not_accepting", StateTime(7543))),
    ),
)
# every report the bot reads: its kind, how the bot reads it, and what it reads from the
# document's example
PARSED: dict[str, tuple[str, Callable[[Any], Any], Any]] = {
    "ratings": ("chats", parse_ratings, RATINGS),
    "ranking": ("chats", parse_ranking, RANKING),
    "response_time": (
        "chats",
        lambda a: parse_daily_average(a, "response_time", "response_time"),
        (pytest.approx(AVERAGE), 30),
    ),
    "first_response_time": (
        "chats",
        lambda a: parse_daily_average(a, "first_response_time", "first_response_time"),
        (pytest.approx(AVERAGE), 30),
    ),
    "availability": ("agents", parse_availability, 19.59),
    "performance": ("agents", parse_performance, PERFORMANCE),
}


def test_every_report_the_bot_reads_is_covered() -> None:
    assert set(PARSED) == set(CHATS_REPORTS) | set(AGENTS_REPORTS)
    assert set(PARSED) <= set(EXAMPLES)


# --- every report through LiveChat.report(), parsed ---------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(PARSED))
async def test_every_report_is_reachable_and_parsed(name: str) -> None:
    kind, parse, expected = PARSED[name]
    vendor = FakeLiveChat()
    answer = await livechat(vendor).report(name, week())
    [request] = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == f"{API}/v3.6/reports/{kind}/{name}"
    assert answer == EXAMPLES[name]
    assert parse(answer) == expected


@pytest.mark.anyio
async def test_an_unknown_report_is_a_programming_error() -> None:
    vendor = FakeLiveChat()
    with pytest.raises(ValueError, match="unknown LiveChat report 'chats'"):
        await livechat(vendor).report("chats", week())
    assert vendor.requests == []


# --- URL, version, headers and body ----------------------------------------------------------


@pytest.mark.anyio
async def test_request_url_headers_and_body() -> None:
    vendor = FakeLiveChat()
    await livechat(vendor).report("ratings", week())
    [request] = vendor.requests
    assert str(request.url) == f"{API}/v3.6/reports/chats/ratings"
    assert request.headers["Authorization"] == "Bearer lc-token"
    assert request.headers["X-API-Version"] == "3.6"
    assert request.headers["Content-Type"] == "application/json"
    # 13:25 UTC is 14:25 in Berlin (CET, +01:00), a week earlier too
    assert json.loads(request.content) == {
        "timezone": "Europe/Berlin",
        "filters": {"from": "2026-02-23T14:25:00+01:00", "to": "2026-03-02T14:25:00+01:00"},
    }


@pytest.mark.anyio
async def test_offsets_follow_the_zone_across_a_clock_change() -> None:
    """Berlin moves to CEST on 29 March 2026: `from` is +01:00, `to` is +02:00."""
    vendor = FakeLiveChat()
    start = datetime(2026, 3, 25, 23, 0, tzinfo=UTC)
    await livechat(vendor).report("ratings", Filters(start, start + timedelta(days=7)))
    assert vendor.body("ratings")["filters"] == {
        "from": "2026-03-26T00:00:00+01:00",
        "to": "2026-04-02T01:00:00+02:00",
    }


@pytest.mark.anyio
async def test_utc_zone_by_default() -> None:
    vendor = FakeLiveChat()
    http = VendorHTTP("LiveChat", httpx.AsyncClient(transport=httpx.MockTransport(vendor)))
    clock = FakeClock(NOW)
    source = LiveChat(BEARER, http, BucketCache(clock), clock)
    await source.report("availability", week())
    assert vendor.body("availability") == {
        "timezone": "UTC",
        "filters": {"from": "2026-02-23T13:25:00+00:00", "to": "2026-03-02T13:25:00+00:00"},
    }


@pytest.mark.anyio
async def test_every_filter() -> None:
    vendor = FakeLiveChat()
    filters = Filters(
        NOW - timedelta(days=1), NOW, agents=("joe@acme.com", "alice@acme.com"), groups=(1, 10)
    )
    await livechat(vendor).report("ratings", filters)
    assert vendor.body("ratings") == {
        "timezone": "Europe/Berlin",
        "filters": {
            "from": "2026-03-01T14:25:00+01:00",
            "to": "2026-03-02T14:25:00+01:00",
            "agents": {"values": ["joe@acme.com", "alice@acme.com"]},
            "groups": {"values": [1, 10]},
        },
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (BEARER, "Bearer lc-token"),
        (PAT, "Basic " + base64.b64encode(b"acc-123:lc-pat").decode()),
    ],
    ids=["bearer", "pat"],
)
async def test_authorization_header_on_the_wire(settings: LiveChatSettings, expected: str) -> None:
    vendor = FakeLiveChat()
    await livechat(vendor, settings).report("ranking", week())
    assert vendor.requests[0].headers["Authorization"] == expected
    scheme, _, credentials = vendor.requests[0].headers["Authorization"].partition(" ")
    if scheme == "Basic":  # a Personal Access Token: base64(account_id:token)
        assert base64.b64decode(credentials).decode() == "acc-123:lc-pat"
    else:
        assert credentials == "lc-token"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("env", "version"),
    [({}, "3.6"), ({"LIVECHAT_API_VERSION": "3.4"}, "3.4")],
    ids=["default", "3.4"],
)
async def test_version_from_the_environment(
    env: dict[str, str], version: str, tmp_path: Path
) -> None:
    settings = config.load(
        {"LIVECHAT_TOKEN": "lc-token", "BOT_CONFIG": str(tmp_path / "absent.toml"), **env}
    )
    assert settings.livechat is not None
    vendor = FakeLiveChat()
    await livechat(vendor, settings.livechat).report("performance", week())
    [request] = vendor.requests
    assert str(request.url) == f"{API}/v{version}/reports/agents/performance"
    assert request.headers["X-API-Version"] == version
    assert request.headers["Authorization"] == "Bearer lc-token"


# --- csat() and agent_states() ----------------------------------------------------------------


@pytest.mark.anyio
async def test_csat_for_the_whole_account() -> None:
    vendor = FakeLiveChat()
    query = Query("/csat", "livechat", "account", None, WEEK)
    report = await livechat(vendor).csat(query)
    assert report == CsatReport(
        source="livechat",
        vendor="LiveChat",
        scope="account",
        window=exact_window(NOW, WEEK),
        total=RATINGS,
        rows=RANKING,
        fetched_at=NOW,
        response_times=ResponseTimes(pytest.approx(AVERAGE), 30, pytest.approx(AVERAGE), 30),  # type: ignore[arg-type]
    )
    assert report.total.score == pytest.approx(32 / 49)
    assert sorted(r.url.path for r in vendor.requests) == [
        "/v3.6/reports/chats/first_response_time",
        "/v3.6/reports/chats/ranking",
        "/v3.6/reports/chats/ratings",
        "/v3.6/reports/chats/response_time",
    ]
    for request in vendor.requests:
        assert json.loads(request.content)["filters"] == {
            "from": "2026-02-23T14:25:00+01:00",
            "to": "2026-03-02T14:25:00+01:00",
        }


@pytest.mark.anyio
async def test_csat_for_groups_sends_integer_group_ids_and_breaks_down_by_group() -> None:
    vendor = FakeLiveChat()
    report = await livechat(vendor).csat(Query("/csat", "livechat", "group", ("1", "4"), 60))
    ratings = [json.loads(r.content)["filters"] for r in vendor.to("ratings")]
    window = {"from": "2026-03-02T13:25:00+01:00", "to": "2026-03-02T14:25:00+01:00"}
    assert sorted(ratings, key=str) == sorted(
        [{**window, "groups": {"values": [1, 4]}},  # the total
         {**window, "groups": {"values": [1]}}, {**window, "groups": {"values": [4]}}],
        key=str,
    )  # fmt: skip
    assert vendor.to("ranking") == []  # by group: the agents' ranking is not asked for
    assert [(r.kind, r.id) for r in report.rows] == [("group", "1"), ("group", "4")]
    assert all(r.counts == report.total for r in report.rows)  # the fake ignores the filter


@pytest.mark.anyio
async def test_csat_for_all_groups_lists_the_groups_and_breaks_down_by_each() -> None:
    vendor = FakeLiveChat()
    vendor.answers["list_groups"] = [{"id": 0, "name": "General"}, {"id": 2, "name": "Sales"}]
    report = await livechat(vendor).csat(Query("/csat", "livechat", "group", "all", 60))
    filters = [json.loads(r.content)["filters"] for r in vendor.to("ratings")]
    assert sorted(str(f.get("groups")) for f in filters) == [
        "None", "{'values': [0]}", "{'values': [2]}",
    ]  # fmt: skip
    assert [r.id for r in report.rows] == ["0", "2"]
    assert vendor.to("list_groups")[0].url.path == "/v3.6/configuration/action/list_groups"


@pytest.mark.anyio
async def test_groups_that_cannot_be_listed_leave_the_total_without_a_breakdown() -> None:
    vendor = FakeLiveChat()
    vendor.scripted["list_groups"] = [fail(403, "authorization", "scope missing")]
    report = await livechat(vendor).csat(Query("/csat", "livechat", "group", "all", 60))
    assert report.rows == () and report.total.total == 49


@pytest.mark.anyio
async def test_csat_for_one_agent_filters_and_keeps_only_that_agent() -> None:
    vendor = FakeLiveChat()  # answers for every agent: the bot must keep only the one asked
    report = await livechat(vendor).csat(
        Query("/csat", "livechat", "agent", ("agent@example.com",), WEEK)
    )
    assert vendor.body("ratings")["filters"]["agents"] == {"values": ["agent@example.com"]}
    assert vendor.body("ranking")["filters"]["agents"] == {"values": ["agent@example.com"]}
    assert report.rows == (RANKING[1],)
    assert report.scope == "agent"


@pytest.mark.anyio
async def test_csat_answers_when_first_response_time_fails() -> None:
    vendor = FakeLiveChat(scripted={"first_response_time": [httpx.Response(500)] * 3})
    waits = FakeClock()
    report = await livechat(vendor, sleep=waits.sleep).csat(
        Query("/csat", "livechat", timeframe=61)
    )
    assert report.total == RATINGS
    assert report.rows == RANKING
    assert report.response_times == ResponseTimes(None, 0, pytest.approx(AVERAGE), 30)  # type: ignore[arg-type]
    assert len(vendor.to("first_response_time")) == 3
    assert waits.sleeps == [0.5, 1.0]


def render_csat(report: CsatReport, query: Query) -> list[str]:
    message = Renderer(DEFAULT_TEMPLATES).render(
        "csat.yml.j2", query=query, report=report, row_limit=60
    )
    return [
        b["text"]["text"] if b.get("text") else b.get("elements", [{}])[0].get("text", "")
        for b in message["blocks"]
    ]


@pytest.mark.anyio
async def test_stopwatch_line_with_only_response_time() -> None:
    vendor = FakeLiveChat(
        scripted={"first_response_time": [fail(400, "validation", "not for this plan")]}
    )
    query = Query("/csat", "livechat", timeframe=62)
    report = await livechat(vendor).csat(query)
    texts = render_csat(report, query)
    assert texts[2] == (":stopwatch: First response — on average · response time 17s (30 chats)")


@pytest.mark.anyio
async def test_no_stopwatch_line_when_both_response_time_reports_fail() -> None:
    vendor = FakeLiveChat(
        scripted={
            "first_response_time": [httpx.Response(500)] * 3,
            "response_time": [fail(403, "authorization", "missing reports_read")],
        }
    )
    query = Query("/csat", "livechat", timeframe=63)
    report = await livechat(vendor, sleep=FakeClock().sleep).csat(query)
    assert report.response_times is None
    assert report.total == RATINGS
    texts = render_csat(report, query)
    assert not any(":stopwatch:" in t for t in texts)
    assert texts[:2] == [
        "CSAT · whole account · last 1h 3m",
        "*65.3%* good · *49* rated chats of 83 (59% rated)\n"
        "```good █████████████           32\n"
        "bad  ███████                 17```",
    ]


@pytest.mark.anyio
async def test_stopwatch_line_with_both_times() -> None:
    query = Query("/csat", "livechat", timeframe=64)
    report = await livechat(FakeLiveChat()).csat(query)
    assert render_csat(report, query)[2] == (
        ":stopwatch: First response 17s on average (30 chats) · response time 17s (30 chats)"
    )


@pytest.mark.anyio
async def test_a_failing_ratings_report_fails_the_answer() -> None:
    vendor = FakeLiveChat(scripted={"ratings": [fail(401, "authentication", "Invalid token")]})
    with pytest.raises(VendorAuthError):
        await livechat(vendor).csat(Query("/csat", "livechat", timeframe=65))


@pytest.mark.anyio
async def test_csat_answers_when_first_response_time_is_unreadable() -> None:
    unreadable = {"records": {"2021-04-08": {"count": -3, "first_response_time": 14.22}}}
    vendor = FakeLiveChat()
    vendor.answers["first_response_time"] = unreadable
    report = await livechat(vendor).csat(Query("/csat", "livechat", timeframe=66))
    assert report.total == RATINGS
    assert report.response_times == ResponseTimes(None, 0, pytest.approx(AVERAGE), 30)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_agent_states_from_performance_and_availability() -> None:
    vendor = FakeLiveChat()
    query = Query("/agent-states", "livechat", "agent", "all", WEEK)
    report = await livechat(vendor).agent_states(query)
    assert report == AgentStatesReport(
        source="livechat",
        vendor="LiveChat",
        window=exact_window(NOW, WEEK),
        agents=PERFORMANCE,
        availability_hours=19.59,
        fetched_at=NOW,
    )
    assert sorted(r.url.path for r in vendor.requests) == [
        "/v3.6/reports/agents/availability",
        "/v3.6/reports/agents/performance",
    ]


@pytest.mark.anyio
async def test_agent_states_for_one_agent() -> None:
    vendor = FakeLiveChat()
    query = Query("/agent-states", "livechat", "agent", ("smith@example.com",), 90)
    report = await livechat(vendor).agent_states(query)
    assert report.agents == (PERFORMANCE[0],)
    assert vendor.body("performance")["filters"]["agents"] == {"values": ["smith@example.com"]}


def test_check_rejects_an_interval() -> None:
    source = livechat(FakeLiveChat())
    with pytest.raises(UsageError) as caught:
        source.check(Query("/agent-states", "livechat", "agent", "all", WEEK, 30))
    assert said(caught.value) == "LiveChat reports have no intervals; leave the interval out."
    assert caught.value.command == "/agent-states"


@pytest.mark.parametrize("ids", [("1", "x1"), ("-1",), ("1.5",)])
def test_check_rejects_a_non_numeric_group(ids: tuple[str, ...]) -> None:
    source = livechat(FakeLiveChat())
    bad = next(i for i in ids if not i.isdigit())
    with pytest.raises(UsageError) as caught:
        source.check(Query("/csat", "livechat", "group", ids, WEEK))
    assert said(caught.value) == f"LiveChat group ids are numbers; `{bad}` is not."


@pytest.mark.parametrize(
    "query",
    [
        Query("/csat", "livechat", "group", ("1", "15"), WEEK),
        Query("/csat", "livechat", "group", "all", WEEK),
        Query("/csat", "livechat", "agent", ("agent@example.com",), WEEK),
        Query("/agent-states", "livechat", "agent", "all", WEEK),
    ],
)
def test_check_accepts(query: Query) -> None:
    assert livechat(FakeLiveChat()).check(query) is None


# --- variants of the payloads -------------------------------------------------------------------


def test_ratings_with_empty_days_missing_and_extra_keys() -> None:
    answer = {
        "name": "ratings-report",
        "total": 9,
        "request_id": "abc",  # unknown top-level key
        "records": {
            "2026-03-01": {},
            "2026-03-02": {"chats": 4, "good": 3},  # no bad
            "2026-03-03": {"bad": 2, "chats": 5, "neutral": 7, "comment": "n/a"},  # no good
            "2026-03-04": {"good": 1},  # no chats
        },
    }
    assert parse_ratings(answer) == GoodBad(good=4, bad=2, chats=9)


@pytest.mark.parametrize(
    "answer", [{"records": []}, {"records": {}}, {"records": None}, {}, {"name": "x"}, None]
)
def test_no_records_is_no_data(answer: Any) -> None:
    assert parse_ratings(answer) == GoodBad()
    assert parse_ranking(answer) == ()
    assert parse_performance(answer) == ()
    assert parse_daily_average(answer, "response_time", "response_time") == (None, 0)


def test_ranking_with_missing_and_extra_keys() -> None:
    answer = {
        "records": {
            "a@x.com": {"total": 3, "good": 2, "score": 0.5, "name": "Ann"},  # no bad
            "b@x.com": {},
        }
    }
    assert parse_ranking(answer) == (
        CsatRow("agent", "a@x.com", "a@x.com", GoodBad(2, 0, 3)),
        CsatRow("agent", "b@x.com", "b@x.com", GoodBad()),
    )


def test_response_times_weighted_by_count_skip_empty_days() -> None:
    first = {
        "records": {
            "d1": {"count": 1, "first_response_time": 10.0},
            "d2": {},
            "d3": {"count": 3, "first_response_time": 30.0, "median": 12},
        }
    }
    response = {"records": {"d1": {"count": 2}, "d2": {"count": 2, "response_time": 5}}}
    # (10*1 + 30*3) / 4 = 25; the day without an average does not count
    assert parse_response_times(first, response) == ResponseTimes(25.0, 4, 5.0, 2)
    assert parse_response_times(None, None) is None
    assert parse_response_times(EXAMPLES["first_response_time"], None) == ResponseTimes(
        pytest.approx(AVERAGE),  # type: ignore[arg-type]
        30,
        None,
        0,
    )


def test_response_time_days_without_counts_give_no_average() -> None:
    answer = {"records": {"d1": {"response_time": 12.0}, "d2": {}}}
    assert parse_daily_average(answer, "response_time", "response_time") == (None, 0)


def test_performance_with_missing_keys_and_chatting_beyond_logged_in() -> None:
    answer = {
        "records": {
            "a@x.com": {"chatting_time": 50, "logged_in_time": 20, "extra": "yes"},
            "b@x.com": {},
        }
    }
    assert parse_performance(answer) == (
        AgentStates(
            "a@x.com",
            "a@x.com",
            StateTime(20, 50, 0),  # as sent: chatting longer than logged in
            (("accepting", StateTime()), ("not_accepting", StateTime())),
        ),
        AgentStates(
            "b@x.com",
            "b@x.com",
            StateTime(),
            (("accepting", StateTime()), ("not_accepting", StateTime())),
        ),
    )


def test_availability_from_days_or_hours_when_total_is_missing() -> None:
    by_day = copy.deepcopy(EXAMPLES["availability"])
    del by_day["total"]
    assert parse_availability(by_day) == pytest.approx(19.59)
    by_hour = {"records": {"10:00": {"minutes": 30}, "11:00": {"minutes": 45}, "12:00": {}}}
    assert parse_availability(by_hour) == pytest.approx(1.25)
    assert parse_availability({"records": []}) == 0.0
    assert parse_availability(None) is None


GARBAGE: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    ("ratings", parse_ratings, {"records": "none"}, "ratings records are not an object"),
    ("ratings", parse_ratings, {"records": {"d": {"good": -1}}}, "ratings: good is not a number"),
    ("ratings", parse_ratings, {"records": {"d": {"bad": "3"}}}, "ratings: bad is not a number"),
    ("ratings", parse_ratings, {"records": {"d": [1, 2]}}, "ratings: a record is not an object"),
    ("ratings", parse_ratings, {"records": {"d": {"chats": True}}}, "chats is not a number"),
    ("ranking", parse_ranking, {"records": ["a@x.com"]}, "ranking records are not an object"),
    ("ranking", parse_ranking, {"records": {"a": {"total": -2}}}, "total is not a number"),
    (
        "response_time",
        lambda a: parse_daily_average(a, "response_time", "response_time"),
        {"records": {"d": {"count": "4", "response_time": 3}}},
        "response_time: count is not a number",
    ),
    (
        "performance",
        parse_performance,
        {"records": {"a": {"logged_in_time": "8h"}}},
        "performance: logged_in_time is not a number",
    ),
    (
        "availability",
        parse_availability,
        {"records": {"d": {"hours": -1}}},
        "availability: hours is not a number",
    ),
]


@pytest.mark.parametrize(
    ("name", "parse", "answer", "detail"),
    GARBAGE,
    ids=[f"{g[0]}-{i}" for i, g in enumerate(GARBAGE)],
)
def test_garbage_is_a_bad_response(
    name: str, parse: Callable[[Any], Any], answer: Any, detail: str
) -> None:
    with pytest.raises(VendorBadResponse) as caught:
        parse(answer)
    assert caught.value.vendor == "LiveChat"
    assert detail in caught.value.detail


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [[], "ratings", {"records": "none"}, {"records": 3}])
async def test_garbage_through_the_client_is_a_bad_response(answer: Any) -> None:
    vendor = FakeLiveChat()
    vendor.answers["ratings"] = answer
    with pytest.raises(VendorBadResponse) as caught:
        await livechat(vendor).report("ratings", week())
    assert caught.value.detail == "ratings report is not an object with records"


@pytest.mark.anyio
async def test_days_without_data_through_the_client() -> None:
    vendor = FakeLiveChat()
    vendor.answers["ratings"]["records"] = {"2026-03-01": {}, "2026-03-02": {"chats": 3}}
    report = await livechat(vendor).csat(Query("/csat", "livechat", timeframe=67))
    assert report.total == GoodBad(0, 0, 3)
    assert report.total.score is None


@pytest.mark.anyio
@pytest.mark.parametrize("records", [[], None])
async def test_empty_records_through_the_client_are_no_data(records: Any) -> None:
    vendor = FakeLiveChat()
    vendor.answers["ratings"] = {"name": "ratings-report", "total": 0, "records": records}
    report = await livechat(vendor).csat(Query("/csat", "livechat", timeframe=68))
    assert report.total == GoodBad()


# --- LiveChat's error shape through VendorHTTP's `describe` hook ----------------------------------


@pytest.mark.anyio
async def test_401_authentication_is_an_auth_error_with_the_message() -> None:
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(401, "authentication", "Invalid access token")]}
    )
    with pytest.raises(VendorAuthError) as caught:
        await livechat(vendor).report("ratings", week())
    assert caught.value.vendor == "LiveChat"
    assert caught.value.detail == "authentication: Invalid access token"


@pytest.mark.anyio
async def test_400_validation_is_rejected_with_type_and_message() -> None:
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(400, "validation", "`filters.from` is invalid")]}
    )
    with pytest.raises(VendorRejected) as caught:
        await livechat(vendor).report("ratings", week())
    assert caught.value.detail == "validation: `filters.from` is invalid"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "region", "api"),
    [(421, "fra", "https://api-fra.livechatinc.com"), (400, "dal", "https://api.livechatinc.com"),
     (401, "fra", "https://api-fra.livechatinc.com")],
)  # fmt: skip
async def test_misdirected_request_names_the_region_in_words(
    status: int, region: str, api: str
) -> None:
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(status, "misdirected_request", "Wrong region", region=region)]}
    )
    with pytest.raises(WrongRegion) as caught:
        await livechat(vendor).report("ratings", week())
    assert isinstance(caught.value, VendorRejected)
    assert caught.value.facts == {"region": region, "api_url": api}
    assert len(vendor.requests) == 1  # asking the wrong region again would not help
    assert Renderer().said(caught.value) == (
        f"LiveChat keeps this license in region {region}, not in the one the bot asked. An "
        f"admin should set LIVECHAT_API_URL to that region's API ({api}). "
        f"(misdirected_request: the license is in region {region})"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("data", [["fra"], {"region": "<!channel>"}, {"region": 7}, None])
async def test_misdirected_request_with_odd_data_is_still_rejected(data: Any) -> None:
    odd = {"error": {"type": "misdirected_request", "message": "Wrong region", "data": data}}
    vendor = FakeLiveChat(scripted={"ratings": [httpx.Response(421, json=odd)]})
    with pytest.raises(VendorRejected) as caught:
        await livechat(vendor).report("ratings", week())
    assert not isinstance(caught.value, WrongRegion)
    assert caught.value.detail == "misdirected_request: Wrong region (no region named)"


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 400, 503])
async def test_too_many_requests_is_retried_a_second_apart(status: int) -> None:
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(status, "too_many_requests", "Slow down")] * 2}
    )
    waits = FakeClock()
    answer = await livechat(vendor, sleep=waits.sleep).report("ratings", week())
    assert parse_ratings(answer) == RATINGS
    assert len(vendor.requests) == 3
    assert waits.sleeps == [1.0, 1.0]


@pytest.mark.anyio
async def test_too_many_requests_honours_retry_after() -> None:
    limited = httpx.Response(
        429, json=error("too_many_requests", "Slow down"), headers={"Retry-After": "3"}
    )
    waits = FakeClock()
    vendor = FakeLiveChat(scripted={"ratings": [limited]})
    await livechat(vendor, sleep=waits.sleep).report("ratings", week())
    assert waits.sleeps == [3.0]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 400])
async def test_too_many_requests_every_time_is_rate_limited(status: int) -> None:
    vendor = FakeLiveChat(
        scripted={"ratings": [fail(status, "too_many_requests", "Slow down")] * 3}
    )
    waits = FakeClock()
    with pytest.raises(VendorRateLimited) as caught:
        await livechat(vendor, sleep=waits.sleep).report("ratings", week())
    assert caught.value.vendor == "LiveChat"
    assert len(vendor.requests) == 3
    assert waits.sleeps == [1.0, 1.0]
    assert all(wait >= 1.0 for wait in waits.sleeps)


@pytest.mark.anyio
async def test_an_error_body_that_is_not_livechats_shape() -> None:
    vendor = FakeLiveChat(scripted={"ratings": [httpx.Response(404, text="<html>nope</html>")]})
    with pytest.raises(VendorRejected) as caught:
        await livechat(vendor).report("ratings", week())
    assert caught.value.detail == "HTTP 404: <html>nope</html>"


@pytest.mark.anyio
async def test_5xx_every_time_is_unavailable() -> None:
    vendor = FakeLiveChat(scripted={"ratings": [fail(503, "internal", "Try later")] * 3})
    with pytest.raises(VendorUnavailable):
        await livechat(vendor, sleep=FakeClock().sleep).report("ratings", week())
    assert len(vendor.requests) == 3


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (error("authorization", "Missing scope"), "authorization: Missing scope"),
        ({"error": {"message": "only a message"}}, "only a message"),
        ({"error": {"type": "", "message": ""}}, None),
        ({"error": "a string"}, None),
        (["not", "an", "object"], None),
        ({"other": 1}, None),
    ],
)
def test_describe_error_shapes(body: Any, detail: str | None) -> None:
    assert describe_error(httpx.Response(400, json=body)) == detail


def test_describe_error_of_a_body_that_is_not_json() -> None:
    assert describe_error(httpx.Response(502, text="Bad gateway")) is None
