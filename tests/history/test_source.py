"""LivePerson beyond 24 hours, answered from the history through the real store, no vendor call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.commands.service import Commands
from bot.config import DEFAULT_TEMPLATES, LivePersonSettings
from bot.db import Store, open_db
from bot.errors import UsageError
from bot.history import queries as q
from bot.history.source import HistoryBacked
from bot.metrics import ONLINE, AgentStates, Coverage, CsatCounts, CsatRow, StateTime
from bot.query import Query
from bot.render import Renderer
from bot.sources import Sources
from bot.sources.http import BucketCache, VendorHTTP
from tests.fakes.clock import FakeClock, no_retry

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
NOW = datetime(2026, 3, 9, 8, 20, tzinfo=UTC)  # Monday 9:20 in Berlin
END = datetime(2026, 3, 9, 8, tzinfo=UTC)  # the last whole hour
WEEK = 7 * 1440


class Vendor:
    """A LivePerson that answers every call and records it: beyond 24 hours it must see none."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if "token" in request.url.path:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        totals = {"csat_score5_answers": 3, "total_answers": 3, "positive_answers": 3}
        return httpx.Response(200, content=json.dumps({"metricsTotals": totals}))


@pytest.fixture
def vendor() -> Vendor:
    return Vendor()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    found = Store(str(tmp_path / "bot.db"))
    yield found
    found.close()


def source(
    store: Store, vendor: Vendor, clock: FakeClock, zone: ZoneInfo = BERLIN
) -> HistoryBacked:
    settings = LivePersonSettings(
        "123", client_id="a", client_secret="b", base_url="https://lp.test",
        sentinel_url="https://sentinel.test",
    )  # fmt: skip
    client = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
    http = VendorHTTP("LivePerson", client, sleep=no_retry)
    return HistoryBacked(settings, http, BucketCache(clock), store, zone, 400 * 1440, clock)


def counts(n: int, happy: int) -> CsatCounts:
    return CsatCounts.from_scores((n - happy, 0, 0, 0, happy))


def skill(sid: str, *agents: tuple[str, CsatCounts]) -> CsatRow[CsatCounts]:
    rows = tuple(CsatRow("agent", a, None, c) for a, c in agents)
    return CsatRow("skill", sid, None, sum((r.counts for r in rows), CsatCounts()), rows)


def csat_hours(hours: list[datetime]) -> dict[datetime, list[CsatRow[CsatCounts]]]:
    """Skill 4 (agents 7: 3 answers, 2 happy; 8: 1 happy) and skill 5 (agent 7: 2 unhappy)."""
    return {
        h: [skill("4", ("7", counts(3, 2)), ("8", counts(1, 1))), skill("5", ("7", counts(2, 0)))]
        for h in hours
    }


def state_hours(hours: list[datetime]) -> dict[datetime, list[AgentStates]]:
    """Agent 7 online the whole of every hour."""
    hour = StateTime(3600, 600, 3000, 0)
    return {h: [AgentStates("7", None, hour, ((ONLINE, hour),))] for h in hours}


def keep(store: Store, hours: list[datetime], kind: str = "both") -> None:
    if kind in ("both", "csat"):
        store.sync(lambda db: q.store_csat(db, csat_hours(hours), BERLIN, NOW))
    if kind in ("both", "states"):
        store.sync(lambda db: q.store_states(db, state_hours(hours), BERLIN, NOW))


def last(hours: int, end: datetime = END) -> list[datetime]:
    return [end - (hours - i) * H for i in range(hours)]


def csat(*words: Any) -> Query:
    unit, ids, timeframe = words
    return Query("/csat", "liveperson", unit, ids, timeframe)


# --- answers ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_week_of_one_skill_comes_from_the_history_with_its_agents_and_no_vendor_call(
    store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    keep(store, last(24 * 10))
    lp = source(store, vendor, clock)
    report = await lp.csat(csat("skill", ("4",), WEEK))
    assert (report.window.start, report.window.end) == (END - 168 * H, END)
    assert report.total == counts(4 * 168, 3 * 168)
    (row,) = report.rows
    assert (row.id, row.counts) == ("4", counts(4 * 168, 3 * 168))
    assert {a.id: a.counts for a in row.agents} == {"7": counts(3 * 168, 2 * 168),
                                                    "8": counts(168, 168)}  # fmt: skip
    assert report.coverage == Coverage(
        WEEK, END - 168 * H, END, WEEK, END - 168 * H, END, (), END - 240 * H
    )
    assert report.coverage.full
    assert vendor.requests == []
    await lp.aclose()


