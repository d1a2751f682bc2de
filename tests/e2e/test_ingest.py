"""Survey responses in, MaestroQA out: `python -m bot serve` with real HTTP on loopback.

A survey tool posts MaestroQA's bulk body to the bot; `/csat ingested` reads what was
stored; detractors reach the alerts channel grouped; every accepted response reaches the
simulated MaestroQA (which enforces its limits) once, even when the bot is killed with
a batch in flight.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.demo.sim.slack import SimulatedSlack, sign
from bot.timefmt import iso_ms
from tests.fakes.maestroqa import SimulatedMaestroQA
from tests.fakes.process import ROOT, SECRET, RunningBot, clean_env

PATH = "/api/v1/create-customer-feedback"
TOKEN = "survey-tool-token"
ALERTS = "C0DETRACT"
CONFIG = f'[alerts]\nchannel = "{ALERTS}"\nmention = "<!subteam^S0LEADS>"\n'
_tickets = itertools.count(1)


def response(**fields: Any) -> dict[str, Any]:
    """A survey response as a tool sends it, submitted an hour ago, with a fresh ticket."""
    moment = datetime.now(UTC) - timedelta(hours=1) + timedelta(milliseconds=next(_tickets))
    return {"submitted_at": iso_ms(moment), "ticket_id": f"E2E-{next(_tickets)}",
            "agent_id": "4242", "score": 4, **fields}  # fmt: skip


def key(item: dict[str, Any]) -> tuple[str, str]:
    return item["ticket_id"], item["submitted_at"]


def env(slack: SimulatedSlack, maestroqa: SimulatedMaestroQA, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "BOT_INGEST_TOKEN": TOKEN,
        "BOT_VENDOR_TIMEOUT": "2",
        **maestroqa.env(),
        **extra,
    }


@pytest.fixture(scope="module")  # the ingested source reads the database: no cache
def hub(
    slack: SimulatedSlack, maestroqa: SimulatedMaestroQA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    running = RunningBot(env(slack, maestroqa), tmp_path_factory.mktemp("hub"), config=CONFIG)
    yield running
    running.stop()


def post(bot: RunningBot, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"apiToken": TOKEN} if headers is None else headers
    if isinstance(body, bytes):
        return bot.http.post(PATH, content=body, headers=headers)
    return bot.http.post(PATH, json=body, headers=headers)


def count_stored(bot: RunningBot) -> int:
    db = sqlite3.connect(_db(bot))
    try:
        return int(db.execute("select count(*) from responses").fetchone()[0])
    finally:
        db.close()


def waiting(db_path: str) -> int:
    """Outbox rows not yet settled (pending or in flight)."""
    db = sqlite3.connect(db_path)
    try:
        sql = "select count(*) from outbox where status in ('pending', 'sending')"
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def _db(bot: RunningBot) -> str:
    return str(bot.log.parent / "bot.db")


def test_healthz_offers_the_ingested_source(hub: RunningBot) -> None:
    assert hub.http.get("/healthz").json()["sources"] == ["ingested"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"apiToken": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}],
)
def test_a_wrong_or_missing_token_is_401_and_nothing_is_stored(
    hub: RunningBot, headers: dict[str, str]
) -> None:
    before = count_stored(hub)
    answer = post(hub, {"data": [response()]}, headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing or wrong apiToken"
    assert count_stored(hub) == before


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"<xml/>", 400, "the body is not JSON"),
        ({"responses": []}, 400, 'the body needs a "data" list of survey responses'),
        ({"data": [response() for _ in range(101)]}, 400, "at most 100 items per request"),
        (b'{"data": [' + b'"x",' * 400_000 + b'"x"]}', 413, "larger than 1048576 bytes"),
    ],
    ids=["not-json", "no-data", "101-items", "too-large"],
)
def test_bad_bodies_are_refused_whole(hub: RunningBot, body: Any, status: int, error: str) -> None:
    before = count_stored(hub)
    answer = post(hub, body)
    assert answer.status_code == status
    assert error in answer.json()["error"]
    assert count_stored(hub) == before


def test_mixed_items_then_a_resend_updates_and_maestroqa_gets_each_once(
    hub: RunningBot, maestroqa: SimulatedMaestroQA
) -> None:
    good, refused = response(score=5), response(ticket_id="E2E-REFUSED")
    maestroqa.refuse["E2E-REFUSED"] = "agent not found"
    answer = post(hub, {"data": [good, response(score=6), response(agent_id=None), refused]},
                  {"APITOKEN": TOKEN})  # fmt: skip
    assert answer.status_code == 201
    body = answer.json()
    assert (body["status"], body["total"]) == ("completed", 4)
    first, bad_score, no_agent, last = body["results"]
    assert first == {"action": "create", "_id": first["_id"], "status": "Created", "success": True}
    assert bad_score == {"action": "create", "status": "Failed: score 6 is outside 1..5",
                         "success": False}  # fmt: skip
    assert no_agent["status"] == "Failed: agent_id or agent_email is required"
    assert last["success"] is True
    maestroqa.wait_stored(len(maestroqa.stored) + 1)
    deadline = time.monotonic() + 10
    while maestroqa.arrivals[key(refused)] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    # the tool sends the same response again (a retry after a lost answer): an update
    again = post(hub, {"data": [{**good, "comment": "still great"}]},
                 {"Authorization": f"Bearer {TOKEN}"}).json()["results"][0]  # fmt: skip
    assert again == {"action": "update", "_id": first["_id"], "status": "Updated", "success": True}
    barrier = response()  # forwarded after the re-send would have been, oldest first
    post(hub, {"data": [barrier]})
    deadline = time.monotonic() + 10
    while key(barrier) not in maestroqa.stored and time.monotonic() < deadline:
        time.sleep(0.05)
    assert maestroqa.arrivals[key(good)] == 1
    assert maestroqa.creates[key(good)] == 1
    assert maestroqa.arrivals[key(refused)] == 1  # refused once, never retried on its own
    assert key(refused) not in maestroqa.stored
    outbox = run_bot("outbox", db=_db(hub))
    assert outbox.returncode == 0, outbox.stderr
    assert "failed 1" in outbox.stdout
    assert "ticket E2E-REFUSED submitted" in outbox.stdout
    assert "Failed: agent not found" in outbox.stdout


def run_bot(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
        env=clean_env(BOT_DB=db, BOT_CONFIG="/nonexistent/bot.toml"), timeout=60,
    )  # fmt: skip


def answer_to(slack: SimulatedSlack, url: str) -> dict[str, Any]:
    slack.wait_for(url.removeprefix(slack.url))
    (call,) = slack.responses(url)
    return call.json()


def test_csat_ingested_shows_the_stored_distribution(
    hub: RunningBot, slack: SimulatedSlack
) -> None:
    agent = "880001"
    scores = [(10, 0, 10), (9, 0, 10), (6, 0, 10), (0, 0, 10), (7, 1, 7)]  # -> 5, 5, 3, 1, 5
    items = [response(agent_id=agent, score=s, min_score=lo, max_score=hi) for s, lo, hi in scores]
    items.append(response(agent_id=agent, submitted_at="2020-01-01T00:00:00Z"))  # too old
    assert post(hub, {"data": items}).status_code == 201
    ack, url = hub.command(slack, f"ingested agent {agent} 7d")
    assert "Asking Ingested surveys for CSAT · agent 880001 · last 7d" in ack.json()["text"]
    message = answer_to(slack, url)
    assert message["blocks"][0]["text"]["text"] == "CSAT · agent 880001 · last 7d"
    summary = message["blocks"][1]["text"]["text"]
    assert "*60.0%* satisfied (4–5) · *5* answers" in summary
    lines = {line.split()[0]: line.split()[-2] for line in summary.split("```")[1].splitlines()}
    assert lines == {"5": "3", "4": "0", "3": "1", "2": "0", "1": "1"}
    ack, _ = hub.command(slack, "ingested", command="/agent-states")
    assert "CSAT only" in ack.json()["text"]


def test_detractors_reach_the_alerts_channel_grouped(
    hub: RunningBot, slack: SimulatedSlack
) -> None:
    before = len(slack.posts(ALERTS))
    first = [response(score=1, comment="Nobody answered for an hour", agent_id="5001"),
             response(score=1, comment="", agent_id="5002"),  # no comment: not a detractor
             response(score=0, min_score=0, max_score=10, comment="Rude <agent>")]  # fmt: skip
    second = [response(score=1, min_score=1, max_score=7, comment="Never again")]
    sent = time.monotonic()
    assert post(hub, {"data": first}).status_code == 201
    assert post(hub, {"data": second}).status_code == 201
    deadline = sent + 15
    while len(slack.posts(ALERTS)) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    arrived = time.monotonic() - sent
    posts = slack.posts(ALERTS)[before:]
    assert len(posts) == 1, "a burst is one message"
    assert arrived < 8, f"took {arrived:.1f}s"
    text = str(posts[0]["blocks"])
    for item in (first[0], first[2], second[0]):
        assert item["ticket_id"] in text
    assert first[1]["ticket_id"] not in text
    assert "3 unhappy customers" in posts[0]["text"]
    assert "<!subteam^S0LEADS>" in text
    assert "Rude &lt;agent&gt;" in text
    time.sleep(1.0)
    assert len(slack.posts(ALERTS)) == before + 1


def test_kill_9_mid_forwarding_then_every_response_arrives_once(
    slack: SimulatedSlack, tmp_path: Path
) -> None:
    """MaestroQA throttles, fails, then holds a batch while the bot is killed; a new
    process on the same database finishes. MaestroQA holds every accepted response once;
    only the batch in flight at the kill crossed the wire twice, as an update."""
    with SimulatedMaestroQA() as mqa:
        db = str(tmp_path / "shared.db")
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = RunningBot(env(slack, mqa, BOT_DB=db), tmp_path / "a")
        mqa.fail(PATH, status=429, times=2, headers={"Retry-After": "1"})
        mqa.fail(PATH, status=503, times=1)
        accepted: set[tuple[str, str]] = set()
        for _ in range(20):
            items = [response(agent_id=str(6000 + i)) for i in range(100)]
            answer = post(first, {"data": items})
            assert answer.status_code == 201
            assert all(r["success"] for r in answer.json()["results"])
            accepted |= {key(i) for i in items}
        mqa.wait_stored(500, timeout=30)
        mqa.pause()  # the next batch is held: MaestroQA has it, the bot has no answer yet
        mqa.wait_held(1)
        first.proc.kill()
        first.proc.wait(10)
        first.http.close()
        assert len(mqa.stored) < len(accepted), "the kill came mid-forwarding"
        mqa.resume()  # MaestroQA finishes the request whose client died, as servers do
        second = RunningBot(env(slack, mqa, BOT_DB=db), tmp_path / "b")
        try:
            mqa.wait_stored(len(accepted), timeout=60)
            deadline = time.monotonic() + 30  # the held batch's lease runs out, then it goes
            while waiting(db) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            second.stop()
        assert set(mqa.stored) == accepted
        assert all(mqa.creates[k] == 1 for k in accepted), "each response created once"
        twice = {k for k, n in mqa.arrivals.items() if n > 1}
        assert twice == set(mqa.updates), "re-sent ones were taken as updates"
        assert len(twice) == 100, "only the batch in flight at the kill went twice"
        assert all(mqa.arrivals[k] == 1 for k in accepted - twice)
        assert mqa.over_limit == 0, "the bot kept to 10/s and 100/min, across the restart"
        outbox = run_bot("outbox", db=db)
        assert "pending 0  sending 0  sent 2000  failed 0" in outbox.stdout


LOOP = "C0LOOP"
LOOP_CONFIG = f"""
[alerts]
channel = "{LOOP}"
mention = "<!subteam^S0LEADS>"

