"""`python -m bot socket`: the same listeners over Socket Mode."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, slash_payload
from tests.fakes.process import ROOT, clean_env
from tests.fakes.socket_mode import SimulatedSocketMode


@pytest.fixture(scope="module")
def socket_bot(
    slack: SimulatedSlack, liveperson: SimulatedLivePerson, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatedSocketMode]:
    tmp: Path = tmp_path_factory.mktemp("socket")
    with SimulatedSocketMode() as socket:
        slack.socket_url = socket.url
        env = clean_env(
            SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test",
            SLACK_API_URL=slack.api_url, BOT_CONFIG=str(tmp / "absent.toml"),
            BOT_DB=str(tmp / "bot.db"), BOT_SCHEDULER="off", **liveperson.env(),
        )  # fmt: skip
        log = tmp / "socket.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "socket"], cwd=ROOT, env=env,
            stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            socket.wait_connected()
            yield socket
        finally:
            proc.terminate()
            proc.wait(10)
            slack.socket_url = ""


def test_slash_command_over_socket_mode(
    socket_bot: SimulatedSocketMode, slack: SimulatedSlack
) -> None:
    url = slack.response_url()
    envelope = socket_bot.send("slash_commands", slash_payload("/csat", "skill 11 71m", url))
    ack = socket_bot.wait_ack(envelope)
    assert "Asking LivePerson for CSAT · skill 11 · last 1h 11m" in ack["payload"]["text"]
    (answer,) = slack.wait_for(url.removeprefix(slack.url))
    assert answer.json()["blocks"][0]["text"]["text"] == "CSAT · skill 11 · last 1h 11m"


def test_usage_error_over_socket_mode(
    socket_bot: SimulatedSocketMode, slack: SimulatedSlack
) -> None:
    envelope = socket_bot.send(
        "slash_commands", slash_payload("/csat", "skill 4 3d", slack.response_url())
    )
    ack = socket_bot.wait_ack(envelope)
    assert "LivePerson reports at most the last 24h" in ack["payload"]["text"]
