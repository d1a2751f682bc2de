"""LivePerson agentactivity: the document's two examples through the parser and the client.

The JSON below is copied verbatim from reference/liveperson-agent-activity.md: one answer
without intervals (agents 2 and 3; Away `total: 0` beside `notChatting: 125`; reasons
listed for agent 2 and empty for agent 3; `metricsTotals: []`) and one with interval=60
(three intervals ending 14:50, 13:50 and 12:50 UTC, and an empty whole-window element).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.config import DEFAULT_TEMPLATES, LivePersonSettings
from bot.errors import UsageError, VendorBadResponse
from bot.metrics import (
    AgentStates,
    AgentStatesReport,
    Interval,
    StateTime,
    add_states,
    exact_window,
    interval_bounds,
)
from bot.query import Query
from bot.render import Renderer
from bot.sources.http import BucketCache, VendorHTTP
from bot.sources.liveperson import LivePerson, parse_agent_activity
from tests.fakes.clock import FakeClock, no_retry
from tests.fakes.data import data
from tests.words import said

# the Agent State Distribution document's two examples, verbatim
DOC_WITHOUT_INTERVAL = data("liveperson/agentactivity.json")
DOC_INTERVAL_60 = data("liveperson/agentactivity-interval-60.json")


def doc(text: str) -> dict[str, Any]:
    """A fresh copy of one of the document's examples, safe to change."""
    return json.loads(text)


# At 14:47 UTC a 2h request with interval=60: the latest interval ends at 14:50 (rounded
# up past now), the earliest covers only 12:47-12:50, as the document describes.
NOW = datetime(2014, 7, 1, 14, 47, tzinfo=UTC)
WINDOW = exact_window(NOW, 120)
END_1450 = datetime.fromtimestamp(1404226200000 / 1000, UTC)
END_1350 = datetime.fromtimestamp(1404222600000 / 1000, UTC)
END_1250 = datetime.fromtimestamp(1404219000000 / 1000, UTC)


def st(total: int, chatting: int = 0, not_chatting: int = 0, maxed: int = 0) -> StateTime:
    return StateTime(total, chatting, not_chatting, maxed)


ZERO = StateTime()

# --- the document's answer without intervals -------------------------------------------

AGENT_2 = AgentStates(
    "2",
    None,
    st(7200, 2486, 4714),
    (
        ("online", st(4714, 0, 4714)),
        ("back_soon", st(2361, 2361, 0)),
        ("away", st(0, 0, 125)),  # as sent: the parts do not add up to the total
    ),
    (("2642559712", st(72, 0, 72)), ("2642559112", st(53, 0, 53))),
)
AGENT_3 = AgentStates(
    "3",
    None,
    st(7200, 2486, 4714),
    (("online", st(2486, 2486, 0)), ("back_soon", st(4714, 0, 4714)), ("away", ZERO)),
    (),
)

# --- the document's answer with interval=60, interval by interval, oldest first ---------

SLICE_1250 = (
    AgentStates("2", None, st(232), (("online", st(232)), ("back_soon", ZERO), ("away", ZERO))),
    AgentStates("3", None, st(232), (("online", ZERO), ("back_soon", st(232)), ("away", ZERO))),
)
SLICE_1350 = (
    AgentStates(
        "2",
        None,
        st(3600, 2224, 1376),
        (("online", st(1376, 0, 1376)), ("back_soon", st(2224, 2224, 0)), ("away", ZERO)),
    ),
    AgentStates(
        "3",
        None,
        st(3600, 2224, 1376),
        (("online", st(2224, 2224, 0)), ("back_soon", st(1376, 0, 1376)), ("away", ZERO)),
    ),
)
SLICE_1450 = (
    AgentStates(
        "2",
        None,
        st(3368),
        (("online", st(3268, 0, 3268)), ("back_soon", ZERO), ("away", st(100, 0, 100))),
        (("2642559712", st(100, 0, 100)),),
    ),
    AgentStates("3", None, st(3368), (("online", ZERO), ("back_soon", st(3368)), ("away", ZERO))),
)
INTERVALS = (
    # the earliest starts where the window starts, the latest ends now, not at 14:50
    Interval(WINDOW.asked_start, END_1250, SLICE_1250),
    Interval(END_1250, END_1350, SLICE_1350),
    Interval(END_1350, NOW, SLICE_1450),
)
# the whole-window element is empty, so each agent is the sum of its intervals
SUMMED = (
    AgentStates(
        "2",
        None,
        st(7200, 2224, 1376),
        (
            ("online", st(4876, 0, 4644)),
            ("back_soon", st(2224, 2224, 0)),
            ("away", st(100, 0, 100)),
        ),
        (("2642559712", st(100, 0, 100)),),
    ),
    AgentStates(
        "3",
        None,
        st(7200, 2224, 1376),
        (("online", st(2224, 2224, 0)), ("back_soon", st(4976, 0, 1376)), ("away", ZERO)),
    ),
)


