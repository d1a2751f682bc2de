"""The MaestroQA forwarder: pacing, batching, retries and per-item results, clock injected."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.db import Store
from bot.surveys import queries as outbox
from bot.surveys.forwarder import Forwarder, Policy, RateLimiter, Verdict, decide
from bot.surveys.items import Item, validate_item
from bot.surveys.queries import Update, at
from bot.surveys.report import run_outbox
from tests.fakes.clock import FakeClock
from tests.surveys.responses import save_items

pytestmark = pytest.mark.anyio
START = 1_800_000_000.0


# --- the limiter -----------------------------------------------------------------------------


def test_ten_a_second_then_wait_for_the_oldest_to_leave_the_window() -> None:
    limiter = RateLimiter(((10, 1.0), (100, 60.0)))
    for i in range(10):
        assert limiter.wait(START + i * 0.01) == 0
        limiter.record(START + i * 0.01)
    assert limiter.wait(START + 0.1) == pytest.approx(0.9)
    assert limiter.wait(START + 1.0) == 0  # the first has left the second


def test_a_hundred_a_minute() -> None:
    limiter = RateLimiter(((10, 1.0), (100, 60.0)))
    for i in range(100):
        limiter.record(START + i * 0.2)  # 5 a second: inside the per-second limit
    assert limiter.wait(START + 20.0) == pytest.approx(40.0)
    assert limiter.wait(START + 60.0) == 0


def test_margin_and_pause() -> None:
    limiter = RateLimiter(((1, 1.0), (2, 60.0)), margin=0.05, share=0.02)
    limiter.record(START)
    assert limiter.wait(START + 1.0) == pytest.approx(0.05)
    limiter.record(START + 2)
    assert limiter.wait(START + 3) == pytest.approx(58.2)  # 60 s and 2 % of it to spare
    paused = RateLimiter(((10, 1.0),))
    paused.pause(START + 30)
    assert paused.wait(START + 2) == pytest.approx(28)


# --- what MaestroQA's answers mean --------------------------------------------------------------

ROWS = [{"id": 1, "attempts": 1}, {"id": 2, "attempts": 1}]
POLICY = Policy()


def ok(*results: dict[str, Any]) -> dict[str, Any]:
    return {"status": "completed", "total": len(results), "results": list(results)}


CREATED = {"action": "create", "_id": "5840ec43ac414d9c9", "status": "Created", "success": True}
FAILED = {"action": "create", "status": "Failed: agent not found", "success": False}
THROTTLED = "MaestroQA answered 429 (rate limited); waiting "


@pytest.mark.parametrize(
    ("status", "headers", "body", "rows", "expected"),
    [
        (201, {}, ok(CREATED, FAILED), ROWS, Verdict([
            Update(1, "sent", remote_id="5840ec43ac414d9c9"),
            Update(2, "failed", "Failed: agent not found")])),
        (201, {}, ok(CREATED), ROWS, Verdict([
            Update(1, "sent", remote_id="5840ec43ac414d9c9"),
            Update(2, "sent", "MaestroQA gave no result for this item")])),
        (200, {}, "OK", ROWS[:1], Verdict([
            Update(1, "sent", "MaestroQA gave no result for this item")])),
        (429, {"Retry-After": "7"}, {}, ROWS, Verdict([
            Update(1, "pending", THROTTLED + "7s", retry_at=START + 7),
            Update(2, "pending", THROTTLED + "7s", retry_at=START + 7),
        ], pause_until=START + 7)),
        (429, {}, {}, [{"id": 1, "attempts": 3}], Verdict([
            Update(1, "pending", THROTTLED + "4s", retry_at=START + 4),
        ], pause_until=START + 4)),
        (503, {}, {}, [{"id": 1, "attempts": 4}], Verdict([
            Update(1, "pending", "MaestroQA answered HTTP 503", retry_at=START + 8)])),
        (500, {}, {}, [{"id": 1, "attempts": 40}], Verdict([
            Update(1, "pending", "MaestroQA answered HTTP 500", retry_at=START + 300)])),
        (401, {}, {}, [{"id": 1, "attempts": 1}], Verdict([
            Update(1, "pending", "MaestroQA answered HTTP 401: check MAESTROQA_API_TOKEN",
                   retry_at=START + 1)])),
        (404, {}, {}, [{"id": 1, "attempts": 2}], Verdict([
            Update(1, "pending", "MaestroQA answered HTTP 404: check MAESTROQA_API_URL",
                   retry_at=START + 2)])),
        (400, {}, {"error": "bad item"}, ROWS, Verdict([
            Update(1, "pending", "MaestroQA refused the batch: HTTP 400 {'error': 'bad item'}; "
                   "retrying in smaller batches", retry_at=START),
            Update(2, "pending", "MaestroQA refused the batch: HTTP 400 {'error': 'bad item'}; "
                   "retrying in smaller batches", retry_at=START),
        ], smaller=True)),
        (413, {}, "Payload Too Large", ROWS[:1], Verdict([
            Update(1, "failed", "MaestroQA refused the batch: HTTP 413 Payload Too Large")])),
    ],
    ids=["mixed", "short-results", "no-json", "429-retry-after", "429-backoff", "503", "500-cap",
         "401", "404", "400-split", "413-alone"],
)  # fmt: skip
def test_decide(status: int, headers: dict[str, str], body: Any, rows: list[dict[str, Any]],
                expected: Verdict) -> None:  # fmt: skip
    assert decide(rows, status, httpx.Headers(headers), body, START, POLICY) == expected


# --- the forwarder against a scripted MaestroQA ---------------------------------------------------


@dataclass
class MaestroQA:
    """Answers from `answer(items)`; records each request's items and the time it came."""

    clock: FakeClock
    answer: Callable[[list[dict[str, Any]]], httpx.Response]
    requests: list[tuple[float, list[dict[str, Any]]]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["apiToken"] == "mqa"
        assert request.url.path == "/api/v1/create-customer-feedback"
        items = json.loads(request.content)["data"]
        self.requests.append((self.clock.seconds, items))
        return self.answer(items)

    def tickets(self) -> list[str]:
        return [i["ticket_id"] for _, items in self.requests for i in items]


def all_created(items: list[dict[str, Any]]) -> httpx.Response:
    results = [{**CREATED, "_id": f"m-{i['ticket_id']}"} for i in items]
    return httpx.Response(201, json=ok(*results))


def raw(ticket: str) -> dict[str, Any]:
    return {"submitted_at": "2026-03-02T10:00:00Z", "ticket_id": ticket, "agent_id": "7",
            "score": 4}  # fmt: skip


class Rig:
    def __init__(self, tmp: Path, answer: Callable[..., httpx.Response], **policy: Any) -> None:
        self.clock = FakeClock(START)
        self.store = Store(str(tmp / "bot.db"))
        self.mqa = MaestroQA(self.clock, answer)
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.mqa))
        self.forwarder = Forwarder(self.store, client, "https://mqa.example/", "mqa",
                                   Policy(**policy), self.clock.time, self.clock.sleep)  # fmt: skip

    def ingest(self, *tickets: str) -> None:
        items = [validate_item(raw(t)) for t in tickets]
        now = at(self.clock.seconds)
        self.store.sync(lambda db: save_items(db, [i for i in items if isinstance(i, Item)], now))

    async def drain(self, limit: int = 1000) -> None:
        """Step until nothing is due, moving the clock to each retry."""
        for _ in range(limit):
            if await self.forwarder.step():
                continue
            due = self.store.sync(outbox.next_due)
            if due is None:
                return
            self.clock.seconds = max(self.clock.seconds, due)
        raise AssertionError("the outbox never drained")

    def statuses(self) -> dict[str, int]:
        return {k: v for k, v in self.store.sync(outbox.counts).items() if v}

    async def aclose(self) -> None:
        await self.forwarder.client.aclose()
        self.store.close()


