"""Words by stable id, and a deployment folder that holds only what it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.check.samples import agent_states_report, contexts
from bot.errors import RenderError, UsageError
from bot.metrics import AgentStates, AgentStatesReport, StateTime
from bot.render import Renderer, filters, to_text
from bot.render.words import Words, builtin
from tests.words import duration

WORDS = builtin()


@pytest.mark.parametrize(
    ("kind", "id", "name", "said"),
    [
        ("skill", "12", None, "Skill 12"),
        ("skill", "-1", None, "Unassigned"),
        ("skill", "12", "Orders", "Orders"),
        ("agent", "1004", None, "Agent 1004"),
        ("agent", "a@example.com", "a@example.com", "a@example.com"),
        ("group", "2", None, "Group 2"),
        ("skill_agent", "12:1004", None, "Agent 1004 in Skill 12"),
        ("skill_agent", "-1:1004", None, "Agent 1004 in Unassigned"),
        ("total", "", None, "Total"),
        ("team", "", None, "Team"),
    ],
)
def test_entities_without_a_name_are_called_by_their_id(
    kind: str, id: str, name: str | None, said: str
) -> None:
    assert WORDS.entity(kind, id, name) == said


def test_states_by_id_and_the_vendors_name_for_one_the_bot_does_not_know() -> None:
    assert [WORDS.state(k) for k in ("online", "back_soon", "away")] == [
        "Online", "Back soon", "Away"
    ]  # fmt: skip
    assert WORDS.state("state:7", {"state:7": "Lunch"}) == "Lunch"
    assert WORDS.state("state:9") == "State 9"
    assert WORDS.state("other") == "State other"  # "other" is the fallback's key, not a state
    assert WORDS.reason("2642559712") == "Reason 2642559712"


def test_a_word_that_is_not_there_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"no word `charts\.nope`"):
        WORDS("charts.nope")


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_a_folder_with_one_template_changes_only_that_message(tmp_path: Path) -> None:
    write(tmp_path, "working.yml.j2", 'text: "On it"\nblocks: []\n')
    mine, built_in = Renderer(tmp_path), Renderer()
    query = contexts()["working.yml.j2"][0]
    assert mine.render("working.yml.j2", **query) == {"text": "On it", "blocks": []}
    for name, cases in contexts().items():
        if name != "working.yml.j2":
            assert mine.render(name, **cases[0]) == built_in.render(name, **cases[0]), name
    assert mine.overridden() == ["working.yml.j2"]
    assert built_in.overridden() == []


def test_a_partial_in_the_folder_is_used_by_the_built_in_templates(tmp_path: Path) -> None:
    built_in = (Renderer().folder / "_usage.j2").read_text(encoding="utf-8")
    write(tmp_path, "_usage.j2", built_in.replace("I don't understand", "Sorry, what is"))
    problem = UsageError("unknown_word", word="skil", cut=False, suggestion="skill")
    message = Renderer(tmp_path).render("usage.yml.j2", command="/csat", problem=problem)
    assert message["text"] == ":warning: Sorry, what is `skil`. Did you mean `skill`?"


def test_words_in_the_folder_are_laid_over_the_built_in_ones(tmp_path: Path) -> None:
    write(tmp_path, "words.yml", "states:\n  away: Pause\ndurations:\n  minutes: '{m} min'\n")
    renderer = Renderer(tmp_path)
    assert renderer.words.state("away") == "Pause"
    assert renderer.words.state("online") == "Online"  # the rest of the table stays
    assert renderer.words("vendors.liveperson") == "LivePerson"
    assert renderer.overridden() == ["words.yml"]
    context = contexts()["agent_states.yml.j2"][0]
    text = to_text(renderer.render("agent_states.yml.j2", **context))
    assert "Pause 0m" in text  # the state's own label
    assert "Back soon 39 min" in text  # and the duration's unit: both words
    assert "Online 2h 37m" in text


@pytest.mark.parametrize("text", ["- a list\n", "states: [unclosed\n"])
def test_words_that_are_not_a_mapping_are_a_render_error(tmp_path: Path, text: str) -> None:
    write(tmp_path, "words.yml", text)
    renderer = Renderer(tmp_path)  # words are read at their first use, not at start
    with pytest.raises(RenderError, match=r"words\.yml"):
        renderer.render("internal_error.yml.j2")
    with pytest.raises(RenderError, match=r"words\.yml"):
        _ = renderer.words


def test_filters_take_their_words_from_the_renderer() -> None:
    mine = Words({**WORDS.data, "changes": {**WORDS.data["changes"], "new": "neu"}})
    assert filters.points(None, words=WORDS) == "new"
    assert filters.points(None, words=mine) == "neu"
    assert duration(4714) == "1h 18m"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(45, "45m"), (60, "1h"), (90, "1h 30m"), (1440, "24h"), (2880, "2d"), (10080, "7d")],
)
def test_timeframes_the_way_people_write_them(minutes: int, text: str) -> None:
    assert filters.minutes(minutes, words=WORDS) == text


def test_a_placeholder_the_code_never_fills_is_a_render_error(tmp_path: Path) -> None:
    write(tmp_path, "words.yml", "charts:\n  trend_title: 'CSAT of {team}'\n")
    with pytest.raises(RenderError, match=r"`charts\.trend_title` may use \{digest\}, \{runs\}"):
        Renderer(tmp_path).words("charts.trend_title", digest="daily", runs=3)


def test_reasons_may_be_named_and_misspelt_words_are_found(tmp_path: Path) -> None:
    write(tmp_path, "words.yml", "reasons:\n  '26': Lunch\nstate:\n  away: Pause\n")
    words = Renderer(tmp_path).words
    assert (words.reason("26"), words.reason("27")) == ("Lunch", "Reason 27")
    assert words.unknown() == ["state"]  # "states" was meant


def test_an_unknown_state_shows_the_vendors_name(tmp_path: Path) -> None:
    report = agent_states_report(1)
    lunch = AgentStates("9", None, StateTime(600), (("state:7", StateTime(600)),))
    report = AgentStatesReport(
        report.source, report.vendor, report.window, (*report.agents, lunch),
        labels={"state:7": "Lunch <!here>"},
    )  # fmt: skip
    context = {**contexts()["agent_states.yml.j2"][0], "report": report}
    message = Renderer().render("agent_states.yml.j2", **context)
    text = str(message["blocks"])
    assert "Lunch &lt;!here&gt; 10m" in text  # named as LivePerson names it, and escaped
    assert "Agent 9" in text


def test_a_template_copied_from_an_earlier_version_fails_check_instead_of_printing_repr(
    tmp_path: Path,
) -> None:
    """Earlier templates printed `row.name` and `problem` as text; now they are None and a
    UsageError. Printed as they are they would reach Slack as Python's repr."""
    write(tmp_path, "usage.yml.j2", "text: '{{ problem }}'\nblocks: []\n")
    problem = UsageError("unknown_word", word="skil", cut=False, suggestion="")
    with pytest.raises(RenderError, match=r"usage\.yml\.j2:1: prints UsageError"):
        Renderer(tmp_path).render("usage.yml.j2", command="/csat", problem=problem)
    write(tmp_path, "usage.yml.j2", "text: '{{ nothing }}'\nblocks: []\n")
    with pytest.raises(RenderError, match="prints NoneType"):
        Renderer(tmp_path).render("usage.yml.j2", command="/csat", problem=problem, nothing=None)