# --- parse_agent_activity over the document's examples ----------------------------------


def test_document_example_without_interval() -> None:
    agents, intervals, _ = parse_agent_activity(doc(DOC_WITHOUT_INTERVAL), WINDOW, None)
    assert agents == (AGENT_2, AGENT_3)
    assert intervals == ()


def test_agents_are_taken_out_of_the_answer_as_they_are_read() -> None:
    """A 20,000-agent answer is let go agent by agent: the report grows into its memory."""
    for body, interval in ((doc(DOC_WITHOUT_INTERVAL), None), (doc(DOC_INTERVAL_60), 60)):
        agents, _, _ = parse_agent_activity(body, WINDOW, interval)
        assert agents
        parts = [body, *(i["metricsData"] for i in body.get("metricsByIntervals", []))]
        left = [p.get("agentsMetrics", {}).get("metricsPerAgent") for p in parts]
        assert all(not agents_left for agents_left in left)


def test_document_example_team_totals_keep_parts_as_sent() -> None:
    agents, _, _ = parse_agent_activity(doc(DOC_WITHOUT_INTERVAL), WINDOW, None)
    report = AgentStatesReport("liveperson", "LivePerson", WINDOW, agents)
    assert report.team == AgentStates(
        "team",
        None,
        st(14400, 4972, 9428),
        (
            ("online", st(7200, 2486, 4714)),
            ("back_soon", st(7075, 2361, 4714)),
            ("away", st(0, 0, 125)),
        ),
        (("2642559712", st(72, 0, 72)), ("2642559112", st(53, 0, 53))),
    )


def test_document_example_with_interval_60() -> None:
    agents, intervals, _ = parse_agent_activity(doc(DOC_INTERVAL_60), WINDOW, 60)
    assert intervals == INTERVALS
    assert agents == SUMMED


def test_intervals_are_sorted_by_end_whatever_order_they_come_in() -> None:
    body = doc(DOC_INTERVAL_60)
    body["metricsByIntervals"] = [body["metricsByIntervals"][i] for i in (1, 2, 0)]
    _, intervals, _ = parse_agent_activity(body, WINDOW, 60)
    assert intervals == INTERVALS


def test_whole_window_element_wins_over_summing_when_present() -> None:
    body = doc(DOC_INTERVAL_60)
    body["agentsMetrics"] = doc(DOC_WITHOUT_INTERVAL)["agentsMetrics"]
    agents, intervals, _ = parse_agent_activity(body, WINDOW, 60)
    assert agents == (AGENT_2, AGENT_3)
    assert intervals == INTERVALS


def test_interval_bounds_of_the_document_timestamps() -> None:
    """Timestamps mark the END; the latest is clipped to now, the earliest to the start."""
    assert interval_bounds([END_1450, END_1350, END_1250], 60, WINDOW) == [
        (END_1350, NOW),
        (END_1250, END_1350),
        (WINDOW.asked_start, END_1250),
    ]


def test_interval_bounds_of_the_document_prose_example() -> None:
    """Now 8:07, timeframe=20&interval=10: 8:00-8:10 (really 8:07), 7:50-8:00, 7:47-7:50."""
    now = datetime(2014, 3, 26, 8, 7, tzinfo=UTC)
    at = lambda h, m: datetime(2014, 3, 26, h, m, tzinfo=UTC)  # noqa: E731
    bounds = interval_bounds([at(8, 10), at(8, 0), at(7, 50)], 10, exact_window(now, 20))
    assert bounds == [(at(8, 0), now), (at(7, 50), at(8, 0)), (at(7, 47), at(7, 50))]


