"""The one boundary between what came from outside and a message: every template goes through it.

`Renderer.render` passes its whole context through `outside()` before any template sees it.
Every string in it, at any depth (a vendor's name, a survey comment, a word a person typed,
a vendor's error message), is cleaned of what Slack or YAML cannot carry and escaped for
mrkdwn, so nothing from outside can mention a person, a group or a channel, or break a
message. What the configuration says on purpose (the `mention` that calls in the team
leads) is passed as `Markup` and left alone. Strings that need no change are kept as they
are, so a large report is not copied for nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from enum import Enum
from itertools import chain
from operator import attrgetter
from typing import Any

from markupsafe import Markup

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKUP = re.compile(r"[&<>]")
# what neither Slack nor YAML carries: control characters but tab and newline, DEL, C1,
# lone surrogates (a string cut mid-emoji) and the non-characters
_UNCARRIED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
SURROGATE = re.compile("[\ud800-\udfff]")  # half of a character: a string cut mid-emoji


def clean(text: str) -> str:
    """Text Slack and YAML can carry: a lone surrogate becomes U+FFFD, the rest goes."""
    if not _UNCARRIED.search(text):
        return text
    return _UNCARRIED.sub("", SURROGATE.sub("\ufffd", text))


def escape(text: str) -> str:
    """Cleaned, and `&`, `<`, `>` as mrkdwn's entities: no mention, link or command survives."""
    text = clean(text)
    return _MARKUP.sub(lambda m: ESCAPES[m.group()], text) if _MARKUP.search(text) else text


_CONTROL = re.compile(r"&lt;(?=[!@#]|https?:|mailto:)", re.IGNORECASE)


def plain(text: str) -> str:
    """Escaped text for a plain_text field, where Slack shows `&lt;` as it stands.

    What would read as a mention or a link anywhere else (`<!channel>`, `<@U…>`) keeps
    its `&lt;`: a header never carries one, even where Slack would not act on it.
    """
    text = _CONTROL.sub("\x00", text)  # `&lt;` kept there, restored below
    for raw, entity in reversed(ESCAPES.items()):  # `&amp;` last: a typed `&lt;` stays so
        text = text.replace(entity, raw)
    return text.replace("\x00", "&lt;")


_SUSPECT = re.compile(_UNCARRIED.pattern[:-1] + "&<>]")  # anything `escape` would change
_suspect = _SUSPECT.search
_LEAVES = {int, float, bool, type(None)}  # and dataclasses of numbers, once seen
_NUMBERS = re.compile(r"(?:int|float|bool|None|tuple|\.\.\.|[\[\],| ])+")  # annotations
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # a dataclass's settable fields, by type
COLUMNS_FROM = 64  # items in a tuple, list or mapping checked a column at a time (`_clean`)


def outside(value: Any) -> Any:
    """`value` with every string in it escaped; the same object where nothing changed.

    Large reports go through here whole (a 20,000-agent report holds 140,000 tuples), so
    the common cases come first, plain numbers and strings that need nothing are never
    handed to another call, and nothing is copied until something has to change.
    """
    kind = type(value)
    if kind is str:
        return Markup(escape(value)) if _suspect(value) else value
    if kind in _LEAVES:
        return value
    names = _FIELDS[kind] if kind in _FIELDS else _field_names(kind)
    if names is not None:
        changes = {}
        for name in names:
            old = getattr(value, name)
            of = type(old)
            if of in _LEAVES or (of is str and not _suspect(old)):
                continue
            if (new := outside(old)) is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if kind is tuple or kind is list:
        if len(value) >= COLUMNS_FROM and _clean([value]):  # 20,000 agents: 170 -> 15 ms
            return value
        for i, item in enumerate(value):  # checked here, not in a call: 300,000 items
            of = type(item)
            if of in _LEAVES or (of is str and not _suspect(item)):
                continue
            if (new := outside(item)) is not item:
                return kind([*value[:i], new, *map(outside, value[i + 1 :])])
        return value
    if kind is dict:
        return _mapping(value)
    return _other(value)