@pytest.mark.anyio
async def test_skill_all_leaves_agents_out_unless_a_digest_asks_for_them(
    store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    keep(store, last(48))
    lp = source(store, vendor, clock)
    every = await lp.csat(csat("skill", "all", 2 * 1440))
    assert {r.id: (r.counts, r.agents) for r in every.rows} == {
        "4": (counts(4 * 48, 3 * 48), ()),
        "5": (counts(2 * 48, 0), ()),
    }
    digest = await lp.csat_before(csat("skill", "all", 2 * 1440), NOW, with_agents=True)
    assert {r.id: len(r.agents) for r in digest.rows} == {"4": 2, "5": 1}
    agents = await lp.csat(csat("agent", "all", 2 * 1440))
    assert {r.id: r.counts for r in agents.rows} == {"7": counts(5 * 48, 2 * 48),
                                                     "8": counts(48, 48)}  # fmt: skip
    account = await lp.csat(Query("/csat", "liveperson", timeframe=2 * 1440))
    assert (account.total, account.rows) == (counts(6 * 48, 3 * 48), ())
    assert vendor.requests == []
    await lp.aclose()


@pytest.mark.anyio
async def test_24_hours_or_less_still_goes_to_liveperson(
    store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    keep(store, last(48))
    lp = source(store, vendor, clock)
    report = await lp.csat(Query("/csat", "liveperson", timeframe=1440))
    assert report.coverage is None and report.total == counts(3, 3)
    assert [r.url.path for r in vendor.requests][-1].endswith("/msgcsatdistribution")
    await lp.aclose()


@pytest.mark.anyio
async def test_the_week_before_is_answered_for_a_window_ending_where_this_one_starts(
    store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    keep(store, last(24 * 10))  # 10 days: the week before is covered in part
    lp = source(store, vendor, clock)
    query = csat("skill", "all", WEEK)
    week = await lp.csat_before(query, NOW)
    before = await lp.csat_before(query, week.window.start)
    assert (before.window.start, before.window.end) == (END - 336 * H, END - 168 * H)
    assert before.total == counts(6 * 72, 3 * 72)
    assert before.coverage is not None
    assert (before.coverage.covered, before.coverage.missing) == (72 * 60, ())
    states = await lp.agent_states_before(Query("/agent-states", "liveperson", "agent", "all",
                                                WEEK), END - 168 * H)  # fmt: skip
    assert [a.logged_in.total for a in states.agents] == [72 * 3600]
    assert vendor.requests == []
    await lp.aclose()


# --- the newest hour, collected a few minutes after it ends --------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("late", [0, 1, 2, 3])
async def test_until_the_newest_hour_is_collected_the_window_ends_with_the_last_collected_one(
    late: int, store: Store, vendor: Vendor
) -> None:
    """At 09:05 on Monday the 08:00–09:00 hour is collected at 09:07 (the previous one if a
    collection failed): the week ends where the history does, and the week before it ends
    where this one starts, both whole. Three hours behind is downtime: the coverage says so."""
    collected = END - late * H
    keep(store, last(24 * 15, collected))
    lp = source(store, vendor, FakeClock(END + timedelta(minutes=5)))
    ends = collected if late <= 2 else END
    query = csat("skill", ("4",), WEEK)
    week = await lp.csat(query)
    before = await lp.csat_before(query, week.window.start)
    assert (week.window.start, week.window.end) == (ends - 168 * H, ends)
    assert (before.window.start, before.window.end) == (ends - 336 * H, ends - 168 * H)
    assert before.total == counts(4 * 168, 3 * 168) and before.coverage is not None
    assert before.coverage.full
    assert week.coverage is not None
    if late <= 2:
        assert week.total == counts(4 * 168, 3 * 168) and week.coverage.full
    else:
        assert week.total == counts(4 * 165, 3 * 165)
        assert week.coverage.missing == ((END - 3 * H, END),)
    states = Query("/agent-states", "liveperson", "agent", "all", WEEK, 1440)
    report = await lp.agent_states(states)
    earlier = await lp.agent_states_before(states, report.window.start)
    assert (report.window.end, report.intervals[-1].end) == (ends, ends)
    assert earlier.window.end == report.window.start
    assert earlier.agents[0].logged_in.total == 168 * 3600
    assert report.agents[0].logged_in.total == (168 if late <= 2 else 165) * 3600
    assert vendor.requests == []
    await lp.aclose()


@pytest.mark.anyio
async def test_the_answer_says_the_window_it_really_covers(store: Store, vendor: Vendor) -> None:
    keep(store, last(24 * 8, END - H))  # 09:05 Berlin: 08:00–09:00 is not collected yet
    lp = source(store, vendor, FakeClock(END + timedelta(minutes=5)))
    commands = Commands(Sources({"liveperson": lp}), Renderer(DEFAULT_TEMPLATES, BERLIN))
    message = await commands.answer(commands.prepare("/csat", "skill 4 7d"))
    assert context_of(message) == (
        "LivePerson · 02 Mar 08:00 → 09 Mar 08:00 Europe/Berlin · History covers all of 7d"
    )
    await lp.aclose()


# --- one snapshot --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_answer_and_its_coverage_are_one_snapshot_while_a_collection_commits(
    store: Store, vendor: Vendor, clock: FakeClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The digest process stores an hour between the numbers and the coverage: the answer
    sees neither, not a coverage that counts an hour its numbers lack."""
    late = END - 100 * H
    keep(store, [h for h in last(24 * 8) if h != late])
    numbers = {"csat": q.csat_report_rows, "states": q.state_rows}

    def then_collected(kind: str) -> Any:
        def read(db: Any, *args: Any) -> Any:
            found = numbers[kind](db, *args)
            other = open_db(str(tmp_path / "bot.db"))  # another process's connection
            try:
                if kind == "csat":
                    q.store_csat(other, csat_hours([late]), BERLIN, NOW)
                else:
                    q.store_states(other, state_hours([late]), BERLIN, NOW)
            finally:
                other.close()
            return found

        return read

    monkeypatch.setattr(q, "csat_report_rows", then_collected("csat"))
    monkeypatch.setattr(q, "state_rows", then_collected("states"))
    lp = source(store, vendor, clock)
    report = await lp.csat(csat("skill", ("4",), WEEK))
    assert report.total == counts(4 * 167, 3 * 167)
    assert report.coverage is not None and report.coverage.missing == ((late, late + H),)
    states = await lp.agent_states(Query("/agent-states", "liveperson", "agent", "all", WEEK))
    assert states.agents[0].logged_in.total == 167 * 3600
    assert states.coverage is not None and states.coverage.covered == 167 * 60
    again = await lp.csat(csat("skill", ("4",), WEEK))  # the next answer sees the hour
    assert again.total == counts(4 * 168, 3 * 168) and again.coverage == replace(
        report.coverage, covered=WEEK, missing=()
    )
    await lp.aclose()


# --- what the answer says it covers ----------------------------------------------------


def context_of(message: dict[str, Any]) -> str:
    (text,) = [e["text"] for b in message["blocks"] if b["type"] == "context"
               for e in b["elements"] if "LivePerson ·" in e["text"]]  # fmt: skip
    return str(text)


COVERAGE_CASES = {
    "full": (lambda: last(24 * 8), "History covers all of 7d"),
    "partial": (
        lambda: last(100),
        "History covers the last 4 days 4 hours of 7d "
        "(the bot has collected since Thu 05 Mar 05:00)",
    ),
    "gaps": (
        lambda: [h for h in last(168) if h not in last(3, END - 10 * H)],
        "History covers 6 days 21 hours of 7d (missing Sun 08 Mar 20:00–23:00)",
    ),
    "start": (  # down for the window's first two days, collecting long before it
        lambda: [h for h in last(24 * 10) if h not in last(48, END - 120 * H)],
        "History covers 5 days of 7d (missing Mon 02 Mar 09:00–Wed 04 Mar 09:00)",
    ),
    "none": (
        lambda: last(5, END - 200 * H),
        "LivePerson keeps 24 hours; the bot has been collecting since Sat 28 Feb 20:00, so "
        "nothing of this window is in its history",
    ),
    "never": (
        lambda: [],
        "LivePerson keeps 24 hours, and the bot has not collected its history yet: "
        "`python -m bot collect`",
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(COVERAGE_CASES))
async def test_the_answer_says_what_part_of_the_window_the_history_covers(
    case: str, store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    hours, said = COVERAGE_CASES[case]
    keep(store, hours())
    lp = source(store, vendor, clock)
    commands = Commands(Sources({"liveperson": lp}), Renderer(DEFAULT_TEMPLATES, BERLIN))
    plan = commands.prepare("/csat", "skill 4 7d")
    message = await commands.answer(plan)
    assert message["blocks"][0]["text"]["text"] == "CSAT · skill 4 · last 7d"
    assert context_of(message).endswith(" · " + said)
    plan = commands.prepare("/agent-states", "all 7d")
    message = await commands.answer(plan)
    assert context_of(message).endswith(" · " + said)
    assert vendor.requests == []
    await lp.aclose()


def test_coverage_runs_of_missing_hours_start_at_the_window_or_since_whichever_is_later() -> None:
    start = END - 10 * H
    hours = [start + i * H for i in (2, 3, 5, 6, 9)]
    found = Coverage.of(600, start, END, hours, start + 2 * H)  # collecting since start + 2h
    assert (found.covered, found.first, found.last) == (300, start + 2 * H, END)
    assert found.missing == ((start + 4 * H, start + 5 * H), (start + 7 * H, start + 9 * H))
    assert not found.full and found.length == 600
    earlier = Coverage.of(600, start, END, hours, start - 48 * H)  # collecting before it
    assert earlier.missing == ((start, start + 2 * H), *found.missing)
    assert Coverage.of(600, start, END, [], None) == Coverage(600, start, END)


# --- daily intervals: local days, 23 and 25 hours when clocks change --------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("midnight", "lengths"),
    [
        (datetime(2026, 3, 31, tzinfo=BERLIN), [1, 24, 23, 24]),  # 29 Mar: clocks go forward
        (datetime(2026, 10, 27, tzinfo=BERLIN), [23, 25, 24]),  # 25 Oct: clocks go back
    ],
)
async def test_daily_intervals_are_local_days_across_a_clock_change(
    midnight: datetime, lengths: list[int], store: Store, vendor: Vendor
) -> None:
    now = midnight.astimezone(UTC)
    keep(store, last(24 * 5, now), "states")
    lp = source(store, vendor, FakeClock(now))
    query = Query("/agent-states", "liveperson", "agent", "all", 3 * 1440, 1440)
    lp.check(query)
    report = await lp.agent_states(query)
    spans = [(i.end - i.start) // H for i in report.intervals]
    assert spans == lengths
    assert [i.team.logged_in.total for i in report.intervals] == [n * 3600 for n in lengths]
    assert report.intervals[-1].end == now
    assert all(
        a.end == b.start for a, b in zip(report.intervals, report.intervals[1:], strict=False)
    )
    local = [i.start.astimezone(BERLIN) for i in report.intervals[1:]]
    assert all((d.hour, d.minute) == (0, 0) for d in local)
    assert report.agents[0].logged_in.total == 72 * 3600
    hourly = await lp.agent_states(Query("/agent-states", "liveperson", "agent", "all",
                                         3 * 1440, 360))  # fmt: skip
    assert len(hourly.intervals) == 12 and vendor.requests == []
    await lp.aclose()


# --- what it refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeframe", "interval", "problem"),
    [
        (401 * 1440, None, "beyond_history"),
        (WEEK, 90, "history_interval"),  # not whole hours
        (WEEK, 15, "history_interval"),
        (WEEK, 8 * 1440, "history_interval"),  # longer than the timeframe
        (400 * 1440, 60, "history_interval"),  # 9,600 intervals: more than a message holds
        (1440, 7, "interval_does_not_fit"),  # 24 hours: LivePerson's own rules
    ],
)
def test_what_the_history_cannot_answer_is_a_usage_error(
    timeframe: int, interval: int | None, problem: str, store: Store, vendor: Vendor,
    clock: FakeClock,
) -> None:  # fmt: skip
    lp = source(store, vendor, clock)
    command = "/agent-states" if interval else "/csat"
    with pytest.raises(UsageError) as caught:
        lp.check(Query(command, "liveperson", "agent", "all", timeframe, interval))  # type: ignore[arg-type]
    assert caught.value.problem == problem


@pytest.mark.parametrize("interval", [None, 60, 360, 1440, 2880])
def test_whole_hours_and_days_are_fine_up_to_keep(
    interval: int | None, store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    source(store, vendor, clock).check(
        Query("/agent-states", "liveperson", "agent", "all", WEEK, interval)
    )
    source(store, vendor, clock).check(csat("skill", ("4",), 400 * 1440))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("skill 4 401d", "which keeps 400d: ask for at most `400d`; `401d` is longer"),
        ("skill 4 99999d", "longer than the bot can look back: at most 3650 days"),
        ("skill billing 30d", ""),  # a name: fine here, the directory places it later
    ],
)
def test_huge_timeframes_are_refused_naming_the_limit(
    text: str, said: str, store: Store, vendor: Vendor, clock: FakeClock
) -> None:
    lp = source(store, vendor, clock)
    commands = Commands(Sources({"liveperson": lp}), Renderer(DEFAULT_TEMPLATES, BERLIN))
    plan = commands.prepare("/csat", text)
    if not said:
        assert plan.query is not None
        return
    assert plan.query is None
    assert said in plan.ack["text"]