async def test_batches_of_at_most_a_hundred_oldest_first(tmp_path: Path) -> None:
    rig = Rig(tmp_path, all_created)
    tickets = [f"T{i:04d}" for i in range(250)]
    rig.ingest(*tickets)
    await rig.drain()
    assert [len(items) for _, items in rig.mqa.requests] == [100, 100, 50]
    assert rig.mqa.tickets() == tickets
    assert rig.statuses() == {"sent": 250}
    first = rig.store.sync(
        lambda db: db.execute("select remote_id from outbox where id = 1").fetchone()
    )
    assert first == ("m-T0000",)
    await rig.aclose()


async def test_paced_to_ten_a_second_and_a_hundred_a_minute(tmp_path: Path) -> None:
    rig = Rig(tmp_path, all_created, batch=1)
    rig.ingest(*[f"T{i:03d}" for i in range(130)])
    await rig.drain()
    times = [t for t, _ in rig.mqa.requests]
    assert len(times) == 130
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 10
        assert sum(1 for u in times[i:] if u < t + 60.0) <= 100
    assert times[100] - times[0] >= 60.0  # the 101st waited for the minute
    assert times[99] - times[0] < 10.5  # but the first hundred went as fast as allowed
    await rig.aclose()


async def test_limits_hold_on_arrival_however_late_a_request_arrives(tmp_path: Path) -> None:
    """MaestroQA counts arrivals. On a loaded machine a request may arrive late, up to
    when its answer leaves: here every 11th arrives 90 ms after it was sent, the rest at
    once, and each answer takes 90 ms. Paced by send times with 50 ms to spare, the 11th
    request would arrive 0.96 s after the 1st: 11 in one second."""
    lateness = itertools.cycle([0.09] + [0.0] * 10)
    arrivals: list[float] = []

    def slow(items: list[dict[str, Any]]) -> httpx.Response:
        arrivals.append(rig.clock.seconds + next(lateness))
        rig.clock.seconds += 0.09  # the answer comes back once the request has arrived
        return all_created(items)

    rig = Rig(tmp_path, slow, batch=1)
    rig.ingest(*[f"T{i:03d}" for i in range(40)])
    await rig.drain()
    assert len(arrivals) == 40
    for i, t in enumerate(arrivals):
        assert sum(1 for u in arrivals[i:] if u < t + 1.0) <= 10, f"request {i}"
    await rig.aclose()


