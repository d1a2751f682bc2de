"""The words code looks up by a stable id: `templates/words.yml`, merged with a deployment's.

Labels (states, units, vendors), names for entities the vendor did not name, filter words
and chart titles. A deployment's `words.yml` holds only the entries it changes; they are
laid over the built-in file key by key. Sentences are not here: they are the templates'.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bot.config import DEFAULT_TEMPLATES
from bot.errors import RenderError
from bot.metrics import membership

FILE = "words.yml"
UNASSIGNED_SKILL = "-1"
LONGEST_NAME = 80  # characters of a name, label or id a message shows; the rest is "…"
_HALF_ENTITY = re.compile(r"&[a-z]{0,3}$")  # `&am` left by a cut through `&amp;`
Lookup = Callable[[str, str], "str | None"]  # (kind, id) -> the directory's name for it


def no_names(kind: str, id: str) -> str | None:
    """The look-up without a directory: no id has a name."""
    return None


class Words:
    """Nested words; `words("charts.trend_title", digest=..., runs=...)` formats one."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    @classmethod
    def load(cls, *folders: Path) -> Words:
        """The built-in words, with each folder's `words.yml` laid over them in turn."""
        data = _builtin()
        for folder in folders:
            path = folder / FILE
            if folder != DEFAULT_TEMPLATES and path.is_file():
                data = _merge(data, _read(path))
        return cls(data)

    def __call__(self, path: str, **args: Any) -> str:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise RenderError(FILE, None, f"no word `{path}`")
            node = node[part]
        if not args:
            return str(node)
        try:
            return str(node).format(**args)
        except (KeyError, IndexError, ValueError) as exc:  # a placeholder the code never fills
            expected = ", ".join(f"{{{name}}}" for name in args)
            raise RenderError(FILE, None, f"`{path}` may use {expected}, not {exc}") from exc

    def entity(self, kind: str, id: str, name: str | None = None, lookup: Lookup = no_names) -> str:
        """What to call a skill, agent, group or the total: the directory's name (`lookup`),
        else the vendor's, else words for its id."""
        return shown(self._entity(kind, id, name, lookup))

    def _entity(self, kind: str, id: str, name: str | None, lookup: Lookup) -> str:
        if kind == "skill" and id == UNASSIGNED_SKILL:
            return self("entities.unassigned_skill")
        within = membership(kind, id)
        if within is not None:  # an agent within a skill
            unit, outer, agent = within
            return self(
                "entities.skill_agent",
                agent=self._entity("agent", agent, None, lookup),
                skill=self._entity(unit, outer, None, lookup),
            )
        known = lookup(kind, id) if kind in ("skill", "agent", "group") else None
        if known or name:
            return known or name or ""
        if kind in ("total", "team"):
            return self(f"entities.{kind}")
        return self(f"entities.{kind}", id=id) if kind in self.data["entities"] else id

    def state(self, key: str, labels: Mapping[str, str] | None = None) -> str:
        """An agent state by its stable id; one the bot does not know keeps the vendor's name."""
        known = self.data["states"]
        if key in known and key != "other":
            return str(known[key])
        if labels and key in labels:
            return shown(labels[key])
        return shown(self("states.other", id=key.removeprefix("state:")))

    def reason(self, key: str, lookup: Lookup = no_names) -> str:
        """An away reason by the vendor's reason id: its name in `words.yml`, else the
        directory's (`lookup`), else words for its id."""
        named = self.data["reasons"].get(key)
        if named and key != "other":
            return shown(str(named))
        return shown(lookup("reason", key) or self("reasons.other", id=key))

    def unknown(self, path: str = "") -> list[str]:
        """Entries that the built-in words do not have (a deployment's misspellings)."""
        return _unknown(self.data, _builtin(), path)


def shown(text: str, limit: int = LONGEST_NAME) -> str:
    """A name as a message shows it: at most `limit` characters, never half an entity."""
    if len(text) <= limit:
        return text
    cut = _HALF_ENTITY.sub("", text[: limit - 1])
    return (Markup(cut) if isinstance(text, Markup) else cut) + "…"


def _unknown(mine: Mapping[str, Any], known: Mapping[str, Any], path: str) -> list[str]:
    found = []
    for key, value in mine.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in known and path != "reasons":  # reasons may name any reason id
            found.append(where)
        elif isinstance(value, Mapping) and isinstance(known.get(key), Mapping):
            found += _unknown(value, known[key], where)
    return found


def _read(path: Path) -> dict[str, Any]:
    import yaml  # with the first words: `serve` starts without YAML

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RenderError(str(path), None, f"not readable as YAML words: {exc}") from exc
    if not isinstance(data, dict):
        raise RenderError(str(path), None, "must be a mapping of words")
    return data


@cache
def _builtin() -> dict[str, Any]:
    return _read(DEFAULT_TEMPLATES / FILE)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: nested tables merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def builtin() -> Words:
    """The built-in words alone (filters used outside a renderer, tests)."""
    return Words(_builtin())