def test_interval_answer_without_interval_keeps_each_timestamp() -> None:
    """Without the interval size the bounds cannot be known: each collapses to its end."""
    _, intervals, _ = parse_agent_activity(doc(DOC_INTERVAL_60), WINDOW, None)
    assert [(i.start, i.end) for i in intervals] == [
        (END_1250, END_1250),
        (END_1350, END_1350),
        (END_1450, END_1450),
    ]


# --- variants -----------------------------------------------------------------------------


def test_missing_logged_in_entry_is_the_sum_of_the_states() -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    per_agent = body["agentsMetrics"]["metricsPerAgent"]
    per_agent["2"] = [s for s in per_agent["2"] if s["id"] != -1]
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents[0] == AgentStates(
        "2", None, st(7075, 2361, 4839), AGENT_2.states, AGENT_2.reasons
    )
    assert agents[1] == AGENT_3


def test_unknown_state_keeps_its_name_and_comes_after_the_known_ones() -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    states = body["agentsMetrics"]["metricsPerAgent"]["3"]
    lunch = {"total": 600, "chatting": 0, "notChatting": 600, "chattingInMaxConcurrency": 0}
    states.insert(0, {"id": 7, "name": "Lunch", "value": lunch})
    states.insert(0, {"id": 9, "value": {"total": 5}})
    agents, _, labels = parse_agent_activity(body, WINDOW, None)
    assert labels == {"state:7": "Lunch"}  # LivePerson's own name; state 9 came without one
    assert agents[1] == AgentStates(
        "3",
        None,
        AGENT_3.logged_in,
        (*AGENT_3.states, ("state:9", st(5)), ("state:7", st(600, 0, 600))),
    )


def test_logged_in_listed_first_and_states_shuffled_keep_display_order() -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    per_agent = body["agentsMetrics"]["metricsPerAgent"]
    per_agent["2"] = list(reversed(per_agent["2"]))
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents == (AGENT_2, AGENT_3)


def test_reasons_with_missing_value_or_id_count_zero() -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    away = body["agentsMetrics"]["metricsPerAgent"]["3"][2]
    away["reasons"] = [{"id": "2642559712"}, {"value": {"total": 9, "notChatting": 9}}]
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents[1].reasons == (("2642559712", ZERO), ("?", st(9, 0, 9)))


def test_state_without_value_and_value_without_keys_count_zero() -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    states = body["agentsMetrics"]["metricsPerAgent"]["3"]
    del states[0]["value"]  # Online
    states[1]["value"] = {}  # Back in 5
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents[1].states == (("online", ZERO), ("back_soon", ZERO), ("away", ZERO))


@pytest.mark.parametrize("ids", [("2", "3", "4", "-1"), (2, 3, 4, -1)])
def test_state_ids_as_text_or_numbers_read_alike(ids: tuple[object, ...]) -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    for state, sid in zip(body["agentsMetrics"]["metricsPerAgent"]["3"], ids, strict=True):
        state["id"] = sid
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents[1] == AGENT_3


@pytest.mark.parametrize("odd", [True, 2.0, " 2", "02", None])
def test_ids_that_only_look_like_known_ones_are_unknown_states(odd: object) -> None:
    body = {"agentsMetrics": {"metricsPerAgent": {"7": [
        {"id": odd, "name": "Odd", "value": {"total": 5}},
        {"id": 4, "value": {"total": 3}},
    ]}}}  # fmt: skip
    agents, _, labels = parse_agent_activity(body, WINDOW, None)
    assert agents[0].states == (("away", st(3)), (f"state:{odd}", st(5)))
    assert labels == {f"state:{odd}": "Odd"}


def test_a_value_missing_some_counts_counts_them_zero() -> None:
    body = {"agentsMetrics": {"metricsPerAgent": {"7": [
        {"id": 2, "value": {"total": 9, "chatting": 4}},
        {"id": 4, "value": {"total": 3, "notChatting": 3, "chattingInMaxConcurrency": 0}},
    ]}}}  # fmt: skip
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents[0].states == (("online", st(9, 4)), ("away", st(3, 0, 3)))