async def test_429_waits_as_told_and_pauses_every_send(tmp_path: Path) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}, json={})])
    rig = Rig(tmp_path, lambda items: next(answers, None) or all_created(items))
    rig.ingest("A")
    await rig.drain()
    (first, _), (second, items) = rig.mqa.requests
    assert second - first >= 7.0
    assert [i["ticket_id"] for i in items] == ["A"]
    assert rig.statuses() == {"sent": 1}
    await rig.aclose()


async def test_5xx_and_timeouts_back_off_exponentially(tmp_path: Path) -> None:
    script: Iterator[Any] = iter([httpx.Response(503), httpx.ReadTimeout("slow"),
                                  httpx.ConnectError("down"), httpx.Response(502)])  # fmt: skip

    def answer(items: list[dict[str, Any]]) -> httpx.Response:
        step = next(script, None)
        if isinstance(step, Exception):
            raise step
        return step or all_created(items)

    rig = Rig(tmp_path, answer)
    rig.ingest("A")
    await rig.drain()
    times = [t for t, _ in rig.mqa.requests]
    assert [b - a for a, b in itertools.pairwise(times)] == [1.0, 2.0, 4.0, 8.0]
    row = rig.store.sync(lambda db: db.execute("select status, attempts from outbox").fetchone())
    assert row == ("sent", 5)
    await rig.aclose()


