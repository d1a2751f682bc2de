"""One survey response: MaestroQA's validation rules, the 1-5 mapping, ids, detractors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from bot.surveys.items import (
    MAX_DEPTH,
    Item,
    parse_document,
    read_document,
    response_id,
    to_five,
    validate_item,
)
from bot.timefmt import iso_ms
from tests.surveys.responses import BASE, BODIES, DROP, item


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


# --- what JSON can say that no survey answer should ------------------------------------


def parsed(text: str) -> Any:
    return parse_document(text)["data"][0]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"data": [{"score": NaN}]}', "score: NaN is not a number JSON allows"),
        ('{"data": [{"score": Infinity}]}', "score: Infinity is not a number JSON allows"),
        ('{"data": [{"score": 1e999}]}', "score: 1e999 is too large a number"),
        ('{"data": [{"score": ' + "9" * 5000 + "}]}", "score: a number of 5000 digits"),
        ('{"data": [{"extra": {"deep": [NaN]}}]}', "extra.deep[0]: NaN is not a number"),
    ],
)
def test_numbers_no_item_can_keep_refuse_their_item(body: str, reason: str) -> None:
    found = validate_item({**BASE, **parsed(body)})
    assert isinstance(found, str) and found.startswith(reason), found


def test_a_string_cut_mid_character_is_kept_with_a_replacement_character() -> None:
    raw = {**BASE, "comment": "slow \ud83d", "clarifying_answers": [
        {**BASE["clarifying_answers"][0], "comment": "\ude00 odd"}]}  # fmt: skip
    found = validate_item(raw)
    assert isinstance(found, Item)
    assert found.comment == "slow \ufffd"
    assert found.raw["comment"] == "slow \ufffd"  # what goes to MaestroQA: strict UTF-8 too
    assert found.clarifying_answers[0]["comment"] == "\ufffd odd"
    json.dumps(found.raw, allow_nan=False).encode("utf-8")  # no surrogate left to refuse


def test_a_document_of_ordinary_numbers_reads_as_json_does() -> None:
    assert parse_document('{"data": [{"score": 5, "x": 1.5, "y": -3}]}') == {
        "data": [{"score": 5, "x": 1.5, "y": -3}]
    }


# --- the endpoint's way: a sound document is not walked again ------------------------------


@pytest.mark.parametrize(("body", "sound"), list(BODIES.values()), ids=list(BODIES))
def test_read_document_reads_as_parse_document_and_items_come_out_the_same(
    body: bytes, sound: bool
) -> None:
    """What the endpoint does (`read_document`, then `validate_item(sound=...)`) gives
    exactly what reading and walking every value gave: the same items, the same rows."""
    document, found_sound = read_document(body)
    assert found_sound is sound
    assert document == parse_document(body)
    before = [validate_item(raw) for raw in parse_document(body)["data"]]
    now = [validate_item(raw, sound=found_sound) for raw in document["data"]]
    assert now == before
    for mine, theirs in zip(now, before, strict=True):
        if isinstance(mine, Item) and isinstance(theirs, Item):
            assert (mine.id, mine.row) == (theirs.id, theirs.row)


def test_a_row_is_what_was_stored_before() -> None:
    """`Item.row` encodes the JSON columns exactly as the writes did before."""
    for body, _ in BODIES.values():
        document, sound = read_document(body)
        for raw in document["data"]:
            found = validate_item(raw, sound=sound)
            if isinstance(found, Item):
                assert found.row == (
                    found.id, found.ticket_id, found.submitted_at, found.agent_id,
                    found.agent_email, found.agent, found.score, found.min_score,
                    found.max_score, found.score5, found.comment, found.score_label,
                    json.dumps(list(found.clarifying_answers), allow_nan=False),
                    json.dumps(found.raw, separators=(",", ":"), allow_nan=False),
                )  # fmt: skip


@pytest.mark.parametrize(
    "moment",
    ["2021-10-05T14:48:00.000Z", "1000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
     "0999-12-31T23:59:59.999Z", "2024-02-29T12:00:00.000Z", "2021-10-05T14:48:00.000+00:00",
     "2021-10-05T14:48:00.1234Z", " 2021-10-05T14:48:00.000Z"],
)  # fmt: skip
def test_a_moment_already_spelled_as_stored_is_kept_as_iso_ms_would_spell_it(moment: str) -> None:
    found = validate_item(item(submitted_at=moment))
    assert isinstance(found, Item)
    assert found.submitted_at == iso_ms(datetime.fromisoformat(moment.strip()))


def test_a_moment_spelled_as_stored_must_still_be_a_moment() -> None:
    found = validate_item(item(submitted_at="2021-02-30T00:00:00.000Z"))
    assert isinstance(found, str) and found.startswith("submitted_at must be an ISO 8601")


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for level in range(levels):
        value = [value] if level % 2 else {"x": value}
    return value


@pytest.mark.parametrize("sound", [True, False])
def test_nesting_up_to_the_limit_is_kept_and_past_it_refused(sound: bool) -> None:
    """The item is one level; `extra` adds the rest."""
    kept = validate_item({**item(), "extra": nested(MAX_DEPTH - 1)}, sound=sound)
    assert isinstance(kept, Item)
    refused = validate_item({**item(), "extra": nested(MAX_DEPTH)}, sound=sound)
    assert refused == f"the item is nested more than {MAX_DEPTH} levels deep"
    assert validate_item(nested(MAX_DEPTH + 1), sound=sound) == refused