@pytest.mark.parametrize("reasons", [5, "abc", {"id": 1}, True, 1.5])
def test_reasons_that_are_not_a_list_name_none(reasons: object) -> None:
    body = doc(DOC_WITHOUT_INTERVAL)
    body["agentsMetrics"]["metricsPerAgent"]["3"][2]["reasons"] = reasons
    agents, _, _ = parse_agent_activity(body, WINDOW, None)
    assert agents[1].reasons == ()
    assert agents[1].states == AGENT_3.states


@pytest.mark.parametrize(
    "bad", [{"total": -1}, {"total": True}, {"total": "x"}, {"chatting": 2.5}, [1, 2], "9"]
)
def test_state_values_that_are_not_counts_are_refused(bad: object) -> None:
    body = {"agentsMetrics": {"metricsPerAgent": {"7": [{"id": 2, "value": bad}]}}}
    with pytest.raises(VendorBadResponse):
        parse_agent_activity(body, WINDOW, None)


@pytest.mark.parametrize("empty", [{}, [], "", None])
def test_no_agents_at_all(empty: object) -> None:
    body = {"agentsMetrics": {"metricsPerAgent": empty, "metricsTotals": []}}
    assert parse_agent_activity(body, WINDOW, None) == ((), (), {})


def test_empty_intervals_and_empty_whole_window() -> None:
    body = {
        "metricsByIntervals": [
            {"timestamp": 1404226200000, "metricsData": {}},
            {"timestamp": 1404222600000, "metricsData": {"agentsMetrics": {}}},
        ],
        "agentsMetrics": {"metricsPerAgent": {}, "metricsTotals": []},
    }
    assert parse_agent_activity(body, WINDOW, 60) == (
        (),
        (Interval(END_1250, END_1350, ()), Interval(END_1350, NOW, ())),
        {},
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([doc(DOC_WITHOUT_INTERVAL)], "agent activity answer is not a JSON object"),
        ("agentsMetrics", "agent activity answer is not a JSON object"),
        ({"metricsTotals": []}, "agent activity answer has no agentsMetrics"),
        ({"agentsMetrics": ["2", "3"]}, "agentsMetrics is not an object"),
        ({"agentsMetrics": {"metricsPerAgent": ["2"]}}, "metricsPerAgent is not an object"),
        (
            {"agentsMetrics": {"metricsPerAgent": {"2": {"id": 2, "name": "Online"}}}},
            "agent 2's states are not a list",
        ),
        (
            {"agentsMetrics": {"metricsPerAgent": {"2": ["Online"]}}},
            "agent 2 has a state that is not an object",
        ),
        (
            {"agentsMetrics": {"metricsPerAgent": {"2": [{"id": 2, "value": 4714}]}}},
            "agent 2 has a state value that is not an object",
        ),
        (
            {"agentsMetrics": {"metricsPerAgent": {"2": [{"id": 2, "value": {"total": -1}}]}}},
            "total is not a count: -1",
        ),
        (
            {"agentsMetrics": {"metricsPerAgent": {"2": [{"id": 2, "value": {"total": "1h"}}]}}},
            "total is not a count: '1h'",
        ),
        ({"metricsByIntervals": {"1404226200000": {}}}, "metricsByIntervals is not a list"),
        ({"metricsByIntervals": [{"metricsData": {}}]}, "an interval has no timestamp"),
    ],
    ids=[
        "list-body",
        "string-body",
        "no-agentsMetrics",
        "agentsMetrics-list",
        "metricsPerAgent-list",
        "states-not-list",
        "state-not-object",
        "value-not-object",
        "negative",
        "string-count",
        "intervals-not-list",
        "interval-without-timestamp",
    ],
)
def test_unreadable_answers(body: Any, detail: str) -> None:
    with pytest.raises(VendorBadResponse) as caught:
        parse_agent_activity(body, WINDOW, None)
    assert caught.value.vendor == "LivePerson"
    assert caught.value.detail == detail


# --- rendering the document's examples ------------------------------------------------------


def render(query: Query, report: AgentStatesReport) -> dict[str, Any]:
    renderer = Renderer(DEFAULT_TEMPLATES, ZoneInfo("Europe/Berlin"))
    return renderer.render(
        "agent_states.yml.j2", query=query, report=report, detail_limit=12, row_limit=60
    )


