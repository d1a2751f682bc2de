"""Hostile strings through the slash commands, from the words a person types to the
fields a vendor answers with: the real grammar, sources, HTTP clients and templates.

Every string of `HOSTILE` goes where a person types (a word, an id, a timeframe, an
interval, after a source or a unit) and where a vendor answers (skill and agent ids, a
state's name, an away reason, an agent's e-mail, an error message). Every reply must be a
valid message (the renderer checks Block Kit and Slack's limits), mention nobody, and
never be the apology for an internal error.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import config
from bot.app import build_commands
from bot.commands.service import Commands
from bot.db import Store
from bot.demo.sim.livechat import EXAMPLES, SimulatedLiveChat, error
from bot.demo.sim.liveperson import SimulatedLivePerson, directory, metrics
from bot.render import Message
from tests.fakes.hostile import HOSTILE, MENTIONS, SYNTAX, UNCARRIED, pings

APOLOGY = "Something went wrong inside the bot"
TYPED = [  # where a person's words go
    ("/csat", "{h}"), ("/csat", "skill {h}"), ("/csat", "agent {h} 60m"),
    ("/csat", "skill 4 {h}"), ("/csat", "livechat agent {h}"), ("/csat", "ingested agent {h}"),
    ("/csat", "{h} 2h"), ("/agent-states", "{h}"), ("/agent-states", "all {h}"),
    ("/agent-states", "{h} 2h 30m"), ("/agent-states", "all 2h {h}"),
]  # fmt: skip


class Clock:
    """Moves on a bucket per call to `next_bucket`: nothing is answered from the cache."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def next_bucket(self) -> None:
        self.now += timedelta(minutes=5)


@pytest.fixture(scope="module")
def vendors() -> Iterator[tuple[SimulatedLivePerson, SimulatedLiveChat]]:
    with SimulatedLivePerson() as lp, SimulatedLiveChat() as lc:
        yield lp, lc


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


