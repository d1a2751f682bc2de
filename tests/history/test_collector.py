"""The collector against the simulated LivePerson's timeline on loopback, time injected."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import LivePersonSettings
from bot.db import Store
from bot.demo.sim.liveperson import (
    AGENTS,
    BUCKET,
    SimulatedLivePerson,
    hour_scores,
    metrics,
    timeline_states,
)
from bot.demo.sim.server import Call, Fault, Reply, reply
from bot.errors import SourceError, VendorBadResponse
from bot.history import queries
from bot.history.collector import (
    CSAT,
    START_DELAY,
    STATES,
    Collector,
    CollectResult,
    hourly,
    lines,
    until_next_run,
    wait_to_plan,
)
from bot.sources.http import BucketCache, RetryPolicy, VendorHTTP
from bot.sources.liveperson import LivePerson
from bot.worker import DigestWorker
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.anyio
H = timedelta(hours=1)
DAY = datetime(2026, 3, 2, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at(13, 7))


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[SimulatedLivePerson]:
    with SimulatedLivePerson(timeline=True, clock=clock.time) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(str(tmp_path / "bot.db"))
    yield opened
    opened.close()


def liveperson(sim: SimulatedLivePerson, clock: FakeClock) -> LivePerson:
    settings = LivePersonSettings(
        sim.account, client_id=sim.client_id, client_secret=sim.client_secret,
        domain_api_url=sim.url,
    )  # fmt: skip
    import httpx

    http = VendorHTTP("LivePerson", httpx.AsyncClient, RetryPolicy(deadline=5), sleep=clock.sleep)
    return LivePerson(settings, http, BucketCache(clock), clock)


def collector(sim: SimulatedLivePerson, store: Store, clock: FakeClock) -> Collector:
    return Collector(liveperson(sim, clock), store, BERLIN, clock, clock.sleep)


def csat_rows(store: Store, hour: datetime) -> dict[tuple[str, str], tuple[int, ...]]:
    rows = store.sync(
        lambda db: db.execute(
            "select skill, agent, s1, s2, s3, s4, s5 from csat_hours"
            " where hour = ? and agent != ''",
            [int(hour.timestamp())],
        ).fetchall()
    )
    return {(skill, agent): tuple(scores) for skill, agent, *scores in rows}


def sim_hour(hour: datetime) -> dict[tuple[str, str], tuple[int, ...]]:
    found = {}
    for skill, members in AGENTS.items():
        for agent in members:
            scores = hour_scores(agent, skill, int(hour.timestamp()))
            if any(scores):
                found[(skill, agent)] = tuple(scores)
    return found


def sim_logged_in(
    hour: datetime, now: datetime, silent: frozenset[int] = frozenset()
) -> dict[str, int]:
    """Each agent's logged-in seconds in the state piece of `hour` collected at `now`:
    agentactivity's windows are exact, so the piece is the window from `now`'s seconds
    past `hour` less the one from as many past the next hour."""
    past = now.second
    start, end = hour.timestamp() + past, now.timestamp()
    every = sorted({a for members in AGENTS.values() for a in members})
    found = {}
    for agent in every:
        wider = timeline_states(agent, start, end, silent)[-1]["value"]["total"]
        narrower = timeline_states(agent, start + 3600, end, silent)[-1]["value"]["total"]
        if wider - narrower:
            found[agent] = wider - narrower
    return found


def logged_in(store: Store, hour: datetime) -> dict[str, int]:
    rows = store.sync(
        lambda db: db.execute(
            "select agent, total from state_hours where hour = ? and state = 'logged_in'",
            [int(hour.timestamp())],
        ).fetchall()
    )
    return dict(rows)


def count(store: Store, table: str) -> int:
    return int(store.sync(lambda db: db.execute(f"select count(*) from {table}").fetchone()[0]))


def data_calls(sim: SimulatedLivePerson) -> int:
    return len(sim.data_calls("msgcsatdistribution")) + len(sim.data_calls("agentactivity"))


async def test_the_first_collection_stores_the_23_complete_hours_exactly(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    result = await collector(sim, store, clock).collect()
    assert clock.sleeps == [30.0]  # planned at 13:07:30
    hours = tuple(at(14, day=-1) + i * H for i in range(23))
    assert result.of(CSAT).stored == hours and result.of(STATES).stored == hours
    assert result.of(CSAT).skipped == () and result.of(CSAT).missing == ()
    # 24 windows per kind, asked past the bucket cache, and the newest CSAT window again
    assert data_calls(sim) == 49
    assert [c.query["timeframe"] for c in sim.data_calls()][-1] == "7"
    for hour in hours:
        assert csat_rows(store, hour) == sim_hour(hour), hour
        assert logged_in(store, hour) == sim_logged_in(hour, at(13, 7, 30)), hour
    assert lines(result, BERLIN) == [
        "CSAT: stored 23 hours, 2026-03-01 15:00 to 2026-03-02 14:00 Europe/Berlin",
        "agent states: stored 23 hours, 2026-03-01 15:00 to 2026-03-02 14:00 Europe/Berlin",
    ]


async def test_an_hour_with_no_answers_is_collected_with_no_rows(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    sim.silent.add(int(at(9).timestamp()))
    result = await collector(sim, store, clock).collect()
    assert at(9) in result.of(CSAT).stored and at(9) in result.of(STATES).stored
    assert csat_rows(store, at(9)) == {}
    # the state piece runs from 09:00:30 to 10:00:30: only its 30 s of 10:00 are there
    assert logged_in(store, at(9)) == sim_logged_in(at(9), at(13, 7, 30), frozenset(sim.silent))
    assert 0 < max(logged_in(store, at(9)).values()) <= 30
    assert csat_rows(store, at(10)) == sim_hour(at(10))


async def test_later_collections_ask_only_for_the_new_hours_and_never_count_twice(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    await collector(sim, store, clock).collect()
    rows = count(store, "csat_hours")
    clock.now = at(15, 7)
    sim.calls.clear()
    result = await collector(sim, store, clock).collect()  # a restart: a new collector
    assert result.of(CSAT).stored == (at(13), at(14))
    assert data_calls(sim) == 7  # 13:00, 14:00 and 15:00, per kind; 15:00's CSAT again
    assert csat_rows(store, at(13)) == sim_hour(at(13))
    assert count(store, "csat_hours") == rows + sum(
        len(sim_hour(h)) + len(AGENTS) for h in (at(13), at(14))
    )
    sim.calls.clear()
    again = await collector(sim, store, clock).collect()  # the same moment: nothing to ask
    assert data_calls(sim) == 0
    assert lines(again, BERLIN) == [
        "CSAT: nothing new (the last finished hour is stored)",
        "agent states: nothing new (the last finished hour is stored)",
    ]


async def test_two_collectors_at_once_store_each_hour_once(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    one, two = collector(sim, store, clock), collector(sim, store, clock)
    first, second = await asyncio.gather(one.collect(), two.collect())
    for kind in (CSAT, STATES):
        stored = first.of(kind).stored + second.of(kind).stored
        assert sorted(stored) == [at(14, day=-1) + i * H for i in range(23)]
        assert len(set(stored)) == 23  # no hour twice
        assert set(first.of(kind).skipped) == set(second.of(kind).stored)
    assert csat_rows(store, at(12)) == sim_hour(at(12))
    days = store.sync(lambda db: db.execute("select sum(total) from csat_days").fetchone()[0])
    hours = store.sync(lambda db: db.execute("select sum(total) from csat_hours").fetchone()[0])
    assert days == hours  # the day rollups added each hour once too


async def test_hours_out_of_reach_after_a_long_downtime_are_reported(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.now = at(10, 7, day=-2)
    await collector(sim, store, clock).collect()  # the last hour: 09:00 two days ago
    clock.now = at(13, 7)
    with caplog.at_level(logging.WARNING, logger="bot.history.collector"):
        result = await collector(sim, store, clock).collect()
    missing = tuple(at(10, day=-2) + i * H for i in range(28))
    assert result.of(CSAT).missing == missing and result.of(STATES).missing == missing
    assert result.of(CSAT).stored[0] == at(14, day=-1)
    assert (
        "CSAT: 28 hours missing, 2026-02-28 11:00 to 2026-03-01 15:00 Europe/Berlin"
        in "\n".join(lines(result, BERLIN))
    )
    assert "28 csat hours could no longer be collected" in caplog.text


async def test_hours_older_than_kept_are_not_reported_missing(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    clock.now = at(10, 7, day=-2)
    await collector(sim, store, clock).collect()  # the last hour: 09:00 two days ago
    clock.now = at(13, 7)
    kept = Collector(liveperson(sim, clock), store, BERLIN, clock, clock.sleep, keep=40 * H)
    result = await kept.collect()
    # of the 28 hours out of reach, those older than the 40 hours kept go unmentioned
    assert result.of(CSAT).missing == tuple(at(10, day=-2) + i * H for i in range(12, 28))


@pytest.mark.parametrize(
    "fault",
    [
        Fault("/msgcsatdistribution", 401, b'{"error": "Unauthorized"}', times=1000),
        Fault("/agentactivity", 429, b'{"error": "slow down"}', times=1000),
        Fault("/msgcsatdistribution", 503, b"<html>down</html>", times=1000),
        Fault("/agentactivity", 200, b"not json at all", times=1000),
        Fault(
            "/msgcsatdistribution", 200, b'{"skillsMetrics": {"metricsPerSkill": 7}}', times=1000
        ),
    ],
    ids=["401", "429", "5xx", "garbage", "a-bad-shape"],
)
async def test_a_vendor_failure_stores_nothing_and_the_next_collection_tries_again(
    sim: SimulatedLivePerson,
    store: Store,
    clock: FakeClock,
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim.faults.append(fault)
    collecting = collector(sim, store, clock)
    with pytest.raises(SourceError):
        await collecting.collect()
    assert count(store, "history_hours") == count(store, "csat_hours") == 0
    with caplog.at_level(logging.WARNING, logger="bot.history.collector"):
        assert await collecting.once() is None
    failed = [r for r in caplog.records if "nothing collected" in r.getMessage()]
    assert len(failed) == 1  # one line
    assert count(store, "history_hours") == 0
    sim.faults.clear()
    clock.now += timedelta(minutes=10)  # out of the retries' waits' bucket
    result = await collecting.collect()
    assert len(result.of(CSAT).stored) == 23


async def test_a_bucket_that_ends_mid_collection_is_asked_again_once(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    clock.now = at(13, 9, 40)  # 20 s left in the bucket; each answer takes a second
    asked = []

    def ticking() -> float:
        asked.append(clock.seconds)
        clock.seconds += 1
        return clock.seconds

    sim.clock = ticking
    result = await collector(sim, store, clock).collect()
    assert len(asked) == 98  # the whole collection twice: the first crossed 13:10
    assert len(result.of(CSAT).stored) == 23
    for hour in result.of(CSAT).stored:
        assert csat_rows(store, hour) == sim_hour(hour)


async def test_a_bucket_that_ends_twice_stores_nothing(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    def slow() -> float:
        clock.seconds += 10  # every answer takes 10 s: no collection fits in a bucket
        return clock.seconds

    sim.clock = slow
    with pytest.raises(SourceError, match="bucket ended during the collection twice"):
        await collector(sim, store, clock).collect()
    assert count(store, "history_hours") == 0


async def test_a_collection_close_to_a_bucket_s_end_waits_for_the_next(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    clock.now = at(13, 9, 50)
    await collector(sim, store, clock).collect()
    assert clock.sleeps == [40.0]  # to 13:10:30


@pytest.mark.parametrize(
    ("now", "wait"),
    [
        (at(13, 7), 30.0),
        (at(13, 7, 14), 16.0),
        (at(13, 7, 15), 0.0),
        (at(13, 7, 30), 0.0),
        (at(13, 7, 45), 0.0),
        (at(13, 7, 46), 44.0),
        (at(13, 9, 59), 31.0),  # into the next bucket, 30 s clear of its start and end
    ],
)
def test_a_collection_plans_about_30_s_past_a_minute(now: datetime, wait: float) -> None:
    assert wait_to_plan(now) == wait
    assert wait_to_plan(now + timedelta(seconds=wait)) == 0.0


async def test_a_liveperson_clock_a_little_behind_ours_moves_no_window(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    """Planned a few ms past 13:07:00, LivePerson's `now - T` would fall just before each
    hour, in the bucket 5 minutes earlier: every piece would be 5 minutes off."""
    clock.now = at(13, 7) + timedelta(milliseconds=3)
    sim.clock = lambda: clock.seconds - 0.05  # LivePerson's clock 50 ms behind ours
    result = await collector(sim, store, clock).collect()
    assert len(result.of(CSAT).stored) == 23
    for hour in result.of(CSAT).stored:
        assert csat_rows(store, hour) == sim_hour(hour), hour
    assert clock.sleeps == [pytest.approx(29.997)]


async def test_run_collects_soon_after_start_then_every_hour_at_07_30(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    clock.now = at(13, 0, 0)
    results: list[CollectResult | None] = []

    class Stop(Exception):
        pass

    async def sleep(seconds: float) -> None:
        clock.sleeps.append(seconds)
        if len(clock.sleeps) == 3:
            raise Stop
        clock.seconds += seconds

    collecting = Collector(liveperson(sim, clock), store, BERLIN, clock, sleep)
    once = collecting.once

    async def recorded() -> CollectResult | None:
        results.append(await once())
        return results[-1]

    collecting.once = recorded  # type: ignore[method-assign]
    with pytest.raises(Stop):
        await collecting.run()
    assert clock.sleeps == [START_DELAY, 430.0, 3600.0]  # 13:00:20, 13:07:30, then 14:07:30
    first, second = results
    assert first is not None and first.of(CSAT).stored[-1] == at(11)  # 12:00 not over then
    assert second is not None and second.of(CSAT).stored == (at(12),)
    assert until_next_run(at(13, 7, 30)) == 3600.0 and until_next_run(at(13, 7, 29)) == 1.0
    assert until_next_run(at(13, 7)) == 30.0 and wait_to_plan(at(13, 7, 30)) == 0.0


async def test_prune_forgets_what_keep_no_longer_keeps_once_a_day(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    collecting = Collector(liveperson(sim, clock), store, BERLIN, clock, clock.sleep,
                           keep=timedelta(days=2))  # fmt: skip
    await collecting.collect()
    assert await collecting.prune() == 0  # nothing older than 2 days yet
    clock.now += timedelta(hours=1)
    assert await collecting.prune() == 0  # and not asked again within the day
    clock.now = at(13, 7, day=4)
    assert await collecting.prune() > 0
    assert count(store, "history_hours") == count(store, "csat_hours") == 0
    assert store.sync(lambda db: queries.first_hour(db, CSAT)) is None


async def test_the_collector_s_calls_never_come_from_the_bucket_cache(
    sim: SimulatedLivePerson, clock: FakeClock
) -> None:
    lp = liveperson(sim, clock)
    first, second = await lp.csat_raw(60), await lp.csat_raw(60)
    await lp.states_raw(60)
    await lp.states_raw(60)
    assert data_calls(sim) == 4  # asked each time: a cached answer's window is another moment's
    assert first == second and len(lp.cache) == 0
    await lp.aclose()


# --- answers that do not nest, answers that arrive meanwhile ----------------------------


class NoData(SimulatedLivePerson):
    """An account that answers "no data" once for one window of one report: the shape the
    parser reads as nobody answering (or nobody logged in)."""

    empty: tuple[str, str] | None = None  # (report, timeframe)

    def route(self, call: Call) -> Reply:
        if self.empty and self.empty[0] in call.path and call.query["timeframe"] == self.empty[1]:
            report, self.empty = self.empty[0], None
            if report == "msgcsatdistribution":
                return reply(200, {"skillsMetricsPerAgent": {"metricsPerSkill": {},
                                                             "metricsTotals": {}}})  # fmt: skip
            return reply(200, {"agentsMetrics": {"metricsPerAgent": {}, "metricsTotals": []}})
        return super().route(call)


@pytest.mark.parametrize(
    ("report", "message"),
    [
        (
            "msgcsatdistribution",
            "the 607-minute window (from 03:00 UTC) and the 547-minute window (from 04:00 UTC)"
            " inside it: 0 answers in the wider",
        ),
        (
            "agentactivity",
            "the 607-minute window (from 03:00 UTC) and the 547-minute window (from 04:00 UTC)"
            " inside it: nobody logged in in the wider",
        ),
    ],
)
async def test_a_window_answered_with_no_data_stores_nothing_and_the_next_collection_retries(
    store: Store, clock: FakeClock, report: str, message: str
) -> None:
    """Stored, 02:00 would be the whole 11 hours from 02:00 (its window less an empty one),
    claimed and never corrected."""
    with NoData(timeline=True, clock=clock.time) as sim:
        sim.empty = (report, "607")  # 03:00's window, at 13:07:30
        collecting = collector(sim, store, clock)
        with pytest.raises(VendorBadResponse, match="nested windows disagree") as failed:
            await collecting.collect()
        assert message in str(failed.value)
        assert count(store, "history_hours") == count(store, "csat_hours") == 0
        result = await collecting.collect()  # LivePerson answers as it should again
    assert len(result.of(CSAT).stored) == len(result.of(STATES).stored) == 23
    for hour in (at(2), at(3)):
        assert csat_rows(store, hour) == sim_hour(hour), hour
        assert logged_in(store, hour) == sim_logged_in(hour, at(13, 7, 30)), hour


class Arriving(SimulatedLivePerson):
    """50 answers for agent 1001 in skill 11 arrive in the current hour as soon as the
    newest window (13:00's, 7 minutes at 13:07:30) has been answered once."""

    arrived = False

    def _timeline_csat(self, query: dict[str, str], timeframe: int) -> dict[str, Any]:
        body = super()._timeline_csat(query, timeframe)
        if self.arrived:
            skill = body[self.skills_element]["metricsPerSkill"]["11"]
            scores = [
                skill["metricsPerAgent"]["1001"][f"csat_score{i}_answers"] for i in (1, 2, 3, 4, 5)
            ]
            skill["metricsPerAgent"]["1001"] = metrics([*scores[:4], scores[4] + 50])
            every = list(skill["metricsPerAgent"].values())
            skill["metricsTotals"] = metrics(
                [sum(m[f"csat_score{i}_answers"] for m in every) for i in (1, 2, 3, 4, 5)]
            )
        return body


class Reordered:
    """The collector's LivePerson, where 12:00's window (67 minutes) is answered only after
    the newest one, as when its first call failed and was retried."""

    def __init__(self, liveperson: LivePerson, sim: Arriving) -> None:
        self.liveperson, self.sim = liveperson, sim
        self.newest_answered = asyncio.Event()

    async def csat_raw(self, timeframe: int) -> Any:
        if timeframe == 67:
            await self.newest_answered.wait()
        answer = await self.liveperson.csat_raw(timeframe)
        if timeframe == 7 and not self.newest_answered.is_set():
            self.sim.arrived = True
            self.newest_answered.set()
        return answer

    async def states_raw(self, timeframe: int) -> Any:
        return await self.liveperson.states_raw(timeframe)


async def test_answers_arriving_mid_collection_in_another_order_are_not_counted_twice(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """12:00's window, asked last, holds the 50 answers of 13:00 the newest window did not:
    12:00 would count them, and so would 13:00 at the next collection."""
    clock.now = at(13, 7, 30)
    with Arriving(timeline=True, clock=clock.time) as sim:
        client = Reordered(liveperson(sim, clock), sim)
        collecting = Collector(client, store, BERLIN, clock, clock.sleep)  # type: ignore[arg-type]
        with caplog.at_level(logging.INFO, logger="bot.history.collector"):
            result = await collecting.collect()
    assert len(result.of(CSAT).stored) == 23
    assert csat_rows(store, at(12)) == sim_hour(at(12))
    assert "the newest window's answers changed by 50 during the collection; again" in caplog.text
    assert len(sim.data_calls()) == 2 * 25  # asked twice, each time the newest again


async def test_answers_that_keep_moving_store_nothing(store: Store, clock: FakeClock) -> None:
    class Moving(SimulatedLivePerson):
        """Skill 11 gains 3 answers with every call: no two answers of a window agree."""

        def _timeline_csat(self, query: dict[str, str], timeframe: int) -> dict[str, Any]:
            body = super()._timeline_csat(query, timeframe)
            skill = body[self.skills_element]["metricsPerSkill"]["11"]
            skill["metricsTotals"] = metrics([0, 0, 0, 0, 3 * len(self.calls)])
            return body

    with (
        Moving(timeline=True, clock=clock.time) as sim,
        pytest.raises(SourceError, match=r"newest window's answers changed by \d+ .* twice"),
    ):
        await collector(sim, store, clock).collect()
    assert count(store, "history_hours") == 0


def collected_until(store: Store, hour: datetime) -> None:
    """As if a collection had stored every hour up to `hour`: the next one is hourly."""
    moment = int(hour.timestamp())

    def claim(db: Any) -> None:
        for kind in (CSAT, STATES):
            db.execute(
                "insert into history_hours (kind, hour, collected_at) values (?, ?, ?)",
                [kind, moment, moment],
            )
        db.conn.commit()

    store.sync(claim)


class LateLogin(SimulatedLivePerson):
    """Agent 1001 alone, logged in since 13:02; the newest agentactivity window (13:00's,
    7 minutes at 13:07:30) is answered 429 Retry-After 5 once."""

    login = at(13, 2).timestamp()
    throttled = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wider_answered = threading.Event()  # the 429 only then: the wider reads 13:07:30

    def _activity(self, query: dict[str, str]) -> Reply:
        timeframe = int(query["timeframe"])
        if timeframe == 7 and not self.throttled:
            self.throttled = True
            self.wider_answered.wait(5)
            return reply(429, {"error": "slow down"}, {"Retry-After": "5"})
        if timeframe != 7:
            self.wider_answered.set()
        now = self.clock()
        seconds = int(max(0.0, now - max(now - timeframe * 60, self.login)))
        value = {"total": seconds, "chatting": 0, "notChatting": seconds,
                 "chattingInMaxConcurrency": 0}  # fmt: skip
        agent = [{"id": -1, "name": "Logged in", "value": value}]
        return reply(200, {"agentsMetrics": {"metricsPerAgent": {"1001": agent},
                                             "metricsTotals": []}})  # fmt: skip


async def test_a_states_window_retried_later_slides_by_the_seconds_waited_and_still_nests(
    store: Store, clock: FakeClock
) -> None:
    """Answered 5 s later, 13:00's window holds 335 s of 13:02's login, 12:00's (67
    minutes, asked first) 330 s: the collection took those 5 s, so they are no disagreement."""
    clock.now = at(13, 7, 30)
    collected_until(store, at(11))
    with LateLogin(timeline=True, clock=clock.time) as sim:
        result = await collector(sim, store, clock).collect()
    assert sim.throttled and clock.sleeps == [5.0]
    assert result.of(STATES).stored == (at(12),)
    assert logged_in(store, at(12)) == {}  # 13:02's login is the next hour's


class OnDuty(NoData):
    """Agent 1001 alone, logged in day and night."""

    def _activity(self, query: dict[str, str]) -> Reply:
        seconds = int(query["timeframe"]) * 60
        value = {"total": seconds, "chatting": 0, "notChatting": seconds,
                 "chattingInMaxConcurrency": 0}  # fmt: skip
        agent = [{"id": -1, "name": "Logged in", "value": value}]
        return reply(200, {"agentsMetrics": {"metricsPerAgent": {"1001": agent},
                                             "metricsTotals": []}})  # fmt: skip


async def test_the_newest_states_window_answered_with_no_data_stores_nothing(
    store: Store, clock: FakeClock
) -> None:
    """Less an empty 13:00 window, 12:00 would be the whole 67 minutes from 12:00:30 (4,020
    s logged in in one hour); the nesting alone cannot see it, the empty window being the
    narrower."""
    with OnDuty(timeline=True, clock=clock.time) as sim:
        sim.empty = ("agentactivity", "7")
        collecting = collector(sim, store, clock)
        with pytest.raises(VendorBadResponse, match="nested windows disagree") as failed:
            await collecting.collect()
        assert (
            "the 67-minute window (from 12:00 UTC) and the 7-minute window (from 13:00 UTC)"
            " inside it: agent 1001 has 4020 s logged in in the hour between them, which lasts"
            " 3600 s"
        ) in str(failed.value)
        assert count(store, "history_hours") == count(store, "state_hours") == 0
        result = await collecting.collect()  # LivePerson answers as it should again
    assert len(result.of(STATES).stored) == 23
    assert logged_in(store, at(12)) == {"1001": 3600}


class Busy(SimulatedLivePerson):
    """Skill 99 answered by agent 1001 once a second, day and night, on top of the rest;
    each agentactivity window answered 429 Retry-After 9 twice before its answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.throttled: dict[str, int] = {}

    def _activity(self, query: dict[str, str]) -> Reply:
        timeframe = query["timeframe"]
        self.throttled[timeframe] = self.throttled.get(timeframe, 0) + 1
        if self.throttled[timeframe] <= 2:
            return reply(429, {"error": "slow down"}, {"Retry-After": "9"})
        return super()._activity(query)

    def _timeline_csat(self, query: dict[str, str], timeframe: int) -> dict[str, Any]:
        body = super()._timeline_csat(query, timeframe)
        now = self.clock()
        given = int(now - (now - timeframe * 60) // BUCKET * BUCKET)  # one a second
        busy = metrics([0, 0, 0, 0, given])
        skills = body[self.skills_element]["metricsPerSkill"]
        skills["99"] = {"metricsPerAgent": {"1001": busy}, "metricsTotals": busy}
        return body


async def test_steady_answers_while_the_states_are_slow_do_not_ask_again(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A busy account's answers arrive while it is asked; the newest CSAT window is asked
    again as soon as the CSAT windows are in, and may have moved by its own rate for the
    seconds they took: throttled agentactivity calls (36 s of it here, 36 answers, more
    than 0.5 % of the hour's 3,600) are no reason to ask everything again."""
    clock.now = at(13, 7, 30)
    collected_until(store, at(11))
    with (
        Busy(timeline=True, clock=clock.time) as sim,
        caplog.at_level(logging.INFO, logger="bot.history.collector"),
    ):
        result = await collector(sim, store, clock).collect()
    assert clock.sleeps == [9.0] * 4
    assert "again" not in caplog.text
    assert result.of(CSAT).stored == result.of(STATES).stored == (at(12),)
    assert csat_rows(store, at(12))[("99", "1001")] == (0, 0, 0, 0, 3600)
    asked = [(c.path.rsplit("/", 1)[-1], c.query["timeframe"]) for c in sim.calls
             if "timeframe" in c.query]  # fmt: skip
    again = len(asked) - 1 - asked[::-1].index(("msgcsatdistribution", "7"))
    last_states = len(asked) - 1 - asked[::-1].index(("agentactivity", "7"))
    assert asked.count(("msgcsatdistribution", "7")) == 2 and again < last_states


# --- the hourly loop and the digest process ---------------------------------------------


async def test_hourly_logs_a_failed_collection_and_collects_the_next_hour(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    class Stop(BaseException):
        pass

    async def once() -> None:
        calls.append(clock.now)
        if len(calls) == 1:
            raise RuntimeError("the digest process is gone")

    async def sleep(seconds: float) -> None:
        if len(calls) == 2:
            raise Stop
        await clock.sleep(seconds)

    with caplog.at_level(logging.ERROR, logger="bot.history.collector"), pytest.raises(Stop):
        await hourly(once, clock, sleep)
    assert len(calls) == 2  # the failure did not end the loop
    (failed,) = caplog.records
    assert "the collection failed" in failed.getMessage() and failed.exc_info is not None


class BrokenPool(Executor):
    """A digest process that died while collecting; meanwhile `whoever` dealt with it."""

    def __init__(self, worker: DigestWorker, whoever: Callable[[], None]) -> None:
        self.worker, self.whoever = worker, whoever
        self.shut = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.whoever()
        failed: Future[Any] = Future()
        failed.set_exception(BrokenProcessPool("the child died"))
        return failed

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.shut = True


async def test_a_collection_whose_pool_was_shut_down_meanwhile_leaves_it_so() -> None:
    worker = DigestWorker(SimpleNamespace(digests=()))  # type: ignore[arg-type]

    def shut_down() -> None:  # `serve` stopping while the collection waited
        worker._pool = None

    worker._pool = pool = BrokenPool(worker, shut_down)  # type: ignore[assignment]
    await worker.collect()
    assert worker._pool is None and pool.shut


async def test_a_collection_does_not_shut_down_the_pool_a_digest_already_replaced() -> None:
    worker = DigestWorker(SimpleNamespace(digests=()))  # type: ignore[arg-type]
    replaced = BrokenPool(worker, lambda: None)

    def digest_replaced_it() -> None:  # the digest told first started a new child
        worker._pool = replaced  # type: ignore[assignment]

    worker._pool = broken = BrokenPool(worker, digest_replaced_it)  # type: ignore[assignment]
    await worker.collect()
    now: Any = worker._pool
    assert now is replaced and not replaced.shut and broken.shut
