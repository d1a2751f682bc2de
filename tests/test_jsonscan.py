"""`jsonscan`: exactly as `json.loads` reads and `json.dumps` writes, for rows' small JSON
and for a big answer read whole."""

from __future__ import annotations

import json

import pytest

from bot import jsonscan
from bot.jsonscan import dumps, loads, loads_whole


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


WHOLE = [
    b'{"agentsMetrics": {"metricsPerAgent": {"200001": [{"id": 2, "value": {"total": 5}}]}}}',
    b"[1, 2.5, -0, -0.0, 5e-324, 1e-400, 0.1, 1.7976931348623157e308]",
    b"18446744073709551615",  # 20 digits, within orjson's 64 bits
    b"18446744073709551616",  # beyond: orjson would read a float
    b"-9223372036854775809",
    b'{"total": 123456789012345678901234567890}',
    b'{"id": "1234567890123456789", "n": 1}',  # a long run in a string: json.loads reads it
    b"[1e400, -1e400]",
    b"[NaN, Infinity]",
    b'"lone \\ud800 and \\udc00\\ud800"',
    b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8
    b'\xef\xbb\xbf{"bom": 1}',
    '{"utf": "16 \u00d1"}'.encode("utf-16"),
    b'{"dup": 1, "dup": 2}',
    b'{"\\ud83d\\ude00 <!channel>": "\\u2028 \\u0000"}',
    b"[" * 500 + b"]" * 500,
]


@pytest.mark.parametrize("body", WHOLE)
def test_whole_reads_as_json_loads(body: bytes) -> None:
    got, expected = loads_whole(body), json.loads(body)
    assert repr(got) == repr(expected)
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    "bad", [b"", b"{", b'{"a": 1} extra', b"[1, 2,]", b"01", b"\xff", b"[1]\x00"]
)
def test_whole_refuses_as_json_loads(bad: bytes) -> None:
    with pytest.raises(ValueError) as got:
        loads_whole(bad)
    with pytest.raises(ValueError) as expected:
        json.loads(bad)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


def test_whole_reads_a_plain_answer_without_json_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken: json.loads is only for what orjson would read otherwise."""

    def refused(*args: object) -> None:
        raise AssertionError("json.loads was used")

    monkeypatch.setattr(jsonscan.json, "loads", refused)
    assert loads_whole(WHOLE[0]) == {
        "agentsMetrics": {"metricsPerAgent": {"200001": [{"id": 2, "value": {"total": 5}}]}}
    }
    with pytest.raises(AssertionError):
        loads_whole(WHOLE[3])
