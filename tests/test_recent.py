"""`Recent`: bounded, least recently used out."""

from __future__ import annotations

from bot.recent import Recent


def test_the_least_recently_used_goes_first() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # a is now the most recent
    recent.put("c", 3)
    assert (recent.get("a"), recent.get("b"), recent.get("c")) == (1, None, 3)
    assert len(recent) == 2


def test_put_again_replaces_and_pop_removes() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("a", 2)
    assert len(recent) == 1 and recent.get("a") == 2
    assert recent.pop("a") == 2 and recent.pop("a") is None
    recent.put("b", 1)
    recent.clear()
    assert len(recent) == 0
