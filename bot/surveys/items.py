"""Pure: one survey response in MaestroQA's CSAT bulk format, validated, and its 1-5 score.

A survey tool set up for MaestroQA can point at the bot instead and keep working
unchanged, so the rules here are MaestroQA's (see docs/vendors.md): `(ticket_id,
submitted_at)` is the key, and a refused item says why in MaestroQA's words.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal

from bot.errors import ItemRefused
from bot.render.safe import SURROGATE
from bot.timefmt import iso_ms

log = logging.getLogger(__name__)
Action = Literal["create", "update"]
_INT_TEXT = re.compile(r"^-?[0-9]+$")
_AS_STORED = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


@dataclass(frozen=True)
class Item:
    """One valid survey response; `raw` is what the tool sent, forwarded as it came."""

    ticket_id: str
    submitted_at: str  # UTC, milliseconds, `Z`: one spelling per moment, so keys compare
    agent_id: str
    agent_email: str
    score: int
    min_score: int
    max_score: int
    comment: str
    score_label: str
    clarifying_answers: tuple[dict[str, Any], ...]
    raw: dict[str, Any]

    @cached_property
    def id(self) -> str:
        """The stable `_id`: the same `(ticket_id, submitted_at)` always gets the same one."""
        return response_id(self.ticket_id, self.submitted_at)

    @cached_property
    def row(self) -> tuple[Any, ...]:
        """What `responses` keeps of it, in `surveys/queries.py`'s column order, but for
        when it arrived: worked out once, as it is validated, so a write only binds it."""
        return (
            self.id, self.ticket_id, self.submitted_at, self.agent_id, self.agent_email,
            self.agent, self.score, self.min_score, self.max_score, self.score5, self.comment,
            self.score_label, _ANSWERS_JSON(list(self.clarifying_answers)),
            _RAW_JSON(self.raw),  # forwarded as it is: compact, strict JSON
        )  # fmt: skip

    @property
    def agent(self) -> str:
        """Who is credited: agent_id takes precedence over agent_email, as in MaestroQA."""
        return self.agent_id or self.agent_email

    @property
    def score5(self) -> int:
        return to_five(self.score, self.min_score, self.max_score)

    @property
    def detractor(self) -> bool:
        """The bottom of its scale with something said: a team lead should read it now."""
        return self.score == self.min_score and bool(self.comment.strip())


@dataclass(frozen=True)
class Stored:
    """An item as stored: created, or an update of one sent before."""

    item: Item
    action: Action


# what json.dumps(value, allow_nan=False) and json.dumps(raw, separators=(",", ":"),
# allow_nan=False) write, without building an encoder for each item
_ANSWERS_JSON = json.JSONEncoder(allow_nan=False).encode
_RAW_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def response_id(ticket_id: str, submitted_at: str) -> str:
    return hashlib.sha256(f"{ticket_id}\x1f{submitted_at}".encode()).hexdigest()[:20]


def to_five(score: int, low: int, high: int) -> int:
    """A score on any scale mapped linearly onto 1..5, halves rounding up.

    0-10: 0->1, 5->3, 10->5; 1-7: 1->1, 4->3, 7->5; 1-5 is unchanged.
    """
    span = high - low
    return 1 + (8 * (score - low) + span) // (2 * span)


# --- reading: what JSON can say that no survey answer should ------------------------------

LONGEST_NUMBER = 4000  # digits; Python refuses to read more than 4300 into an int
MAX_DEPTH = 16  # levels of lists and objects in one item; MaestroQA's go three deep
_NESTING = (dict, list)


@dataclass(frozen=True)
class Unreadable:
    """A value the body held that no item can keep: its item is refused, and only its item.

    `json.loads` with `parse_document` puts one where a number is too long to read, or is
    NaN or an infinity (which Python reads but JSON does not allow)."""

    why: str


def parse_document(body: bytes | str) -> Any:
    """The request body as JSON, with `Unreadable` in place of the numbers no item can keep,
    so one bad item does not cost the others."""
    return json.loads(body, parse_int=_int, parse_float=_float, parse_constant=_constant)


# `\uD800`-`\uDFFF` written as an escape: half of a character, or one half of a pair
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_document(body: bytes) -> tuple[Any, bool]:
    """The body as `parse_document` reads it, and whether it is sound as it came.

    Sound: strict UTF-8 without a surrogate escape, and no `Unreadable` read, so no item
    holds anything `validate_item` would repair or refuse on that account and it can skip
    its walk over every value (`sound=True`). Anything else is read the same way and
    walked as before.
    """
    text: bytes | str = body
    sound = False
    if json.detect_encoding(body) == "utf-8":
        try:
            text = body.decode("utf-8")  # strict: an encoded surrogate is an error here
        except UnicodeDecodeError:
            pass
        else:
            sound = _SURROGATE_ESCAPE.search(text) is None
    unreadable: list[Unreadable] = []

    def parse_int(digits: str) -> Any:
        if len(digits) > LONGEST_NUMBER:  # `-` counted: `_int` looks again
            return _seen(_int(digits), unreadable)
        return int(digits)

    document = json.loads(
        text,
        parse_int=parse_int,
        parse_float=lambda t: _seen(_float(t), unreadable),
        parse_constant=lambda t: _seen(_constant(t), unreadable),
    )
    return document, sound and not unreadable


def _seen(value: Any, unreadable: list[Unreadable]) -> Any:
    if isinstance(value, Unreadable):
        unreadable.append(value)
    return value


def _int(text: str) -> int | Unreadable:
    if len(text.lstrip("-")) > LONGEST_NUMBER:
        return Unreadable(f"a number of {len(text)} digits is not a score")
    return int(text)


def _float(text: str) -> float | Unreadable:
    value = float(text)
    return value if math.isfinite(value) else Unreadable(f"{text[:20]} is too large a number")


def _constant(text: str) -> Unreadable:
    return Unreadable(f"{text} is not a number JSON allows")


def _sound(value: Any, repaired: list[str], where: str = "") -> Any:
    """`value` with a lone surrogate (a string cut mid-character, as some JavaScript tools
    send) replaced by U+FFFD, so it can be stored and forwarded; ItemRefused for an
    `Unreadable` anywhere in it."""
    if isinstance(value, Unreadable):
        raise ItemRefused(f"{where or 'a value'}: {value.why}")
    if isinstance(value, str):
        if SURROGATE.search(value):
            repaired.append(where or "a value")
            return SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {
            _sound(k, repaired, where): _sound(v, repaired, f"{where}.{k}".lstrip("."))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_sound(v, repaired, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


# --- validation: MaestroQA's rules --------------------------------------------------------


def validate_item(raw: Any, *, sound: bool = False) -> Item | str:
    """The item, or the reason MaestroQA would give for refusing it.

    `sound`: `read_document` found nothing to repair or refuse in any value, so the walk
    that would is skipped. The item's `row` (its JSON encoded) is worked out here, once,
    where it is validated (off the event loop for a large body), not in the transaction.
    """
    if _too_deep(raw):  # before anything walks it, stores it or forwards it
        return f"the item is nested more than {MAX_DEPTH} levels deep"
    try:
        repaired: list[str] = []
        item = _item(raw if sound else _sound(raw, repaired))
    except ItemRefused as exc:
        return str(exc)
    if repaired:
        log.warning("survey response %r: %s cut mid-character, kept with U+FFFD",
                    item.ticket_id, ascii(", ".join(repaired)))  # fmt: skip
    # cached, so the write transaction only binds it; a value no JSON holds (only a caller
    # in Python can pass one) fails again when the item is stored, and fails alone
    with contextlib.suppress(ValueError):
        _ = item.row
    return item


def _too_deep(value: Any) -> bool:
    """Whether lists and objects nest more than `MAX_DEPTH` levels in `value`, found
    without recursion and without looking further than that."""
    if not isinstance(value, _NESTING):
        return False
    todo = [(value, 1)]
    while todo:
        node, depth = todo.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, _NESTING):
                if depth == MAX_DEPTH:
                    return True
                todo.append((child, depth + 1))
    return False


def _item(raw: Any) -> Item:
    if not isinstance(raw, dict):
        raise ItemRefused("each item must be a JSON object")
    submitted = _moment(raw.get("submitted_at"))
    ticket = _text_id(raw.get("ticket_id"))
    if ticket is None:
        raise ItemRefused("ticket_id is required (a string)")
    agent_id = _text_id(raw.get("agent_id"))
    if raw.get("agent_id") not in (None, "") and agent_id is None:
        raise ItemRefused("agent_id must be a string")
    email = raw.get("agent_email")
    if email not in (None, "") and (not isinstance(email, str) or "@" not in email):
        raise ItemRefused("agent_email must be an e-mail address")
    if not agent_id and not email:
        raise ItemRefused("agent_id or agent_email is required")
    score, low, high = _scored(raw, "")
    comment, label = _texts(raw, "")
    answers = _clarifying(raw.get("clarifying_answers"))
    return Item(
        ticket, submitted, agent_id or "", (email or "").strip(), score, low, high, comment,
        label, answers, raw,
    )  # fmt: skip


def _moment(value: Any) -> str:
    """`submitted_at` as UTC with milliseconds; naive times are taken as UTC."""
    if value in (None, ""):
        raise ItemRefused("submitted_at is required")
    problem = "submitted_at must be an ISO 8601 date and time like 2021-10-05T14:48:00.000Z"
    if not isinstance(value, str) or len(value.strip()) <= 10:  # a date alone is not a time
        raise ItemRefused(problem)
    try:
        moment = datetime.fromisoformat(value.strip())
        if _AS_STORED.fullmatch(value):  # already spelled as `iso_ms` spells it
            return value
        return iso_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # year 1 at +01:00 is before year 1 in UTC
        raise ItemRefused(problem) from None


def _text_id(value: Any) -> str | None:
    """An identifier: a non-empty string (a whole number is read as one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _whole(value: Any, text_ok: bool = False) -> int | None:
    """An integer (5, or 5.0 as JavaScript may send it) that SQLite can store; digits in
    text when `text_ok`. Anything else is None, refused per item."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if text_ok and isinstance(value, str) and _INT_TEXT.match(value.strip()):
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _scored(raw: Mapping[str, Any], where: str) -> tuple[int, int, int]:
    """(score, min_score, max_score) within MaestroQA's rules.

    The document calls the clarifying answers' bounds strings and the main ones integers;
    both accept either, so a tool that worked with MaestroQA keeps working here.
    """
    if raw.get("score") is None:
        raise ItemRefused(f"{where}score is required")
    score = _whole(raw["score"])
    if score is None:
        raise ItemRefused(f"{where}score must be an integer")
    bounds = []
    for key, default in (("min_score", 1), ("max_score", 5)):
        value = raw.get(key)
        bound = default if value is None else _whole(value, text_ok=True)
        if bound is None:
            raise ItemRefused(f"{where}{key} must be an integer")
        bounds.append(bound)
    low, high = bounds
    if low >= high:
        raise ItemRefused(f"{where}min_score ({low}) must be below max_score ({high})")
    if not low <= score <= high:
        raise ItemRefused(f"{where}score {score} is outside {low}..{high}")
    return score, low, high


def _texts(raw: Mapping[str, Any], where: str) -> tuple[str, str]:
    """(comment, score_label): optional strings."""
    found = []
    for key in ("comment", "score_label"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ItemRefused(f"{where}{key} must be a string")
        found.append(value or "")
    return found[0], found[1]


def _clarifying(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ItemRefused("clarifying_answers must be a list")
    for i, answer in enumerate(value):
        if not isinstance(answer, dict):
            raise ItemRefused(f"clarifying_answers[{i}] must be an object")
        where = f"clarifying_answers[{i}]."
        if not isinstance(answer.get("question"), str) or not answer["question"].strip():
            raise ItemRefused(f"{where}question is required")
        _scored(answer, where)
        _texts(answer, where)
    return tuple(value)
