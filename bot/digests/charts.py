"""PNG charts where a picture reads better than a table: CSAT trend and distribution.

Titles and labels arrive as words (`words.yml`, through `attachments.py`).

matplotlib with the Agg backend: no display, safe in threads when each chart uses its
own Figure (never pyplot's global state).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from matplotlib.figure import Figure

GOOD, BAD, NEUTRAL = "#2eb67d", "#e01e5a", "#9e9ea6"


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110, bbox_inches="tight")
    return out.getvalue()


def csat_trend(
    title: str, points: Sequence[tuple[datetime, float | None, int]], axis: str
) -> bytes:
    """Score (0..1) over time, with the number of answers under each point."""
    fig = Figure(figsize=(7, 3))
    ax = fig.add_subplot()
    shown = [(t, s * 100, n) for t, s, n in points if s is not None]
    if shown:
        times, scores, _ = zip(*shown, strict=True)
        ax.plot(times, scores, marker="o", color=GOOD)
        for t, s, n in shown:
            ax.annotate(f"{n}", (t, s), textcoords="offset points", xytext=(0, -14),
                        ha="center", fontsize=7, color=NEUTRAL)  # fmt: skip
        low = min(scores)
        ax.set_ylim(max(0, low - 10), 100)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(axis)
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def distribution(title: str, labels: Sequence[str], counts: Sequence[int], axis: str) -> bytes:
    """Answers per score (1..5), or good and bad, as bars."""
    fig = Figure(figsize=(5, 2.6))
    ax = fig.add_subplot()
    colours = [BAD, BAD, NEUTRAL, GOOD, GOOD] if len(labels) == 5 else [GOOD, BAD]
    positions = list(range(len(labels)))  # categories by position: no unit guessing
    ax.bar(positions, counts, color=colours[: len(labels)])
    ax.set_xticks(positions, list(labels))
    for x, n in zip(positions, counts, strict=True):
        ax.annotate(f"{n}", (x, n), textcoords="offset points", xytext=(0, 2), ha="center",
                    fontsize=8)  # fmt: skip
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(axis)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
