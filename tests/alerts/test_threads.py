"""Alerts posted in the background: the review records and returns, tasks post, drain waits.

A Slack stand-in (`Web`) can hold every call until released, or fail some; the real
`Poster` paces it on a fake clock. Agents' logged-in time is the metric: each agent that
drops is a problem of its own, so several alerts open at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.alerts import decide as decide_module
from bot.alerts import threads
from bot.alerts.decide import Action
from bot.alerts.queries import update_alert
from bot.alerts.threads import Alerting
from bot.config import AlertRules, Rule
from bot.db import Store
from bot.errors import StoreError
from bot.render import Renderer
from bot.slack import Poster
from bot.snapshots.queries import Past, save_snapshot
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.anyio

CHANNEL = "C0LEADS"
SERIES = "digest:availability"
AGENTS = [str(1000 + i) for i in range(20)]
DROPPED = ["1003", "1007", "1011"]  # 3 of 20: the team as a whole does not drop


class Web:
    """Slack's chat.postMessage and chat.update: recorded, held while `gate` is shut."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = 0  # this many next posts fail as if Slack could not be reached
        self.posts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.started = 0
        self._ts = itertools.count(1)

    async def chat_postMessage(self, **call: Any) -> dict[str, Any]:
        self.started += 1
        await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise aiohttp.ClientConnectionError("simulated")
        ts = f"1772450000.{next(self._ts):06d}"
        self.posts.append({**call, "ts": ts, "at": self.clock.monotonic()})
        return {"ok": True, "ts": ts}

    async def files_upload_v2(self, **call: Any) -> dict[str, Any]:
        await self.gate.wait()
        self.files.append(call)
        return {"ok": True, "files": [{"id": f"F{len(self.files)}"}]}

    async def chat_update(self, **call: Any) -> dict[str, Any]:
        await self.gate.wait()
        self.updates.append(call)
        return {"ok": True, "ts": call["ts"]}

    def tops(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if not p.get("thread_ts")]

    def replies(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p.get("thread_ts")]


