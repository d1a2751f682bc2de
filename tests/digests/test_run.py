"""Digests end to end, in process: TOML -> build_parts -> vendor simulators -> simulated Slack.

Each run builds its parts anew, the way `python -m bot digest` or a new morning's process
does, so the vendor is asked again (no bucket cache carried over).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import config, slack
from bot.app import Parts, build_parts
from bot.check.samples import agent_states_report
from bot.demo.sim.livechat import SimulatedLiveChat
from bot.demo.sim.liveperson import (
    AGENTS,
    SKILLS,
    SimulatedLivePerson,
    agent_states,
    csat_counts,
    metrics,
)
from bot.demo.sim.slack import SimulatedSlack
from bot.digests import run as run_module
from bot.digests.attachments import table
from bot.digests.run import Outcome
from bot.errors import DigestError
from bot.render.words import builtin
from bot.slack import Poster
from bot.snapshots.rows import states_rows
from tests.fakes.clock import FakeClock
from tests.words import delta_duration, duration, pct, points

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_9 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def config_text(channel: str, **digest: str) -> str:
    """The contract's example configuration, posting to `channel`, with `digest` changes."""
    fields = {"name": "csat-daily", "kind": "csat", "source": "liveperson", "channel": channel,
              "cron": "0 9 * * 1-5", "skills": "all", "timeframe": "24h", **digest}  # fmt: skip
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in fields.items() if value)
    return f"""
timezone = "Europe/Berlin"          # default zone for schedules and "yesterday"
default_source = "liveperson"       # liveperson | livechat | ingested

[[digest]]
{body}

[alerts]
channel = "C0LEADS00"
mention = "<!subteam^S0LEADS>"
min_answers = 20
"""


@pytest.fixture(scope="module")
def sim_slack() -> Iterator[SimulatedSlack]:
    with SimulatedSlack() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def lp(liveperson: SimulatedLivePerson) -> Iterator[SimulatedLivePerson]:
    """The shared simulated LivePerson, put back as it was after each test."""
    yield liveperson
    liveperson.overrides.clear()
    liveperson.shift = {}
    liveperson.day = 0


