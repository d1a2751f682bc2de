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
from typing import Any

from markupsafe import Markup

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKUP = re.compile(r"[&<>]")
# what neither Slack nor YAML carries: control characters but tab and newline, DEL, C1,
# lone surrogates (a string cut mid-emoji) and the non-characters
_UNCARRIED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Text Slack and YAML can carry: a lone surrogate becomes U+FFFD, the rest goes."""
    if not _UNCARRIED.search(text):
        return text
    return _UNCARRIED.sub("", _SURROGATE.sub("\ufffd", text))


def escape(text: str) -> str:
    """Cleaned, and `&`, `<`, `>` as mrkdwn's entities: no mention, link or command survives."""
    text = clean(text)
    return _MARKUP.sub(lambda m: ESCAPES[m.group()], text) if _MARKUP.search(text) else text


def plain(text: str) -> str:
    """Escaped text for a plain_text field, where Slack shows `&lt;` as it stands."""
    for raw, entity in ESCAPES.items():
        text = text.replace(entity, raw)
    return text


def outside(value: Any) -> Any:
    """`value` with every string in it escaped; the same object where nothing changed."""
    if isinstance(value, Markup | Enum) or value is None:  # configured markup; the bot's own ids
        return value
    if isinstance(value, str):
        safe = escape(value)
        return value if safe == value else Markup(safe)
    if isinstance(value, int | float | bool):
        return value
    if isinstance(value, Mapping):
        changed = {k: outside(v) for k, v in value.items()}
        same = all(changed[k] is v for k, v in value.items())
        return value if same else type(value)(changed) if isinstance(value, dict) else changed
    if isinstance(value, tuple | list):
        items = [outside(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if not hasattr(value, "_fields") else type(value)(*items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: new
            for f in dataclasses.fields(value)
            if f.init and (new := outside(old := getattr(value, f.name))) is not old
        }
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, BaseException):  # a UsageError's details: what a person typed
        details = getattr(value, "details", None)
        if isinstance(details, dict) and (safe := outside(details)) is not details:
            copy = type(value).__new__(type(value))
            copy.__dict__.update({**value.__dict__, "details": safe})
            copy.args = value.args
            return copy
        return value
    return value  # datetimes, zones, paths: nothing a person wrote