[detractors]
mention_every = "1h"

[links]
ticket = "https://help.example/t/{{ticket_id}}"
"""


def interact(bot: RunningBot, payload: dict[str, Any]) -> httpx.Response:
    """A signed interactivity request, as Slack posts it to /slack/events."""
    body = urlencode({"payload": json.dumps({"team": {"id": "T0SIM"}, "api_app_id": "A0BOT",
                                             "token": "x", **payload})})  # fmt: skip
    return bot.http.post("/slack/events", content=body, headers=sign(SECRET, body))


def button(action_id: str, value: str, user: str, ts: str, url: str) -> dict[str, Any]:
    return {
        "type": "block_actions", "user": {"id": user, "name": user.lower()[2:]},
        "trigger_id": "1337.42.abc",
        "response_url": url, "container": {"type": "message", "channel_id": LOOP,
                                           "message_ts": ts},
        "channel": {"id": LOOP}, "message": {"ts": ts, "text": ""},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "detractor-1",
                     "value": value, "action_ts": "1"}],
    }  # fmt: skip


def loop_posts(slack: SimulatedSlack, thread: bool) -> list[dict[str, Any]]:
    return [p for p in slack.posts(LOOP) if bool(p.get("thread_ts")) is thread]


def loop_updates(slack: SimulatedSlack) -> list[dict[str, Any]]:
    return [c.data() for c in slack.calls_to("/api/chat.update") if c.data()["channel"] == LOOP]


def query(bot: RunningBot, sql: str, *args: Any, all: bool = False) -> Any:
    """One row (or `all` of them) of the bot's database, read beside it."""
    db = sqlite3.connect(_db(bot))
    try:
        cursor = db.execute(sql, args)
        return cursor.fetchall() if all else cursor.fetchone()
    finally:
        db.close()


