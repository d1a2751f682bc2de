"""`loads_in_steps` reads what `json.loads` reads, and refuses what it refuses."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from bot.jsonscan import loads_in_steps


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.choice(["obj", "arr", "str", "int", "float", "const"] if depth else ["str", "int"])
    if kind == "obj":
        return {f'k{rng.randint(0, 9)}\u00e9"': _random_value(rng, depth - 1) for _ in range(3)}
    if kind == "arr":
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    if kind == "str":
        return rng.choice(["", "a b", "\\", "\u2028", "\U0001f600", "\x00\x1f"])
    if kind == "int":
        return rng.randint(-(10**20), 10**20)
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    return rng.choice([True, False, None])


@pytest.mark.parametrize("seed", range(40))
def test_the_same_values_as_json_loads(seed: int) -> None:
    rng = random.Random(seed)
    value = _random_value(rng, 5)
    for text in (json.dumps(value), json.dumps(value, indent=rng.randint(0, 3))):
        assert loads_in_steps(text) == json.loads(text)
        assert loads_in_steps(f" \n{text}\t ", depth=rng.randint(0, 6)) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    ["{", "[1,", '{"a" 1}', '{"a":1,}', "[1 2]", '{"a":1}x', "", "  ", "{'a': 1}", "[1,]",
     '{"a":[1,{"b":}]}', "nul", '{1: 2}'],
)  # fmt: skip
def test_what_json_loads_refuses_is_refused(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        loads_in_steps(text)


def test_duplicate_keys_keep_the_last_and_constants_read_as_json_reads_them() -> None:
    text = '{"a": 1, "a": {"x": [NaN, Infinity, -Infinity]}}'
    got = loads_in_steps(text)
    assert got.keys() == {"a"} and str(got["a"]["x"]) == str(json.loads(text)["a"]["x"])


@pytest.mark.anyio
@pytest.mark.parametrize("acks_here", [True, False])
async def test_a_big_answer_is_read_off_the_loop_the_same_either_way(
    acks_here: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from bot.errors import VendorBadResponse
    from bot.sources import http

    monkeypatch.setattr(http, "answering_slack", lambda: acks_here)
    body = {"agents": {str(i): [{"id": i, "v": "x" * 50}] for i in range(5000)}}
    text = json.dumps(body)
    assert len(text) > http.BIG_BODY
    assert await http.read_json("LivePerson", httpx.Response(200, text=text)) == body
    with pytest.raises(VendorBadResponse, match="not JSON"):
        await http.read_json("LivePerson", httpx.Response(200, text=text + "}"))
