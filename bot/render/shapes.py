"""Messages that differ from a checked one only inside their strings, read without YAML.

Templates print every string through `|tojson`, so a message rendered for another query
or report usually differs from one already read and checked only inside double-quoted
strings. A message's *shape* is its rendered text with those strings cut out. For a
shape seen before, the strings are decoded as JSON and put where YAML put them: a few
microseconds instead of YAML and slack_sdk's block models (~0.1 ms for an ack, which is
what a burst of different commands waits on).

Only what cannot change the outcome takes this path:
- every string reads the same as JSON and in YAML: printable characters, no line
  breaks (YAML folds U+0085, U+2028, U+2029), no surrogate escapes (YAML does not pair
  them), nothing YAML refuses;
- the shape was proven once: YAML read each cut-out string as one whole value, never a
  key, and the strings put back gave the message YAML gave;
- a string under a `text` key is no shorter and no longer than strings already checked
  there, and blank exactly when they were: Slack's limits on text are lengths (at most
  N, at least 1 character, a fallback that is not blank);
- any other string (an action id, a URL, a style, a value) is the very one checked.
Anything else is read and checked in full, and teaches the shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from bot import jsonscan
from bot.recent import Recent

# a JSON string whose characters YAML reads as they are (see the module docstring)
_STRING = re.compile(
    r'("(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd'
    r"\U00010000-\U0010ffff]"
    r'|\\["\\bfnrt]|\\u(?![dD][89abAB])[0-9a-fA-F]{4})*")'
)
SHAPES = 256  # shapes remembered, least recently used out

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class _Hole:
    """Where one cut-out string goes, and what strings were checked there."""

    path: Path
    free: bool  # under a `text` key: any string within the lengths checked
    shortest: int
    longest: int
    blank: bool
    value: str  # the one checked (what a string that is not free must equal)

    def takes(self, value: str) -> bool:
        if not self.free:
            return value == self.value
        return self.shortest <= len(value) <= self.longest and (not value.strip()) == self.blank

    def widened(self, value: str) -> _Hole:
        if not self.free or (not value.strip()) != self.blank:
            return self
        return replace(
            self, shortest=min(self.shortest, len(value)), longest=max(self.longest, len(value))
        )


@dataclass(frozen=True)
class _Shape:
    bare: str  # the message as JSON, every hole an empty string
    holes: tuple[_Hole, ...]


class Shapes:
    """Checked shapes by their text without strings; `fill` reads, `learn` remembers."""

    def __init__(self, size: int = SHAPES) -> None:
        self._known: Recent[str, _Shape] = Recent(size)

    def fill(self, source: str) -> dict[str, Any] | None:
        """The message `source` reads as, if its shape was checked and its strings fit."""
        key, literals = _cut(source)
        shape = self._known.get(key)
        if shape is None or len(literals) != len(shape.holes):
            return None
        values = [jsonscan.loads(literal) for literal in literals]  # an ack's hot path
        if not all(hole.takes(value) for hole, value in zip(shape.holes, values, strict=True)):
            return None
        message: dict[str, Any] = jsonscan.loads(shape.bare)
        for hole, value in zip(shape.holes, values, strict=True):
            _put(message, hole.path, value)
        return message

    def learn(self, source: str, message: dict[str, Any], read: Any) -> None:
        """Remember the shape of `source`, which YAML (`read`) made into the checked
        `message`; a shape known already learns the lengths of this one's texts."""
        key, literals = _cut(source)
        if not literals or "\x00" in source:
            return
        values = [json.loads(literal) for literal in literals]
        shape = self._known.get(key)
        if shape is not None:
            if len(shape.holes) == len(values):
                holes = tuple(h.widened(v) for h, v in zip(shape.holes, values, strict=True))
                self._known.put(key, replace(shape, holes=holes))
            return
        learned = _prove(source, literals, values, message, read)
        if learned is not None:
            self._known.put(key, learned)


def _cut(source: str) -> tuple[str, list[str]]:
    """The text between the strings (joined by NUL, which YAML cannot hold), and the strings."""
    parts = _STRING.split(source)  # text, string, text, string, ..., text
    return "\x00".join(parts[0::2]), parts[1::2]


def _prove(
    source: str, literals: list[str], values: list[str], message: dict[str, Any], read: Any
) -> _Shape | None:
    """The shape, if YAML reads every cut-out string as one whole value and the values
    put back give `message`; None otherwise (that shape is always read in full)."""
    marks = iter(range(len(literals)))
    marked = _STRING.sub(lambda _: json.dumps(f"\ue000{next(marks)}\ue001"), source)
    try:
        skeleton = read(marked)
    except Exception:  # a string YAML read as part of something else
        return None
    paths: dict[int, Path] = {}
    if not _find(skeleton, (), paths) or sorted(paths) != list(range(len(literals))):
        return None
    holes = tuple(
        _Hole(paths[i], paths[i][-1] == "text", len(v), len(v), not v.strip(), v)
        for i, v in enumerate(values)
    )
    for hole in holes:
        _put(skeleton, hole.path, "")
    bare = json.dumps(skeleton)
    filled = json.loads(bare)
    for hole in holes:
        _put(filled, hole.path, hole.value)
    return _Shape(bare, holes) if filled == message else None


def _find(node: Any, path: Path, paths: dict[int, Path]) -> bool:
    """Record where each mark is a whole value; False when a mark is a key, part of a
    string, seen twice, or the message holds something JSON would not give back."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str) or "\ue000" in key:
                return False
            if not _find(value, (*path, key), paths):
                return False
        return True
    if isinstance(node, list):
        return all(_find(value, (*path, i), paths) for i, value in enumerate(node))
    if isinstance(node, str):
        if "\ue000" not in node:
            return True
        match = re.fullmatch("\ue000([0-9]+)\ue001", node)
        if match is None or int(match[1]) in paths:
            return False
        paths[int(match[1])] = path
        return True
    return node is None or isinstance(node, bool | int | float)


def _put(message: Any, path: Path, value: str) -> None:
    target = message
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