def wait_until(found: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := found()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert value, what
    return value


def test_detractors_are_taken_and_handled_from_their_message(
    slack: SimulatedSlack, maestroqa: SimulatedMaestroQA, tmp_path: Path
) -> None:
    bot = RunningBot(env(slack, maestroqa), tmp_path, config=LOOP_CONFIG)
    try:
        burst = [response(score=1, comment="Nobody answered <!channel>", agent_id="5001"),
                 response(score=1, comment="Rude\x00 agent \ud83d", agent_id="5002")]  # fmt: skip
        assert post(bot, json.dumps({"data": burst}).encode()).status_code == 201  # \ud83d: escaped
        (message,) = wait_until(lambda: loop_posts(slack, False), "the burst was posted")
        blocks = json.dumps(message["blocks"])
        assert "<!subteam^S0LEADS>" in blocks and "&lt;!channel&gt;" in blocks
        actions = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [e["action_id"] for e in actions] == ["detractor_take", "detractor_handled"] * 2
        first = actions[0]["value"]
        assert f"<https://help.example/t/{burst[0]['ticket_id']}|" in blocks

        sql = "select message_ts from responses where id = ? and message_ts is not null"
        (ts,) = wait_until(lambda: query(bot, sql, first), "the message was recorded")
        updates = len(loop_updates(slack))

        # "I'll take it": the message redrawn, one line in its thread
        taken = interact(bot, button("detractor_take", first, "U0ANA", ts, slack.response_url()))
        assert (taken.status_code, taken.text) == (200, "")
        redrawn = wait_until(lambda: loop_updates(slack)[updates:], "the take was redrawn")[-1]
        assert redrawn["ts"] == ts
        assert "taken by <@U0ANA>" in json.dumps(redrawn["blocks"])
        (line,) = wait_until(lambda: loop_posts(slack, True), "the take was told in the thread")
        assert line["thread_ts"] == ts and not line.get("reply_broadcast")
        assert line["text"].startswith(":raising_hand: ana took ticket ")  # named: no ping
        assert "<!" not in line["text"]

        # "Handled": a modal, then its submission
        opened = len(slack.calls_to("/api/views.open"))
        handled = interact(bot, button("detractor_handled", first, "U0BEN", ts,
                                       slack.response_url()))  # fmt: skip
        assert handled.status_code == 200
        call = slack.wait_for("/api/views.open", opened + 1)[-1].data()
        view = call["view"] if isinstance(call["view"], dict) else json.loads(call["view"])
        assert (call["trigger_id"], view["callback_id"], view["private_metadata"]) == (
            "1337.42.abc", "detractor_handled", first)  # fmt: skip
        note = {"note": {"note": {"type": "plain_text_input", "value": "Called back <!here>"}}}
        submitted = {"type": "view_submission", "user": {"id": "U0BEN", "name": "ben"},
                     "view": {**view, "id": "V0MODAL", "state": {"values": note}}}  # fmt: skip
        answer = interact(bot, submitted)
        assert (answer.status_code, answer.text) == (200, "")
        done = wait_until(
            lambda: [u for u in loop_updates(slack) if "handled by" in json.dumps(u["blocks"])],
            "the handled click was redrawn",
        )[-1]
        shown = json.dumps(done["blocks"], ensure_ascii=False)
        assert "taken by <@U0ANA> · handled by <@U0BEN> at <!date^" in shown
        assert "Called back &lt;!here&gt;" in shown
        lines = wait_until(lambda: loop_posts(slack, True)[1:], "handled, in the thread")
        assert lines[0]["text"].startswith(":white_check_mark: ben handled ticket ")
        events = query(bot, "select user, action, note from detractor_events order by id", all=True)
        assert events == [("U0ANA", "take", ""), ("U0BEN", "handled", "Called back <!here>")]

        # "Handled" again, from an older modal: kept as it was, the second person told
        ephemerals = len(slack.calls_to("/api/chat.postEphemeral"))
        again = {**submitted, "user": {"id": "U0CAT"}}
        assert interact(bot, again).status_code == 200
        told = slack.wait_for("/api/chat.postEphemeral", ephemerals + 1)[-1]
        assert (told.data()["user"], told.data()["channel"]) == ("U0CAT", LOOP)
        assert "Already handled by <@U0BEN>" in told.data()["text"]

        # a forged value: a short answer to the clicker only
        url = slack.response_url()
        forged = interact(bot, button("detractor_take", "not-a-response", "U0ANA", ts, url))
        assert forged.status_code == 200
        refused = answer_to(slack, url)
        assert "not one this bot knows" in refused["text"]
        assert (refused["response_type"], refused["replace_original"]) == ("ephemeral", False)

        # a second burst within the hour: posted, without calling the leads in again
        assert post(bot, {"data": [response(score=1, comment="Still waiting")]}).status_code == 201
        (second,) = wait_until(lambda: loop_posts(slack, False)[1:], "the second burst")
        later = json.dumps(second["blocks"])
        assert "<!subteam^S0LEADS>" not in later
        assert "(leads were called in at <!date^" in later
        assert "Traceback" not in bot.log.read_text()
    finally:
        bot.stop()
