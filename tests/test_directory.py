"""The directory, pure: what to call an id, and which ids a typed word means.

One small directory of the awkward cases (accents, a name two agents share, a name a
deleted agent shared with an active one, prefixes of other names) answers the tables;
a 20,000-agent one checks that size changes nothing.
"""

from __future__ import annotations

import itertools

import pytest

from bot.directory import (
    CANDIDATES,
    LONGEST_NAME,
    NEAREST,
    Directory,
    Entry,
    Match,
    fold,
    storable,
)

E = Entry
AGENTS = (
    E("agent", "1001", "Sam"),
    E("agent", "1002", "Samantha Reyes"),
    E("agent", "1003", "Zoë Martin"),
    E("agent", "1004", "Ana Lima"),
    E("agent", "1005", "Ana Lima"),  # two people, one name
    E("agent", "1006", "Jo Smith", deleted=True),  # left; a new Jo Smith came
    E("agent", "1007", "Jo Smith"),
    E("agent", "1008", "Mary  Ann Jones"),  # two spaces, as the vendor has it
    E("agent", "1009", "Zoe Park"),
    E("agent", "1010", "Daniel Okafor"),
    E("agent", "1011", "Danielle Roux"),
    E("agent", "1012", "Dan Brown"),
)
SKILLS = (
    E("skill", "4", "Billing"),
    E("skill", "5", "Billing Disputes"),
    E("skill", "15", "Tech Support"),
    E("skill", "16", "Sales"),
    E("skill", "20", "Retention", deleted=True),
    E("skill", "21", "Returns"),
)
GROUPS = (
    E("group", "7", "Billing"),  # the skill's name too: not shared within a kind
    E("group", "8", "VIP"),
    E("group", "9", "VIP"),
)
REASONS = (
    E("reason", "725987312", "some reason text"),
    E("reason", "725987412", "another reason text"),
)
READ = ("agent", "skill", "group", "reason")
DIRECTORY = Directory((*AGENTS, *SKILLS, *GROUPS, *REASONS), READ)


# --- fold ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        pytest.param("Zoë", "zoe", id="diaeresis"),
        pytest.param("ÅNGSTRÖM", "angstrom", id="upper-case-accents"),
        pytest.param("  Tech \t  Support\n", "tech support", id="whitespace"),
        pytest.param("Straße", "strasse", id="casefold-not-lower"),
        pytest.param("José María", "jose maria", id="acute"),
        pytest.param("", "", id="empty"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param("Zoë Martin", "Zoë Martin", id="as-it-is"),
        pytest.param("  Sam \n", "Sam", id="trimmed"),
        pytest.param("x" * (LONGEST_NAME + 100), "x" * LONGEST_NAME, id="cut"),
        pytest.param("Ana \ud800Lima", "Ana \ufffdLima", id="lone-surrogate"),
        pytest.param("<b>&amp;</b>", "<b>&amp;</b>", id="markup-left-for-rendering"),
    ],
)
def test_storable(text: str, kept: str) -> None:
    assert storable(text) == kept


# --- match: one id ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "word", "ids"),
    [
        pytest.param("skill", "Billing", ("4",), id="exact"),
        pytest.param("skill", "bILLING", ("4",), id="case-insensitive"),
        pytest.param("agent", "zoe martin", ("1003",), id="bare-finds-accented"),
        pytest.param("agent", "Zoë Park", ("1009",), id="accented-finds-bare"),
        pytest.param("agent", "ZOË MARTIN", ("1003",), id="accented-upper-case"),
        pytest.param("agent", "  samantha   reyes ", ("1002",), id="typed-whitespace-collapsed"),
        pytest.param("agent", "mary ann jones", ("1008",), id="stored-whitespace-collapsed"),
        pytest.param("skill", "tech", ("15",), id="unique-prefix"),
        pytest.param("skill", "tech supp", ("15",), id="unique-prefix-two-words"),
        pytest.param("agent", "samantha", ("1002",), id="prefix-of-one-name"),
        pytest.param("agent", "Sam", ("1001",), id="exact-beats-prefix"),
        pytest.param("skill", "billing", ("4",), id="exact-beats-longer-name"),
        pytest.param("agent", "Jo Smith", ("1007",), id="active-beats-deleted-same-name"),
        pytest.param("agent", "jo", ("1007",), id="active-beats-deleted-by-prefix"),
        pytest.param("skill", "re", ("21",), id="active-beats-deleted-other-name"),
        pytest.param("skill", "retention", ("20",), id="deleted-alone-still-found"),
        pytest.param("group", "billing", ("7",), id="kind-kept-apart"),
        pytest.param("reason", "another", ("725987412",), id="reason-prefix"),
    ],
)
def test_match_one_id(kind: str, word: str, ids: tuple[str, ...]) -> None:
    assert DIRECTORY.match(kind, word) == Match(word, ids)


