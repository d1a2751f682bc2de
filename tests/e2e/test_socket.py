"""`python -m bot socket`: the same listeners over Socket Mode."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack, slash_payload
from bot.timefmt import iso_ms
from tests.fakes.process import ROOT, clean_env, free_port
from tests.fakes.socket_mode import SimulatedSocketMode


def start(env: dict[str, str], tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`python -m bot socket` as production runs it; its log."""
    log = tmp / "socket.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "socket"], cwd=ROOT, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    return proc, log


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
        proc, _ = start(env, tmp)
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
    assert re.search(  # named once the directory is read
        r"Asking LivePerson for CSAT · skill (11|Billing) · last 1h 11m", ack["payload"]["text"]
    )
    (answer,) = slack.wait_for(url.removeprefix(slack.url))
    assert answer.json()["blocks"][0]["text"]["text"] == "CSAT · skill Billing · last 1h 11m"


def test_usage_error_over_socket_mode(
    socket_bot: SimulatedSocketMode, slack: SimulatedSlack
) -> None:
    envelope = socket_bot.send(
        "slash_commands", slash_payload("/csat", "skill 4 500d", slack.response_url())
    )
    ack = socket_bot.wait_ack(envelope)
    assert "which keeps 400d: ask for at most `400d`" in ack["payload"]["text"]


def test_with_an_ingest_token_socket_mode_also_receives_surveys(
    slack: SimulatedSlack, liveperson: SimulatedLivePerson, tmp_path: Path
) -> None:
    """The manifest's default is Socket Mode: a team there can still take survey answers."""
    port = free_port()
    with SimulatedSocketMode() as socket:
        slack.socket_url = socket.url
        env = clean_env(
            SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=slack.api_url,
            BOT_CONFIG=str(tmp_path / "absent.toml"), BOT_DB=str(tmp_path / "bot.db"),
            BOT_SCHEDULER="off", BOT_INGEST_TOKEN="survey-token", PORT=str(port),
            **liveperson.env(),
        )  # fmt: skip
        proc, log = start(env, tmp_path)
        try:
            socket.wait_connected()
            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
            health = _when_up(http, proc)
            assert health.json()["ok"] is True and "ingested" in health.json()["sources"]
            an_hour_ago = iso_ms(datetime.now(UTC) - timedelta(hours=1))
            item = {"ticket_id": "S-1", "agent_id": "4242", "score": 5,
                    "submitted_at": an_hour_ago}  # fmt: skip
            stored = http.post(
                "/api/v1/create-customer-feedback",
                json={"data": [item]},
                headers={"apiToken": "survey-token"},
            )
            assert stored.status_code == 201, stored.text
            assert stored.json()["results"][0]["status"] == "Created"
            assert http.post("/slack/events", content=b"x").status_code == 404  # Slack: socket
            url = slack.response_url()  # and Socket Mode still answers commands
            envelope = socket.send("slash_commands", slash_payload("/csat", "ingested 7d", url))
            assert "Ingested surveys" in socket.wait_ack(envelope)["payload"]["text"]
            (answer,) = slack.wait_for(url.removeprefix(slack.url))
            assert answer.json()["text"].endswith(" of 1 answers")
        finally:
            proc.terminate()
            code = proc.wait(10)
            slack.socket_url = ""
    assert code in (0, -signal.SIGTERM), log.read_text()  # as `serve`: uvicorn's way
    assert "Traceback" not in log.read_text()


def _when_up(http: httpx.Client, proc: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, "the bot exited"
        try:
            return http.get("/healthz")
        except httpx.TransportError:
            assert time.monotonic() < deadline, "no /healthz on $PORT"
            time.sleep(0.05)
