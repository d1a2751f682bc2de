"""Ingestion: MaestroQA's validation rules, the scale mapping, storage and the endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from bot.db import Store, open_db
from bot.surveys import endpoint, queries
from bot.surveys.items import Item, Stored, response_id, to_five, validate_item
from tests.surveys.stored import save_items

PATH = "/api/v1/create-customer-feedback"
TOKEN = "ingest-secret"
BASE = {
    "submitted_at": "2021-10-05T14:48:00.000Z",
    "ticket_id": "922250816601",
    "agent_id": "12345",
    "agent_email": "bob@maestroqa.com",
    "score": 5,
    "comment": "Great service!",
    "score_label": "Perfect",
    "min_score": 0,
    "max_score": 5,
    "clarifying_answers": [
        {
            "question": "Did you like the product experience?",
            "comment": "It was OK, not as good as the support service",
            "score_label": "Meh",
            "score": 3,
            "min_score": "0",  # the document calls these strings
            "max_score": "5",
        }
    ],
}


def item(**changes: Any) -> dict[str, Any]:
    raw = {**BASE, **changes}
    return {k: v for k, v in raw.items() if v is not DROP}


DROP = object()


def test_the_documents_example_is_valid() -> None:
    found = validate_item(item())
    assert isinstance(found, Item)
    assert (found.ticket_id, found.submitted_at, found.agent) == (
        "922250816601",
        "2021-10-05T14:48:00.000Z",
        "12345",  # agent_id takes precedence
    )
    assert (found.score, found.min_score, found.max_score, found.score5) == (5, 0, 5, 5)
    assert found.raw == item()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"submitted_at": DROP}, "submitted_at is required"),
        ({"submitted_at": ""}, "submitted_at is required"),
        ({"submitted_at": "yesterday"}, "submitted_at must be an ISO 8601 date and time"),
        ({"submitted_at": "2021-10-05"}, "submitted_at must be an ISO 8601 date and time"),
        ({"submitted_at": 1633445280}, "submitted_at must be an ISO 8601 date and time"),
        ({"ticket_id": DROP}, "ticket_id is required"),
        ({"ticket_id": "  "}, "ticket_id is required"),
        ({"ticket_id": ["1"]}, "ticket_id is required"),
        ({"agent_id": DROP, "agent_email": DROP}, "agent_id or agent_email is required"),
        ({"agent_id": "", "agent_email": ""}, "agent_id or agent_email is required"),
        ({"agent_id": {"id": 1}}, "agent_id must be a string"),
        ({"agent_id": DROP, "agent_email": "bob"}, "agent_email must be an e-mail address"),
        ({"score": DROP}, "score is required"),
        ({"score": None}, "score is required"),
        ({"score": 4.5}, "score must be an integer"),
        ({"score": "5"}, "score must be an integer"),
        ({"score": True}, "score must be an integer"),
        ({"score": 6}, "score 6 is outside 0..5"),
        ({"score": -1}, "score -1 is outside 0..5"),
        ({"min_score": 5}, "min_score (5) must be below max_score (5)"),
        ({"min_score": "low"}, "min_score must be an integer"),
        ({"max_score": 2.5}, "max_score must be an integer"),
        ({"min_score": DROP, "score": 0}, "score 0 is outside 1..5"),  # defaults 1..5
        ({"comment": 5}, "comment must be a string"),
        ({"score_label": ["x"]}, "score_label must be a string"),
        ({"clarifying_answers": "all good"}, "clarifying_answers must be a list"),
        ({"clarifying_answers": ["x"]}, "clarifying_answers[0] must be an object"),
        ({"clarifying_answers": [{"score": 3}]}, "clarifying_answers[0].question is required"),
        ({"clarifying_answers": [{"question": "Q"}]}, "clarifying_answers[0].score is required"),
        (
            {"clarifying_answers": [{"question": "Q", "score": 7}]},
            "clarifying_answers[0].score 7 is outside 1..5",
        ),
        (
            {"clarifying_answers": [{"question": "Q", "score": 2, "max_score": "x"}]},
            "clarifying_answers[0].max_score must be an integer",
        ),
    ],
)
def test_invalid_items_say_why(changes: dict[str, Any], reason: str) -> None:
    found = validate_item(item(**changes))
    assert isinstance(found, str)
    assert found.startswith(reason), found


MOMENT = "2021-10-05T14:48:00.000Z"


@pytest.mark.parametrize(
    ("changes", "fields", "expected"),
    [
        ({"agent_id": DROP}, ("agent",), ("bob@maestroqa.com",)),
        ({"agent_email": DROP}, ("agent", "agent_email"), ("12345", "")),
        ({"ticket_id": 922250816601}, ("ticket_id",), ("922250816601",)),
        ({"score": 4.0}, ("score",), (4,)),
        ({"min_score": DROP, "max_score": DROP, "score": 1}, ("min_score", "max_score"), (1, 5)),
        ({"comment": None, "score_label": DROP}, ("comment", "score_label"), ("", "")),
        ({"clarifying_answers": None}, ("clarifying_answers",), ((),)),
        ({"submitted_at": "2021-10-05T16:48:00+02:00"}, ("submitted_at",), (MOMENT,)),
        ({"submitted_at": "2021-10-05T14:48:00"}, ("submitted_at",), (MOMENT,)),  # naive: UTC
        ({"submitted_at": "2021-10-05T14:48:00.0004Z"}, ("submitted_at",), (MOMENT,)),
    ],
)  # fmt: skip
def test_lenient_where_maestroqa_documents_no_rule(
    changes: dict[str, Any], fields: tuple[str, ...], expected: tuple[Any, ...]
) -> None:
    found = validate_item(item(**changes))
    assert isinstance(found, Item), found
    assert tuple(getattr(found, name) for name in fields) == expected


def test_not_an_object() -> None:
    assert validate_item(["x"]) == "each item must be a JSON object"


@pytest.mark.parametrize(
    ("low", "high", "mapped"),
    [
        (1, 5, [1, 2, 3, 4, 5]),
        (0, 10, [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5]),
        (1, 7, [1, 2, 2, 3, 4, 4, 5]),
        (0, 1, [1, 5]),
        (1, 9, [1, 2, 2, 3, 3, 4, 4, 5, 5]),  # halves round up, never to even
    ],
)
def test_scales_map_linearly_onto_one_to_five(low: int, high: int, mapped: list[int]) -> None:
    assert [to_five(s, low, high) for s in range(low, high + 1)] == mapped


def test_a_response_has_one_id_however_its_time_is_written() -> None:
    a = validate_item(item(submitted_at="2021-10-05T14:48:00Z"))
    b = validate_item(item(submitted_at="2021-10-05T16:48:00.000+02:00"))
    assert isinstance(a, Item) and isinstance(b, Item)
    assert a.id == b.id == response_id("922250816601", "2021-10-05T14:48:00.000Z")


@pytest.mark.parametrize(
    ("changes", "detractor"),
    [
        ({"score": 0, "comment": "Awful"}, True),
        ({"score": 0, "comment": "   "}, False),
        ({"score": 1, "comment": "Bad"}, False),  # 0 is this survey's bottom
        ({"score": 1, "min_score": DROP, "comment": "Bad"}, True),
    ],
)
def test_a_detractor_is_the_bottom_of_its_scale_with_a_comment(
    changes: dict[str, Any], detractor: bool
) -> None:
    found = validate_item(item(**changes))
    assert isinstance(found, Item)
    assert found.detractor is detractor


# --- storage ---------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = open_db(str(tmp_path / "bot.db"))
    yield database
    database.close()


def valid(**changes: Any) -> Item:
    found = validate_item(item(**changes))
    assert isinstance(found, Item), found
    return found


def test_save_creates_then_updates_and_queues_once(db: Any) -> None:
    first = valid(ticket_id="T1")
    assert save_items(db, [first, valid(ticket_id="T2")], "2026-03-02T10:00:00.000Z") == [
        "create",
        "create",
    ]
    again = valid(ticket_id="T1", score=2, comment="changed my mind")
    assert save_items(db, [again, again], "2026-03-02T11:00:00.000Z") == ["update", "update"]
    row = db.execute("select score, comment, received_at, updated_at from responses "
                     "where ticket_id = 'T1'").fetchone()  # fmt: skip
    assert row == (2, "changed my mind", "2026-03-02T10:00:00.000Z", "2026-03-02T11:00:00.000Z")
    assert db.execute("select count(*) from responses").fetchone()[0] == 2
    assert db.execute("select response_id, status from outbox order by id").fetchall() == [
        (first.id, "pending"),
        (valid(ticket_id="T2").id, "pending"),
    ]


def test_a_corrected_response_maestroqa_refused_is_queued_again(db: Any) -> None:
    first = valid(ticket_id="T1")
    save_items(db, [first, valid(ticket_id="T2")], "2026-03-02T10:00:00.000Z")
    db.execute("update outbox set status = 'failed', attempts = 1, last_error = 'Failed: x' "
               "where response_id = ?", [first.id])  # fmt: skip
    db.execute("update outbox set status = 'sent' where response_id != ?", [first.id])
    save_items(db, [first, valid(ticket_id="T2")], "2026-03-02T11:00:00.000Z")
    rows = db.execute("select status, attempts, last_error from outbox order by id").fetchall()
    assert rows == [("pending", 0, ""), ("sent", 0, "")]  # a sent one is never queued twice


def test_distribution_per_agent_on_the_one_to_five_scale(db: Any) -> None:
    items = [
        valid(ticket_id="A", agent_id="7", score=10, min_score=0, max_score=10),
        valid(ticket_id="B", agent_id="7", score=0, min_score=0, max_score=10),
        valid(ticket_id="C", agent_id=DROP, agent_email="x@y.z", score=4, min_score=1,
              max_score=7),
        valid(ticket_id="D", agent_id="7", submitted_at="2021-10-01T00:00:00Z"),
    ]  # fmt: skip
    save_items(db, items, "2026-03-02T10:00:00.000Z")
    found = queries.distribution(db, "2021-10-05T00:00:00.000Z", "2021-10-06T00:00:00.000Z")
    assert found == {"7": (1, 0, 0, 0, 1), "x@y.z": (0, 0, 1, 0, 0)}
    assert queries.distribution(db, "2021-10-01T00:00:00.000Z", "2021-10-06T00:00:00.000Z",
                               ("x@y.z",)) == {"x@y.z": (0, 0, 1, 0, 0)}  # fmt: skip


# --- the endpoint ----------------------------------------------------------------------------


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
async def bot(tmp_path: Path) -> Any:
    endpoint = Endpoint(tmp_path)
    yield endpoint
    await endpoint.aclose()


async def test_mixed_items_are_answered_in_order_and_the_valid_ones_kept(bot: Endpoint) -> None:
    answer = await bot.post({"data": [item(ticket_id="T1"), item(score=9), item(ticket_id="T3")]})
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
    assert bot.count() == 2
    assert [s.action for s in bot.stored] == ["create", "create"]


async def test_sent_again_is_an_update_with_the_same_id(bot: Endpoint) -> None:
    first = (await bot.post({"data": [item()]})).json()["results"][0]
    again = (await bot.post({"data": [item(score=1, comment="worse")]})).json()["results"][0]
    assert again == {"action": "update", "_id": first["_id"], "status": "Updated", "success": True}
    assert bot.count() == 1


@pytest.mark.parametrize(
    "headers",
    [{"apiToken": TOKEN}, {"APITOKEN": TOKEN}, {"apitoken": TOKEN},
     {"Authorization": f"Bearer {TOKEN}"}, {"authorization": f"bearer {TOKEN}"}],
)  # fmt: skip
async def test_either_token_header_in_any_case(bot: Endpoint, headers: dict[str, str]) -> None:
    assert (await bot.post({"data": [item()]}, headers)).status_code == 201


@pytest.mark.parametrize(
    "headers",
    [{}, {"apiToken": "wrong"}, {"apiToken": ""}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer wrong"}, {"apiToken": TOKEN + "x"}],
)  # fmt: skip
async def test_missing_or_wrong_token_is_401_and_nothing_stored(
    bot: Endpoint, headers: dict[str, str]
) -> None:
    answer = await bot.post({"data": [item()]}, headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing or wrong apiToken"
    assert bot.count() == 0


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
async def test_bad_bodies_are_400_and_nothing_stored(bot: Endpoint, body: Any, error: str) -> None:
    answer = await bot.post(body)
    assert (answer.status_code, answer.json()["error"]) == (400, error)
    assert bot.count() == 0


async def test_a_hundred_items_are_fine(bot: Endpoint) -> None:
    answer = await bot.post({"data": [item(ticket_id=str(i)) for i in range(100)]})
    assert answer.status_code == 201
    assert answer.json()["total"] == 100
    assert bot.count() == 100


async def test_an_empty_list_is_completed(bot: Endpoint) -> None:
    answer = await bot.post({"data": []})
    assert (answer.status_code, answer.json()) == (
        201,
        {"status": "completed", "total": 0, "results": []},
    )


async def test_a_body_over_the_limit_is_413(bot: Endpoint) -> None:
    huge = {"data": [item(comment="x" * endpoint.MAX_BODY)]}
    answer = await bot.post(huge)
    assert answer.status_code == 413
    assert "larger than" in answer.json()["error"]
    assert bot.count() == 0


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


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"submitted_at": "0001-01-01T00:00:00+01:00"}, "submitted_at must be an ISO 8601"),
        ({"score": 10**23}, "score must be an integer"),
        ({"max_score": 10**23}, "max_score must be an integer"),
    ],
)
def test_values_sqlite_cannot_hold_are_refused_per_item(
    change: dict[str, Any], reason: str
) -> None:
    raw = {"submitted_at": "2026-11-22T10:00:00Z", "ticket_id": "T1", "agent_id": "7", "score": 3}
    found = validate_item({**raw, **change})
    assert isinstance(found, str) and found.startswith(reason)
