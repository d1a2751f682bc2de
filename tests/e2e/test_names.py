"""Names in and out, end to end: `python -m bot serve` against the simulated vendors'
directories (LivePerson's Account Configuration API, LiveChat's Configuration API).

Asking in names reaches the vendor as ids; a typo, an ambiguity or an unknown id is
answered without a report call; a token without directory privileges still answers,
with ids, and says once in the log (and in `check`) what to grant; `[names]` names the
ingested source's agents and `[links]` turns names and tickets into links.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.timefmt import iso_ms
from tests.fakes.process import ROOT, SECRET, RunningBot, clean_env


def answer(slack: SimulatedSlack, url: str) -> dict[str, Any]:
    slack.wait_for(url.removeprefix(slack.url))
    (call,) = slack.responses(url)
    return dict(call.json())


def env(slack: SimulatedSlack, *vendors: SimulatedLivePerson | SimulatedLiveChat) -> dict[str, str]:
    found = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "BOT_VENDOR_TIMEOUT": "2",
        "BOT_SCHEDULER": "off",
    }
    for vendor in vendors:
        found |= vendor.env()
    return found


def test_names_in_reach_the_vendor_as_ids_and_come_back_as_names(
    fresh_bot: RunningBot, slack: SimulatedSlack, liveperson: SimulatedLivePerson
) -> None:
    before = len(liveperson.data_calls())
    _, url = fresh_bot.command(slack, "skill billing 2h")
    message = answer(slack, url)
    assert message["blocks"][0]["text"]["text"] == "CSAT · skill Billing · last 2h"
    [call] = liveperson.data_calls()[before:]
    assert call.query["skillIds"] == "11"
    agents = message["blocks"][-1]["text"]["text"]
    assert agents.endswith(("Ana", "Zoë", "Kwame"))  # the skill's agents, by nickname
    assert "Agent 10" not in str(message)

    calls = len(liveperson.data_calls("agentactivity"))
    _, url = fresh_bot.command(slack, "zoe,“Ana” 1h", command="/agent-states")
    states = answer(slack, url)
    assert states["blocks"][0]["text"]["text"] == "Agent states · agents Zoë, Ana · last 1h"
    [call] = liveperson.data_calls("agentactivity")[calls:]
    assert sorted(call.query["agentIds"].split(",")) == ["1001", "1002"]
    assert "Away reasons: Lunch" in str(states) or "Away reasons: Coaching" in str(states)
    assert "Reason 26" not in str(states)


@pytest.mark.parametrize(
    ("command", "text", "said"),
    [
        ("/agent-states", "sam 2h", "could be several agents: *Sam* (`1004`), *Sam* (`1009`)"),
        ("/csat", "skill biling 2h", "has no skill named `biling`. Did you mean *Billing*?"),
        ("/csat", "skill 99 2h", "LivePerson has no skill `99`."),
        ("/agent-states", "1001,4711 2h", "LivePerson has no agent `4711`."),
    ],
)  # fmt: skip
def test_what_the_directory_cannot_place_is_answered_without_a_report(
    bot: RunningBot,
    slack: SimulatedSlack,
    liveperson: SimulatedLivePerson,
    command: str,
    text: str,
    said: str,
) -> None:
    ack, url = bot.command(slack, "skill 11 5m")  # the directory is read by now
    answer(slack, url)
    reports = len(liveperson.data_calls()) + len(liveperson.data_calls("agentactivity"))
    ack, url = bot.command(slack, text, command=command)
    replies = [ack.json()]
    if "Asking" in ack.json()["text"]:  # decided after the ack: a refresh may name it
        replies.append(answer(slack, url))
    assert said in str(replies[-1]["blocks"])
    assert replies[-1].get("response_type", "ephemeral") == "ephemeral"
    time.sleep(0.2)
    assert len(liveperson.data_calls()) + len(liveperson.data_calls("agentactivity")) == reports


def test_a_token_without_directory_privileges_answers_with_ids_and_says_what_to_grant(
    slack: SimulatedSlack, liveperson: SimulatedLivePerson, tmp_path: Path
) -> None:
    liveperson.refused_collections.update({"users", "skills"})
    running = RunningBot(env(slack, liveperson), tmp_path)
    try:
        _, url = running.command(slack, "skill all 60m")
        message = answer(slack, url)
        lines = message["blocks"][-2]["text"]["text"]
        assert re.search(r"Skill 1[1-4]$", lines.splitlines()[0])  # ids, as before
        _, url = running.command(slack, "1001 1h", command="/agent-states")
        states = str(answer(slack, url))
        assert "Agent 1001" in states
        assert "Reason 26" not in states  # status reasons were readable: named
        ack, url = running.command(slack, "skill billing 1h")
        said = (
            str(answer(slack, url)["blocks"]) if "Asking" in ack.json()["text"] else str(ack.json())
        )
        assert "cannot read LivePerson's skill names" in said
        running.command(slack, "skill all 55m")  # a second refusal is not logged again
        log = running.log.read_text(encoding="utf-8")
        refusals = [line for line in log.splitlines() if "refused its users directory" in line]
        assert len(refusals) == 1, refusals
        assert 'credentials have the "Users" read privilege' in refusals[0]
    finally:
        running.stop()
    checked = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=clean_env(
            **env(slack, liveperson),
            BOT_DB=str(tmp_path / "bot.db"),
            BOT_CONFIG=str(tmp_path / "absent.toml"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "grant" not in checked.stderr
    assert 'have the "Users" read privilege' in checked.stdout
    assert 'have the "Skills" read privilege' in checked.stdout
    assert "2 away reasons" in checked.stdout


def test_directory_shows_and_refreshes_what_is_known(
    slack: SimulatedSlack,
    liveperson: SimulatedLivePerson,
    livechat: SimulatedLiveChat,
    tmp_path: Path,
) -> None:
    livechat.refused_actions.add("list_groups")
    base = clean_env(**env(slack, liveperson, livechat), BOT_DB=str(tmp_path / "bot.db"),
                     BOT_CONFIG=str(tmp_path / "absent.toml"))  # fmt: skip

    def directory(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "directory", *args], env=base,
                              cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip

    first = directory()
    assert first.returncode == 0
    assert "liveperson: the directory has not been read yet" in first.stdout
    refreshed = directory("--refresh")
    assert refreshed.returncode == 1  # LiveChat refused its groups: the lines say what to grant
    assert "liveperson: 13 agents, 5 skills, 3 groups, 2 away reasons (read " in refreshed.stdout
    assert "users: ok, 13 entries, revision users-1" in refreshed.stdout
    assert "Old promo (15, left)" in refreshed.stdout  # deleted, still named
    assert "the groups--all:ro scope" in refreshed.stdout
    only = directory("livechat")
    assert only.stdout.startswith("livechat: 2 agents (read ")
    assert "liveperson" not in only.stdout
    assert directory("nope").returncode == 2


def test_configured_names_and_links_reach_answers_and_detractors(
    slack: SimulatedSlack, tmp_path: Path
) -> None:
    config = """
