"""What each source's directory holds and how it was last read, as terminal lines.

Shared by `python -m bot directory` and `python -m bot check`: counts by kind, when each
collection was read, and for one the vendor refused, the privilege or scope to grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.directory import Directory
from bot.errors import printable

KIND_WORDS = {"agent": "agents", "skill": "skills", "group": "groups", "reason": "away reasons"}
SAMPLE = 6  # names shown per kind


def summary(source: str, directory: Directory | None, states: Iterable[Mapping[str, Any]]) -> str:
    """`liveperson: 13 agents, 5 skills, ... (read 23:40 UTC)`, or what is missing."""
    states = list(states)
    counts: dict[str, int] = {}
    for kind, _ in directory.entries if directory else {}:
        counts[kind] = counts.get(kind, 0) + 1
    what = ", ".join(f"{counts[k]} {word}" for k, word in KIND_WORDS.items() if k in counts)
    read = [s["refreshed_at"] for s in states if s.get("refreshed_at")]
    when = f" (read {_when(max(read))})" if read else ""
    return f"{source}: {what or 'no names'}{when}"


def problems(
    source: str, vendor: str, states: Iterable[Mapping[str, Any]], fetched: bool
) -> list[str]:
    """One line per collection the vendor refused or that could not be read, saying what to
    do; one line when the directory was never read."""
    states = list(states)
    if fetched and not states:
        return [
            f"{source}: the directory has not been read yet (the first answer reads it; "
            "`python -m bot directory --refresh` reads it now)"
        ]
    found = []
    for s in states:
        if s["status"] == "refused":
            kept = "stay as last read" if s.get("count") else "stay ids"
            found.append(
                f"{source}: {vendor} refused the {s['collection']} directory "
                f"({printable(s['detail'])}): {s['kind']} names {kept} until the bot's "
                f"credentials have {s['grant_needed']}"
            )
        elif s["status"] == "failed":
            found.append(
                f"{source}: the {s['collection']} directory could not be read at "
                f"{_when(s['checked_at'])} ({printable(s['detail'])}); names stay as last read"
            )
    return found


def lines(
    source: str, directory: Directory | None, states: Iterable[Mapping[str, Any]]
) -> list[str]:
    """`python -m bot directory`: each collection, its status and revision, a few names."""
    out = [summary(source, directory, states)]
    for s in states:
        status = s["status"] if s["status"] != "ok" else f"ok, {s['count'] or 0} entries"
        revision = f", revision {s['revision']}" if s.get("revision") else ""
        read = f", read {_when(s['refreshed_at'])}" if s.get("refreshed_at") else ""
        out.append(f"  {s['collection']}: {status}{revision}{read}")
    if directory is not None:
        for kind in KIND_WORDS:
            named = sorted(
                (e for (k, _), e in directory.entries.items() if k == kind),
                key=lambda e: (e.deleted, e.name.casefold()),
            )
            if named:
                shown = ", ".join(
                    f"{printable(e.name)} ({printable(e.id)}{', left' if e.deleted else ''})"
                    for e in named[:SAMPLE]
                )
                more = f", and {len(named) - SAMPLE} more" if len(named) > SAMPLE else ""
                out.append(f"  {KIND_WORDS[kind]}: {shown}{more}")
    return out


def _when(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
