"""Pure filters: numbers into the characters people read (bars, sparks, points, durations).

Code owns the numbers; the few words among them (`new`, `—`, the duration units) come
from `words.yml` through the `words` argument, which the renderer binds to its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from bot.render.safe import escape
from bot.render.words import Words

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_SPARK = "▁▂▃▄▅▆▇█"


def pct(fraction: float | None, digits: int = 1, *, words: Words) -> str:
    """0.8853 -> 88.5%; None (nobody answered) -> —."""
    if fraction is None:
        return words("none")
    return f"{fraction * 100:.{digits}f}%"


def bar(fraction: float, width: int = 20) -> str:
    """A horizontal bar in eighth blocks, padded to `width` so columns line up."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text.ljust(width)


def spark(values: Sequence[float]) -> str:
    """One character per value, scaled to the largest; zero is a dot."""
    top = max(values, default=0) or 1
    return "".join(
        "·" if not v else _SPARK[min(len(_SPARK) - 1, int(v / top * (len(_SPARK) - 1) + 0.5))]
        for v in values
    )


def points(change: float | None, unit: str = "", *, words: Words) -> str:
    """A change in percentage points: ▲ 2.1, ▼ 3.4, = 0.0; `new` without a previous value."""
    if change is None:
        return words("changes.new")
    if abs(change) < 0.05:
        return words("changes.none_points") + unit
    return f"{'▲' if change > 0 else '▼'} {abs(change):.1f}{unit}"


def delta_duration(change: float | None, *, words: Words) -> str:
    """A change in seconds as ▲ 35m / ▼ 1h 5m / =; `new` without a previous value."""
    if change is None:
        return words("changes.new")
    if abs(change) < 60:
        return words("changes.none_duration")
    return f"{'▲' if change > 0 else '▼'} {duration(abs(change), words=words)}"


def duration(seconds: float | None, *, words: Words) -> str:
    """Seconds the way people read them: 4714 -> 1h 18m, 125 -> 2m 5s, 45 -> 45s."""
    if seconds is None:
        return words("none")
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        if minutes:
            return words("durations.hours_minutes", h=hours, m=minutes)
        return words("durations.hours", h=hours)
    if minutes:
        if secs and minutes < 10:
            return words("durations.minutes_seconds", m=minutes, s=secs)
        return words("durations.minutes", m=minutes)
    return words("durations.seconds", s=secs) if secs else words("durations.zero")


def minutes(minutes: int, *, words: Words) -> str:
    """A timeframe the way people write it: 90 -> 1h 30m, 1440 -> 24h, 10080 -> 7d."""
    if minutes % 1440 == 0 and minutes > 1440:
        return words("durations.days", d=minutes // 1440)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return words("durations.minutes", m=rest)
    if rest:
        return words("durations.hours_minutes", h=hours, m=rest)
    return words("durations.hours", h=hours)


def pvalue(p: float, *, words: Words) -> str:
    """A p-value to three places; below 0.001 in words."""
    return words("p_below", p="0.001") if p < 0.001 else f"{p:.3f}"


def one_in(p: float | None) -> str:
    """A p-value as the odds people read: 0.0008 -> "1 in 1,000", 0.03 -> "1 in 33".

    Rounded down to two significant figures, so the odds are never overstated; below
    one in a million it says so."""
    if p is None or p <= 0:
        return "less than 1 in 1,000,000"
    odds = 1 / p
    if odds >= 1_000_000:
        return "less than 1 in 1,000,000"
    digits = len(str(int(odds))) - 2
    shown = int(odds) // 10**digits * 10**digits if digits > 0 else int(odds)
    return f"1 in {max(shown, 1):,}"


_USER_ID = re.compile(r"[UW][A-Z0-9]{1,30}")


def user(id: object) -> str:
    """A Slack user id as a mention of that person; anything else as the word "someone"
    (a stored id is checked when it is stored; this is the second lock on the door)."""
    return f"<@{id}>" if isinstance(id, str) and _USER_ID.fullmatch(id) else "someone"


def slack_date(
    value: str | datetime | None, fmt: str = "{date_short_pretty} {time}", fallback: str = ""
) -> str:
    """A moment as Slack's `<!date^…>`, which shows each reader their own time zone; the
    fallback (UTC) is what a client that cannot show it prints. Empty for no moment."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = fallback or moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{shown}>"


def mrkdwn_escape(text: str) -> str:
    """Text a template builds from pieces it did not get from the context, made safe for
    mrkdwn (what the context holds is escaped already, at the boundary in `safe.py`)."""
    return text if isinstance(text, Markup) else escape(str(text))


def answered(rows: Sequence[Any]) -> list[Any]:
    """The rows someone answered for (CSAT): a skill or agent with no answers gets no row."""
    return [row for row in rows if row.counts.total]


def logged_in(agents: Sequence[Any]) -> list[Any]:
    """The agents with logged-in time: one never logged in gets no row."""
    return [agent for agent in agents if agent.logged_in.total]


SECTION_CHARS = 2900  # of the 3,000 Slack allows a section's text
SECTION_LINES = 20


def sections(
    lines: Sequence[str], limit: int = SECTION_CHARS, most: int = SECTION_LINES
) -> list[list[str]]:
    """Lines grouped into sections: at most `most` each, and never more text than a
    section may hold (linked names make a line several times longer)."""
    found: list[list[str]] = []
    size = 0
    for line in lines:
        line = line.strip()
        if found and len(found[-1]) < most and size + 1 + len(line) <= limit:
            found[-1].append(line)
            size += 1 + len(line)
        else:
            found.append([line[:limit]])
            size = len(found[-1][0])
    return found
