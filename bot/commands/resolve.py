"""Pure: the names in a query turned into ids by the source's directory, and ids it lacks.

`resolve` is called twice at most. In `prepare`, on the loop that acks, with `final=False`:
it decides what the in-memory directory can decide at once (an exact or prefix match, an
ambiguity) and returns None for what it cannot: no directory yet, or a name or id the
directory lacks, which a refresh may bring. In `answer`, after that refresh, with
`final=True` (and off the loop: the nearest names are looked for among all of them), it
decides the rest. A name that matches several ids, a name that matches none and an id the
directory does not know are `UsageError`s: answered with the candidates or the nearest
names, and the vendor is never asked.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.commands.grammar import suggest
from bot.directory import Directory
from bot.errors import UsageError
from bot.query import Query

SHOWN_UNKNOWN = 5  # unknown ids a reply lists
FREE_ID = re.compile(r"[\w.+@-]+", re.ASCII)  # what a survey tool's agent id looks like


def resolve(
    query: Query,
    directory: Directory | None,
    free_ids: bool = False,
    final: bool = True,
    check_ids: bool = True,
) -> Query | None:
    """The query with ids only; None when not `final` and the directory cannot tell yet.

    `free_ids`: the source takes ids the directory does not name (the `ingested` source,
    whose agent ids are whatever the survey tool sent): only whole names match there, so
    a name's first letters never take a survey tool's id. `check_ids`: whether the
    directory is fresh enough to call a typed id it lacks unknown (else the vendor is
    asked, and says).
    """
    kind = query.unit
    reads = directory is not None and directory.knows(kind)  # some names of it are known
    complete = directory is not None and directory.complete(kind)  # all the vendor's are
    found: list[str] = []
    for word in query.named:
        if directory is not None and directory.has(kind, word):  # an id typed as it is
            found.append(word.lower() if "@" in word else word)  # as reports key agents
            continue
        if reads:
            assert directory is not None
            match = directory.match(kind, word, nearest=final, prefix=not free_ids)
            if match.candidates:
                raise UsageError(
                    "ambiguous_name", query.command, source=query.source, unit=kind, word=word,
                    candidates=[{"id": id, "name": name} for id, name in match.candidates],
                )  # fmt: skip
            if match.ids:
                found.extend(match.ids)
                continue
        if free_ids and FREE_ID.fullmatch(word) is not None and (directory is not None or final):
            found.append(word)  # a survey tool's own agent id
        elif not final:  # a refresh may bring it, and the nearest names are not looked for
            return None
        elif complete or (reads and free_ids):
            assert directory is not None
            raise UsageError(
                "unknown_name", query.command, source=query.source, unit=kind, word=word,
                nearest=list(directory.match(kind, word).nearest),
                suggestion=suggest(word.lower()),
            )  # fmt: skip
        else:
            raise UsageError(
                "names_unavailable", query.command, source=query.source, unit=kind, word=word
            )
    if complete and check_ids and not free_ids and query.ids not in (None, "all"):
        assert directory is not None
        unknown = [id for id in query.ids or () if not directory.has(kind, id)]
        if unknown and not final:
            return None
        if unknown:
            raise UsageError(
                "unknown_ids", query.command, source=query.source, unit=kind,
                ids=unknown[:SHOWN_UNKNOWN], more=max(0, len(unknown) - SHOWN_UNKNOWN),
            )  # fmt: skip
    return _merged(query, found)


def _merged(query: Query, found: list[str]) -> Query:
    if not found and not query.named:
        return query
    ids = query.ids if query.ids not in (None, "all") else ()
    return replace(query, ids=tuple(dict.fromkeys([*(ids or ()), *found])), named=())
