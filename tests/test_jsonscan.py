"""`jsonscan`, for rows' small JSON: exactly as `json.loads` reads it and `json.dumps` writes it."""

from __future__ import annotations

import json

import pytest

from bot.jsonscan import dumps, loads


@pytest.mark.parametrize(
    "text",
    [
        '{"online": 35655, "away": 1697, "state:9": 12}',
        "{}",
        '{"away": 123456789012345678901234567890}',
        '{"s": "lone \\ud800", "e": "\\u2028 <!channel>"}',
        '{"away": NaN}',
        ' {"away": 1} ',
        '{"dup": 1, "dup": 2}',
    ],
)
def test_reads_as_json_loads(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("bad", ["", "{", '{"away": 1} extra', "nul", '{"a": }'])
def test_refuses_as_json_loads(bad: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(bad)


@pytest.mark.parametrize(
    "value",
    [
        {"online": 35655, "away": 1697, "state:9": 12},
        {},
        {"2642559712": 2**70, "-1": -3, "": 0},
        {'<!channel> "quoted" \\ \n \u2028': 1, "lone \ud800": 2, "😀 Ñ": 3},
        {"f": 1.5, "nan": float("nan"), "inf": float("-inf"), "n": None, "b": True},
        {"nested": {"list": [1, "two", [3.0]]}},
    ],
)
def test_writes_as_json_dumps(value: object) -> None:
    assert dumps(value) == json.dumps(value)
    assert repr(loads(dumps(value))) == repr(json.loads(json.dumps(value)))


def test_writes_nothing_json_dumps_would_not() -> None:
    with pytest.raises(TypeError):
        dumps({"when": object()})
    with pytest.raises(TypeError):
        dumps({(1, 2): 3})