class Loop:
    """One event loop for the module, as the bot has one: its clients live across tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def commands(
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat], clock: Clock
) -> Iterator[tuple[Commands, Loop]]:
    lp, lc = vendors
    env = {"BOT_CONFIG": "/nonexistent.toml", "BOT_INGEST_TOKEN": "t", **lp.env(), **lc.env()}
    store = Store(":memory:")
    built, loop = build_commands(config.load(env), clock, store), Loop()
    yield built, loop
    loop.run(built.sources.aclose())
    loop.close()
    store.close()


def texts(message: Message) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(message)
    return found


def assert_safe(message: Message, case: str) -> None:
    said = texts(message)
    assert said and message["text"], case
    assert not any(APOLOGY in t for t in said), case
    assert not any(pings(t) for t in said), (case, [t for t in said if pings(t)][:2])


async def reply(commands: Commands, command: str, text: str) -> list[Message]:
    """The ack, and the answer when there is something to ask."""
    plan = commands.prepare(command, text)
    if plan.query is None:
        return [plan.ack]
    return [plan.ack, await commands.answer(plan)]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: repr(h[:24]))
def test_whatever_a_person_types_is_answered_in_words(
    commands: tuple[Commands, Loop], clock: Clock, hostile: str
) -> None:
    bot, loop = commands
    for command, text in TYPED:
        clock.next_bucket()
        case = f"{command} {text}"
        for message in loop.run(reply(bot, command, text.format(h=hostile))):
            assert_safe(message, case)


# --- what vendors answer ------------------------------------------------------------------


def lp_csat(h: str) -> dict[str, Any]:
    agent = {
        "metricsPerAgent": {h: metrics([1, 0, 2, 3, 9])},
        "metricsTotals": metrics([1, 0, 2, 3, 9]),
    }
    return {"skillsMetricsPerAgent": {"metricsPerSkill": {h: agent, "4": agent},
                                      "metricsTotals": metrics([2, 0, 4, 6, 18])}}  # fmt: skip


def lp_states(h: str, now: datetime) -> dict[str, Any]:
    value = {"total": 600, "chatting": 60, "notChatting": 540, "chattingInMaxConcurrency": 0}
    states = [
        {"id": 2, "name": "Online", "value": value},
        {"id": 7, "name": h, "value": value},
        {"id": 4, "name": "Away", "reasons": [{"id": h, "value": value}], "value": value},
        {"id": -1, "name": "Logged in", "value": {**value, "total": 1800}},
    ]
    interval = {"timestamp": int(now.timestamp() * 1000),
                "metricsData": {"agentsMetrics": {"metricsPerAgent": {h: states, "1001": states},
                                                  "metricsTotals": []}}}  # fmt: skip
    return {"metricsByIntervals": [interval]}


def lc_ranking(h: str) -> dict[str, Any]:
    record = {"total": 40, "good": 30, "bad": 10, "score": 0.5}
    return {**EXAMPLES["ranking"], "records": {h: record, "other@example.com": record}}


def lc_performance(h: str) -> dict[str, Any]:
    record = next(iter(EXAMPLES["performance"]["records"].values()))
    return {**EXAMPLES["performance"], "records": {h: record}}


ANSWERS: list[tuple[str, str, str, Callable[[str, datetime], Any], int]] = [
    ("liveperson", "/msgcsatdistribution", "/csat skill all 61m", lambda h, _: lp_csat(h), 200),
    ("liveperson", "/agentactivity", "/agent-states all 60m", lp_states, 200),
    ("livechat", "/chats/ranking", "/csat livechat agent all 7d", lambda h, _: lc_ranking(h), 200),
    ("livechat", "/agents/performance", "/agent-states livechat all 7d",
     lambda h, _: lc_performance(h), 200),
    ("livechat", "/chats/ratings", "/csat livechat 6d",
     lambda h, _: error("validation", h), 400),
    ("liveperson", "/msgcsatdistribution", "/csat 62m", lambda h, _: {"error": h}, 400),
]  # fmt: skip


def vendor_replies(
    commands: tuple[Commands, Loop],
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat],
    clock: Clock,
    hostile: str,
) -> Iterator[tuple[str, Message]]:
    """Each vendor answer carrying `hostile`, and the messages the bot made of it."""
    (lp, lc), (bot, loop) = vendors, commands
    for vendor, path, line, body, status in ANSWERS:
        clock.next_bucket()
        server = lp if vendor == "liveperson" else lc
        server.fail(path, status, body(hostile, clock()), times=3)
        command, _, text = line.partition(" ")
        try:
            for message in loop.run(reply(bot, command, text)):
                yield f"{vendor} {path}", message
        finally:
            server.faults.clear()


@pytest.mark.parametrize("hostile", HOSTILE[::2], ids=lambda h: repr(h[:24]))
def test_whatever_a_vendor_answers_is_shown_safely(
    commands: tuple[Commands, Loop],
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat],
    clock: Clock,
    hostile: str,
) -> None:
    for case, message in vendor_replies(commands, vendors, clock, hostile):
        assert_safe(message, case)


def test_the_vendor_table_reaches_the_messages(
    commands: tuple[Commands, Loop],
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat],
    clock: Clock,
) -> None:
    """A plain marker in the same places is shown: the table tests what people read."""
    marker = "zz-vendor-said-this"
    shown = {case for case, message in vendor_replies(commands, vendors, clock, marker)
             if any(marker in t for t in texts(message))}  # fmt: skip
    assert shown == {f"{vendor} {path}" for vendor, path, *_ in ANSWERS}


# --- what the vendors' directories name ---------------------------------------------------


def named_replies(
    commands: tuple[Commands, Loop],
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat],
    clock: Clock,
    hostile: str,
) -> Iterator[tuple[str, Message]]:
    """Directories that name an agent, a skill, a reason and a LiveChat agent `hostile`
    (twice, so the name is shared), and the messages that show those names."""
    (lp, lc), (bot, loop) = vendors, commands
    users = directory("users", include_deleted=True)
    users[0]["nickname"] = users[1]["nickname"] = hostile  # 1001 and 1002
    skills = directory("skills", include_deleted=True)
    skills[0]["name"] = hostile  # skill 11
    reasons = directory("status-reasons", include_deleted=True)
    reasons[0]["text"] = hostile
    lp.overrides.update({"le-users/users": users, "le-users/skills": skills,
                         "le-agents/status-reasons": reasons})  # fmt: skip
    agents = copy.deepcopy(lc.agents)
    lc.agents[0]["name"] = hostile
    assert bot.names is not None
    try:
        for source in ("liveperson", "livechat"):
            loop.run(bot.names.refresh(source))
        prefix = hostile[:3]
        for line in (
            "/csat skill all 61m", "/csat skill 11 61m", "/agent-states 1001,1002 2h",
            "/agent-states all 60m", "/csat livechat 7d", "/agent-states livechat 7d",
            f'/csat skill "{hostile}" 2h', f"/agent-states “{prefix}” 2h",
        ):  # fmt: skip
            clock.next_bucket()
            command, _, text = line.partition(" ")
            for message in loop.run(reply(bot, command, text)):
                yield line, message
    finally:
        for fragment in ("le-users/users", "le-users/skills", "le-agents/status-reasons"):
            lp.overrides.pop(fragment, None)
        lc.agents[:] = agents
        for source in ("liveperson", "livechat"):
            loop.run(bot.names.refresh(source))


NAMES_TABLE = [*MENTIONS, *UNCARRIED, *SYNTAX[::3], "x" * 100_000, "<" * 5000, *HOSTILE[-80::8]]


@pytest.mark.parametrize("hostile", NAMES_TABLE, ids=lambda h: repr(h[:24]))
def test_whatever_a_directory_names_is_shown_safely(
    commands: tuple[Commands, Loop],
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat],
    clock: Clock,
    hostile: str,
) -> None:
    for case, message in named_replies(commands, vendors, clock, hostile):
        assert_safe(message, case)


def test_the_directory_table_reaches_the_messages(
    commands: tuple[Commands, Loop],
    vendors: tuple[SimulatedLivePerson, SimulatedLiveChat],
    clock: Clock,
) -> None:
    """A plain marker in the same places is shown: the table tests what people read."""
    marker = "zz-directory-said-this"
    shown = {case for case, message in named_replies(commands, vendors, clock, marker)
             if any(marker in t for t in texts(message))}  # fmt: skip
    assert shown == {
        "/csat skill all 61m", "/csat skill 11 61m", "/agent-states 1001,1002 2h",
        "/agent-states all 60m", "/csat livechat 7d", "/agent-states livechat 7d",
        '/csat skill "zz-directory-said-this" 2h', "/agent-states “zz-” 2h",
    }  # fmt: skip