[alerts]
channel = "C0NAMED"

[names.agents]
a1 = "Bea Costa"
"4242" = "Ravi"

[links]
ticket = "https://help.example/tickets/{ticket_id}"
agent = "https://people.example/{id}?tab=csat&x=1"
"""
    running = RunningBot({**env(slack), "BOT_INGEST_TOKEN": "tok"}, tmp_path, config=config)
    try:
        now = datetime.now(UTC) - timedelta(minutes=30)
        body = {"data": [
            {"submitted_at": iso_ms(now), "ticket_id": "T-1", "agent_id": "a1", "score": 5},
            {"submitted_at": iso_ms(now + timedelta(seconds=1)), "ticket_id": "T-2",
             "agent_id": "4242", "score": 1, "comment": "slow"},
        ]}  # fmt: skip
        assert (
            running.http.post(
                "/api/v1/create-customer-feedback", json=body, headers={"apiToken": "tok"}
            ).status_code
            == 201
        )
        # by the configured name, whole: a survey tool's own id may be any name's start
        _, url = running.command(slack, 'ingested agent "bea costa" 2h')
        message = answer(slack, url)
        assert message["blocks"][0]["text"]["text"] == "CSAT · agent Bea Costa · last 2h"
        _, url = running.command(slack, "ingested agent all 2h")
        rows = str(answer(slack, url)["blocks"])
        assert "<https://people.example/a1?tab=csat&amp;x=1|Bea Costa>" in rows
        deadline = time.monotonic() + 15
        while not slack.posts("C0NAMED") and time.monotonic() < deadline:
            time.sleep(0.05)
        [posted] = slack.posts("C0NAMED")
        text = str(posted["blocks"])
        assert "<https://people.example/4242?tab=csat&amp;x=1|Ravi>" in text
        assert "<https://help.example/tickets/T-2|`T-2`>" in text
    finally:
        running.stop()
