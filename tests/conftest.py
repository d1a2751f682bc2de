"""Shared fixtures: a clean environment for every test, loopback fakes, a running bot.

Every test that starts a process is marked `e2e` (everything under tests/e2e/ is, by
its folder), so `python3 dev.py test --fast` can leave them out; a test that starts a
process without the mark fails, so the mark cannot be forgotten.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.db import open_db
from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.maestroqa import SimulatedMaestroQA
from tests.fakes.process import PREFIXES, SECRET, RunningBot

E2E = Path(__file__).parent / "e2e"
PROCESS_FIXTURES = {"bot", "fresh_bot"}  # shared fixtures that start `python -m bot serve`


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        uses = PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses and item.get_closest_marker("e2e") is None:
            # a module-scoped fixture starts its process before the guard below can see it
            raise pytest.UsageError(f"{item.nodeid} starts a process ({uses.pop()}): mark it e2e")


@pytest.fixture(scope="session", autouse=True)
def _font_cache() -> None:
    """matplotlib runs `fc-list` the first time it loads on a machine, to list its fonts:
    done here, before the guard below is in place, so a test that draws a chart passes on
    a fresh machine whatever ran before it."""
    import matplotlib.font_manager  # noqa: F401


@pytest.fixture(autouse=True)
def _processes_only_in_e2e(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that starts a process must say so (`e2e`): `--fast` skips those."""
    if request.node.get_closest_marker("e2e") is not None:
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("this test starts a process: mark it pytest.mark.e2e")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


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


@pytest.fixture(autouse=True)
def _no_faults_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults a test queued on a shared simulator and did not use end with the test."""
    yield
    for name in ("slack", "liveperson", "livechat"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            server.faults.clear()
            server.delay = 0.0
            for refused in ("refused_collections", "refused_actions"):  # directory privileges
                getattr(server, refused, set()).clear()


@pytest.fixture
def fresh_db() -> Iterator[Database]:
    """A migrated database in memory."""
    db = open_db(":memory:")
    yield db
    db.close()


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


def _serve(
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


@pytest.fixture(scope="module")
def bot(
    slack: SimulatedSlack, liveperson: SimulatedLivePerson, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """`python -m bot serve` against LivePerson, shared by a module's tests: for tests whose
    outcome does not depend on what the bot has cached (no vendor call, or content only)."""
    yield from _serve(slack, liveperson, tmp_path_factory)


@pytest.fixture
def fresh_bot(
    slack: SimulatedSlack, liveperson: SimulatedLivePerson, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """The same, for one test: its own process and bucket cache, for tests that count vendor
    calls or inject faults, so nothing an earlier test asked for is already cached."""
    yield from _serve(slack, liveperson, tmp_path_factory)
