"""The collector against the simulated LivePerson's timeline on loopback, time injected."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import LivePersonSettings
from bot.db import Store
from bot.demo.sim.liveperson import AGENTS, SimulatedLivePerson, agent_states, hour_scores
from bot.demo.sim.server import Fault
from bot.errors import SourceError
from bot.history import queries
from bot.history.collector import (
    CSAT,
    START_DELAY,
    STATES,
    Collector,
    CollectResult,
    lines,
    until_next_run,
)
from bot.sources.http import BucketCache, RetryPolicy, VendorHTTP
from bot.sources.liveperson import LivePerson
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


async def test_the_first_collection_fills_the_last_24_hours_exactly(
    sim: SimulatedLivePerson, store: Store, clock: FakeClock
) -> None:
    result = await collector(sim, store, clock).collect()
    hours = tuple(at(14, day=-1) + i * H for i in range(23))
    assert result.of(CSAT).stored == hours and result.of(STATES).stored == hours
    assert result.of(CSAT).skipped == () and result.of(CSAT).missing == ()
    assert data_calls(sim) == 48  # 24 windows per kind, asked past the bucket cache
    for hour in hours:
        assert csat_rows(store, hour) == sim_hour(hour), hour
        every = sorted({a for members in AGENTS.values() for a in members})
        want = {
            a: agent_states(a, 3600, int(hour.timestamp()))[-1]["value"]["total"] for a in every
        }
        assert logged_in(store, hour) == want, hour
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
    assert csat_rows(store, at(9)) == {} and logged_in(store, at(9)) == {}
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
    assert data_calls(sim) == 6  # 13:00, 14:00 and 15:00, per kind
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
    assert len(asked) == 96  # the whole collection twice: the first crossed 13:10
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
    assert clock.sleeps == [11.0]  # to 13:10:01


async def test_run_collects_soon_after_start_then_every_hour_at_07(
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
    assert clock.sleeps == [START_DELAY, 400.0, 3600.0]  # 13:00:20, 13:07, then 14:07
    first, second = results
    assert first is not None and first.of(CSAT).stored[-1] == at(11)  # 12:00 not over then
    assert second is not None and second.of(CSAT).stored == (at(12),)
    assert until_next_run(at(13, 7)) == 3600.0 and until_next_run(at(13, 6, 59)) == 1.0


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
