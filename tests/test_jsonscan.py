"""`jsonscan.loads`, for rows' small JSON: exactly as `json.loads` reads it, refused alike."""

from __future__ import annotations

import json

import pytest

from bot.jsonscan import loads


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