@pytest.fixture
def pace(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Every Poster build_parts makes paces on a fake clock: no real second-long waits."""
    time = FakeClock(1000.0)
    real = Poster
    monkeypatch.setattr(
        slack, "Poster", lambda web: real(web, monotonic=time.monotonic, sleep=time.sleep)
    )
    return time


class Deployment:
    """One configuration, database and environment; `run` is one process running a digest."""

    def __init__(self, tmp: Path, text: str, env: dict[str, str]) -> None:
        (tmp / "bot.toml").write_text(text, encoding="utf-8")
        self.db = tmp / "bot.db"
        self.env = {**env, "BOT_CONFIG": str(tmp / "bot.toml"), "BOT_DB": str(self.db)}

    async def run(self, name: str, scheduled: datetime | None = None, **kw: Any) -> Outcome:
        parts = self.parts()
        try:
            return await parts.digests.run(name, scheduled, **kw)
        finally:
            await parts.aclose()

    def parts(self) -> Parts:
        return build_parts(config.load(self.env))

    def query(self, sql: str) -> list[dict[str, Any]]:
        parts = self.parts()
        try:
            return parts.store.sync(lambda db: list(db.query(sql)))
        finally:
            parts.store.close()


def deployment(
    tmp: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, channel: str, **digest: str
) -> Deployment:
    env = {**lp.env(), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": sim_slack.api_url}
    return Deployment(tmp, config_text(channel, **digest), env)


def attachments(sim: SimulatedSlack, channel: str) -> list[dict[str, Any]]:
    """Files uploaded to `channel`: name, thread and content (files_upload_v2's 3 calls)."""
    names = {
        f"F{i:05d}": c.data()["filename"]
        for i, c in enumerate(sim.calls_to("/api/files.getUploadURLExternal"), start=1)
    }
    bodies = {c.path.removeprefix("/upload/"): c.body for c in sim.uploads()}
    found = []
    for call in sim.calls_to("/api/files.completeUploadExternal"):
        data = call.data()
        if data.get("channel_id") != channel:
            continue
        for file in json.loads(data["files"]):
            found.append({"filename": names[file["id"]], "thread_ts": data.get("thread_ts"),
                          "content": bodies[file["id"]]})  # fmt: skip
    return found


def section_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def context_texts(message: dict[str, Any]) -> list[str]:
    return [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]


def skill_score(skill: str, timeframe: int, shift: float = 0.0) -> tuple[int, int]:
    """(positive, total) the simulation gives one skill."""
    rows = [csat_counts(a, skill, timeframe, 0, shift) for a in AGENTS[skill]]
    return sum(r["positive_answers"] for r in rows), sum(r["total_answers"] for r in rows)


LINE = re.compile(r"`\s*(\S+)\s+(new|[▲▼] [\d.]+|= 0\.0)\s+([\d,]+)`  (.+)")


def line_for(message: dict[str, Any], name: str) -> tuple[str, str, str]:
    """(score, change, answers) of one entity's line in a CSAT digest."""
    found = [
        LINE.fullmatch(line) for text in section_texts(message) for line in text.splitlines()
        if line.endswith(f"  {name}")
    ]  # fmt: skip
    assert len(found) == 1 and found[0] is not None, found
    score, change, answers, _ = found[0].groups()
    return score, change, answers


# --- CSAT -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_csat_digest_posts_stores_and_compares_with_the_previous_run(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0DIGESTCSAT"
    setup = deployment(tmp_path, sim_slack, lp, channel)

    first = await setup.run("csat-daily", MONDAY_9)
    (posted,) = sim_slack.posts(channel)
    assert first.status == "posted"
    assert posted["blocks"] == first.message["blocks"]  # type: ignore[index]
    assert posted["blocks"][0]["text"]["text"] == "CSAT · csat-daily · last 24h"
    assert "the first digest: nothing to compare with yet" in context_texts(posted)[0]
    skills = [s for s in AGENTS if s != "-1"]
    for skill in [*skills, "-1"]:
        positive, total = skill_score(skill, 1440)
        name = SKILLS[skill]  # named by the simulated account's directory
        assert line_for(posted, name) == (pct(positive / total), "new", f"{total:,}")
    runs = setup.query("select * from snapshot_runs")
    assert [(r["series"], r["source"], r["kind"], r["scope"], r["digest"]) for r in runs] == [
        ("digest:csat-daily", "liveperson", "csat", "skill", "csat-daily")
    ]
    rows = setup.query("select entity_kind, entity_id, answers, positive from snapshots")
    positive, total = map(sum, zip(*(skill_score(s, 1440) for s in AGENTS), strict=True))
    assert {(r["entity_kind"], r["entity_id"]): (r["positive"], r["answers"]) for r in rows
            if r["entity_kind"] in ("total", "skill")} == {
        ("total", ""): (positive, total),
        **{("skill", s): skill_score(s, 1440) for s in AGENTS},
    }  # fmt: skip
    files = attachments(sim_slack, channel)
    assert [(a["filename"], a["thread_ts"], a["content"][:4]) for a in files] == [
        ("csat-daily-answers.png", first.ts, b"\x89PNG"),
    ]

    # Tuesday: skill 11's customers are happier, skill 12's less happy, the rest as before
    shift = {"11": 0.2, "12": -0.25}
    lp.shift = shift
    second = await setup.run("csat-daily", MONDAY_9 + timedelta(days=1))
    assert second.status == "posted"
    (_, again) = sim_slack.posts(channel)
    for skill in skills:
        p1, t1 = skill_score(skill, 1440)
        p2, t2 = skill_score(skill, 1440, shift.get(skill, 0.0))
        change = points((p2 / t2 - p1 / t1) * 100)
        assert line_for(again, SKILLS[skill]) == (pct(p2 / t2), change, f"{t2:,}")
    assert line_for(again, "Billing")[1].startswith("▲ ")
    assert line_for(again, "Orders")[1].startswith("▼ ")
    assert line_for(again, "Returns")[1] == "= 0.0"
    p2, t2 = map(sum, zip(*(skill_score(s, 1440, shift.get(s, 0.0)) for s in AGENTS), strict=True))
    summary = section_texts(again)[0]
    assert summary.startswith(f"*{pct(p2 / t2)}* satisfied (4–5) · *{t2:,}* answers · "
                              f"*{points((p2 / t2 - positive / total) * 100, ' pts')}* "
                              "since the previous digest")  # fmt: skip
    previous = datetime.fromisoformat(runs[0]["taken_at"]).astimezone(BERLIN)
    assert f"compared with the digest of {previous:%a %d %b %H:%M}" in context_texts(again)[0]
    assert len(setup.query("select id from snapshot_runs")) == 2
    in_thread = [(a["filename"], a["thread_ts"], a["content"][:4])
                 for a in attachments(sim_slack, channel)[1:]]  # fmt: skip
    assert sorted(in_thread) == [
        ("csat-daily-answers.png", second.ts, b"\x89PNG"),
        ("csat-daily-trend.png", second.ts, b"\x89PNG"),
    ]
    assert setup.query("select scheduled_for, status, channel, message_ts from digest_runs") == [
        {"scheduled_for": "2026-03-02T09:00 Europe/Berlin", "status": "posted",
         "channel": channel, "message_ts": first.ts},
        {"scheduled_for": "2026-03-03T09:00 Europe/Berlin", "status": "posted",
         "channel": channel, "message_ts": second.ts},
    ]  # fmt: skip
    assert pace.sleeps and all(s == 1.0 for s in pace.sleeps)  # post, then files, a second apart


@pytest.mark.anyio
async def test_after_a_post_slack_refused_the_digest_compares_with_what_people_saw(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    """Tuesday's snapshot is kept (and the alerts see it), but nobody saw Tuesday's digest:
    Wednesday's changes are since Monday's, not '= 0.0' since Tuesday's."""
    channel = "C0DIGESTSEEN"
    setup = deployment(tmp_path, sim_slack, lp, channel)
    monday = await setup.run("csat-daily", MONDAY_9)
    lp.shift = {"12": -0.25}
    sim_slack.fail("/api/chat.postMessage", 200, {"ok": False, "error": "is_archived"})
    with pytest.raises(DigestError):
        await setup.run("csat-daily", MONDAY_9 + timedelta(days=1))
    wednesday = await setup.run("csat-daily", MONDAY_9 + timedelta(days=2))
    assert wednesday.status == "posted"
    seen = sim_slack.posts(channel)[-1]  # the refused one was asked for too
    p1, t1 = skill_score("12", 1440)
    p3, t3 = skill_score("12", 1440, -0.25)
    assert line_for(seen, "Orders")[1] == points((p3 / t3 - p1 / t1) * 100)
    assert line_for(seen, "Orders")[1].startswith("▼ ")
    snapshots = setup.query("select id, taken_at from snapshot_runs order by id")
    assert len(snapshots) == 3  # Tuesday's was stored all the same
    shown = datetime.fromisoformat(snapshots[0]["taken_at"]).astimezone(BERLIN)
    assert f"compared with the digest of {shown:%a %d %b %H:%M}" in context_texts(seen)[0]
    assert setup.query("select status, snapshot_run_id, message_ts from digest_runs") == [
        {"status": "posted", "snapshot_run_id": snapshots[0]["id"], "message_ts": monday.ts},
        {"status": "failed", "snapshot_run_id": snapshots[1]["id"], "message_ts": ""},
        {"status": "posted", "snapshot_run_id": snapshots[2]["id"], "message_ts": wednesday.ts},
    ]


def big_account(skills: int) -> dict[str, Any]:
    """msgcsatdistribution for `skills` skills, in LivePerson's sample-dashboard shape."""
    per_skill = {
        str(1000 + i): {"metricsTotals": metrics([i % 3, i % 2, 1, i % 7, 5 + i % 11])}
        for i in range(skills)
    }
    totals = metrics([sum(s["metricsTotals"][f"csat_score{k}_answers"] for s in per_skill.values())
                      for k in range(1, 6)])  # fmt: skip
    return {"skillsMetricsPerAgent": {"metricsPerSkill": per_skill, "metricsTotals": totals}}


@pytest.mark.anyio
async def test_a_large_account_fits_one_message_and_attaches_the_full_table(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0DIGESTBIG"
    lp.overrides["msgcsatdistribution"] = big_account(500)
    setup = deployment(tmp_path, sim_slack, lp, channel)
    outcome = await setup.run("csat-daily", MONDAY_9)
    (posted,) = sim_slack.posts(channel)
    assert len(posted["blocks"]) <= 50
    assert all(len(text) <= 3000 for text in section_texts(posted))
    shown = [line for text in section_texts(posted)[2:] for line in text.splitlines()]
    assert len(shown) == 15  # the top entities, most answers first
    assert "…and 485 more with fewer answers: the full table is in the thread." in context_texts(
        posted
    )
    (table,) = [a for a in attachments(sim_slack, channel) if a["filename"] == "csat-daily.csv"]
    assert table["thread_ts"] == outcome.ts
    lines = table["content"].decode().splitlines()
    assert len(lines) == 1 + 1 + 500  # header, total, every skill
    rows = list(csv.DictReader(io.StringIO(table["content"].decode())))
    assert {row["entity_id"] for row in rows} == {""} | {str(1000 + i) for i in range(500)}
    # names in the words a person reads, though the store keeps only ids
    assert (rows[0]["entity_name"], rows[1]["entity_name"]) == ("Total", "Skill 1000")
    assert list(rows[0]) == ["entity_kind", "entity_id", "entity_name", "answers", "score_pct",
                             "s1", "s2", "s3", "s4", "s5"]  # fmt: skip
    # skill 1000 answered [0, 0, 1, 0, 5]: 5 of 6 satisfied
    assert (rows[1]["answers"], rows[1]["score_pct"]) == ("6", "83.3")
    assert outcome.rows == 501


@pytest.mark.anyio
async def test_a_small_account_gets_no_table_file(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0DIGESTSMALL"
    await deployment(tmp_path, sim_slack, lp, channel).run("csat-daily", MONDAY_9)
    (posted,) = sim_slack.posts(channel)
    assert not any("more" in text for text in context_texts(posted))
    assert [a["filename"] for a in attachments(sim_slack, channel)] == ["csat-daily-answers.png"]


@pytest.mark.anyio
async def test_a_livechat_digest(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, livechat: SimulatedLiveChat,
    pace: FakeClock,
) -> None:  # fmt: skip
    channel = "C0DIGESTLC"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="livechat-daily", source="livechat",
                       skills="", timeframe="7d")  # fmt: skip
    setup.env |= livechat.env()
    outcome = await setup.run("livechat-daily", MONDAY_9)
    (posted,) = sim_slack.posts(channel)
    assert outcome.status == "posted"
    assert posted["blocks"][0]["text"]["text"] == "CSAT · livechat-daily · last 7d"
    assert section_texts(posted)[0].startswith("*65.3%* good · *49* rated chats")  # 32 good, 17 bad
    assert context_texts(posted)[0].startswith("LiveChat · ")
    rows = setup.query(
        "select entity_kind, good, bad, chats from snapshots where entity_kind = 'total'"
    )
    assert rows == [{"entity_kind": "total", "good": 32, "bad": 17, "chats": 83}]
    assert [(a["filename"], a["content"][:4]) for a in attachments(sim_slack, channel)] == [
        ("livechat-daily-answers.png", b"\x89PNG")
    ]


# --- availability -------------------------------------------------------------------------


def team(seconds: int) -> dict[str, int]:
    """Team totals of the simulated account over `seconds`."""
    out = {"logged": 0, "chatting": 0, "Online": 0, "Back soon": 0, "Away": 0,
           "Reason 2642559712": 0, "Reason 2642559112": 0}  # fmt: skip
    labels = {2: "Online", 3: "Back soon", 4: "Away"}
    for agent in sorted({a for members in AGENTS.values() for a in members}):
        for state in agent_states(agent, seconds):
            if state["id"] == -1:
                out["logged"] += state["value"]["total"]
                out["chatting"] += state["value"]["chatting"]
            else:
                out[labels[state["id"]]] += state["value"]["total"]
            for reason in state.get("reasons", []):
                out[f"Reason {reason['id']}"] += reason["value"]["total"]
    return out


def activity_body(seconds: int) -> dict[str, Any]:
    agents = sorted({a for members in AGENTS.values() for a in members})
    per_agent = {a: agent_states(a, seconds) for a in agents}
    return {"agentsMetrics": {"metricsPerAgent": per_agent, "metricsTotals": []}}


@pytest.mark.anyio
async def test_availability_digest_shows_team_totals_reasons_and_changes(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0DIGESTAVAIL"
    setup = deployment(tmp_path, sim_slack, lp, channel, name="availability-daily",
                       kind="availability", skills="", timeframe="8h")  # fmt: skip
    first = await setup.run("availability-daily", MONDAY_9)
    (posted,) = sim_slack.posts(channel)
    t = team(8 * 3600)
    assert posted["blocks"][0]["text"]["text"] == "Availability · availability-daily · last 8h"
    summary = section_texts(posted)[0]
    assert summary.splitlines()[0] == (
        f"*Team* · 12 agents · logged in *{duration(t['logged'])}* · chatting "
        f"{pct(t['chatting'] / t['logged'], 0)} · away {pct(t['Away'] / t['logged'], 0)}"
    )
    assert (f"Online {duration(t['Online'])} · Back soon {duration(t['Back soon'])} · "
            f"Away {duration(t['Away'])}") in summary  # fmt: skip
    assert (f"Away reasons: Lunch {duration(t['Reason 2642559712'])}, "
            f"Coaching {duration(t['Reason 2642559112'])}") in summary  # fmt: skip
    assert first.rows == 13  # the team and 12 agents
    stored = setup.query("select logged_in, chatting, states, reasons from snapshots "
                         "where entity_kind = 'total'")  # fmt: skip
    assert [{**r, "states": json.loads(r["states"]), "reasons": json.loads(r["reasons"])}
            for r in stored] == [{
        "logged_in": t["logged"], "chatting": t["chatting"],
        "states": {"online": t["Online"], "back_soon": t["Back soon"], "away": t["Away"]},
        "reasons": {"2642559712": t["Reason 2642559712"],
                    "2642559112": t["Reason 2642559112"]},
    }]  # fmt: skip
    assert attachments(sim_slack, channel) == []  # no charts for availability, no table

    lp.overrides["agentactivity"] = activity_body(7 * 3600)  # a shorter day
    await setup.run("availability-daily", MONDAY_9 + timedelta(days=1))
    (_, again) = sim_slack.posts(channel)
    u = team(7 * 3600)
    away_points = (u["Away"] / u["logged"] - t["Away"] / t["logged"]) * 100
    assert section_texts(again)[0].splitlines()[0] == (
        f"*Team* · 12 agents · logged in *{duration(u['logged'])}* "
        f"({delta_duration(u['logged'] - t['logged'])}) · chatting "
        f"{pct(u['chatting'] / u['logged'], 0)} · away {pct(u['Away'] / u['logged'], 0)} "
        f"({points(away_points, ' pts')})"
    )
    assert "▼" in section_texts(again)[0].splitlines()[0]
    assert "compared with the digest of" in context_texts(again)[0]


# --- failures and dry runs -----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_channel_the_bot_is_not_in_is_named_and_the_snapshot_kept(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0NOTINDIGEST"
    setup = deployment(tmp_path, sim_slack, lp, channel)
    with pytest.raises(DigestError) as raised:
        await setup.run("csat-daily", MONDAY_9)
    reason = "The bot is not in channel C0NOTINDIGEST: invite it with `/invite @CSAT Bot`."
    assert str(raised.value) == reason
    assert len(setup.query("select id from snapshot_runs")) == 1  # what was fetched is kept
    assert setup.query("select scheduled_for, status, error from digest_runs") == [
        {"scheduled_for": "2026-03-02T09:00 Europe/Berlin", "status": "failed", "error": reason}
    ]
    assert attachments(sim_slack, channel) == []


@pytest.mark.anyio
async def test_the_message_goes_out_while_the_snapshot_is_stored(
    tmp_path: Path,
    sim_slack: SimulatedSlack,
    lp: SimulatedLivePerson,
    pace: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The post does not wait for the store: a store that waits for the post still ends."""
    channel = "C0DIGESTBESIDE"
    real = run_module._store_snapshot
    seen: list[int] = []

    def after_the_post(db: Any, *args: Any) -> int:
        for _ in range(500):  # on the store's thread; the loop posts meanwhile
            if len(sim_slack.posts(channel)) > len(seen):  # this run's message is there
                seen.append(len(sim_slack.posts(channel)))
                break
            time.sleep(0.01)
        return real(db, *args)

    monkeypatch.setattr(run_module, "_store_snapshot", after_the_post)
    setup = deployment(tmp_path, sim_slack, lp, channel)
    outcome = await setup.run("csat-daily", MONDAY_9)
    assert outcome.status == "posted" and seen == [1]
    assert setup.query("select count(*) n from snapshot_runs") == [{"n": 1}]
    assert setup.query("select status from digest_runs where snapshot_run_id is not null") == [
        {"status": "posted"}
    ]
    # the next day's trend is drawn after its store: both snapshots are on it
    outcome = await setup.run("csat-daily", MONDAY_9 + timedelta(days=1))
    assert outcome.status == "posted" and seen == [1, 2]
    assert [a["filename"] for a in attachments(sim_slack, channel)] == [
        "csat-daily-answers.png",
        "csat-daily-trend.png",
        "csat-daily-answers.png",
    ]


@pytest.mark.anyio
async def test_a_vendor_that_drips_its_answer_fails_the_run_at_the_deadline(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    """One byte every 0.2 s never trips a per-read time-out; the run still ends, as failed."""
    setup = deployment(tmp_path, sim_slack, lp, "C0DIGESTDRIP")
    setup.env["BOT_VENDOR_TIMEOUT"] = "0.5"
    lp.fail("/msgcsatdistribution", 200, {"metricsByIntervals": []}, drip=0.2)
    with pytest.raises(DigestError) as raised:
        await setup.run("csat-daily", MONDAY_9)
    reason = "LivePerson did not answer in time (no answer from 127.0.0.1)"
    assert str(raised.value).startswith(reason)
    assert setup.query("select status, error from digest_runs") == [
        {"status": "failed", "error": str(raised.value)}
    ]
    assert sim_slack.posts("C0DIGESTDRIP") == []
    outcome = await setup.run("csat-daily", MONDAY_9)  # the next catch-up tries again
    assert outcome.status == "posted"
    assert setup.query("select status, error from digest_runs") == [
        {"status": "posted", "error": ""}
    ]


@pytest.mark.anyio
async def test_a_slack_that_never_answers_fails_the_run(
    tmp_path: Path,
    sim_slack: SimulatedSlack,
    lp: SimulatedLivePerson,
    pace: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        slack, "Poster", lambda web: Poster(web, pace.monotonic, pace.sleep, deadline=0.3)
    )
    setup = deployment(tmp_path, sim_slack, lp, "C0DIGESTSLOW")
    sim_slack.fail("/api/chat.postMessage", 200, {"ok": True, "ts": "1.1"}, drip=0.1)
    with pytest.raises(DigestError) as raised:
        await setup.run("csat-daily", MONDAY_9)
    assert str(raised.value) == "Slack did not answer within 0.3 s to post in C0DIGESTSLOW."
    assert setup.query("select status, error from digest_runs") == [
        {"status": "failed", "error": str(raised.value)}
    ]


@pytest.mark.anyio
async def test_a_dry_run_posts_nothing_and_stores_nothing(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0DIGESTDRY"
    setup = deployment(tmp_path, sim_slack, lp, channel)
    outcome = await setup.run("csat-daily", dry_run=True)
    assert outcome.status == "dry-run"
    assert outcome.message is not None
    assert outcome.message["blocks"][0]["text"]["text"] == "CSAT · csat-daily · last 24h"
    assert outcome.ts == ""
    assert sim_slack.posts(channel) == []
    assert attachments(sim_slack, channel) == []
    assert setup.query("select (select count(*) from snapshot_runs) as snapshots, "
                       "(select count(*) from digest_runs) as runs") == [
        {"snapshots": 0, "runs": 0}
    ]  # fmt: skip


@pytest.mark.anyio
async def test_two_manual_runs_in_a_row_both_post(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson, pace: FakeClock
) -> None:
    channel = "C0DIGESTMANUAL"
    setup = deployment(tmp_path, sim_slack, lp, channel)
    parts = setup.parts()
    try:
        outcomes = [await parts.digests.run("csat-daily") for _ in range(2)]
    finally:
        await parts.aclose()
    assert [o.status for o in outcomes] == ["posted", "posted"]
    assert len(sim_slack.posts(channel)) == 2
    statuses = setup.query("select scheduled_for, status from digest_runs")
    assert [r["status"] for r in statuses] == ["posted", "posted"]
    assert all(r["scheduled_for"].startswith("manual ") for r in statuses)


@pytest.mark.anyio
async def test_an_unknown_digest_names_the_configured_ones(
    tmp_path: Path, sim_slack: SimulatedSlack, lp: SimulatedLivePerson
) -> None:
    setup = deployment(tmp_path, sim_slack, lp, "C0DIGESTNONE")
    with pytest.raises(DigestError) as raised:
        await setup.run("nope")
    assert str(raised.value) == (
        "No digest named 'nope' in the configuration (configured: csat-daily)."
    )


@pytest.mark.anyio
async def test_a_posted_digest_stays_posted_when_its_attachments_fail(
    tmp_path: Path,
    sim_slack: SimulatedSlack,
    lp: SimulatedLivePerson,
    pace: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Otherwise the run would be 'failed' and the next catch-up would post it again."""

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("upload refused")

    monkeypatch.setattr(Poster, "upload", broken)
    setup = deployment(tmp_path, sim_slack, lp, "C0ATTACHFAIL")
    outcome = await setup.run("csat-daily", MONDAY_9)
    assert outcome.status == "posted"
    assert setup.query("select status from digest_runs") == [{"status": "posted"}]
    assert await setup.run("csat-daily", MONDAY_9) == Outcome("skipped")
    assert len(sim_slack.posts("C0ATTACHFAIL")) == 1


def test_the_table_names_the_team_and_labels_states_and_reasons() -> None:
    rows = states_rows(agent_states_report(2))
    lines = list(csv.DictReader(io.StringIO(table(rows, builtin()).decode())))
    assert [line["entity_name"] for line in lines] == ["Team", "Agent 2", "Agent 3"]
    # minutes: 4714 s, 2361 s, 0 s; 72 s
    assert json.loads(lines[1]["states_min"]) == {"Online": 78.6, "Back soon": 39.4, "Away": 0.0}
    assert json.loads(lines[1]["reasons_min"]) == {"Reason 2642559712": 1.2}


def test_the_table_never_starts_a_cell_with_a_formula() -> None:
    """A survey tool's agent id or a vendor's name that a spreadsheet would run."""
    rows = [{"entity_kind": "agent", "entity_id": "=HYPERLINK(\"x\")", "entity_name": None,
             "answers": 3, "score": 1.0}]  # fmt: skip
    lookup = {("agent", '=HYPERLINK("x")'): "@SUM(A1)"}
    written = table(rows, builtin(), None, lambda k, i: lookup.get((k, i))).decode()
    [line] = list(csv.DictReader(io.StringIO(written)))
    assert line["entity_id"] == '\'=HYPERLINK("x")'
    assert line["entity_name"] == "'@SUM(A1)"