def test_document_example_renders_as_sent() -> None:
    agents, _, _ = parse_agent_activity(doc(DOC_WITHOUT_INTERVAL), WINDOW, None)
    report = AgentStatesReport("liveperson", "LivePerson", WINDOW, agents, fetched_at=NOW)
    message = render(Query("/agent-states", "liveperson", "agent", "all", 120), report)
    texts = [b.get("text", {}).get("text") for b in message["blocks"]]
    assert texts == [
        "Agent states · all agents · last 2h",
        "*Team* · 2 agents · logged in *4h*, chatting 35% of it\n"
        "Online 2h · Back soon 1h 57m · Away 0m",
        None,  # context
        None,  # divider
        "*Agent 2* — logged in *2h*, chatting 41m (35%)\n"
        "Online 1h 18m: chatting 0m · not chatting 1h 18m\n"
        "Back soon 39m: chatting 39m · not chatting 0m\n"
        "Away 0m: chatting 0m · not chatting 2m 5s\n"
        "Away reasons: Reason 2642559712 1m 12s, Reason 2642559112 53s",
        "*Agent 3* — logged in *2h*, chatting 41m (35%)\n"
        "Online 41m: chatting 41m · not chatting 0m\n"
        "Back soon 1h 18m: chatting 0m · not chatting 1h 18m\n"
        "Away 0m",
    ]
    assert message["blocks"][2]["elements"][0]["text"] == "LivePerson · 14:47–16:47 Europe/Berlin"


def test_document_intervals_are_labelled_in_the_team_zone() -> None:
    agents, intervals, _ = parse_agent_activity(doc(DOC_INTERVAL_60), WINDOW, 60)
    report = AgentStatesReport(
        "liveperson", "LivePerson", WINDOW, agents, intervals, fetched_at=NOW
    )
    message = render(Query("/agent-states", "liveperson", "agent", "all", 120, 60), report)
    assert [b["text"]["text"] for b in message["blocks"][-2:]] == [
        "*By interval* (Europe/Berlin) · team logged in · online · back soon · away",
        # 12:47-12:50, 12:50-13:50 and 13:50-14:47 UTC, in CEST
        "`14:47–14:50` 7m 44s · 3m 52s · 3m 52s · 0m\n"
        "`14:50–15:50` 2h · 1h · 1h · 0m\n"
        "`15:50–16:47` 1h 52m · 54m · 56m · 1m 40s",
    ]
    assert message["blocks"][2]["elements"][0]["text"] == (
        "LivePerson · 14:47–16:47 Europe/Berlin · in 1h intervals"
    )


# --- the LivePerson client: agent_states over httpx.MockTransport -------------------------

BASE = "https://va.data.liveperson.net"
ACTIVITY = f"{BASE}/operations/api/account/123/agentactivity"
SETTINGS = LivePersonSettings(
    "123",
    consumer_key="ckey",
    consumer_secret="csecret",
    token="tkey",
    token_secret="tsecret",
    base_url=BASE,
)


@dataclass
class FakeActivity:
    """agentactivity answering the document's examples: with intervals when asked."""

    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/operations/api/account/123/agentactivity":
            return httpx.Response(404)
        asked = (
            json.loads(request.content) if request.method == "POST" else dict(request.url.params)
        )
        return httpx.Response(
            200, text=DOC_INTERVAL_60 if asked.get("interval") else DOC_WITHOUT_INTERVAL
        )


def client(vendor: FakeActivity, now: datetime = NOW) -> LivePerson:
    clock = FakeClock(now)
    http = VendorHTTP(
        "LivePerson",
        httpx.AsyncClient(transport=httpx.MockTransport(vendor)),
        sleep=no_retry,
    )
    return LivePerson(SETTINGS, http, BucketCache(clock), clock)


@pytest.mark.anyio
async def test_get_with_query_parameters() -> None:
    vendor = FakeActivity()
    report = await client(vendor).agent_states(
        Query("/agent-states", "liveperson", "agent", "all", 120, 30)
    )
    [request] = vendor.requests
    assert request.method == "GET"
    assert str(request.url).split("?")[0] == ACTIVITY
    assert dict(request.url.params) == {
        "agentIds": "all",
        "timeframe": "120",
        "v": "1",
        "interval": "30",
    }
    assert request.content == b""
    assert request.headers["Authorization"].startswith("OAuth ")
    # the 60-minute answer read with the 30 minutes asked for: bounds follow the interval
    assert [(i.start, i.end) for i in report.intervals] == [
        (WINDOW.asked_start, END_1250),
        (END_1350 - timedelta(minutes=30), END_1350),
        (END_1450 - timedelta(minutes=30), NOW),
    ]


