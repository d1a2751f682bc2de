"""What a person reads: the built-in words, bound into the filters and the error wording."""

from __future__ import annotations

from functools import cache, partial

from bot.errors import UsageError
from bot.render import Renderer, filters
from bot.render.words import builtin

WORDS = builtin()
pct = partial(filters.pct, words=WORDS)
points = partial(filters.points, words=WORDS)
duration = partial(filters.duration, words=WORDS)
delta_duration = partial(filters.delta_duration, words=WORDS)
minutes = partial(filters.minutes, words=WORDS)


@cache
def _renderer() -> Renderer:
    return Renderer()


def said(error: UsageError) -> str:
    """The problem as `usage.yml.j2` words it for the person who typed the command."""
    return _renderer().problem(error)