# --- match: several ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "word", "candidates"),
    [
        pytest.param(
            "agent", "Ana Lima", (("1004", "Ana Lima"), ("1005", "Ana Lima")), id="same-exact-name"
        ),
        pytest.param(
            "agent", "ana", (("1004", "Ana Lima"), ("1005", "Ana Lima")), id="same-name-by-prefix"
        ),
        pytest.param(
            "skill", "bill", (("4", "Billing"), ("5", "Billing Disputes")), id="shared-prefix"
        ),
        pytest.param(
            "agent",
            "dan",
            (("1012", "Dan Brown"), ("1010", "Daniel Okafor"), ("1011", "Danielle Roux")),
            id="sorted-by-name",
        ),
        pytest.param(
            "agent", "sa", (("1001", "Sam"), ("1002", "Samantha Reyes")), id="short-prefix"
        ),
        pytest.param("group", "VIP", (("8", "VIP"), ("9", "VIP")), id="group-ids-sorted"),
    ],
)
def test_match_candidates(kind: str, word: str, candidates: tuple[tuple[str, str], ...]) -> None:
    assert DIRECTORY.match(kind, word) == Match(word, candidates=candidates)


def test_candidates_list_active_before_deleted_and_stop_at_ten() -> None:
    people = [E("agent", str(100 + n), f"Lee {n:02}", deleted=n % 2 == 0) for n in range(14)]
    found = Directory(people, ["agent"]).match("agent", "lee")
    assert len(found.candidates) == CANDIDATES
    assert found.ids == ()
    active = [(e.id, e.name) for e in people if not e.deleted]
    deleted = [(e.id, e.name) for e in people if e.deleted]
    assert list(found.candidates) == (active + deleted)[:CANDIDATES]


def test_candidates_of_equal_names_shorter_id_first() -> None:
    directory = Directory([E("group", "10", "VIP"), E("group", "9", "VIP")], ["group"])
    assert directory.match("group", "vip").candidates == (("9", "VIP"), ("10", "VIP"))


# --- match: none -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "word", "nearest"),
    [
        pytest.param("skill", "biling", ("Billing",), id="misspelt"),
        pytest.param("skill", "Tech Suport", ("Tech Support",), id="misspelt-two-words"),
        pytest.param("agent", "reyes", ("Samantha Reyes",), id="word-inside-a-name"),
        pytest.param("agent", "martin", ("Zoë Martin",), id="inside-shown-as-named"),
        pytest.param("skill", "disputes", ("Billing Disputes",), id="last-word"),
        pytest.param("skill", "xyzzy", (), id="nothing-near"),
        pytest.param("reason", "sick", (), id="nothing-near-reason"),
        pytest.param("group", "billing team", ("Billing",), id="longer-than-a-name"),
    ],
)
def test_no_match_suggests_the_nearest(kind: str, word: str, nearest: tuple[str, ...]) -> None:
    assert DIRECTORY.match(kind, word) == Match(word, nearest=nearest)
    assert DIRECTORY.nearest(kind, word) == nearest


def test_without_nearest_no_suggestions() -> None:
    assert DIRECTORY.match("skill", "biling", nearest=False) == Match("biling")
    assert DIRECTORY.nearest("skill", "biling") == ("Billing",)  # asked for on its own


