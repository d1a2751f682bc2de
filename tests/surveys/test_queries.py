"""The survey tables: responses stored with their outbox rows, and the 1-5 distribution."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.db import open_db
from bot.surveys import queries
from bot.surveys.items import Item, read_document, validate_item
from bot.surveys.queries import NotStored, save_groups
from tests.surveys.responses import BODIES, DROP, save_items, valid


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = open_db(str(tmp_path / "bot.db"))
    yield database
    database.close()


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


def test_an_item_that_cannot_be_written_fails_alone_and_the_rest_are_stored(db: Any) -> None:
    """Validation keeps out what it knows; should an item still break the group's write,
    the group is written again one item at a time, and only that item fails."""
    good, other = valid(ticket_id="G1"), valid(ticket_id="G2")
    broken = replace(valid(ticket_id="B1"), score=2**70)  # SQLite holds 64 bits
    found = save_groups(db, [([good, broken], "2026-03-02T10:00:00.000Z"),
                             ([other], "2026-03-02T10:00:00.000Z")])  # fmt: skip
    assert found[0][0] == "create"
    assert isinstance(found[0][1], NotStored)
    assert "could not be stored" in found[0][1].why
    assert found[1] == ["create"]
    stored = {row[0] for row in db.execute("select ticket_id from responses")}
    assert stored == {"G1", "G2"}
    assert db.execute("select count(*) from outbox").fetchone() == (2,)


def test_the_rows_stored_are_the_ones_stored_before_column_for_column(db: Any) -> None:
    """The JSON columns are encoded where the item is validated now; what is stored is
    what the write encoded itself before."""
    items = [
        found
        for body, _ in BODIES.values()
        for document, sound in [read_document(body)]
        for found in (validate_item(raw, sound=sound) for raw in document["data"])
        if isinstance(found, Item)
    ]
    now = "2026-03-02T10:00:00.000Z"
    save_items(db, items, now)
    before = {
        item.id: (
            item.id, item.ticket_id, item.submitted_at, item.agent_id, item.agent_email,
            item.agent, item.score, item.min_score, item.max_score, item.score5, item.comment,
            item.score_label, json.dumps(list(item.clarifying_answers), allow_nan=False),
            json.dumps(item.raw, separators=(",", ":"), allow_nan=False), now, now,
        )
        for item in items  # a later item with the same id updates an earlier one
    }  # fmt: skip
    stored = db.execute(
        "select id, ticket_id, submitted_at, agent_id, agent_email, agent, score, min_score, "
        "max_score, score5, comment, score_label, clarifying_answers, raw, received_at, "
        "updated_at from responses"
    ).fetchall()
    assert {row[0]: row for row in stored} == before
