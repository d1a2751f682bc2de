"""Pure: one source's directory of names, and matching what a person typed against it.

A `Directory` holds every agent, skill, group and away reason a vendor named (people who
left included, so old reports keep their names) plus the names `bot.toml` gives
(`[names.agents]`, `[names.skills]`), which win. It answers two questions, both without
I/O: what to call an id (`name`), and which ids a typed word means (`match`): case- and
accent-insensitive, an exact name first, then a unique prefix; among several, the one
still active wins; otherwise the candidates are the answer.
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

KINDS = ("agent", "skill", "group", "reason")
UNASSIGNED_SKILL = "-1"  # not in LivePerson's skills list; words.yml calls it "Unassigned"
NEAREST = 3  # names suggested for a word that matches none
CANDIDATES = 10  # names listed for a word that matches several


class Entry(NamedTuple):
    """One named id as the vendor's directory (or the configuration) gives it."""

    kind: str  # agent | skill | group | reason
    id: str
    name: str
    deleted: bool = False


LONGEST_NAME = 500  # characters of a name kept; no one is called more, messages show 80
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """A vendor's name as the store can keep it: a lone surrogate (half of a character)
    becomes U+FFFD, and a name longer than any person's is cut. Everything else stays for
    the rendering boundary (`render/safe.py`) to clean and escape."""
    text = text.strip()[:LONGEST_NAME]
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def fold(text: str) -> str:
    """What matching compares: no accents, no case, single spaces (`Zoë` == `zoe`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class Match:
    """What a typed word means: one id, several candidates, or none (with the nearest names)."""

    word: str
    ids: tuple[str, ...] = ()  # one id when the word is unambiguous
    candidates: tuple[tuple[str, str], ...] = ()  # (id, name) when it is not
    nearest: tuple[str, ...] = ()  # names close to a word that matched nothing


class Directory:
    """Names by (kind, id), the folded names for matching, the names two ids share.

    Everything is built at construction, where the directory is read (the store's thread),
    so looking up and matching on the event loop that acks Slack are dictionary reads.
    """

    def __init__(
        self, entries: Iterable[Entry] = (), kinds: Iterable[str] = (), named: Iterable[str] = ()
    ) -> None:
        self.entries: dict[tuple[str, str], Entry] = {(e.kind, e.id): e for e in entries}
        self.read = frozenset(kinds)  # the vendor's collections read whole: complete lists
        self.kinds = self.read | frozenset(named)  # and the kinds bot.toml names some of
        self._folded: dict[str, dict[str, list[Entry]]] = {}  # kind -> folded name -> entries
        seen: dict[tuple[str, str], str] = {}
        self._shared: set[tuple[str, str]] = set()  # (kind, name) more than one id carries
        for (kind, id), entry in self.entries.items():
            self._folded.setdefault(kind, {}).setdefault(fold(entry.name), []).append(entry)
            if seen.setdefault((kind, entry.name), id) != id:
                self._shared.add((kind, entry.name))
        self._sorted = {kind: sorted(names) for kind, names in self._folded.items()}
        self._ids: dict[str, set[str]] = {"skill": {UNASSIGNED_SKILL}}
        for kind, id in self.entries:
            self._ids.setdefault(kind, set()).add(id)

    @classmethod
    def of(
        cls,
        entries: Iterable[Entry],
        kinds: Iterable[str] = (),
        overrides: Mapping[str, Mapping[str, str]] | None = None,
        partly: Iterable[str] = (),
    ) -> Directory:
        """From the vendor's entries, the configured names laid over them (by kind, then id).

        `kinds`: the vendor's whole lists read; `partly`: kinds some names are known of (a
        list refused since it was read, LiveChat's lists without the agents who left)."""
        found = {(e.kind, e.id): e for e in entries}
        for kind, names in (overrides or {}).items():
            for id, name in names.items():
                key = id.lower() if "@" in id else id  # as reports and directories key e-mails
                found[(kind, key)] = Entry(kind, key, name)
        return cls(found.values(), kinds, [*(overrides or ()), *partly])

    def __len__(self) -> int:
        return len(self.entries)

    def knows(self, kind: str) -> bool:
        """Whether some names of this kind are known (read from the vendor, or configured)."""
        return kind in self.kinds

    def complete(self, kind: str) -> bool:
        """Whether the vendor's whole list of this kind was read: only then is an id missing
        from it unknown (configured names alone name some, not all)."""
        return kind in self.read

    def name(self, kind: str, id: str) -> str | None:
        """What people call the id, or None; a name two ids share carries its id (`Sam (1004)`)."""
        entry = self.entries.get((kind, id))
        if entry is None and "@" in id:  # LiveChat's agent ids are e-mail addresses
            entry = self.entries.get((kind, id.lower()))
        if entry is None:
            return None
        if (kind, entry.name) in self._shared:
            return f"{entry.name} ({entry.id})"
        return entry.name

    def has(self, kind: str, id: str) -> bool:
        return (
            (kind, id) in self.entries
            or (kind == "skill" and id == UNASSIGNED_SKILL)
            or ("@" in id and (kind, id.lower()) in self.entries)
        )

    def lacks(self, kind: str, ids: Iterable[str]) -> bool:
        """Whether any of `ids` (a report's, 20,000 of them) is missing from a kind it reads."""
        if kind not in self.read:
            return False
        known = self._ids.get(kind, set())
        missing = set(ids).difference(known)  # C all the way: 20,000 ids in a millisecond
        return any("@" not in id or id.lower() not in known for id in missing)

    def match(self, kind: str, word: str, nearest: bool = True, prefix: bool = True) -> Match:
        """The ids a typed name means: exact (folded) first, then a unique prefix.

        Without `nearest`, a word that matches nothing comes back without suggestions:
        finding them compares the word with every name (for 20,000 agents, not on the
        loop that acks Slack; `nearest()` then). Without `prefix`, only a whole name
        matches. A prefix many names share (`a`) is read no further than it takes to know
        it is ambiguous: the names are walked in order, so a broad word costs as little as
        a narrow one.
        """
        key = fold(word)
        if not key:
            return Match(word)
        by_name = self._folded.get(kind, {})
        found = list(by_name.get(key, ()))
        if not found and prefix:
            active: set[str] = set()
            for name in self._prefixed(kind, key):
                found += by_name[name]
                active.update(e.id for e in by_name[name] if not e.deleted)
                if len(active) > CANDIDATES:
                    break  # ambiguous whatever follows, and enough still here to list
        if not found:
            return Match(word, nearest=self.nearest(kind, word) if nearest else ())
        if len({e.id for e in found}) > 1:
            living = [e for e in found if not e.deleted]
            if len({e.id for e in living}) == 1:
                return Match(word, (living[0].id,))
            ranked = sorted(found, key=lambda e: (e.deleted, fold(e.name), len(e.id), e.id))
            shown = tuple(dict.fromkeys((e.id, e.name) for e in ranked))
            return Match(word, candidates=shown[:CANDIDATES])
        return Match(word, (found[0].id,))

    def count(self, kind: str) -> int:
        """How many different names a kind has."""
        return len(self._sorted.get(kind, ()))

    def _prefixed(self, kind: str, key: str) -> Iterator[str]:
        """The folded names that start with `key`, in order, from a bisection of the sorted
        names: as many as the caller reads."""
        names = self._sorted.get(kind, [])
        for i in range(bisect.bisect_left(names, key), len(names)):
            if not names[i].startswith(key):
                return
            yield names[i]

    def nearest(self, kind: str, word: str) -> tuple[str, ...]:
        """Up to `NEAREST` names close to a word that matched none (misspelt, or inside one)."""
        key = fold(word)
        by_name = self._folded.get(kind, {})
        close = difflib.get_close_matches(key, list(by_name), n=NEAREST, cutoff=0.6)
        inside = [name for name in by_name if key in name and name not in close]
        return tuple(by_name[name][0].name for name in [*close, *inside][:NEAREST])


@dataclass(frozen=True)
class Collection:
    """One directory collection as a vendor answered it: its entries, or why there are none.

    `status` is `ok`, `unchanged` (the revision the bot has is still current), `refused`
    (401/403: a privilege or scope is missing; `grant` says which) or `failed` (down,
    garbage). `revision` is the vendor's (`eTag`, `ac-revision`) when it sends one.
    """

    source: str
    name: str  # the vendor's collection: users, skills, agentGroups, status-reasons, ...
    kind: str  # what its entries are: agent, skill, group, reason
    status: str
    entries: tuple[Entry, ...] = ()
    revision: str | None = None
    detail: str = ""  # the vendor's error, for the log and `check`
    grant: str = ""  # the privilege or scope to add when refused
    whole: bool = True  # lists every id reports may name (people who left included)
