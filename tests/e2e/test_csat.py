"""/csat end to end: signed requests into `python -m bot serve`, fakes on loopback."""

from __future__ import annotations

import itertools
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.demo.sim.liveperson import AGENTS, csat_counts
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.process import RunningBot


def answer(slack: SimulatedSlack, url: str) -> dict[str, Any]:
    """The one message the bot posted to a response_url."""
    slack.wait_for(url.removeprefix(slack.url))
    (call,) = slack.responses(url)
    return call.json()


def expected_skill(skill: str, timeframe: int) -> tuple[int, int]:
    """(positive, total) the simulation gives for one skill."""
    rows = [csat_counts(a, skill, timeframe) for a in AGENTS[skill]]
    return sum(r["positive_answers"] for r in rows), sum(r["total_answers"] for r in rows)


def test_healthz_reports_sources(bot: RunningBot) -> None:
    health = bot.http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "ok": True,
        "version": "0.1.0",
        "database": "ok",
        "sources": ["liveperson"],
        "digests": [],
    }


def test_csat_for_one_skill_acks_then_answers(bot: RunningBot, slack: SimulatedSlack) -> None:
    ack, url = bot.command(slack, "skill 12 61m")
    assert ack.status_code == 200
    # named once the directory is read (the first answer reads it): an id until then
    assert re.search(
        r"Asking LivePerson for CSAT · skill (12|Orders) · last 1h 1m", ack.json()["text"]
    )
    message = answer(slack, url)
    positive, total = expected_skill("12", 61)
    assert message["response_type"] == "ephemeral"
    assert message["blocks"][0]["text"]["text"] == "CSAT · skill Orders · last 1h 1m"
    summary = message["blocks"][1]["text"]["text"]
    assert f"*{positive / total * 100:.1f}%* satisfied" in summary
    assert f"*{total}* answers" in summary
    agent_lines = message["blocks"][-1]["text"]["text"].splitlines()
    # by nickname; Sam shares his with another agent, so his id stands beside it
    named = {"1004": "Sam (1004)", "1005": "Mei", "1006": "Jonas", "1007": "Lucía"}
    assert sorted(line.split("  ")[-1] for line in agent_lines) == sorted(
        named[a] for a in AGENTS["12"]
    )


def test_ack_does_not_wait_for_a_slow_vendor(
    fresh_bot: RunningBot, slack: SimulatedSlack, liveperson
) -> None:  # type: ignore[no-untyped-def]
    liveperson.fail(
        "/msgcsatdistribution", status=200, delay=1.5, body={"metricsTotals": {"total_answers": 0}}
    )
    ack, url = fresh_bot.command(slack, "62m")
    assert ack.status_code == 200
    assert slack.responses(url) == [], "the answer came before the ack: the ack waited"
    message = answer(slack, url)
    assert "No CSAT answers in this window." in message["blocks"][1]["text"]["text"]


@pytest.mark.parametrize(
    ("label", "secret", "age"),
    [("forged", "wrong-secret", 0), ("stale", "test-signing-secret", 6 * 60)],
)
def test_bad_signatures_are_refused_before_any_vendor_call(
    bot: RunningBot,
    slack: SimulatedSlack,
    liveperson,
    label: str,
    secret: str,
    age: int,  # type: ignore[no-untyped-def]
) -> None:
    before = len(liveperson.calls)
    ack, url = bot.command(slack, "skill 11 63m", secret=secret, timestamp=int(time.time()) - age)
    assert ack.status_code == 401, label
    assert len(liveperson.calls) == before
    assert slack.responses(url) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("skill 11 500d", "which keeps 400d: ask for at most `400d`; `500d` is longer"),
        ("skil 11", "Did you mean `skill`?"),
        ("4,15", "Say whose ids these are"),
        ("group 3", "LivePerson has no groups"),
        ("livechat", "LiveChat is not set up for this bot"),
        ("skill 11 60m 😀", "I don't understand `😀`"),
        ("&" * 1000, "I don't understand `&amp;&amp;"),  # escaped, as Slack shows it
    ],
)
def test_bad_commands_are_answered_at_once_without_vendor_call(
    bot: RunningBot,
    slack: SimulatedSlack,
    liveperson,
    text: str,
    problem: str,  # type: ignore[no-untyped-def]
) -> None:
    before = len(liveperson.calls)
    ack, _ = bot.command(slack, text)
    assert ack.status_code == 200
    body = ack.json()
    assert problem in body["text"]
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert len(liveperson.calls) == before