@pytest.mark.anyio
async def test_report_without_interval() -> None:
    vendor = FakeActivity()
    report = await client(vendor).agent_states(
        Query("/agent-states", "liveperson", "agent", ("2", "3"), 120)
    )
    assert report == AgentStatesReport(
        source="liveperson",
        vendor="LivePerson",
        window=WINDOW,
        agents=(AGENT_2, AGENT_3),
        fetched_at=NOW,
    )
    assert dict(vendor.requests[0].url.params) == {"timeframe": "120", "v": "1", "agentIds": "2,3"}


@pytest.mark.anyio
async def test_report_with_interval_60() -> None:
    report = await client(FakeActivity()).agent_states(
        Query("/agent-states", "liveperson", "agent", "all", 120, 60)
    )
    assert report == AgentStatesReport(
        source="liveperson",
        vendor="LivePerson",
        window=WINDOW,
        agents=SUMMED,
        intervals=INTERVALS,
        fetched_at=NOW,
    )
    assert report.team == add_states(SUMMED)


@pytest.mark.anyio
async def test_more_than_40_agents_travel_in_a_post_body() -> None:
    vendor = FakeActivity()
    ids = tuple(str(2152260200 + i) for i in range(41))
    await client(vendor).agent_states(Query("/agent-states", "liveperson", "agent", ids, 60, 30))
    [request] = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == ACTIVITY  # nothing in the URL
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body == {"timeframe": "60", "v": "1", "agentIds": ",".join(ids), "interval": "30"}
    assert all(isinstance(value, str) for value in body.values())


@pytest.mark.anyio
async def test_forty_agents_still_fit_in_the_url() -> None:
    vendor = FakeActivity()
    ids = tuple(str(1000 + i) for i in range(40))
    await client(vendor).agent_states(Query("/agent-states", "liveperson", "agent", ids, 60))
    [request] = vendor.requests
    assert request.method == "GET"
    assert dict(request.url.params) == {"timeframe": "60", "v": "1", "agentIds": ",".join(ids)}


@pytest.mark.anyio
async def test_unreadable_answer_through_the_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"agentsMetrics": {}}])

    http = VendorHTTP(
        "LivePerson",
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        sleep=no_retry,
    )
    clock = FakeClock(NOW)
    source = LivePerson(SETTINGS, http, BucketCache(clock), clock)
    with pytest.raises(VendorBadResponse) as caught:
        await source.agent_states(Query("/agent-states", "liveperson", "agent", "all", 60))
    assert caught.value.detail == "agent activity answer is not a JSON object"


@pytest.mark.parametrize(
    ("timeframe", "interval"),
    [(60, 3), (60, 7), (60, 90), (120, 0), (5, 5 + 1)],
    ids=["below-5", "not-a-divisor", "longer-than-timeframe", "zero", "5m-timeframe"],
)
def test_check_rejects_intervals_that_break_the_rules(timeframe: int, interval: int) -> None:
    source = client(FakeActivity())
    query = Query("/agent-states", "liveperson", "agent", "all", timeframe, interval)
    with pytest.raises(UsageError) as caught:
        source.check(query)
    assert caught.value.command == "/agent-states"
    assert said(caught.value).startswith(
        "LivePerson needs an interval of at least 5 minutes, no longer than the timeframe "
        "and dividing it evenly"
    )


@pytest.mark.parametrize(("timeframe", "interval"), [(60, 30), (60, 60), (60, 5), (1440, None)])
def test_check_accepts_fitting_intervals(timeframe: int, interval: int | None) -> None:
    source = client(FakeActivity())
    assert (
        source.check(Query("/agent-states", "liveperson", "agent", "all", timeframe, interval))
        is None
    )


def test_check_names_the_interval_and_the_timeframe() -> None:
    with pytest.raises(UsageError) as caught:
        client(FakeActivity()).check(Query("/agent-states", "liveperson", "agent", "all", 60, 7))
    assert said(caught.value) == (
        "LivePerson needs an interval of at least 5 minutes, no longer than the timeframe and "
        "dividing it evenly; 7m does not fit 1h."
    )