def test_nearest_stops_at_three() -> None:
    names = [E("skill", str(n), f"Support {tier}") for n, tier in enumerate("ABCDE")]
    nearest = Directory(names, ["skill"]).nearest("skill", "suport")
    assert len(nearest) == NEAREST
    assert set(nearest) <= {e.name for e in names}


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        pytest.param("skill", "", id="empty"),
        pytest.param("skill", "   ", id="blank"),
        pytest.param("unit", "billing", id="kind-never-named"),
    ],
)
def test_nothing_to_match(kind: str, word: str) -> None:
    assert DIRECTORY.match(kind, word) == Match(word)


def test_empty_directory_matches_nothing() -> None:
    assert Directory().match("agent", "sam") == Match("sam")
    assert len(Directory()) == 0


# --- name, has, lacks, knows, count -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "id", "name"),
    [
        pytest.param("agent", "1001", "Sam", id="plain"),
        pytest.param("agent", "1003", "Zoë Martin", id="as-the-vendor-spells-it"),
        pytest.param("agent", "1004", "Ana Lima (1004)", id="shared-name-carries-id"),
        pytest.param("agent", "1005", "Ana Lima (1005)", id="shared-name-other-id"),
        pytest.param("agent", "1006", "Jo Smith (1006)", id="shared-with-deleted"),
        pytest.param("agent", "1007", "Jo Smith (1007)", id="shared-with-active"),
        pytest.param("skill", "4", "Billing", id="shared-across-kinds-is-not-shared"),
        pytest.param("group", "7", "Billing", id="shared-across-kinds-other-side"),
        pytest.param("group", "8", "VIP (8)", id="shared-group"),
        pytest.param("skill", "20", "Retention", id="deleted"),
        pytest.param("agent", "9999", None, id="unknown-id"),
        pytest.param("skill", "1001", None, id="id-of-another-kind"),
        pytest.param("skill", "-1", None, id="unassigned-has-no-vendor-name"),
    ],
)
def test_name(kind: str, id: str, name: str | None) -> None:
    assert DIRECTORY.name(kind, id) == name


@pytest.mark.parametrize(
    ("kind", "id", "has"),
    [
        pytest.param("skill", "4", True, id="listed"),
        pytest.param("skill", "20", True, id="deleted-listed"),
        pytest.param("skill", "-1", True, id="unassigned-skill"),
        pytest.param("agent", "-1", False, id="minus-one-only-for-skills"),
        pytest.param("group", "-1", False, id="minus-one-not-a-group"),
        pytest.param("skill", "99", False, id="unlisted"),
        pytest.param("skill", "1001", False, id="another-kind"),
    ],
)
def test_has(kind: str, id: str, has: bool) -> None:
    assert DIRECTORY.has(kind, id) is has


LIVECHAT = Directory(
    [
        E("agent", "smith@example.com", "Smith"),
        E("agent", "agent@example.com", "Agent"),
        E("group", "0", "General"),
    ],
    ["agent", "group"],
)


@pytest.mark.parametrize(
    "id",
    [
        pytest.param("smith@example.com", id="as-stored"),
        pytest.param("Smith@Example.com", id="capitalised"),
        pytest.param("SMITH@EXAMPLE.COM", id="upper-case"),
    ],
)
def test_livechat_email_ids_any_case(id: str) -> None:
    assert LIVECHAT.name("agent", id) == "Smith"
    assert LIVECHAT.has("agent", id)


def test_only_email_ids_are_folded_to_lower_case() -> None:
    directory = Directory([E("agent", "abc", "Abe")], ["agent"])
    assert directory.name("agent", "ABC") is None
    assert not directory.has("agent", "ABC")
    assert LIVECHAT.name("group", "0") == "General"