def test_help_explains_the_grammar(bot: RunningBot, slack: SimulatedSlack) -> None:
    ack, _ = bot.command(slack, "help")
    text = str(ack.json()["blocks"])
    assert "/csat [SOURCE] [skill|agent|group] [IDS|all] [TIMEFRAME]" in text
    assert "Skill -1 is conversations without a skill" in text


@pytest.mark.parametrize(
    ("fault", "reply"),
    [
        ({"status": 429, "times": 3}, "LivePerson is asking the bot to slow down"),
        ({"status": 503, "times": 3}, "LivePerson is not answering right now"),
        (
            {"status": 200, "body": b"<html>maintenance</html>"},
            "LivePerson sent an answer the bot cannot read",
        ),
        (
            {"status": 200, "body": {"unexpected": []}},
            "LivePerson sent an answer the bot cannot read",
        ),
        ({"status": 400, "body": {"error": "bad skill"}}, "LivePerson rejected the request"),
        ({"status": 200, "delay": 3.0}, "LivePerson took too long to answer"),
    ],
    ids=["429", "503", "html", "wrong-shape", "400", "timeout"],
)
def test_vendor_failures_become_human_replies(
    fresh_bot: RunningBot,
    slack: SimulatedSlack,
    liveperson,
    fault: dict[str, Any],
    reply: str,  # type: ignore[no-untyped-def]
) -> None:
    liveperson.fail("/msgcsatdistribution", **fault)
    _, url = fresh_bot.command(slack, "skill 13 3h")
    message = answer(slack, url)
    assert reply in message["text"]
    assert "Traceback" not in str(message)
    assert message["response_type"] == "ephemeral"


def test_429_retries_are_at_least_a_second_apart(
    fresh_bot: RunningBot, slack: SimulatedSlack, liveperson
) -> None:  # type: ignore[no-untyped-def]
    liveperson.fail("/msgcsatdistribution", status=429, times=2)
    before = len(liveperson.data_calls())
    _, url = fresh_bot.command(slack, "skill 14 64m")
    message = answer(slack, url)
    assert message["blocks"][0]["text"]["text"] == "CSAT · skill Tech support · last 1h 4m"
    calls = liveperson.data_calls()[before:]
    assert len(calls) == 3
    assert all(b.at - a.at >= 1.0 for a, b in itertools.pairwise(calls))


def test_refused_token_is_refreshed_once(
    fresh_bot: RunningBot, slack: SimulatedSlack, liveperson
) -> None:  # type: ignore[no-untyped-def]
    _, warm = fresh_bot.command(slack, "65m")  # make sure a token exists
    answer(slack, warm)
    liveperson.revoke_tokens()
    tokens_before = len(liveperson.calls_to("/app/token"))
    _, url = fresh_bot.command(slack, "agent all 66m")
    message = answer(slack, url)
    assert message["blocks"][0]["text"]["text"] == "CSAT · all agents · last 1h 6m"
    assert len(liveperson.calls_to("/app/token")) == tokens_before + 1


def test_identical_commands_in_one_bucket_share_one_vendor_call(
    fresh_bot: RunningBot,
    slack: SimulatedSlack,
    liveperson,  # type: ignore[no-untyped-def]
) -> None:
    liveperson.fail(
        "/msgcsatdistribution", status=200, delay=0.5, body={"metricsTotals": {"total_answers": 0}}
    )
    before = len(liveperson.data_calls())
    bucket = int(time.time()) // 300
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: fresh_bot.command(slack, "67m"), range(20)))
    same_bucket = int(time.time()) // 300 == bucket
    for _, url in results:
        assert (
            answer(slack, url)["blocks"][0]["text"]["text"] == "CSAT · whole account · last 1h 7m"
        )
    calls = len(liveperson.data_calls()) - before
    assert calls == 1 if same_bucket else calls <= 2


def test_an_unreadable_answer_is_not_kept_for_the_bucket(
    fresh_bot: RunningBot,
    slack: SimulatedSlack,
    liveperson,  # type: ignore[no-untyped-def]
) -> None:
    liveperson.fail("/msgcsatdistribution", status=200, body={"unexpected": []})
    _, url = fresh_bot.command(slack, "skill 14 68m")
    assert "cannot read" in answer(slack, url)["text"]
    before = len(liveperson.data_calls())
    _, url = fresh_bot.command(slack, "skill 14 68m")
    assert (
        answer(slack, url)["blocks"][0]["text"]["text"] == "CSAT · skill Tech support · last 1h 8m"
    )
    assert len(liveperson.data_calls()) == before + 1