async def test_per_item_failures_are_kept_visible_and_not_retried(tmp_path: Path) -> None:
    def answer(items: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(201, json=ok(*[
            FAILED if i["ticket_id"] == "BAD" else {**CREATED, "_id": i["ticket_id"]} for i in items
        ]))  # fmt: skip

    rig = Rig(tmp_path, answer)
    rig.ingest("A", "BAD", "C")
    await rig.drain()
    assert len(rig.mqa.requests) == 1
    assert rig.statuses() == {"sent": 2, "failed": 1}
    (failure,) = rig.store.sync(outbox.failures)
    assert (failure["ticket_id"], failure["last_error"]) == ("BAD", "Failed: agent not found")
    rig.ingest("BAD")  # the survey tool sends it again (say, corrected): it goes again
    await rig.drain()
    assert rig.mqa.tickets() == ["A", "BAD", "C", "BAD"]
    await rig.aclose()


async def test_a_refused_batch_is_split_until_the_bad_item_is_alone(tmp_path: Path) -> None:
    def answer(items: list[dict[str, Any]]) -> httpx.Response:
        if any(i["ticket_id"] == "T013" for i in items):
            return httpx.Response(400, json={"error": "invalid item"})
        return all_created(items)

    rig = Rig(tmp_path, answer)
    tickets = [f"T{i:03d}" for i in range(40)]
    rig.ingest(*tickets)
    await rig.drain()
    delivered = []  # tickets in the requests MaestroQA accepted
    for _, items in rig.mqa.requests:
        if all(i["ticket_id"] != "T013" for i in items):
            delivered += [i["ticket_id"] for i in items]
    assert sorted(delivered) == sorted(set(tickets) - {"T013"})  # each exactly once
    assert rig.statuses() == {"sent": 39, "failed": 1}
    (failure,) = rig.store.sync(outbox.failures)
    assert failure["ticket_id"] == "T013"
    assert failure["last_error"].startswith("MaestroQA refused the batch: HTTP 400")
    await rig.aclose()


async def test_new_responses_wake_an_idle_forwarder(tmp_path: Path) -> None:
    rig = Rig(tmp_path, all_created)
    assert await rig.forwarder.step() is False
    rig.ingest("A")
    assert await rig.forwarder.step() is True
    assert rig.mqa.tickets() == ["A"]
    await rig.aclose()


async def test_a_restarted_forwarder_remembers_the_minutes_sends(tmp_path: Path) -> None:
    rig = Rig(tmp_path, all_created, batch=1)
    rig.ingest(*[f"T{i:03d}" for i in range(100)])
    await rig.drain()
    await rig.forwarder.client.aclose()
    # a new process on the same database a moment later: run() seeds its limiter
    client = httpx.AsyncClient(transport=httpx.MockTransport(rig.mqa))
    rig.forwarder = Forwarder(rig.store, client, "https://mqa.example", "mqa", Policy(batch=1),
                              rig.clock.time, rig.clock.sleep)  # fmt: skip
    rig.ingest("late")
    rig.clock.seconds += 1.0  # the fake clock moves only when told
    task = asyncio.create_task(rig.forwarder.run())
    while len(rig.mqa.requests) < 101:
        await asyncio.sleep(0.01)
    task.cancel()
    first, last = rig.mqa.requests[0][0], rig.mqa.requests[-1][0]
    assert last - first >= 60.0
    await rig.aclose()


def test_a_batch_whose_answer_never_came_counts_as_arriving_at_the_restart(
    tmp_path: Path,
) -> None:
    store = Store(str(tmp_path / "bot.db"))
    items = [validate_item(raw(t)) for t in ("A", "B", "C")]
    store.sync(lambda db: save_items(db, items, at(START)))  # type: ignore[arg-type]
    store.sync(lambda db: outbox.claim(db, START, 1, START + 12, "answered"))
    store.sync(lambda db: outbox.settle(db, "answered", [Update(1, "sent")], START + 0.4))
    store.sync(lambda db: outbox.claim(db, START + 1, 1, START + 13, "killed"))  # no answer
    seen = store.sync(lambda db: outbox.recent_sends(db, START - 60, START + 5))
    assert seen == [pytest.approx(START + 0.4, abs=0.01), pytest.approx(START + 5, abs=0.01)]
    store.close()


def test_recent_sends_come_in_time_order_whatever_the_batch_ids(tmp_path: Path) -> None:
    """The limiter counts back from its last records: a restart must seed it in order."""
    store = Store(str(tmp_path / "bot.db"))
    items = [validate_item(raw(t)) for t in "ABCDE"]
    store.sync(lambda db: save_items(db, items, at(START)))  # type: ignore[arg-type]
    for i, batch in enumerate("edcba"):  # ids that sort against time
        when = START + i
        store.sync(lambda db, b=batch, w=when: outbox.claim(db, w, 1, w + 12, b))
        store.sync(
            lambda db, b=batch, i=i, w=when: outbox.settle(db, b, [Update(i + 1, "sent")], w)
        )
    seen = store.sync(lambda db: outbox.recent_sends(db, START - 60, START + 60))
    assert seen == [pytest.approx(START + i, abs=0.01) for i in range(5)]
    store.close()


# --- the outbox itself ---------------------------------------------------------------------------


def test_a_claim_is_leased_and_a_late_sender_cannot_overwrite(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "bot.db"))
    items = [validate_item(raw(t)) for t in ("A", "B")]
    store.sync(lambda db: save_items(db, items, at(START)))  # type: ignore[arg-type]
    first = store.sync(lambda db: outbox.claim(db, START, 100, START + 12, "one"))
    assert [r["attempts"] for r in first] == [1, 1]
    assert json.loads(first[0]["payload"])["ticket_id"] == "A"
    assert store.sync(lambda db: outbox.claim(db, START + 5, 100, START + 17, "two")) == []
    second = store.sync(lambda db: outbox.claim(db, START + 12, 100, START + 24, "two"))
    assert [r["id"] for r in second] == [r["id"] for r in first]
    late = [Update(r["id"], "sent") for r in first]
    assert store.sync(lambda db: outbox.settle(db, "one", late, START + 13)) == 0
    assert store.sync(outbox.counts)["sending"] == 2
    assert store.sync(lambda db: outbox.settle(db, "two", late, START + 13)) == 2
    assert store.sync(outbox.counts) == {"pending": 0, "sending": 0, "sent": 2, "failed": 0}
    store.close()


