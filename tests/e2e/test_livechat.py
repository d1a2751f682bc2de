"""LiveChat (and LiveChat beside LivePerson) end to end: signed slash commands into
`python -m bot serve`, the Reports API simulated on loopback with the document's examples.

Every command uses its own timeframe (or unit), so the bot's 5-minute cache never hands
back an earlier answer and a queued fault is always consumed by the command it is for.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.demo.sim.livechat import EXAMPLES, SimulatedLiveChat, error
from bot.demo.sim.liveperson import AGENTS, SimulatedLivePerson, agent_states
from bot.demo.sim.server import Call
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.process import SECRET, RunningBot
from tests.words import duration

BERLIN = ZoneInfo("Europe/Berlin")


def bot_env(slack: SimulatedSlack, *vendors: dict[str, str]) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "BOT_VENDOR_TIMEOUT": "5",
    }
    for vendor in vendors:
        env |= vendor
    return env


@pytest.fixture
def lc_bot(
    slack: SimulatedSlack, livechat: SimulatedLiveChat, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """LiveChat alone, with a Personal Access Token (LIVECHAT_ACCOUNT_ID set)."""
    running = RunningBot(bot_env(slack, livechat.env(pat=True)), tmp_path_factory.mktemp("lc"))
    yield running
    running.stop()


@pytest.fixture
def both_bot(
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    liveperson: SimulatedLivePerson,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    """LivePerson and LiveChat (Bearer), no default_source, the team in Berlin."""
    running = RunningBot(
        bot_env(slack, liveperson.env(), livechat.env()),
        tmp_path_factory.mktemp("both"),
        config='timezone = "Europe/Berlin"\n',
    )
    yield running
    running.stop()


def answer(slack: SimulatedSlack, url: str) -> dict[str, Any]:
    """The one message the bot posted to a response_url."""
    slack.wait_for(url.removeprefix(slack.url))
    (call,) = slack.responses(url)
    return call.json()


def texts(message: dict[str, Any]) -> list[str]:
    """Each block's text as Slack shows it (context: its first element; divider: "")."""
    out = []
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out.append(block["elements"][0]["text"])
        else:
            out.append("")
    return out


# the document's examples, as the bot shows them (numbers worked out by hand):
# good 32, bad 17 of 83 chats; 32 / 49 = 65.3 %; ranking 13/6 and 0/2
CSAT_SUMMARY = (
    "*65.3%* good · *49* rated chats of 83 (59% rated)\n"
    "```good █████████████           32\n"
    "bad  ███████                 17```"
)
# response times weighted by count: 504.72 s / 30 chats = 16.8 s
STOPWATCH = ":stopwatch: First response 17s on average (30 chats) · response time 17s (30 chats)"
RANKING_HEADER = "*By agent* · good share · good · bad · chats"


# agents as the Configuration API's list_agents names them
def reports(livechat: SimulatedLiveChat, since: int) -> list[Call]:
    """The Reports API calls since `since` (the directory's may come and go beside them)."""
    return [c for c in livechat.calls[since:] if "/reports/" in c.path]


AGENT_LINE = "` 68.4%   13👍   6👎    19 chats`  Agnès Dupont"
SMITH_LINE = "`  0.0%    0👍   2👎     2 chats`  John Smith"


def csat_blocks(title: str, context: str, rows: list[str]) -> list[str]:
    return [title, CSAT_SUMMARY, STOPWATCH, context, "", RANKING_HEADER, "\n".join(rows)]


def window_context(vendor: str, message: dict[str, Any]) -> str:
    """The context line, checked to name the vendor; returned for whole comparisons."""
    [context] = [b["elements"][0]["text"] for b in message["blocks"] if b["type"] == "context"]
    assert context.startswith(f"{vendor} · ")
    return context


# --- LiveChat alone -------------------------------------------------------------------------


def test_healthz_lists_livechat_alone(lc_bot: RunningBot) -> None:
    assert lc_bot.http.get("/healthz").json() == {
        "ok": True,
        "version": "0.1.0",
        "database": "ok",
        "sources": ["livechat"],
        "digests": [],
    }


