"""The scheduler in the real process: a missed run is caught up once, a restart adds none."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from tests.fakes.process import SECRET, RunningBot

CHANNEL = "C0E2ESCHEDULER"


@pytest.fixture(scope="module")
def own_slack() -> Iterator[SimulatedSlack]:
    """A Slack for this module alone: every chat.postMessage it sees is this test's."""
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


def wait_for_log(bot: RunningBot, text: str, limit: float = 20.0) -> str:
    """The bot's log once it contains `text` (polled like RunningBot's own readiness)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        log = bot.log.read_text(errors="replace")
        if text in log:
            return log
        if bot.proc.poll() is not None:
            raise RuntimeError(f"bot exited: {log}")
        time.sleep(0.05)
    raise TimeoutError(f"{text!r} not in the log: {bot.log.read_text(errors='replace')}")


def scheduling(slack: SimulatedSlack, liveperson: SimulatedLivePerson) -> dict[str, str]:
    """`serve`'s environment with the scheduler on (RunningBot turns it off unless told)."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "BOT_SCHEDULER": "on",
        **liveperson.env(),
    }


def test_a_missed_run_is_caught_up_once_and_a_restart_adds_none(
    tmp_path: Path, own_slack: SimulatedSlack, liveperson: SimulatedLivePerson
) -> None:
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    config = f"""
timezone = "Europe/Berlin"
default_source = "liveperson"

[[digest]]
name = "e2e-digest"
kind = "csat"
source = "liveperson"
channel = "{CHANNEL}"
cron = "{due.minute} {due.hour} * * *"
timezone = "UTC"
timeframe = "1h"
"""
    env = scheduling(own_slack, liveperson)
    key = f"{due:%Y-%m-%dT%H:%M} UTC"

    first = RunningBot(env, tmp_path, config=config)
    try:
        own_slack.wait_for("/api/chat.postMessage", 1, timeout=30)
        wait_for_log(first, f"digest e2e-digest for {due:%Y-%m-%d %H:%M:%S}+00:00: posted")
        health = first.http.get("/healthz").json()
        assert health["digests"] == ["e2e-digest"]
    finally:
        first.stop()
    first_log = first.log.read_text(errors="replace")
    assert "scheduler: 1 digest(s): e2e-digest" in first_log
    (posted,) = own_slack.posts(CHANNEL)
    assert posted["blocks"][0]["text"]["text"] == "CSAT · e2e-digest · last 1h"

    second = RunningBot(env, tmp_path, config=config)  # the same BOT_DB
    try:
        log = wait_for_log(second, f"digest e2e-digest for {key} already ran; skipping")
        assert "scheduler: 1 digest(s): e2e-digest" in log
        ack, _ = second.command(own_slack, "help")  # the process is alive and answering
        assert ack.status_code == 200
    finally:
        second.stop()
    assert own_slack.posts(CHANNEL) == [posted]
    with sqlite3.connect(tmp_path / "bot.db") as db:
        runs = db.execute("select digest, scheduled_for, status from digest_runs").fetchall()
        snapshots = db.execute("select count(*) from snapshot_runs").fetchone()
    assert runs == [("e2e-digest", key, "posted")]
    assert snapshots == (1,)


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux: /proc)."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its exit status to be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def survivors(pids: list[int], limit: float) -> list[int]:
    """Those of `pids` still running after up to `limit` s; killed, whatever the test says."""
    deadline = time.monotonic() + limit
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_the_digest_process_stops_when_serve_is_killed(
    tmp_path: Path, own_slack: SimulatedSlack, liveperson: SimulatedLivePerson
) -> None:
    """Killed outright (the OOM killer, a platform out of patience), `serve` leaves no
    digest process behind holding memory and the database for nobody."""
    config = f"""
[[digest]]
name = "nightly"
kind = "csat"
channel = "{CHANNEL}"
cron = "0 3 * * *"
timeframe = "24h"
"""
    env = scheduling(own_slack, liveperson)
    bot = RunningBot(env, tmp_path, config=config)
    try:
        wait_for_log(bot, "digest process ready", limit=60)
        digest_process = [pid for pid in children(bot.proc.pid) if alive(pid)]
        assert digest_process, "the digest process did not start"
        bot.proc.kill()
        bot.proc.wait(10)
        left = survivors(digest_process, 20)
    finally:
        bot.stop()
    assert left == [], "the digest process outlived serve"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_a_digest_under_way_when_serve_stops_is_posted_and_its_process_then_exits(
    tmp_path: Path, own_slack: SimulatedSlack
) -> None:
    """uvicorn re-raises SIGTERM once it has shut down: serve exits without waiting for
    the digest process. The digest it was running is still posted and recorded, once."""
    due = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    config = f"""
[[digest]]
name = "caught-up"
kind = "csat"
channel = "{CHANNEL}"
cron = "{due.minute} {due.hour} * * *"
timezone = "UTC"
timeframe = "1h"
"""
    with SimulatedLivePerson() as slow:
        slow.delay = 4.0  # the digest is still waiting for LivePerson when serve stops
        env = scheduling(own_slack, slow)
        before = len(own_slack.posts(CHANNEL))
        calls = len(own_slack.calls_to("/api/chat.postMessage"))
        bot = RunningBot(env, tmp_path, config=config)
        try:
            deadline = time.monotonic() + 60
            while not slow.data_calls("msgcsatdistribution") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert slow.data_calls("msgcsatdistribution"), "the digest never asked LivePerson"
            digest_process = [pid for pid in children(bot.proc.pid) if alive(pid)]
            bot.proc.terminate()  # as a platform stops it
            bot.proc.wait(10)
            assert not alive(bot.proc.pid)
            own_slack.wait_for("/api/chat.postMessage", calls + 1, timeout=30)
            left = survivors(digest_process, 30)
        finally:
            bot.stop()
    assert left == [], "the digest process outlived serve"
    (posted,) = own_slack.posts(CHANNEL)[before:]
    assert posted["blocks"][0]["text"]["text"] == "CSAT · caught-up · last 1h"
    with sqlite3.connect(tmp_path / "bot.db") as db:
        runs = db.execute("select digest, status from digest_runs").fetchall()
    assert runs == [("caught-up", "posted")]
