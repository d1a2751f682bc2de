from __future__ import annotations

import pytest

from bot.commands.grammar import Help, parse
from bot.errors import UsageError
from bot.query import Command, Query
from bot.timefmt import LONGEST, parse_duration
from tests.words import said


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        pytest.param(
            "/csat", "", Query("/csat", None, "account", None, 1440), id="account-default"
        ),
        pytest.param(
            "/csat", "skill 4 60m", Query("/csat", None, "skill", ("4",), 60), id="one-skill"
        ),
        pytest.param(
            "/csat", "skill 4,15 2h", Query("/csat", None, "skill", ("4", "15"), 120), id="skills"
        ),
        pytest.param(
            "/csat", "agent all 24h", Query("/csat", None, "agent", "all", 1440), id="all-agents"
        ),
        pytest.param(
            "/csat",
            "liveperson skill 4 90",
            Query("/csat", "liveperson", "skill", ("4",), 90),
            id="bare-number-after-ids-is-minutes",
        ),
        pytest.param(
            "/csat", "90", Query("/csat", None, "account", None, 90), id="bare-number-is-minutes"
        ),
        pytest.param(
            "/csat", "skill", Query("/csat", None, "skill", "all", 1440), id="unit-defaults-all"
        ),
        pytest.param(
            "/csat", "SKILL 4 1D", Query("/csat", None, "skill", ("4",), 1440), id="upper-case"
        ),
        pytest.param(
            "/csat", "skills 4", Query("/csat", None, "skill", ("4",), 1440), id="plural-unit"
        ),
        pytest.param(
            "/csat", "skill -1", Query("/csat", None, "skill", ("-1",), 1440), id="unassigned"
        ),
        pytest.param("/csat", "skill 4,4", Query("/csat", None, "skill", ("4",), 1440), id="dedup"),
        pytest.param(
            "/csat",
            "skill 15,4,15 2h",
            Query("/csat", None, "skill", ("15", "4"), 120),
            id="dedup-keeps-order",
        ),
        pytest.param("/csat", "help", Help("/csat"), id="help"),
        pytest.param("/agent-states", "skill --help", Help("/agent-states"), id="help-wins"),
        pytest.param(
            "/agent-states",
            "all 2h 30m",
            Query("/agent-states", None, "agent", "all", 120, 30),
            id="states-all",
        ),
        pytest.param(
            "/agent-states",
            "2,3 2h 30m",
            Query("/agent-states", None, "agent", ("2", "3"), 120, 30),
            id="states-ids",
        ),
        pytest.param(
            "/agent-states",
            "5 2h",
            Query("/agent-states", None, "agent", ("5",), 120),
            id="states-first-bare-number-is-id",
        ),
        pytest.param(
            "/agent-states",
            "",
            Query("/agent-states", None, "agent", "all", 60),
            id="states-default",
        ),
    ],
)
def test_parse(command: Command, text: str, expected: Query | Help) -> None:
    assert parse(command, text) == expected


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        pytest.param("/csat", "banana", "I don't understand `banana`", id="unknown-word"),
        pytest.param("/csat", "4,15", "Say whose ids these are", id="ids-without-unit"),
        pytest.param("/csat", "liveperson livechat", "Give a source only once", id="two-sources"),
        pytest.param("/csat", "skill 4 agent", "Give skill, agent or group only once", id="units"),
        pytest.param("/csat", "skill 4 15,16", "Give the ids only once", id="two-id-lists"),
        pytest.param(
            "/agent-states",
            "all 1h 2h 3h",
            "give a timeframe and an interval at most",
            id="three-durations",
        ),
        pytest.param("/csat", "1h 2h", "give one timeframe at most", id="two-durations"),
        pytest.param("/csat", "0m", "`0m`", id="zero-duration"),
        pytest.param("/csat", "liveprson", "Did you mean `liveperson`?", id="suggests-source"),
        pytest.param("/csat", "skil 4", "Did you mean `skill`?", id="suggests-unit"),
        pytest.param(
            "/agent-states", "skill 4", "without a unit word", id="unit-word-on-agent-states"
        ),
    ],
)
def test_parse_rejects(command: Command, text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(command, text)
    assert message in said(caught.value)
    assert caught.value.command == command


def test_query_ids_text() -> None:
    assert Query("/csat", unit="skill", ids=("4", "15")).ids_text == "4,15"
    assert Query("/csat", unit="skill", ids=("15", "4", "15", "3")).ids_text == "3,4,15"
    assert Query("/csat", unit="agent", ids="all").ids_text == "all"
    assert Query("/csat").ids_text == ""


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45),
        ("45", 45),
        ("4h", 240),
        ("1d", 1440),
        ("2 days", 2880),
        ("3hrs", 180),
        ("10MIN", 10),
    ],
)
def test_parse_duration(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["0m", "0", "1.5h", "4w", "h", "", "-5m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_spaces_around_commas_are_one_id_list() -> None:
    assert parse("/csat", "skill 4, 15 ,3 2h") == Query(
        "/csat", None, "skill", ("4", "15", "3"), 120
    )


def test_zero_duration_says_why() -> None:
    with pytest.raises(UsageError) as caught:
        parse("/csat", "skill 4 0m")
    assert (caught.value.problem, caught.value.details["word"]) == ("not_positive", "0m")
    assert "not a positive duration" in said(caught.value)


def test_full_width_digits_are_not_ids() -> None:
    """Not an id: a name, which the directory will not find (`commands/resolve.py`)."""
    assert parse("/csat", "skill １１") == Query("/csat", None, "skill", (), 1440, named=("１１",))


def test_a_long_word_is_cut_in_the_message() -> None:
    with pytest.raises(UsageError) as caught:
        parse("/csat", "&" * 1000)
    assert len(said(caught.value)) < 120
    assert "…" in said(caught.value)


def test_linked_emails_from_slack_are_ids() -> None:
    parsed = parse("/csat", "livechat agent <mailto:a@example.com|a@example.com> 7d")
    assert parsed == Query("/csat", "livechat", "agent", ("a@example.com",), 7 * 1440)


def test_agents_named_freely_are_names_until_the_directory_reads_them() -> None:
    """Survey tools send agent_id strings like a1: the ingested source keeps what its
    directory does not name as ids (`commands/resolve.py`)."""
    assert parse("/csat", "ingested agent a1,B-2 7d") == Query(
        "/csat", "ingested", "agent", (), 7 * 1440, named=("a1", "B-2")
    )
    assert parse("/csat", "skill abc").named == ("abc",)


@pytest.mark.parametrize(
    ("command", "text", "ids", "named"),
    [
        ("/csat", "skill billing 4h", (), ("billing",)),
        ("/csat", 'skill "Tech Support" 2h', (), ("Tech Support",)),
        ("/csat", "skill “Tech  Support”,billing", (), ("Tech Support", "billing")),
        ("/csat", "skill „24h” 2h", (), ("24h",)),  # quoted: a name, not a duration
        ("/csat", "skill tech support 2h", (), ("tech support",)),
        ("/csat", "skill 4,billing", ("4",), ("billing",)),
        ("/csat", "skill billing 60", (), ("billing",)),  # 60 after a name: minutes
        ("/csat", 'skill "unclosed', (), ("unclosed",)),
        ("/csat", 'skill ""', "all", ()),
        ("/agent-states", "Ana,Zoë 2h", (), ("Ana", "Zoë")),
        ("/agent-states", "Sam Lee,Ana 2h 30m", (), ("Sam Lee", "Ana")),
        ("/agent-states", "O’Brien 2h", (), ("O’Brien",)),  # a curly apostrophe is no quote
        ("/agent-states", "bob,bob,BOB", (), ("bob", "BOB")),
    ],
)
def test_names_stand_where_ids_do(
    command: Command, text: str, ids: tuple[str, ...] | str, named: tuple[str, ...]
) -> None:
    parsed = parse(command, text)
    assert isinstance(parsed, Query)
    assert (parsed.ids, parsed.named) == (ids, named)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("billing", "unknown_word"),  # no unit word: not a name
        ('"billing"', "ids_without_unit"),
        ("skill all billing", "given_twice"),
        ("skill 2h billing", "unknown_word"),  # names stand before the timeframe
        ("skill " + "x" * 300, "id_too_long"),
    ],
)
def test_names_out_of_place_say_why(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse("/csat", text)
    assert caught.value.problem == problem


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("99999999999999999999m", "99999999999999999999m"),
        ("livechat 3651d", "3651d"),
        ("skill 4 " + "9" * 5000 + "h", "9" * 40),  # never int() of 5,000 digits
        ("87601h", "87601h"),  # ten years and an hour
        ("0" * 30 + "5256001", "0" * 30 + "5256001"),  # a minute past, behind zeros
    ],
)
def test_numbers_beyond_reason_are_a_usage_problem(text: str, word: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse("/csat", text)
    assert (caught.value.problem, caught.value.details["word"]) == ("too_long", word)
    assert "is longer than the bot can look back: at most 3650 days." in said(caught.value)


def test_ten_years_is_the_longest_timeframe() -> None:
    assert parse("/csat", "livechat 3650d").timeframe == LONGEST == 3650 * 1440  # type: ignore[union-attr]
    assert parse_duration("0000000000000000000045m") == 45  # leading zeros are not digits


@pytest.mark.parametrize(
    ("command", "text"),
    [("/csat", "skill " + "9" * 300), ("/agent-states", "9" * 300),
     ("/csat", "livechat agent " + "a" * 250 + "@example.com")],
)  # fmt: skip
def test_an_id_longer_than_any_id_is_a_usage_problem(command: Command, text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(command, text)
    assert caught.value.problem == "id_too_long"
    assert said(caught.value).endswith("is too long for an id: ids have at most 254 characters.")


def test_slack_s_entities_are_read_as_the_characters_typed() -> None:
    """Slack sends `&`, `<`, `>` as entities: `Billing & Returns` is one name, not `&amp`
    and a `;` (which the grammar reads as a space)."""
    parsed = parse("/csat", 'skill "Billing &amp; Returns" 2h')
    assert isinstance(parsed, Query) and parsed.named == ("Billing & Returns",)


@pytest.mark.parametrize(
    ("minutes", "typed"),
    [
        (45, "45m"),
        (60, "1h"),
        (1440, "24h"),
        (2880, "48h"),
        (10080, "7d"),
        (1500, "25h"),
        (90, "90m"),
    ],
)
def test_durations_are_written_back_as_they_are_typed(minutes: int, typed: str) -> None:
    from bot.timefmt import parse_duration, typed_duration

    assert typed_duration(minutes) == typed
    assert parse_duration(typed) == minutes