def test_csat_livechat_week(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    before = len(livechat.calls)
    ack, url = lc_bot.command(slack, "livechat 7d")
    assert ack.status_code == 200
    assert ack.json()["text"] == (
        ":hourglass_flowing_sand: Asking LiveChat for CSAT · whole account · last 7d…"
    )
    message = answer(slack, url)
    assert message["text"] == "CSAT, whole account, last 7d: 65.3% of 49 answers"
    assert texts(message) == csat_blocks(
        "CSAT · whole account · last 7d",
        window_context("LiveChat", message),
        [AGENT_LINE, SMITH_LINE],
    )
    calls = reports(livechat, before)
    assert sorted(c.path for c in calls) == [
        "/v3.6/reports/chats/first_response_time",
        "/v3.6/reports/chats/ranking",
        "/v3.6/reports/chats/ratings",
        "/v3.6/reports/chats/response_time",
    ]
    pat = base64.b64encode(f"{livechat.account_id}:{livechat.token}".encode()).decode()
    assert {c.headers["authorization"] for c in calls} == {f"Basic {pat}"}
    body = calls[0].json()
    assert body["timezone"] == "UTC"
    span = datetime.fromisoformat(body["filters"]["to"]) - datetime.fromisoformat(
        body["filters"]["from"]
    )
    assert span == timedelta(days=7)
    assert set(body["filters"]) == {"from", "to"}


def test_csat_without_source_goes_to_livechat_when_alone(
    lc_bot: RunningBot, slack: SimulatedSlack
) -> None:
    ack, url = lc_bot.command(slack, "")
    assert "Asking LiveChat for CSAT · whole account · last 24h" in ack.json()["text"]
    message = answer(slack, url)
    assert texts(message) == csat_blocks(
        "CSAT · whole account · last 24h",
        window_context("LiveChat", message),
        [AGENT_LINE, SMITH_LINE],
    )


def test_csat_for_a_group_sends_the_group_filter(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    before = len(livechat.calls)
    _, url = lc_bot.command(slack, "livechat group sales 7d")  # by its name
    message = answer(slack, url)
    blocks = texts(message)
    assert blocks[0] == "CSAT · group Sales · last 7d"
    # the simulated Sales rates 60 % of each day's ratings, rounded: 19 good, 11 bad
    assert blocks[1].startswith("*63.3%* good · *30* rated chats")
    assert "By agent" not in str(blocks)  # one group: its total is the answer
    calls = reports(livechat, before)
    assert sorted(c.path.rsplit("/", 1)[-1] for c in calls) == [
        "first_response_time", "ratings", "response_time",
    ]  # fmt: skip  # by group: the agents' ranking is not asked for
    for call in calls:
        filters = call.json()["filters"]
        assert filters["groups"] == {"values": [1]}
        assert set(filters) == {"from", "to", "groups"}


def test_csat_for_every_group_breaks_down_by_group(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    before = len(livechat.calls)
    _, url = lc_bot.command(slack, "livechat group all 7d")
    message = answer(slack, url)
    blocks = texts(message)
    assert blocks[0] == "CSAT · all groups · last 7d"
    assert blocks[1] == CSAT_SUMMARY  # the license's total, not the groups' sum
    assert blocks[5] == "*By group* · good share · good · bad · chats"
    names = [line.split("  ")[-1] for line in blocks[6].splitlines()]
    assert names == ["General", "Sales", "Support"]  # most rated chats first
    filters = [c.json()["filters"].get("groups") for c in reports(livechat, before)
               if c.path.endswith("/ratings")]  # fmt: skip
    assert sorted(map(str, filters)) == [
        "None", "{'values': [0]}", "{'values': [1]}", "{'values': [2]}",
    ]  # fmt: skip


def test_csat_for_one_agent_keeps_only_that_agent(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    before = len(livechat.calls)
    _, url = lc_bot.command(slack, "livechat agent agent@example.com 7d")
    message = answer(slack, url)
    # one agent: no table repeating the total (the simulator's ratings ignore the filter)
    assert texts(message) == [
        "CSAT · agent Agnès Dupont · last 7d",
        CSAT_SUMMARY,
        STOPWATCH,
        window_context("LiveChat", message),
    ]
    assert "smith@example.com" not in str(message)
    assert "John Smith" not in str(message)
    calls = reports(livechat, before)
    assert len(calls) == 4
    for call in calls:
        assert call.json()["filters"]["agents"] == {"values": ["agent@example.com"]}


def test_agent_states_livechat_week(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    before = len(livechat.calls)
    ack, url = lc_bot.command(slack, "livechat 7d", command="/agent-states")
    assert ack.json()["text"] == (
        ":hourglass_flowing_sand: Asking LiveChat for agent states · all agents · last 7d…"
    )
    message = answer(slack, url)
    blocks = texts(message)
    # smith: logged in 45304 s, chatting 55 s, accepting 35296 s, not accepting 10008 s;
    # agent: 32110 s, 275 s, 24567 s, 7543 s; availability 19.59 h = 19h 35m 24s
    assert blocks == [
        "Agent states · all agents · last 7d",
        "*Team* · 2 agents · logged in *21h 30m*, chatting 0% of it\n"
        "Accepting chats 16h 37m · Not accepting 4h 52m\n"
        "Chat available for 19h 35m in this window.",
        window_context("LiveChat", message),
        "",
        "*John Smith* — logged in *12h 35m*, chatting 55s (0%)\n"
        "Accepting chats 9h 48m\n"
        "Not accepting 2h 46m",
        "*Agnès Dupont* — logged in *8h 55m*, chatting 4m 35s (1%)\n"
        "Accepting chats 6h 49m\n"
        "Not accepting 2h 5m",
    ]
    assert sorted(c.path for c in reports(livechat, before)) == [
        "/v3.6/reports/agents/availability",
        "/v3.6/reports/agents/performance",
    ]


@pytest.mark.parametrize(
    ("command", "text", "problem"),
    [
        (
            "/csat",
            "livechat skill 4",
            ":warning: LiveChat has no skills; it reports by group or agent.",
        ),
        (
            "/agent-states",
            "livechat 7d 30m",
            ":warning: LiveChat reports have no intervals; leave the interval out.",
        ),
        (
            "/csat",
            "liveperson",
            ":electric_plug: LivePerson is not set up for this bot: ask an admin to set "
            "LIVEPERSON_ACCOUNT_ID and LIVEPERSON_CLIENT_ID/LIVEPERSON_CLIENT_SECRET.",
        ),
    ],
    ids=["skill", "interval", "liveperson-not-set-up"],
)
def test_questions_livechat_cannot_answer_are_answered_at_once(
    lc_bot: RunningBot,
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    command: str,
    text: str,
    problem: str,
) -> None:
    def reports() -> int:  # the directory may be read meanwhile: that is not a report
        return len([c for c in livechat.calls if "/reports/" in c.path])

    before = reports()
    ack, url = lc_bot.command(slack, text, command=command)
    assert ack.status_code == 200
    body = ack.json()
    assert body["text"] == problem
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert reports() == before
    assert slack.responses(url) == []


@pytest.mark.parametrize(
    ("timeframe", "fault", "reply", "detail"),
    [
        (
            "6d",
            {"status": 401, "body": error("authentication", "Invalid access token")},
            ":lock: LiveChat refused the bot's credentials. "
            "An admin should check the bot's LiveChat keys.",
            "Details: authentication: Invalid access token",
        ),
        (
            "5d",
            {"status": 400, "body": error("validation", "filters.from is not a date")},
            ":no_entry: LiveChat rejected the request. Check the ids and the timeframe.",
            "Details: validation: filters.from is not a date",
        ),
        (
            "4d",
            {"status": 421, "body": error("misdirected_request", "Wrong region", region="fra")},
            ":world_map: LiveChat keeps this license in region fra, not in the one the bot "
            "asked. An admin should set LIVECHAT_API_URL to that region's API "
            "(https://api-fra.livechatinc.com).",
            "Details: misdirected_request: the license is in region fra",
        ),
    ],
    ids=["401", "400-validation", "421-misdirected"],
)
def test_livechat_errors_become_human_replies(
    lc_bot: RunningBot,
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    timeframe: str,
    fault: dict[str, Any],
    reply: str,
    detail: str,
) -> None:
    livechat.fail("/chats/ratings", **fault)
    _, url = lc_bot.command(slack, f"livechat {timeframe}")
    message = answer(slack, url)
    assert message["text"] == reply
    assert texts(message) == [reply, detail]
    assert message["response_type"] == "ephemeral"
    assert not livechat.faults  # the fault was used by this command


def test_too_many_requests_twice_then_an_answer(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    before = len(livechat.report_calls("ratings"))
    livechat.fail(
        "/chats/ratings", status=429, body=error("too_many_requests", "Slow down"), times=2
    )
    _, url = lc_bot.command(slack, "livechat 3d")
    message = answer(slack, url)
    assert texts(message) == csat_blocks(
        "CSAT · whole account · last 3d",
        window_context("LiveChat", message),
        [AGENT_LINE, SMITH_LINE],
    )
    assert len(livechat.report_calls("ratings")) - before == 3


def test_response_time_failures_do_not_cost_the_answer(
    lc_bot: RunningBot, slack: SimulatedSlack, livechat: SimulatedLiveChat
) -> None:
    livechat.fail("/chats/first_response_time", status=500, times=3)
    livechat.fail("/chats/response_time", status=403, body=error("authorization", "no scope"))
    _, url = lc_bot.command(slack, "livechat 2d")
    message = answer(slack, url)
    assert texts(message) == [
        "CSAT · whole account · last 2d",
        CSAT_SUMMARY,
        window_context("LiveChat", message),
        "",
        RANKING_HEADER,
        f"{AGENT_LINE}\n{SMITH_LINE}",
    ]


def test_ratings_with_empty_days_and_missing_keys_still_answer(
    lc_bot: RunningBot,
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variant = copy.deepcopy(EXAMPLES["ratings"])
    variant["records"] = {
        "2026-03-01": {},
        "2026-03-02": {"chats": 9, "good": 6},  # no bad
        "2026-03-03": {"bad": 3},  # no good, no chats
        "2026-03-04": {"chats": 2, "good": 1, "bad": 1, "neutral": 4},  # an unknown key
        "2026-03-05": {},
    }
    variant["extra"] = {"unknown": True}
    monkeypatch.setitem(livechat.answers, "ratings", variant)
    _, url = lc_bot.command(slack, "livechat 30h")
    message = answer(slack, url)
    # good 7, bad 4 of 11 chats: 7 / 11 = 63.6 %
    assert texts(message)[1] == (
        "*63.6%* good · *11* rated chats of 11 (100% rated)\n"
        "```good ████████████▊            7\n"
        "bad  ███████▎                 4```"
    )


# --- LiveChat beside LivePerson ----------------------------------------------------------------


def test_healthz_lists_both_vendors(both_bot: RunningBot) -> None:
    assert both_bot.http.get("/healthz").json()["sources"] == ["liveperson", "livechat"]


def test_csat_without_source_goes_to_liveperson(
    both_bot: RunningBot,
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    liveperson: SimulatedLivePerson,
) -> None:
    lc_before, lp_before = len(livechat.calls), len(liveperson.data_calls())
    ack, url = both_bot.command(slack, "")
    assert "Asking LivePerson for CSAT · whole account · last 24h" in ack.json()["text"]
    message = answer(slack, url)
    assert texts(message)[0] == "CSAT · whole account · last 24h"
    window_context("LivePerson", message)
    assert "satisfied (4–5)" in texts(message)[1]
    assert len(liveperson.data_calls()) == lp_before + 1
    assert reports(livechat, lc_before) == []  # its directory may load; no report is asked


def test_csat_livechat_goes_to_livechat_in_the_teams_zone(
    both_bot: RunningBot,
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    liveperson: SimulatedLivePerson,
) -> None:
    lc_before = len(livechat.calls)
    lp_before = len(liveperson.data_calls("msgcsatdistribution"))
    ack, url = both_bot.command(slack, "livechat 7d")
    assert "Asking LiveChat for CSAT · whole account · last 7d" in ack.json()["text"]
    message = answer(slack, url)
    assert texts(message) == csat_blocks(
        "CSAT · whole account · last 7d",
        window_context("LiveChat", message),
        [AGENT_LINE, SMITH_LINE],
    )
    assert window_context("LiveChat", message).endswith(" Europe/Berlin")
    assert len(liveperson.data_calls("msgcsatdistribution")) == lp_before
    calls = reports(livechat, lc_before)
    assert {c.headers["authorization"] for c in calls} == {f"Bearer {livechat.token}"}
    body = calls[0].json()
    assert body["timezone"] == "Europe/Berlin"
    for edge in ("from", "to"):  # RFC 3339 with Berlin's offset at that moment
        moment = datetime.fromisoformat(body["filters"][edge])
        assert moment.utcoffset() == moment.astimezone(BERLIN).utcoffset()


def span(start: datetime, end: datetime) -> str:
    """How the team reads an interval, in Berlin."""
    a, b = start.astimezone(BERLIN), end.astimezone(BERLIN)
    if a.date() == b.date():
        return f"{a:%H:%M}–{b:%H:%M}"
    return f"{a:%a %H:%M} → {b:%a %H:%M}"


def expected_intervals(
    fetched: datetime, vendor_now: datetime, timeframe: int = 120, interval: int = 30
) -> tuple[str, str]:
    """The team summary and interval lines for one moment of the bot and of the vendor.

    Recomputed from the simulation's own rules: interval ends are rounded up to five
    minutes, the earliest covers only the rest of the timeframe; the bot clips each
    interval to its window and sums every agent.
    """
    now_ms = int(vendor_now.timestamp() * 1000)
    step = interval * 60_000
    last_end = -(-now_ms // 300_000) * 300_000
    count = -(-(last_end - (now_ms - timeframe * 60_000)) // step)
    agents = sorted({a for members in AGENTS.values() for a in members})
    team = {-1: [0, 0], 2: [0, 0], 3: [0, 0], 4: [0, 0]}  # state -> [total, chatting]
    lines = []
    for k in reversed(range(count)):
        end_ms = last_end - k * step
        slice_totals = dict.fromkeys(team, 0)
        for agent in agents:
            for state in agent_states(agent, interval * 60, salt=end_ms // step):
                slice_totals[state["id"]] += state["value"]["total"]
                team[state["id"]][0] += state["value"]["total"]
                team[state["id"]][1] += state["value"]["chatting"]
        end = datetime.fromtimestamp(end_ms / 1000, UTC)
        start = max(end - timedelta(minutes=interval), fetched - timedelta(minutes=timeframe))
        lines.append(
            f"`{span(start, min(end, fetched))}` {duration(slice_totals[-1])}"
            + "".join(f" · {duration(slice_totals[s])}" for s in (2, 3, 4))
        )
    logged, chatting = team[-1]
    summary = (
        f"*Team* · {len(agents)} agents · logged in *{duration(logged)}*, "
        f"chatting {chatting / logged * 100:.0f}% of it\n"
        f"Online {duration(team[2][0])} · Back soon {duration(team[3][0])} · "
        f"Away {duration(team[4][0])}"
    )
    return summary, "\n".join(lines)


def test_agent_states_over_liveperson_in_local_intervals(
    both_bot: RunningBot, slack: SimulatedSlack, liveperson: SimulatedLivePerson
) -> None:
    before = datetime.now(UTC)
    calls_before = len(liveperson.data_calls("agentactivity"))
    ack, url = both_bot.command(slack, "all 2h 30m", command="/agent-states")
    assert "Asking LivePerson for agent states · all agents · last 2h" in ack.json()["text"]
    message = answer(slack, url)
    after = datetime.now(UTC)
    [call] = liveperson.data_calls("agentactivity")[calls_before:]
    assert (call.method, call.query) == (
        "GET",
        {"timeframe": "120", "v": "1", "agentIds": "all", "interval": "30"},
    )
    blocks = texts(message)
    assert blocks[0] == "Agent states · all agents · last 2h"
    assert blocks[2].startswith("LivePerson · ")
    assert blocks[2].endswith(" Europe/Berlin · in 30m intervals")
    assert blocks[-2] == (
        "*By interval* (Europe/Berlin) · team logged in · online · back soon · away"
    )
    # the bot's clock and the vendor's lie between `before` and `after`
    candidates = {
        expected_intervals(fetched, vendor_now)
        for fetched in (before, after)
        for vendor_now in (before, after)
    }
    assert (blocks[1], blocks[-1]) in candidates
    assert len(blocks[-1].splitlines()) == 5  # 4 whole intervals and the partial earliest


def test_agent_states_interval_rule_is_checked_before_any_call(
    both_bot: RunningBot, slack: SimulatedSlack, liveperson: SimulatedLivePerson
) -> None:
    before = len(liveperson.data_calls("agentactivity"))
    ack, url = both_bot.command(slack, "all 120 7", command="/agent-states")
    assert ack.status_code == 200
    assert ack.json()["text"] == (
        ":warning: LivePerson needs an interval of at least 5 minutes, no longer than the "
        "timeframe and dividing it evenly; 7m does not fit 2h."
    )
    assert "/agent-states [SOURCE] [IDS|all] [TIMEFRAME] [INTERVAL]" in str(ack.json()["blocks"])
    assert len(liveperson.data_calls("agentactivity")) == before
    assert slack.responses(url) == []


def test_default_source_from_the_configuration(
    slack: SimulatedSlack,
    livechat: SimulatedLiveChat,
    liveperson: SimulatedLivePerson,
    tmp_path: Any,
) -> None:
    running = RunningBot(
        bot_env(slack, liveperson.env(), livechat.env()),
        tmp_path,
        config='default_source = "livechat"\n',
    )
    try:
        ack, url = running.command(slack, "8d")
        assert "Asking LiveChat for CSAT · whole account · last 8d" in ack.json()["text"]
        message = answer(slack, url)
        assert texts(message)[1:3] == [CSAT_SUMMARY, STOPWATCH]
        ack, url = running.command(slack, "liveperson 70m")
        assert "Asking LivePerson for CSAT · whole account · last 1h 10m" in ack.json()["text"]
        window_context("LivePerson", answer(slack, url))
    finally:
        running.stop()