@pytest.mark.parametrize(
    ("kind", "ids", "lacks"),
    [
        pytest.param("skill", ["4", "15", "20"], False, id="all-known"),
        pytest.param("skill", ["4", "-1"], False, id="unassigned-is-known"),
        pytest.param("skill", ["4", "99"], True, id="one-unknown"),
        pytest.param("skill", [], False, id="none-asked"),
        pytest.param("agent", ["-1"], True, id="minus-one-agent-unknown"),
        pytest.param("agent", iter(["1001", "1002"]), False, id="any-iterable"),
        pytest.param("group", ["7", "8", "10"], True, id="group"),
    ],
)
def test_lacks_in_a_kind_read(kind: str, ids: list[str], lacks: bool) -> None:
    assert DIRECTORY.lacks(kind, ids) is lacks


def test_lacks_nothing_in_a_kind_not_read() -> None:
    directory = Directory((*AGENTS, *SKILLS), ["agent"])  # skills refused: entries from before
    assert not directory.lacks("skill", ["99"])
    assert not directory.lacks("reason", ["725987312"])
    assert directory.lacks("agent", ["99"])


def test_lacks_a_kind_read_with_no_entries() -> None:
    assert Directory((), ["reason"]).lacks("reason", ["725987312"])
    assert not Directory((), ["reason"]).lacks("reason", [])


def test_lacks_agrees_with_has_for_email_ids() -> None:
    assert LIVECHAT.has("agent", "Smith@Example.com")
    assert not LIVECHAT.lacks("agent", ["Smith@Example.com", "agent@example.com"])


def test_knows_only_the_kinds_read() -> None:
    directory = Directory((*AGENTS, *SKILLS), ["agent", "reason"])
    assert directory.knows("agent")
    assert directory.knows("reason")  # read, even with no entries
    assert not directory.knows("skill")  # entries kept from before, but not read now
    assert not directory.knows("group")
    assert not Directory().knows("agent")


def test_count_is_different_names() -> None:
    assert DIRECTORY.count("agent") == 10  # 12 agents; Ana Lima and Jo Smith twice
    assert DIRECTORY.count("skill") == 6
    assert DIRECTORY.count("group") == 2
    assert DIRECTORY.count("queue") == 0
    assert len(DIRECTORY) == len(AGENTS) + len(SKILLS) + len(GROUPS) + len(REASONS)


def test_later_entry_for_an_id_replaces_the_earlier() -> None:
    directory = Directory([E("skill", "4", "Old"), E("skill", "4", "Billing")], ["skill"])
    assert directory.name("skill", "4") == "Billing"  # not "Billing (4)": one id
    assert directory.match("skill", "old") == Match("old")


# --- overrides -------------------------------------------------------------------------


def test_overrides_win_over_the_vendor() -> None:
    directory = Directory.of(SKILLS, ["skill"], {"skill": {"4": "Payments", "99": "Escalations"}})
    assert directory.name("skill", "4") == "Payments"
    assert directory.match("skill", "payments") == Match("payments", ("4",))
    assert directory.match("skill", "billing") == Match("billing", ("5",))  # only Disputes now
    assert directory.name("skill", "99") == "Escalations"
    assert directory.has("skill", "99")
    assert directory.name("skill", "15") == "Tech Support"  # others kept


def test_an_override_revives_a_deleted_entry() -> None:
    directory = Directory.of(AGENTS, ["agent"], {"agent": {"1006": "Jo Smith (old)"}})
    assert directory.match("agent", "Jo Smith") == Match("Jo Smith", ("1007",))
    assert directory.name("agent", "1007") == "Jo Smith"  # no longer shared
    assert directory.match("agent", "jo smith (old)") == Match("jo smith (old)", ("1006",))


def test_overrides_make_their_kind_known() -> None:
    directory = Directory.of([], [], {"agent": {"a7": "Ana"}, "skill": {"4": "Billing"}})
    assert directory.knows("agent")
    assert directory.knows("skill")
    assert not directory.knows("group")
    assert directory.match("agent", "ana") == Match("ana", ("a7",))
    assert not directory.lacks("agent", ["a8"])  # configured names are not the whole list
    assert not directory.complete("agent")


def test_overrides_alone_make_a_directory() -> None:
    directory = Directory.of([], ["group"], None)
    assert directory.knows("group")
    assert len(directory) == 0