class Lab:
    """One database, one Slack, and an `Alerting` per process (`restart()` makes a new one)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FakeClock(1000.0)
        self.web = Web(self.clock)
        self.alerting = self.restart()
        self.day = 0

    def restart(self) -> Alerting:
        poster = Poster(self.web, monotonic=self.clock.monotonic, sleep=self.clock.sleep)
        rules = AlertRules(channel=CHANNEL, mention="<!subteam^S0LEADS>", rule=Rule())
        self.alerting = Alerting(rules, self.store, poster, Renderer(), self.clock)
        return self.alerting

    def snapshot(self, dropped: Collection[str] = ()) -> tuple[int, list[dict[str, Any]]]:
        """One day's snapshot of every agent, stored; its run id and rows."""
        self.day += 1
        rows = []
        for i, agent in enumerate(AGENTS):
            logged = 28800 + 60 * ((self.day + i) % 3)
            if agent in dropped:
                logged = 9000
            states = {"online": logged - logged // 16, "away": logged // 16}
            rows.append({"entity_kind": "agent", "entity_id": agent, "entity_name": None,
                         "logged_in": logged, "states": json.dumps(states)})  # fmt: skip
        team = sum(r["logged_in"] for r in rows)
        states = {"online": team - team // 16, "away": team // 16}
        total = {"entity_kind": "total", "entity_id": "", "entity_name": None,
                 "logged_in": team, "states": json.dumps(states)}  # fmt: skip
        rows.insert(0, total)
        taken = f"2026-03-{self.day:02d}T08:00:00+00:00"
        run = {"series": SERIES, "source": "liveperson", "kind": "availability",
               "scope": "agent", "window_start": taken, "window_end": taken,
               "taken_at": taken, "digest": "availability"}  # fmt: skip
        run_id = self.store.sync(lambda db: save_snapshot(db, run, [dict(r) for r in rows]))
        return run_id, rows

    def history(self, days: int = 4) -> None:
        for _ in range(days):
            self.snapshot()

    async def review(
        self, dropped: Collection[str] = DROPPED, told_for: str | None = None,
        digest: str = "availability", again: bool = False,
    ) -> dict[str, Action]:  # fmt: skip
        """Today's snapshot reviewed (`again`: the same snapshot, by another digest); the
        action of each problem that is not `none`."""
        if again:
            run_id, rows = self.last
        else:
            run_id, rows = self.last = self.snapshot(dropped)
        done = await self.alerting.review(SERIES, "liveperson", "availability", run_id, rows,
                                          digest, told_for)  # fmt: skip
        return {f"{ev.entity_id}|{ev.metric}": a for a, ev in done if a != Action.NONE}

    def alerts(self) -> list[dict[str, Any]]:
        return self.store.sync(lambda db: list(db.query("select * from alerts order by id")))


@pytest.fixture
def lab() -> Iterator[Lab]:
    store = Store(":memory:")
    found = Lab(store)
    found.history()
    yield found
    store.close()


OPENED = {f"{agent}|logged_in": Action.OPEN for agent in DROPPED}


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_review_returns_before_the_posts_and_drain_waits_for_them(lab: Lab) -> None:
    lab.web.gate.clear()  # Slack holds every call
    assert await lab.review() == OPENED
    alerts = lab.alerts()
    assert [(a["entity_id"], a["status"], a["ts"]) for a in alerts] == [
        (agent, "firing", None) for agent in DROPPED
    ]  # recorded before anything is posted
    assert lab.alerting.posting == 3 and lab.web.posts == []
    lab.web.gate.set()
    await lab.alerting.drain()
    assert lab.alerting.posting == 0
    tops = lab.web.tops()
    assert len(tops) == 3 and all("<!subteam^S0LEADS>" in json.dumps(t["blocks"]) for t in tops)
    assert [a["ts"] for a in lab.alerts()] == [t["ts"] for t in tops]
    replies = lab.web.replies()
    assert sorted(r["thread_ts"] for r in replies) == sorted(t["ts"] for t in tops)
    assert not any("<!subteam^S0LEADS>" in json.dumps(r["blocks"]) for r in replies)


async def test_alerts_open_concurrently_at_the_pace_of_the_channel(lab: Lab) -> None:
    await lab.review()
    await lab.alerting.drain()
    # every call went through the Poster: at least a second apart in the channel
    times = [p["at"] for p in lab.web.posts]
    assert len(times) == 6 and all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    # all three were under way at once: the top messages went out before any thread reply
    assert [bool(p.get("thread_ts")) for p in lab.web.posts] == [False] * 3 + [True] * 3


async def test_the_next_review_follows_in_the_thread_and_opens_nothing(lab: Lab) -> None:
    await lab.review()
    await lab.alerting.drain()
    assert await lab.review() == {key: Action.THREAD for key in OPENED}
    await lab.alerting.drain()
    assert len(lab.web.tops()) == 3 and len(lab.alerts()) == 3
    tops = {t["ts"] for t in lab.web.tops()}
    assert len(lab.web.replies()) == 6 and {r["thread_ts"] for r in lab.web.replies()} == tops


async def test_a_review_while_posts_are_in_flight_waits_its_turn(lab: Lab) -> None:
    lab.web.gate.clear()
    await lab.review()
    assert await lab.review() == {key: Action.THREAD for key in OPENED}
    assert len(lab.alerts()) == 3  # known as open, though nothing went out yet
    lab.web.gate.set()
    await lab.alerting.drain()
    assert len(lab.web.tops()) == 3
    for top in lab.web.tops():
        thread = [r["text"] for r in lab.web.replies() if r["thread_ts"] == top["ts"]]
        assert [line.split(":")[1] for line in thread] == ["mag", "hourglass"]  # in order


async def test_recovery_is_recorded_first_then_told(lab: Lab) -> None:
    await lab.review()
    await lab.alerting.drain()
    lab.web.gate.clear()
    assert await lab.review(dropped=()) == {key: Action.RESOLVE for key in OPENED}
    assert {a["status"] for a in lab.alerts()} == {"resolved"}
    lab.web.gate.set()
    await lab.alerting.drain()
    assert [r["text"].split(":")[1] for r in lab.web.replies()[3:]] == ["white_check_mark"] * 3
    assert len(lab.web.updates) == 3
    assert all(u["text"].startswith(":white_check_mark: Resolved") for u in lab.web.updates)


async def test_a_failed_post_is_logged_and_the_next_review_posts_it_once(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    lab.web.fail = 1  # the first top message cannot reach Slack
    with caplog.at_level(logging.ERROR, logger="bot.alerts.threads"):
        await lab.review()
        await lab.alerting.drain()
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failed) == 1 and "the next review posts it" in failed[0].getMessage()
    alerts = lab.alerts()
    assert [a["status"] for a in alerts] == ["firing"] * 3  # the state is kept
    missing = [a["entity_id"] for a in alerts if a["ts"] is None]
    assert len(missing) == 1 and len(lab.web.tops()) == 2
    actions = await lab.review()
    await lab.alerting.drain()
    assert actions[f"{missing[0]}|logged_in"] == Action.OPEN
    assert sum(a == Action.THREAD for a in actions.values()) == 2
    assert len(lab.web.tops()) == 3 and len(lab.alerts()) == 3  # each alert posted once
    assert all(a["ts"] for a in lab.alerts())
    assert await lab.review() == {key: Action.THREAD for key in OPENED}  # and not again
    await lab.alerting.drain()
    assert len(lab.web.tops()) == 3


async def test_two_digests_at_one_scheduled_time_speak_once_per_problem(lab: Lab) -> None:
    assert await lab.review(told_for="2026-03-05T08:00") == OPENED
    again = await lab.review(told_for="2026-03-05T08:00", digest="other", again=True)
    assert again == {key: Action.SILENT for key in OPENED}  # opened already: nothing twice
    await lab.alerting.drain()
    replies = len(lab.web.replies())
    assert await lab.review(told_for="2026-03-06T08:00") == {k: Action.THREAD for k in OPENED}
    second = await lab.review(told_for="2026-03-06T08:00", digest="other", again=True)
    assert second == {key: Action.SILENT for key in OPENED}
    await lab.alerting.drain()
    assert len(lab.web.replies()) == replies + 3  # one update per problem this morning
    stored = {a["told_for"] for a in lab.alerts()}
    assert stored == {"2026-03-06T08:00"}
    # recovered: the first digest resolves; the second, seeing it still low, opens nothing
    assert await lab.review([], told_for="2026-03-07T08:00") == {k: Action.RESOLVE for k in OPENED}
    later = await lab.review(told_for="2026-03-07T08:00", digest="other", again=False)
    assert Action.OPEN not in later.values()
    await lab.alerting.drain()
    assert len(lab.alerts()) == 3


async def test_a_refused_first_post_never_leaves_an_update_outside_its_thread(lab: Lab) -> None:
    lab.web.fail = 3  # Slack refuses every top message
    await lab.review()
    await lab.alerting.drain()
    assert lab.web.posts == [] and lab.web.files == []
    lab.web.gate.clear()  # the next review posts them; hold Slack to watch the order
    await lab.review()
    lab.web.gate.set()
    await lab.alerting.drain()
    tops = {t["ts"] for t in lab.web.tops()}
    assert len(tops) == 3
    assert all(r["thread_ts"] in tops for r in lab.web.replies())
    assert all(f["thread_ts"] in tops for f in lab.web.files)


async def test_the_opening_chart_goes_into_its_thread(lab: Lab) -> None:
    await lab.review()
    await lab.alerting.drain()
    tops = {t["ts"]: t for t in lab.web.tops()}
    assert len(lab.web.files) == 3
    for upload in lab.web.files:
        assert upload["thread_ts"] in tops and upload["content"].startswith(b"\x89PNG")
        assert upload["channel"] == CHANNEL


async def test_after_a_restart_what_never_went_out_is_posted_once(lab: Lab) -> None:
    lab.web.gate.clear()
    await lab.review()
    await settle()
    await lab.alerting.drain(timeout=0)  # a shutdown that cannot wait: the posts are dropped
    assert lab.alerting.posting == 0 and lab.web.posts == []
    assert [a["ts"] for a in lab.alerts()] == [None] * 3
    lab.web.gate.set()
    lab.restart()  # a new process knows only the database
    assert await lab.review() == OPENED
    await lab.alerting.drain()
    assert len(lab.web.tops()) == 3 and len(lab.alerts()) == 3
    assert all("<!subteam^S0LEADS>" in json.dumps(t["blocks"]) for t in lab.web.tops())
    assert await lab.review() == {key: Action.THREAD for key in OPENED}


async def test_after_a_restart_a_recovered_alert_nobody_saw_closes_quietly(lab: Lab) -> None:
    lab.web.gate.clear()
    await lab.review()
    await settle()
    await lab.alerting.drain(timeout=0)
    lab.web.gate.set()
    lab.restart()
    assert await lab.review(dropped=()) == {key: Action.RESOLVE for key in OPENED}
    await lab.alerting.drain()
    assert lab.web.posts == [] and lab.web.updates == []
    assert {a["status"] for a in lab.alerts()} == {"resolved"}


async def test_a_ts_the_store_refused_is_stored_later_and_not_posted_again(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = threads.update_alert
    refused = []

    def update_alert(db: Any, alert_id: int, changes: dict[str, Any]) -> None:
        if set(changes) == {"ts"} and not refused:
            refused.append(alert_id)
            raise StoreError(":memory:", "locked", "held")
        real(db, alert_id, changes)

    monkeypatch.setattr(threads, "update_alert", update_alert)
    await lab.review()
    await lab.alerting.drain()
    assert len(lab.web.tops()) == 3 and len(refused) == 1
    assert [a["ts"] for a in lab.alerts() if a["id"] == refused[0]] == [None]
    assert await lab.review() == {key: Action.THREAD for key in OPENED}
    await lab.alerting.drain()
    assert len(lab.web.tops()) == 3 and all(a["ts"] for a in lab.alerts())
    tops = {t["ts"] for t in lab.web.tops()}
    assert {r["thread_ts"] for r in lab.web.replies()} == tops


async def test_evaluation_runs_off_the_event_loop(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_in = []
    real = threads.judge

    def judge(*args: Any) -> Any:
        ran_in.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(threads, "judge", judge)
    await lab.review()
    await lab.alerting.drain()
    assert ran_in and ran_in[0] is not threading.main_thread()


async def test_an_unexpected_error_in_a_post_is_logged_with_its_traceback(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(name: str, **context: Any) -> Any:
        raise RuntimeError("template trouble")

    monkeypatch.setattr(lab.alerting.renderer, "render", broken)
    with caplog.at_level(logging.ERROR, logger="bot.alerts.threads"):
        await lab.review()
        await lab.alerting.drain()
    assert len([r for r in caplog.records if r.exc_info]) == 3
    assert [a["status"] for a in lab.alerts()] == ["firing"] * 3


async def test_without_a_channel_nothing_is_reviewed(lab: Lab) -> None:
    lab.alerting.rules = AlertRules(channel=None)
    assert await lab.review() == {}
    assert lab.alerts() == []


# --- found in review: one voice on recovery, clicks racing a review, worse vs before ------


async def test_a_second_digest_that_sees_no_drop_does_not_resolve_at_the_same_time(
    lab: Lab,
) -> None:
    assert await lab.review(told_for="2026-03-05T08:00") == OPENED
    second = await lab.review([], told_for="2026-03-05T08:00", digest="other")
    assert set(second.values()) == {Action.SILENT}
    await lab.alerting.drain()
    assert not any("Recovered" in r["text"] for r in lab.web.replies())
    assert {a["status"] for a in lab.alerts()} == {"firing"}
    # the next morning tells the recovery, once
    assert set((await lab.review([], told_for="2026-03-06T08:00")).values()) == {Action.RESOLVE}


def _click_while_judging(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, alert_id: int, changes: dict[str, Any]
) -> None:
    """The lead's click lands (in the serve process) while the review judges."""
    real = threads.judge

    def judge_then_click(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        lab.store.sync(lambda db: update_alert(db, alert_id, changes))
        return found

    monkeypatch.setattr(threads, "judge", judge_then_click)


RESOLVED_BY_HAND = {"status": "resolved", "resolved_by": "U0LEAD", "resolved_note": "fixed",
                    "resolved_at": "2026-03-06T08:00:00+00:00"}  # fmt: skip


@pytest.mark.parametrize("dropped", [DROPPED, []], ids=["persists", "recovers"])
async def test_a_resolve_during_a_review_is_not_undone_by_it(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, dropped: list[str]
) -> None:
    await lab.review()
    await lab.alerting.drain()
    first = lab.alerts()[0]
    _click_while_judging(lab, monkeypatch, first["id"], RESOLVED_BY_HAND)
    replies, updates = len(lab.web.replies()), len(lab.web.updates)
    done = await lab.review(dropped)
    await lab.alerting.drain()
    assert f"{first['entity_id']}|logged_in" not in done  # nothing happened to it
    row = next(a for a in lab.alerts() if a["id"] == first["id"])
    assert (row["resolved_by"], row["resolved_at"]) == ("U0LEAD", "2026-03-06T08:00:00+00:00")
    mine = [r for r in lab.web.replies()[replies:] if r["thread_ts"] == first["ts"]]
    assert mine == [] and not [u for u in lab.web.updates[updates:] if u["ts"] == first["ts"]]


async def test_a_snooze_during_a_review_silences_it(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    await lab.review()
    await lab.alerting.drain()
    first = lab.alerts()[0]
    snoozed = {"snoozed_until": "2099-01-01T00:00:00+00:00", "snoozed_by": "U0LEAD"}
    _click_while_judging(lab, monkeypatch, first["id"], snoozed)
    done = await lab.review()
    assert done[f"{first['entity_id']}|logged_in"] == Action.SILENT


async def test_a_snooze_that_ended_is_cleared_from_the_message(lab: Lab) -> None:
    await lab.review()
    await lab.alerting.drain()
    first = lab.alerts()[0]
    ended = {"snoozed_until": "1970-01-01T00:00:01+00:00", "snoozed_by": "U0LEAD"}
    lab.store.sync(lambda db: update_alert(db, first["id"], ended))
    updates = len(lab.web.updates)
    await lab.review()
    await lab.alerting.drain()
    row = next(a for a in lab.alerts() if a["id"] == first["id"])
    assert row["snoozed_until"] is None
    redrawn = [u for u in lab.web.updates[updates:] if u["ts"] == first["ts"]]
    assert redrawn and "snoozed" not in json.dumps(redrawn[-1]["blocks"])


async def test_an_alert_posted_late_speaks_for_its_time(lab: Lab) -> None:
    lab.web.fail = 3
    await lab.review(told_for="2026-03-05T08:00")
    await lab.alerting.drain()
    await lab.review(told_for="2026-03-06T08:00")  # posts them now
    await lab.alerting.drain()
    assert {a["told_for"] for a in lab.alerts()} == {"2026-03-06T08:00"}
    again = await lab.review(told_for="2026-03-06T08:00", digest="other", again=True)
    assert set(again.values()) == {Action.SILENT}


def test_worse_is_judged_against_the_level_before_the_alert() -> None:
    # before the alert 85 %; opened at 75 % (10 points); today 70 %: 15 points off the
    # level before, 5 deeper than at the opening (worse_points 5), though only 5 below
    # yesterday's 75 %
    rows = [{"entity_kind": "total", "entity_id": "", "positive": 700, "answers": 1000}]
    past = {("total", ""): Past(1, 750, 1000, 0.75, 750, 1000, 0, 0, 0, None, None)}
    problem = "lp|csat|total:|csat"
    known = {problem: {"id": 1, "problem": problem, "status": "firing", "opened_drop": 10.0,
                       "opened_against": 0.85, "ts": "1.1", "parts": None}}  # fmt: skip
    now = datetime(2026, 3, 6, 8, tzinfo=UTC)
    (v,) = decide_module.judge(rows, past, known, "lp", "csat", AlertRules(channel="C"), now)
    assert v.action == Action.WORSE and v.evaluation.drop == pytest.approx(15.0)
