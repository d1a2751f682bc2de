"""Shared fixtures: a clean environment for every test, loopback fakes, a running bot."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.maestroqa import SimulatedMaestroQA
from tests.fakes.process import PREFIXES, SECRET, RunningBot


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (pytest.mark.anyio) run on asyncio, the loop the bot runs on."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_bot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real token can leak into a test, and no test sees another's settings."""
    for key in list(os.environ):
        if key.startswith(PREFIXES) or key == "PORT":
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def slack() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="session")
def liveperson() -> Iterator[SimulatedLivePerson]:
    with SimulatedLivePerson() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="session")
def livechat() -> Iterator[SimulatedLiveChat]:
    """A LiveChat license answering the Reports API document's example payloads."""
    with SimulatedLiveChat() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def maestroqa() -> Iterator[SimulatedMaestroQA]:
    """MaestroQA's CSAT bulk ingestion with its limits and a ledger; a fresh one per module."""
    with SimulatedMaestroQA() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def bot(
    slack: SimulatedSlack, liveperson: SimulatedLivePerson, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "BOT_VENDOR_TIMEOUT": "2",
        **liveperson.env(),
    }
    running = RunningBot(env, tmp_path_factory.mktemp("bot"))
    yield running
    running.stop()