def test_two_overrides_sharing_a_name_are_candidates() -> None:
    directory = Directory.of([], [], {"agent": {"1": "Kim", "2": "Kim"}})
    assert directory.match("agent", "kim").candidates == (("1", "Kim"), ("2", "Kim"))
    assert directory.name("agent", "2") == "Kim (2)"


# --- size ------------------------------------------------------------------------------

FIRST = (
    "Ana", "Bruno", "Carla", "Diego", "Elena", "Farah", "Gustavo", "Hana", "Ivan", "Julia",
    "Kenji", "Lucía", "Mateo", "Nadia", "Omar", "Paula", "Quentin", "Rosa", "Sven", "Tomás",
    "Uma", "Víctor", "Wei", "Ximena", "Yusuf", "Aiko", "Bjørn", "Chidi", "Dmitri", "Zainab",
)  # fmt: skip
LAST = (
    "Almeida", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
    "Ivanova", "Jensen", "Kowalski", "López", "Moreau", "Nakamura", "O'Brien", "Petrov",
    "Quispe", "Rossi", "Schmidt", "Tanaka", "Urquhart", "Varga", "Weber", "Yilmaz",
    "Zhang", "Novák", "Øster", "Müller", "Silva", "Okafor",
)  # fmt: skip
INITIALS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 30 x 23 x 30 names: more than enough
BIG = 20_000


def big_directory() -> tuple[Directory, list[Entry]]:
    """20,000 agents: every first name, middle initial and last name, some deleted."""
    names = itertools.product(FIRST, INITIALS, LAST)
    people = [
        E("agent", str(10_000 + n), f"{first} {initial}. {last}", deleted=n % 17 == 0)
        for n, (first, initial, last) in enumerate(itertools.islice(names, BIG - 1))
    ]
    people.append(E("agent", "99999", "Zoë Ångström"))
    return Directory(people, ["agent"]), people


def test_twenty_thousand_agents() -> None:
    directory, people = big_directory()
    assert len(directory) == BIG
    assert directory.count("agent") == BIG

    # exact, typed without accents
    assert directory.match("agent", "zoe angstrom").ids == ("99999",)
    target = people[12_345]
    assert directory.match("agent", target.name.upper()).ids == (target.id,)
    assert directory.match("agent", fold(target.name)).ids == (target.id,)

    # a unique prefix
    assert directory.match("agent", "zoë å").ids == ("99999",)
    first, initial, last = target.name.split(" ", 2)
    prefix = f"{first} {initial} {last[:3]}"
    expected = [e for e in people if fold(e.name).startswith(fold(prefix))]
    assert [e.id for e in expected] == [target.id]
    assert directory.match("agent", prefix).ids == (target.id,)

    # a prefix many share: the first ten by name, active first
    many = directory.match("agent", "lucia b")
    sharing = [e for e in people if fold(e.name).startswith("lucia b")]
    assert len(sharing) == len(LAST)
    assert many.ids == ()
    ranked = sorted(sharing, key=lambda e: (e.deleted, fold(e.name), len(e.id), e.id))
    assert many.candidates == tuple((e.id, e.name) for e in ranked[:CANDIDATES])

    # nothing, without the comparison with every name
    assert directory.match("agent", "nobody here", nearest=False) == Match("nobody here")
    assert not directory.lacks("agent", [e.id for e in people])
    assert directory.lacks("agent", [*(e.id for e in people), "1"])


def test_a_broad_prefix_reads_no_further_than_it_must() -> None:
    """`a` among 20,000 agents: ambiguous after a dozen names, and those are listed."""
    many = [Entry("agent", str(i), f"a{i:05d}") for i in range(20_000)]
    directory = Directory(many, ["agent"])
    match = directory.match("agent", "a")
    assert len(match.candidates) == 10 and not match.ids
    assert [name for _, name in match.candidates] == [f"a{i:05d}" for i in range(10)]
    assert directory.match("agent", "a19999").ids == ("19999",)
    assert directory.match("agent", "a0000").candidates  # a00000..a00009
