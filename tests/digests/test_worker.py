"""The digest process: a scheduled digest runs in a child process and posts once."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path

import pytest

from bot import config
from bot.config import Settings
from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.errors import DigestError
from bot.render import Renderer
from bot.worker import DigestWorker, _warm
from tests.digests.test_run import MONDAY_9, config_text

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]  # it starts a process


def settings(tmp: Path, slack: SimulatedSlack, liveperson: SimulatedLivePerson) -> Settings:
    """A deployment with the `csat-daily` digest posting to C0DIGEST."""
    (tmp / "bot.toml").write_text(config_text("C0DIGEST"), encoding="utf-8")
    env = {**liveperson.env(), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url,
           "BOT_CONFIG": str(tmp / "bot.toml"), "BOT_DB": str(tmp / "bot.db")}  # fmt: skip
    return config.load(env)


async def test_a_digest_runs_in_the_child_and_its_failure_comes_back_as_words(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    with SimulatedSlack() as slack:
        worker = DigestWorker(settings(tmp_path, slack, liveperson))
        try:
            outcome = await worker.run("csat-daily", MONDAY_9)
            again = await worker.run("csat-daily", MONDAY_9)
            with pytest.raises(DigestError, match="No digest named 'nope'"):
                await worker.run("nope", MONDAY_9)
        finally:
            worker.shutdown()
    assert outcome.status == "posted" and outcome.ts
    assert again.status == "skipped"  # claimed in the shared database: posted once
    assert len(slack.posts("C0DIGEST")) == 1
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("select status from digest_runs").fetchall() == [("posted",)]


async def test_a_digest_process_that_dies_is_replaced_for_the_next_run(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    with SimulatedSlack() as slack:
        worker = DigestWorker(settings(tmp_path, slack, liveperson))
        try:
            worker.start()
            assert worker._pool is not None
            dying = worker._pool.submit(os._exit, 9)  # the child goes, as if killed
            with pytest.raises(BrokenProcessPool):
                dying.result(60)
            with pytest.raises(DigestError, match="digest process stopped"):
                await worker.run("csat-daily", MONDAY_9)
            outcome = await worker.run("csat-daily", MONDAY_9 + timedelta(days=1))
        finally:
            worker.shutdown()
    assert outcome.status == "posted"


class _Parts:
    """What `_warm` reads of the child's parts: the digests' renderer."""

    def __init__(self, renderer: Renderer) -> None:
        self.digests = type("D", (), {"renderer": renderer})()


def test_the_child_compiles_the_digests_templates_before_the_first_digest(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    with SimulatedSlack() as slack:
        found = settings(tmp_path, slack, liveperson)
    renderer = Renderer()
    _warm(_Parts(renderer), found)
    names = {d.template_file for d in found.digests}
    assert names and names <= {key[1] for key in renderer.env.cache}  # type: ignore[union-attr]


def test_a_template_that_does_not_compile_leaves_the_child_starting(
    tmp_path: Path, liveperson: SimulatedLivePerson, caplog: pytest.LogCaptureFixture
) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    with SimulatedSlack() as slack:
        found = settings(tmp_path, slack, liveperson)
    (own / found.digests[0].template_file).write_text("{% if %}", encoding="utf-8")
    _warm(_Parts(Renderer(own)), found)  # no exception: the digest will say what is wrong
    assert "preparing the templates failed" in caplog.text