def test_outbox_command_prints_counts_and_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import Settings

    settings = Settings(db_path=str(tmp_path / "bot.db"))
    assert run_outbox(settings) == 0
    assert "nothing ingested yet" in capsys.readouterr().out
    store = Store(settings.db_path)
    items = [validate_item(raw(t)) for t in ("A", "B", "C")]
    store.sync(lambda db: save_items(db, items, at(START)))  # type: ignore[arg-type]
    rows = store.sync(lambda db: outbox.claim(db, START, 100, START + 12, "one"))
    updates = [
        Update(rows[0]["id"], "failed", "Failed: agent not found"),
        Update(rows[1]["id"], "sent"),
        Update(rows[2]["id"], "pending", "MaestroQA answered HTTP 503", retry_at=START + 4),
    ]
    store.sync(lambda db: outbox.settle(db, "one", updates, START + 1))  # fmt: skip
    store.close()
    assert run_outbox(settings) == 0
    out = capsys.readouterr().out
    assert "pending 1  sending 0  sent 1  failed 1" in out
    assert "MaestroQA (not configured)" in out
    assert "waiting: ticket C (try 1" in out and "MaestroQA answered HTTP 503" in out
    assert "ticket A submitted 2026-03-02T10:00:00.000Z agent 7: Failed: agent not found" in out
    assert run_outbox(settings, retry=True, now=START + 2) == 0
    assert "queued 1 refused responses again" in capsys.readouterr().out
    store = Store(settings.db_path)
    assert store.sync(outbox.counts) == {"pending": 2, "sending": 0, "sent": 1, "failed": 0}
    store.close()


@pytest.mark.parametrize("write", ["save_items", "claim"])
def test_a_write_waits_for_another_process_instead_of_failing(tmp_path: Path, write: str) -> None:
    """Another process commits between our read and our write. With a deferred BEGIN our
    write would fail at once ('database is locked'); with BEGIN IMMEDIATE the other waits
    for our commit under busy_timeout, and neither write is lost."""
    import contextlib
    from concurrent.futures import Future, ThreadPoolExecutor

    from bot.db import open_db

    path = str(tmp_path / "bot.db")
    mine = open_db(path)
    save_items(mine, [valid_item("A")], at(START))
    other = ThreadPoolExecutor(1)
    theirs: list[Future[Any]] = []

    def their_write() -> Any:
        db = open_db(path)
        try:
            return save_items(db, [valid_item("B")], at(START))
        finally:
            db.close()

    first_write = "insert into responses" if write == "save_items" else "update outbox"

    def meanwhile(sql: str) -> None:  # runs as our write starts, after our read
        if sql.lstrip().lower().startswith(first_write) and not theirs:
            theirs.append(other.submit(their_write))
            with contextlib.suppress(TimeoutError):
                theirs[0].result(timeout=0.5)

    mine.conn.set_trace_callback(meanwhile)
    try:
        if write == "save_items":
            assert save_items(mine, [valid_item("C")], at(START)) == ["create"]
        else:
            assert len(outbox.claim(mine, START + 1, 100, START + 12, "one")) == 1
        mine.conn.set_trace_callback(None)
        assert theirs[0].result(timeout=10) == ["create"]
        total = mine.execute("select count(*) from responses").fetchone()[0]
        assert total == (3 if write == "save_items" else 2)
    finally:
        mine.close()
        other.shutdown()


def valid_item(ticket: str) -> Item:
    item = validate_item(raw(ticket))
    assert isinstance(item, Item)
    return item
