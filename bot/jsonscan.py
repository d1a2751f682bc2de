"""JSON read and written with json's own C scanner and encoder, as `json.loads` and
`json.dumps` do, without the Python around them.

`json.loads` is one C call wrapped in some Python: for a 13 MB answer the call holds the
GIL for 120 ms, and for the small JSON of a snapshot row the Python around it is three
quarters of the time. `loads` and `loads_in_steps` call the same scanner directly (the
latter one inner value at a time), so they read exactly what `json.loads` reads and
refuse what it refuses. `dumps` is `json.dumps` with its defaults, from an encoder made
once instead of at every call. `loads_whole` reads a big answer in one call where no ack
waits (the digest process, the CLI), by orjson wherever orjson reads it exactly as
`json.loads` does.
"""

from __future__ import annotations

import json
import json.scanner
import re
from typing import Any

_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # C scanner
_SPACE = re.compile(r"[ \t\n\r]*")
# every digit becomes "9" and every other byte a space: a run of 19 nines is an integer
# orjson might read as a float (beyond 64 bits), or a long run of digits anywhere
_DIGITS = bytes(57 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_RUN = b"9" * 19
# json.dumps' own C encoder with json.dumps' defaults (ASCII, ", " and ": "), made once
_ENCODE = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None,
    ": ", ", ", False, False, True,
) if getattr(json.encoder, "c_make_encoder", None) else None  # fmt: skip


def dumps(value: Any) -> str:
    """`json.dumps(value)`, for small JSON written many times (two per agent in a
    snapshot). Without json.dumps' check for a value that contains itself: these hold
    numbers and text only."""
    return "".join(_ENCODE(value, 0)) if _ENCODE is not None else json.dumps(value)


def loads(text: str) -> Any:
    """`json.loads(text)` in one scanner call, for small JSON read many times (the rows of
    a 20,000-agent comparison); anything but one bare value is left to `json.loads`."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:  # not JSON: json.loads says why
        end = -1
    return value if end == len(text) else json.loads(text)


def loads_whole(body: bytes) -> Any:
    """`json.loads(body)`, by orjson where it reads the same: 2.4x faster for the 13 MB
    answer of 20,000 agents (150 against 360 ms, `docs/benchmarks.md`).

    orjson refuses what `json.loads` accepts in places (NaN, lone surrogates, a BOM, UTF-16)
    and reads integers beyond 64 bits as floats, so a body it refuses, or one holding 19
    digits in a row anywhere (20 ms to find out), is read by `json.loads`. orjson loads
    at the first such body: its 35 ms import is not paid by a process that never reads one.
    """
    if _LONG_RUN not in body.translate(_DIGITS):
        import orjson

        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # json.loads accepts it, or says why not in its own words
    return json.loads(body)


def loads_in_steps(text: str, depth: int = 3) -> Any:
    """`json.loads(text)`, one value of the outer `depth` levels at a time.

    `json.loads` is one C call that holds the GIL: 120 ms for a 13 MB answer, the loop
    stopped all along even from a worker thread. Here each call to the C scanner decodes
    one inner value (one agent, one skill), and the GIL changes hands between them.
    """
    value, end = _value(text, _SPACE.match(text, 0).end(), depth)  # type: ignore[union-attr]
    end = _SPACE.match(text, end).end()  # type: ignore[union-attr]
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _value(s: str, i: int, depth: int) -> tuple[Any, int]:
    opening = s[i : i + 1]
    if depth <= 0 or opening not in ("{", "["):
        try:
            return _SCAN(s, i)
        except StopIteration as stop:
            raise json.JSONDecodeError("Expecting value", s, stop.value) from None
    closing = "}" if opening == "{" else "]"
    items: dict[str, Any] | list[Any] = {} if opening == "{" else []
    i = _SPACE.match(s, i + 1).end()  # type: ignore[union-attr]
    if s[i : i + 1] == closing:
        return items, i + 1
    while True:
        if isinstance(items, dict):
            if s[i : i + 1] != '"':
                raise json.JSONDecodeError("Expecting property name in double quotes", s, i)
            key, i = _SCAN(s, i)
            i = _SPACE.match(s, i).end()  # type: ignore[union-attr]
            if s[i : i + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", s, i)
            i = _SPACE.match(s, i + 1).end()  # type: ignore[union-attr]
            items[key], i = _value(s, i, depth - 1)
        else:
            item, i = _value(s, i, depth - 1)
            items.append(item)
        i = _SPACE.match(s, i).end()  # type: ignore[union-attr]
        if s[i : i + 1] == closing:
            return items, i + 1
        if s[i : i + 1] != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", s, i)
        i = _SPACE.match(s, i + 1).end()  # type: ignore[union-attr]
