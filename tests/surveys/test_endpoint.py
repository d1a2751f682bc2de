"""The ingestion endpoint: auth, body limits, per-item results in order, group commit."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from bot.db import Store
from bot.surveys import endpoint
from bot.surveys.items import Stored
from tests.fakes.hostile import HOSTILE
from tests.surveys.responses import item, valid

PATH = "/api/v1/create-customer-feedback"
TOKEN = "ingest-secret"
pytestmark = pytest.mark.anyio


class Endpoint:
    def __init__(self, tmp: Path, token: str | None = TOKEN) -> None:
        self.store = Store(str(tmp / "bot.db"))
        self.stored: list[Stored] = []
        route = endpoint.endpoint(self.store, token, self.stored.extend)
        app = Starlette(routes=[Route(PATH, route, methods=["POST"])])
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bot")

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        headers = {"apiToken": TOKEN} if headers is None else headers
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.post(PATH, content=content, headers=headers)

    def count(self) -> int:
        return self.store.sync(
            lambda db: db.execute("select count(*) from responses").fetchone()[0]
        )

    async def aclose(self) -> None:
        await self.client.aclose()
        self.store.close()


@pytest.fixture
async def api(tmp_path: Path) -> Any:
    endpoint = Endpoint(tmp_path)
    yield endpoint
    await endpoint.aclose()


async def test_mixed_items_are_answered_in_order_and_the_valid_ones_kept(api: Endpoint) -> None:
    answer = await api.post({"data": [item(ticket_id="T1"), item(score=9), item(ticket_id="T3")]})
    assert answer.status_code == 201
    body = answer.json()
    assert body == {
        "status": "completed",
        "total": 3,
        "results": [
            {"action": "create", "_id": valid(ticket_id="T1").id, "status": "Created",
             "success": True},
            {"action": "create", "status": "Failed: score 9 is outside 0..5", "success": False},
            {"action": "create", "_id": valid(ticket_id="T3").id, "status": "Created",
             "success": True},
        ],
    }  # fmt: skip
    assert api.count() == 2
    assert [s.action for s in api.stored] == ["create", "create"]


async def test_an_item_nested_beyond_reason_fails_alone(api: Endpoint) -> None:
    deep = '{"x": [' * 300 + '"bottom"' + "]}" * 300  # 600 levels: JSON reads it, a walk would not
    shallow = json.dumps(item(ticket_id="D1"))
    nested = json.dumps(item(ticket_id="D2"))[:-1] + ', "extra": ' + deep + "}"
    answer = await api.post(f'{{"data": [{shallow}, {nested}]}}'.encode())
    assert answer.status_code == 201
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [
        "Created", "Failed: the item is nested more than 16 levels deep",
    ]  # fmt: skip
    assert api.count() == 1


async def test_sent_again_is_an_update_with_the_same_id(api: Endpoint) -> None:
    first = (await api.post({"data": [item()]})).json()["results"][0]
    again = (await api.post({"data": [item(score=1, comment="worse")]})).json()["results"][0]
    assert again == {"action": "update", "_id": first["_id"], "status": "Updated", "success": True}
    assert api.count() == 1


@pytest.mark.parametrize(
    "headers",
    [{"apiToken": TOKEN}, {"APITOKEN": TOKEN}, {"apitoken": TOKEN},
     {"Authorization": f"Bearer {TOKEN}"}, {"authorization": f"bearer {TOKEN}"}],
)  # fmt: skip
async def test_either_token_header_in_any_case(api: Endpoint, headers: dict[str, str]) -> None:
    assert (await api.post({"data": [item()]}, headers)).status_code == 201


@pytest.mark.parametrize(
    "headers",
    [{}, {"apiToken": "wrong"}, {"apiToken": ""}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer wrong"}, {"apiToken": TOKEN + "x"}],
)  # fmt: skip
async def test_missing_or_wrong_token_is_401_and_nothing_stored(
    api: Endpoint, headers: dict[str, str]
) -> None:
    answer = await api.post({"data": [item()]}, headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing or wrong apiToken"
    assert api.count() == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        ({"items": []}, 'the body needs a "data" list of survey responses'),
        ({"data": {"ticket_id": "1"}}, 'the body needs a "data" list of survey responses'),
        ([item()], 'the body needs a "data" list of survey responses'),
        ({"data": [item(ticket_id=str(i)) for i in range(101)]},
         "at most 100 items per request; this one has 101"),
    ],
)  # fmt: skip
async def test_bad_bodies_are_400_and_nothing_stored(api: Endpoint, body: Any, error: str) -> None:
    answer = await api.post(body)
    assert (answer.status_code, answer.json()["error"]) == (400, error)
    assert api.count() == 0


async def test_a_hundred_items_are_fine(api: Endpoint) -> None:
    answer = await api.post({"data": [item(ticket_id=str(i)) for i in range(100)]})
    assert answer.status_code == 201
    assert answer.json()["total"] == 100
    assert api.count() == 100


async def test_an_empty_list_is_completed(api: Endpoint) -> None:
    answer = await api.post({"data": []})
    assert (answer.status_code, answer.json()) == (
        201,
        {"status": "completed", "total": 0, "results": []},
    )


async def test_a_body_over_the_limit_is_413(api: Endpoint) -> None:
    huge = {"data": [item(comment="x" * endpoint.MAX_BODY)]}
    answer = await api.post(huge)
    assert answer.status_code == 413
    assert "larger than" in answer.json()["error"]
    assert api.count() == 0


async def test_without_an_ingest_token_nothing_is_accepted(tmp_path: Path) -> None:
    endpoint = Endpoint(tmp_path, token=None)
    try:
        for headers in ({}, {"apiToken": ""}, {"apiToken": "None"}):
            answer = await endpoint.post({"data": [item()]}, headers)
            assert answer.status_code == 401
            assert "BOT_INGEST_TOKEN is not set" in answer.json()["error"]
        assert endpoint.count() == 0
    finally:
        await endpoint.aclose()


async def test_concurrent_requests_share_one_transaction(tmp_path: Path) -> None:
    import asyncio

    store = Store(str(tmp_path / "bot.db"))
    calls = []
    real = store.__call__

    async def counted(fn: Any) -> Any:
        calls.append(fn)
        return await real(fn)

    writer = endpoint.Writer(store)
    writer.store = counted  # type: ignore[assignment]
    same = valid(ticket_id="SAME")
    batches = [[valid(ticket_id=f"R{r}-{i}") for i in range(3)] + [same] for r in range(6)]
    found = await asyncio.gather(*(writer.save(b, "2026-03-02T10:00:00.000Z") for b in batches))
    assert found[0] == ["create"] * 4
    assert all(actions == ["create"] * 3 + ["update"] for actions in found[1:])
    assert len(calls) < len(batches)  # the first alone, the rest grouped behind it
    assert store.sync(lambda db: db.execute("select count(*) from outbox").fetchone()[0]) == 19

    async def broken(fn: Any) -> Any:
        raise OSError("disk full")

    writer.store = broken  # type: ignore[assignment]
    results = await asyncio.gather(writer.save([valid(ticket_id="X")], "now"),
                                   writer.save([valid(ticket_id="Y")], "now"),
                                   return_exceptions=True)  # fmt: skip
    assert [type(r) for r in results] == [OSError, OSError]
    store.close()


TEXT_FIELDS = ("ticket_id", "agent_id", "comment", "score_label", "submitted_at", "agent_email")


@pytest.mark.parametrize("hostile", HOSTILE[::3], ids=lambda h: repr(h[:20]))
async def test_hostile_strings_in_any_field_fail_only_their_item(
    api: Endpoint, hostile: str
) -> None:
    """Every text field of an item holds the hostile string, once each, beside a good item:
    the request is answered 201 item by item, and the good item is always stored."""
    items = [item(ticket_id=f"ok-{len(hostile)}-{hostile[:8]!r}")]
    items += [item(**{"ticket_id": f"t-{field}", field: hostile}) for field in TEXT_FIELDS]
    answer = await api.post({"data": items})
    assert answer.status_code == 201
    results = answer.json()["results"]
    assert len(results) == len(items)
    assert results[0]["success"] is True
    assert all(r["status"].startswith(("Created", "Updated", "Failed: ")) for r in results)
    stored = api.store.sync(lambda db: db.execute("select raw from responses").fetchall())
    for (raw,) in stored:  # what will be forwarded is strict JSON, whatever came in
        json.loads(raw, parse_constant=lambda c: pytest.fail(f"{c} in a forwarded body"))


async def test_bodies_are_read_on_the_stores_thread_and_share_its_transaction(
    api: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading and validating 100 items takes milliseconds: not on the loop that acks Slack."""
    threads: list[str] = []
    real = endpoint.checked

    def checked(body: bytes) -> Any:
        threads.append(threading.current_thread().name)
        return real(body)

    monkeypatch.setattr(endpoint, "checked", checked)
    bodies = [
        {"data": [item(ticket_id="S1"), item(score=9)]},
        {"data": [item(ticket_id=f"L{i}", comment="Fine. " * 30) for i in range(99)]
         + [item(score=9)]},
        {"data": "not a list"},
        {"data": [item(score=9)]},
    ]  # fmt: skip
    answers = await asyncio.gather(*(api.post(body) for body in bodies))
    assert len(threads) == 4 and all(name.startswith("store") for name in threads)
    for answer, body in zip(answers[:2], bodies[:2], strict=True):
        assert answer.status_code == 201
        results = answer.json()["results"]
        assert [r["success"] for r in results] == [d.get("score") != 9 for d in body["data"]]
        assert results[-1]["status"] == "Failed: score 9 is outside 0..5"
    assert answers[2].status_code == 400
    assert answers[3].status_code == 201 and not answers[3].json()["results"][0]["success"]
    assert api.count() == 100


async def test_a_failed_transaction_is_503_for_its_requests_and_not_for_a_bad_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Endpoint(tmp_path)

    def full(db: Any, groups: Any) -> Any:
        exc = sqlite3.OperationalError("database or disk is full")
        exc.sqlite_errorname = "SQLITE_FULL"  # as SQLite names it
        raise exc

    monkeypatch.setattr(endpoint, "save_groups", full)
    try:
        answers = await asyncio.gather(api.post({"data": [item()]}), api.post(b"{not json"),
                                       api.post({"data": [item(score=9)]}))  # fmt: skip
        assert [a.status_code for a in answers] == [503, 400, 201]
        assert answers[0].json()["error"] == (
            "the responses could not be stored (disk_full); nothing was kept, send again"
        )
        assert api.count() == 0
    finally:
        await api.aclose()
