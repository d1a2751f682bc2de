"""Names in a query turned into ids, and typed ids checked, by the source's directory.

`final=False` is `prepare` (on the loop: decide what the directory in memory can, defer
the rest with None); `final=True` is `answer` after a refresh (decide everything).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.commands.resolve import resolve
from bot.directory import Directory, Entry
from bot.errors import UsageError
from bot.query import Command, Ids, Query

E = Entry
ENTRIES = (
    E("skill", "4", "Billing"),
    E("skill", "5", "Billing Disputes"),
    E("skill", "15", "Tech Support"),
    E("skill", "16", "Sales"),
    E("skill", "20", "Retention", deleted=True),
    E("agent", "1001", "Sam"),
    E("agent", "1002", "Samantha Reyes"),
    E("agent", "1003", "Zoë Martin"),
    E("agent", "1004", "Ana Lima"),
    E("agent", "1005", "Ana Lima"),
    E("agent", "1006", "Jo Smith", deleted=True),
    E("agent", "1007", "Jo Smith"),
    E("group", "8", "VIP"),  # from an earlier read: groups are refused now
)
# LivePerson with the agent groups refused: skills and agents read, groups not
DIRECTORY = Directory(ENTRIES, ["skill", "agent", "reason"])
LIVECHAT = Directory(
    [E("agent", "smith@example.com", "Smith"), E("group", "0", "General")], ["agent", "group"]
)


def q(
    unit: str,
    ids: Ids | None = (),
    named: tuple[str, ...] = (),
    command: Command = "/csat",
    source: str = "liveperson",
) -> Query:
    """A query as the grammar makes it: `ids=()` when only names were typed."""
    return Query(command, source, unit, ids, 60, None, named)


def resolved(query: Query, ids: tuple[str, ...]) -> Query:
    return replace(query, ids=ids, named=())


# --- names to ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        pytest.param(q("skill", named=("Billing",)), ("4",), id="exact"),
        pytest.param(q("skill", named=("BILLING",)), ("4",), id="exact-any-case"),
        pytest.param(q("skill", named=("tech",)), ("15",), id="unique-prefix"),
        pytest.param(q("skill", named=("tech support",)), ("15",), id="two-words"),
        pytest.param(q("agent", named=("zoe martin",)), ("1003",), id="accents-left-out"),
        pytest.param(q("agent", named=("Zoë",)), ("1003",), id="accented-prefix"),
        pytest.param(q("agent", named=("Sam",)), ("1001",), id="exact-beats-prefix"),
        pytest.param(q("agent", named=("samantha",)), ("1002",), id="prefix-of-the-longer"),
        pytest.param(q("agent", named=("jo smith",)), ("1007",), id="active-beats-deleted"),
        pytest.param(q("skill", named=("retention",)), ("20",), id="deleted-alone"),
        pytest.param(
            q("skill", named=("billing", "tech")), ("4", "15"), id="several-names-in-order"
        ),
        pytest.param(q("skill", ("16",), ("billing",)), ("16", "4"), id="ids-then-names"),
        pytest.param(q("skill", ("4",), ("Billing",)), ("4",), id="id-and-its-name-once"),
        pytest.param(q("skill", named=("billing", "BILLING")), ("4",), id="same-name-twice"),
        pytest.param(q("skill", named=("Sales", "sa")), ("16",), id="name-and-prefix"),
        pytest.param(q("skill", named=("4",)), ("4",), id="quoted-id-is-the-id"),
        pytest.param(q("skill", named=("-1",)), ("-1",), id="quoted-unassigned"),
        pytest.param(
            q("agent", named=("sam",), command="/agent-states"), ("1001",), id="agent-states"
        ),
        pytest.param(
            q("agent", ("1004",), ("Zoë Martin", "Samantha Reyes")),
            ("1004", "1003", "1002"),
            id="mixed",
        ),
    ],
)
@pytest.mark.parametrize("final", [True, False], ids=["final", "prepare"])
def test_names_become_ids(query: Query, ids: tuple[str, ...], final: bool) -> None:
    assert resolve(query, DIRECTORY, final=final) == resolved(query, ids)


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        pytest.param(q("agent", named=("smith",), source="livechat"), ("smith@example.com",),
                     id="name"),
        pytest.param(q("group", named=("general",), source="livechat"), ("0",), id="group-0"),
        pytest.param(q("agent", ("smith@example.com",), source="livechat"),
                     ("smith@example.com",), id="typed-id-known"),
        pytest.param(q("agent", ("Smith@Example.com",), source="livechat"),
                     ("Smith@Example.com",), id="typed-id-any-case-known"),
    ],
)  # fmt: skip
def test_livechat(query: Query, ids: tuple[str, ...]) -> None:
    assert resolve(query, LIVECHAT) == (resolved(query, ids) if query.named else query)


def test_a_quoted_email_becomes_the_directory_id() -> None:
    query = q("agent", ("smith@example.com",), ("Smith@Example.com",), source="livechat")
    assert resolve(query, LIVECHAT) == resolved(query, ("smith@example.com",))


# --- what cannot be decided -------------------------------------------------------------------


def problem(
    query: Query, directory: Directory | None, free_ids: bool = False, final: bool = True
) -> tuple[str, str, dict[str, Any]]:
    with pytest.raises(UsageError) as caught:
        resolve(query, directory, free_ids, final)
    return caught.value.problem, caught.value.command, caught.value.details


@pytest.mark.parametrize(
    ("query", "word", "candidates"),
    [
        pytest.param(
            q("skill", named=("bill",)),
            "bill",
            [{"id": "4", "name": "Billing"}, {"id": "5", "name": "Billing Disputes"}],
            id="shared-prefix",
        ),
        pytest.param(
            q("agent", named=("Ana Lima",)),
            "Ana Lima",
            [{"id": "1004", "name": "Ana Lima"}, {"id": "1005", "name": "Ana Lima"}],
            id="same-name",
        ),
        pytest.param(
            q("agent", ("1001",), ("sa",), command="/agent-states"),
            "sa",
            [{"id": "1001", "name": "Sam"}, {"id": "1002", "name": "Samantha Reyes"}],
            id="agent-states",
        ),
        pytest.param(
            q("skill", named=("tech", "billing d", "bill")),
            "bill",
            [{"id": "4", "name": "Billing"}, {"id": "5", "name": "Billing Disputes"}],
            id="after-names-that-match",
        ),
    ],
)
@pytest.mark.parametrize("final", [True, False], ids=["final", "prepare"])
def test_ambiguous_name(
    query: Query, word: str, candidates: list[dict[str, str]], final: bool
) -> None:
    """Decided at once, in `prepare` too: no refresh makes a name less shared."""
    assert problem(query, DIRECTORY, final=final) == (
        "ambiguous_name",
        query.command,
        {"source": "liveperson", "unit": query.unit, "word": word, "candidates": candidates},
    )


@pytest.mark.parametrize(
    ("query", "word", "nearest", "suggestion"),
    [
        pytest.param(q("skill", named=("biling",)), "biling", ["Billing"], "", id="misspelt"),
        pytest.param(q("agent", named=("reyes",)), "reyes", ["Samantha Reyes"], "",
                     id="inside-a-name"),
        pytest.param(q("skill", named=("xyzzy",)), "xyzzy", [], "", id="nothing-near"),
        pytest.param(q("skill", named=("sklil",)), "sklil", [], "skill",
                     id="a-misspelt-command-word"),
        pytest.param(q("skill", named=("billing", "biling")), "biling", ["Billing"], "",
                     id="after-one-that-matches"),
        pytest.param(q("skill", ("4",), ("biling",)), "biling", ["Billing"], "",
                     id="beside-ids"),
    ],
)  # fmt: skip
def test_unknown_name(query: Query, word: str, nearest: list[str], suggestion: str) -> None:
    assert problem(query, DIRECTORY) == (
        "unknown_name",
        "/csat",
        {
            "source": "liveperson",
            "unit": query.unit,
            "word": word,
            "nearest": nearest,
            "suggestion": suggestion,
        },
    )
    assert resolve(query, DIRECTORY, final=False) is None  # a refresh may bring it


@pytest.mark.parametrize(
    ("query", "ids", "more"),
    [
        pytest.param(q("skill", ("4", "99")), ["99"], 0, id="one"),
        pytest.param(q("skill", ("99", "4", "98")), ["99", "98"], 0, id="in-order-typed"),
        pytest.param(q("agent", ("1001", "-1")), ["-1"], 0, id="minus-one-only-for-skills"),
        pytest.param(q("skill", ("4", "1001")), ["1001"], 0, id="id-of-another-kind"),
        pytest.param(
            q("skill", tuple(str(n) for n in range(90, 97))),
            ["90", "91", "92", "93", "94"],
            2,
            id="five-shown",
        ),
        pytest.param(q("skill", ("99",), ("billing",)), ["99"], 0, id="beside-a-name"),
        pytest.param(
            q("agent", ("Stranger@Example.com",), source="livechat"),
            ["Stranger@Example.com"],
            0,
            id="livechat",
        ),
    ],
)
def test_unknown_ids_of_a_kind_read(query: Query, ids: list[str], more: int) -> None:
    directory = LIVECHAT if query.source == "livechat" else DIRECTORY
    assert problem(query, directory) == (
        "unknown_ids",
        "/csat",
        {"source": query.source, "unit": query.unit, "ids": ids, "more": more},
    )
    assert resolve(query, directory, final=False) is None


@pytest.mark.parametrize(
    ("query", "directory"),
    [
        pytest.param(q("group", named=("VIP",)), DIRECTORY, id="kind-refused"),
        pytest.param(q("group", ("8",), ("VIP",)), DIRECTORY, id="kind-refused-beside-ids"),
        pytest.param(q("skill", named=("billing",)), None, id="no-directory-yet"),
        pytest.param(q("skill", named=("billing",)), Directory(ENTRIES), id="nothing-read"),
        pytest.param(q("agent", named=("sam",), command="/agent-states"), None, id="agent-states"),
    ],
)
def test_names_unavailable(query: Query, directory: Directory | None) -> None:
    word = query.named[0]
    assert problem(query, directory) == (
        "names_unavailable",
        query.command,
        {"source": "liveperson", "unit": query.unit, "word": word},
    )
    assert resolve(query, directory, final=False) is None


def test_a_kind_not_read_still_takes_its_ids_typed_in_quotes() -> None:
    query = q("group", named=("8",))  # the group's id, in the entries kept from before
    assert resolve(query, DIRECTORY) == resolved(query, ("8",))


# --- passed through untouched ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "directory"),
    [
        pytest.param(q("account", None), DIRECTORY, id="account"),
        pytest.param(q("account", None), None, id="account-no-directory"),
        pytest.param(q("skill", "all"), DIRECTORY, id="all"),
        pytest.param(q("agent", "all", command="/agent-states"), DIRECTORY, id="states-all"),
        pytest.param(q("skill", ("4", "15", "-1")), DIRECTORY, id="known-ids"),
        pytest.param(q("skill", ("20",)), DIRECTORY, id="deleted-id-known"),
        pytest.param(q("group", ("8", "99")), DIRECTORY, id="ids-of-a-kind-not-read"),
        pytest.param(q("skill", ("99",)), None, id="ids-without-directory"),
        pytest.param(q("skill", ("99",)), Directory(ENTRIES), id="ids-nothing-read"),
        pytest.param(q("skill", ()), DIRECTORY, id="no-ids"),
    ],
)
@pytest.mark.parametrize("final", [True, False], ids=["final", "prepare"])
def test_untouched(query: Query, directory: Directory | None, final: bool) -> None:
    assert resolve(query, directory, final=final) is query


def test_configured_names_do_not_make_a_refused_kind_check_ids() -> None:
    agents = [e for e in ENTRIES if e.kind == "agent"]
    directory = Directory.of(agents, ["agent"], {"skill": {"4": "Billing"}})
    query = q("skill", ("15",))
    assert resolve(query, directory) is query


def test_configured_names_resolve_in_a_refused_kind() -> None:
    agents = [e for e in ENTRIES if e.kind == "agent"]
    directory = Directory.of(agents, ["agent"], {"skill": {"4": "Billing"}})
    query = q("skill", named=("billing",))
    assert resolve(query, directory) == resolved(query, ("4",))


# --- free ids: the ingested source ------------------------------------------------------------

INGESTED = Directory.of([], [], {"agent": {"a7": "Ana Souza"}})  # bot.toml's names only


@pytest.mark.parametrize(
    ("query", "directory", "ids"),
    [
        pytest.param(q("agent", named=("a1",), source="ingested"), INGESTED, ("a1",), id="a1"),
        pytest.param(q("agent", named=("B-2",), source="ingested"), INGESTED, ("B-2",),
                     id="case-and-dash-kept"),
        pytest.param(q("agent", named=("ana.s+cs@example.com",), source="ingested"), INGESTED,
                     ("ana.s+cs@example.com",), id="email-like"),
        pytest.param(q("agent", named=("ANA souza",), source="ingested"), INGESTED, ("a7",),
                     id="configured-name-wins"),
        pytest.param(q("agent", named=("ana",), source="ingested"), INGESTED, ("ana",),
                     id="a-name-s-start-is-no-match-an-id-may-be-it"),
        pytest.param(q("agent", ("x9",), ("a1", "ana souza"), source="ingested"), INGESTED,
                     ("x9", "a1", "a7"), id="mixed"),
        pytest.param(q("agent", named=("a1",), source="ingested"), Directory(), ("a1",),
                     id="nothing-read"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("final", [True, False], ids=["final", "prepare"])
def test_free_ids_keep_unknown_words_that_look_like_ids(
    query: Query, directory: Directory | None, ids: tuple[str, ...], final: bool
) -> None:
    assert resolve(query, directory, free_ids=True, final=final) == resolved(query, ids)


def test_free_ids_without_a_directory_wait_for_it_then_are_kept() -> None:
    """Not read yet: the directory may name the word, so `prepare` defers; once read (or
    never readable), a word that looks like an id is the id."""
    query = q("agent", ("x9",), ("a1", "B-2"), source="ingested")
    assert resolve(query, None, free_ids=True, final=False) is None
    assert resolve(query, None, free_ids=True) == resolved(query, ("x9", "a1", "B-2"))


@pytest.mark.parametrize(
    ("directory", "problem_name"),
    [
        pytest.param(INGESTED, "unknown_name", id="kind-known"),
        pytest.param(None, "names_unavailable", id="no-directory"),
    ],
)
@pytest.mark.parametrize("word", ["<!channel>", "ana souza!", "a 1"])
def test_free_ids_refuse_words_that_are_not_ids(
    directory: Directory | None, problem_name: str, word: str
) -> None:
    query = q("agent", named=(word,), source="ingested")
    found, _, details = problem(query, directory, free_ids=True)
    assert (found, details["word"]) == (problem_name, word)
    assert resolve(query, directory, free_ids=True, final=False) is None


@pytest.mark.parametrize("directory", [INGESTED, DIRECTORY, None])
def test_free_ids_typed_ids_are_not_checked(directory: Directory | None) -> None:
    query = q("agent", ("zz-unknown", "a7"), source="ingested")
    assert resolve(query, directory, free_ids=True) is query
