"""What a person (or a digest) asks a source for: the `Query`, and the words it is made of.

Pure data, shared by the grammar that builds queries, the sources that answer them and
the digests that keep asking the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Command = Literal["/csat", "/agent-states"]
SOURCES = ("liveperson", "livechat", "ingested")
UNITS = ("skill", "agent", "group")
Ids = tuple[str, ...] | Literal["all"]


@dataclass(frozen=True)
class Query:
    """What a person asked for; `source` is None until the default is applied."""

    command: Command
    source: str | None = None
    unit: str = "account"  # account | skill | agent | group
    ids: Ids | None = None
    timeframe: int = 60  # minutes
    interval: int | None = None  # minutes, /agent-states only
    named: tuple[str, ...] = ()  # names typed where ids stand, until the directory reads them
    trend: bool = False  # `/csat trend`: the score day by day (week by week), not one total

    @property
    def canonical_ids(self) -> Ids | None:
        """The ids sorted (numbers as numbers) without repeats: `5,4,4` asks what `4,5` does."""
        if self.ids is None or self.ids == "all":
            return self.ids
        return tuple(sorted(set(self.ids), key=lambda i: (len(i), i)))

    @property
    def ids_text(self) -> str:
        """The ids as a vendor query parameter, canonical: `all` or `3,4,15`."""
        ids = self.canonical_ids
        if ids is None:
            return ""
        return "all" if ids == "all" else ",".join(ids)