def _clean(values: list[Any]) -> bool:
    """Whether `outside` would leave every one of `values` as it is, found a column at a
    time: the ids of 20,000 agents joined and searched once, then all their states, ...

    Walking a big report value by value is a Python call per tuple; here the items of
    the same kind are gathered by C (`map`, `chain`) and every string of a column is
    searched in one regex call. Anything but strings, leaves, tuples, lists and dataclasses
    answers False, and `outside` then walks the value itself.
    """
    kinds = set(map(type, values))
    for kind in kinds:
        if kind in _LEAVES:
            continue
        same: list[Any] = values if len(kinds) == 1 else [v for v in values if type(v) is kind]
        if kind is str:
            if _suspect("\n".join(same)):  # a newline is no suspect: no false alarm
                return False
        elif kind is tuple or kind is list:
            if not _clean(list(chain.from_iterable(same))):
                return False
        else:
            names = _FIELDS[kind] if kind in _FIELDS else _field_names(kind)
            if kind in _LEAVES:  # numbers only, seen for the first time
                continue
            if names is None:
                return False  # a mapping, markup, an error: `outside` knows what to do
            if not all(_clean(list(map(attrgetter(name), same))) for name in names):
                return False
    return True


def _mapping(value: Mapping[Any, Any]) -> Any:
    """Keys too: a template looks rows up by an id it was given escaped (`changes.get`)."""
    if len(value) >= COLUMNS_FROM and _clean(list(value)) and _clean(list(value.values())):
        return value
    for k, v in value.items():
        if (type(k) not in _LEAVES and outside(k) is not k) or (
            type(v) not in _LEAVES and outside(v) is not v
        ):
            break
    else:
        return value  # nothing to escape, as in nearly every report
    return {outside(k): outside(v) for k, v in value.items()}


def _other(value: Any) -> Any:
    """The rare kinds: markup, enums, other strings and mappings, named tuples, errors."""
    if isinstance(value, Markup | Enum):  # configured markup; the bot's own ids
        return value
    if isinstance(value, str):
        safe = escape(value)
        return value if safe == value else Markup(safe)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Mapping):
        return _mapping(value)
    if isinstance(value, tuple | list):
        items = [outside(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if not hasattr(value, "_fields") else type(value)(*items)
    if isinstance(value, BaseException):  # a UsageError's details: what a person typed
        details = getattr(value, "details", None)
        if isinstance(details, dict) and (safe := outside(details)) is not details:
            copy = type(value).__new__(type(value))
            copy.__dict__.update({**value.__dict__, "details": safe})
            copy.args = value.args
            return copy
        return value
    return value  # datetimes, zones, paths: nothing a person wrote


def _field_names(kind: type) -> tuple[str, ...] | None:
    """A dataclass's fields that `replace` can set; None for any other type (remembered).

    A dataclass or named tuple whose fields are all declared numbers (`CsatCounts`,
    `StateTime`) holds no text: it becomes a leaf, never walked again. A 20,000-agent
    report has a hundred thousand of them; mypy holds the code that makes them to their
    declarations.
    """
    found = None
    if dataclasses.is_dataclass(kind):
        fields = [f for f in dataclasses.fields(kind) if f.init]
        found = tuple(f.name for f in fields)
        if all(isinstance(f.type, str) and _NUMBERS.fullmatch(f.type) for f in fields):
            _LEAVES.add(kind)
    elif issubclass(kind, tuple) and hasattr(kind, "_fields"):  # a named tuple
        declared = getattr(kind, "__annotations__", {})  # as ForwardRef("int")
        names = [getattr(t, "__forward_arg__", t) for t in declared.values()]
        if set(declared) == set(kind._fields) and all(
            isinstance(t, str) and _NUMBERS.fullmatch(t) for t in names
        ):
            _LEAVES.add(kind)
    _FIELDS[kind] = found
    return found
