"""What a person reads for an error the code raises as a code: the templates' words for it."""

from __future__ import annotations

from functools import cache

from bot.errors import UsageError
from bot.render import Renderer


@cache
def _renderer() -> Renderer:
    return Renderer()


def said(error: UsageError) -> str:
    """The problem as `usage.yml.j2` words it for the person who typed the command."""
    return _renderer().problem(error)
