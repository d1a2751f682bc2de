from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.check.samples import contexts
from bot.config import DEFAULT_TEMPLATES
from bot.errors import RenderError, UsageError
from bot.render import Message, Renderer, check_message, to_text
from bot.render.filters import bar, mrkdwn_escape, spark
from tests.words import pct

SAMPLES = [
    pytest.param(name, context, id=f"{name}-{i}")
    for name, cases in contexts().items()
    for i, context in enumerate(cases)
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(DEFAULT_TEMPLATES)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_every_template_has_samples(renderer: Renderer) -> None:
    assert renderer.templates() == sorted(contexts())


@pytest.mark.parametrize(("name", "context"), SAMPLES)
def test_sample_renders_within_slack_limits(
    renderer: Renderer, name: str, context: dict[str, Any]
) -> None:
    message = renderer.render(name, **context)
    assert message["text"].strip()
    assert message["blocks"]
    assert check_message(message) == []


def test_long_report_is_cut_within_block_limit(renderer: Renderer) -> None:
    context = contexts()["csat.yml.j2"][3]
    assert len(context["report"].rows) == 201  # 200 skills and Unassigned
    message = renderer.render("csat.yml.j2", **context)
    assert len(message["blocks"]) <= 50
    rows = [
        line
        for block in message["blocks"][5:]
        if block["type"] == "section"
        for line in block["text"]["text"].splitlines()
    ]
    assert len(rows) == context["row_limit"] == 60
    notes = [b["elements"][0]["text"] for b in message["blocks"] if b["type"] == "context"]
    assert "…and 121 more with fewer answers. Ask for specific ids to see them." in notes
    assert "20 skills with no answers in this window are not listed." in notes  # no "— 0" rows


def test_csat_message(renderer: Renderer) -> None:
    message = renderer.render("csat.yml.j2", **contexts()["csat.yml.j2"][0])
    assert message["text"] == "CSAT, all skills, last 7m: 87.2% of 187 answers"
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "CSAT · all skills · last 7m"},
    }
    assert message["blocks"][2]["elements"][0]["text"] == (
        "LivePerson · 13:20–13:29 UTC · LivePerson counts whole 5-minute buckets, "
        "so this starts at 13:20, not 13:22"
    )
    assert message["blocks"][5]["text"]["text"].splitlines() == [
        "` 88.7% ▁▁▂▃█    62`  Skill 3",
        "` 88.3% ▁▁▂▃█    60`  Skill 2",
        "` 87.9% ▁▁▂▃█    58`  Skill 1",
        "` 57.1% ▆·▃▃█     7`  Unassigned",
    ]


def test_one_skill_lists_its_agents(renderer: Renderer) -> None:
    message = renderer.render("csat.yml.j2", **contexts()["csat.yml.j2"][1])
    assert message["blocks"][4]["text"]["text"].startswith("*By agent*")
    assert [
        line.rsplit("  ", 1)[1] for line in message["blocks"][5]["text"]["text"].splitlines()
    ] == [
        "Agent 101",
        "Agent 100",
    ]


def test_empty_report_says_so(renderer: Renderer) -> None:
    message = renderer.render("csat.yml.j2", **contexts()["csat.yml.j2"][2])
    assert message["text"] == "CSAT, whole account, last 24h: — of 0 answers"
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "context"]
    assert message["blocks"][1]["text"]["text"] == "No CSAT answers in this window."


def test_times_are_shown_in_the_team_zone() -> None:
    berlin = Renderer(DEFAULT_TEMPLATES, ZoneInfo("Europe/Berlin"))
    message = berlin.render("csat.yml.j2", **contexts()["csat.yml.j2"][0])
    assert message["blocks"][2]["elements"][0]["text"].startswith(
        "LivePerson · 14:20–14:29 Europe/Berlin · "
    )


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        pytest.param((2, 13, 20), (2, 13, 29), "13:20–13:29", id="same-day"),
        pytest.param((2, 23, 50), (3, 0, 10), "Mon 23:50 → Tue 00:10", id="over-midnight"),
        pytest.param((2, 9, 0), (12, 9, 0), "02 Mar 09:00 → 12 Mar 09:00", id="over-a-week"),
    ],
)
def test_span(
    renderer: Renderer,
    start: tuple[int, int, int],
    end: tuple[int, int, int],
    text: str,
) -> None:
    def moment(day: int, hour: int, minute: int) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=UTC)

    assert renderer.span(moment(*start), moment(*end)) == text


def test_span_uses_the_team_zone() -> None:
    berlin = Renderer(DEFAULT_TEMPLATES, ZoneInfo("Europe/Berlin"))
    start, end = datetime(2026, 3, 2, 22, 50, tzinfo=UTC), datetime(2026, 3, 2, 23, 10, tzinfo=UTC)
    assert berlin.span(start, end) == "Mon 23:50 → Tue 00:10"


def test_usage_escapes_the_problem(renderer: Renderer) -> None:
    problem = UsageError("unknown_word", word="<@U1>", cut=False, suggestion="")
    message = renderer.render("usage.yml.j2", command="/csat", problem=problem)
    # the notification fallback too: it pings as readily as the blocks
    assert message["text"] == ":warning: I don't understand `&lt;@U1&gt;`."
    assert message["blocks"][0]["text"]["text"] == ":warning: I don't understand `&lt;@U1&gt;`."


@pytest.mark.parametrize(
    ("fraction", "text"), [(None, "—"), (0.8853, "88.5%"), (0.0, "0.0%"), (1.0, "100.0%")]
)
def test_pct(fraction: float | None, text: str) -> None:
    assert pct(fraction) == text


def test_pct_digits() -> None:
    assert pct(0.8853, 0) == "89%"


@pytest.mark.parametrize(
    ("fraction", "width", "text"),
    [
        (0.0, 5, "     "),
        (1.0, 5, "█████"),
        (0.5, 20, "█" * 10 + " " * 10),
        (0.5, 3, "█▌ "),
        (0.5, 1, "▌"),
        (2.0, 4, "████"),
        (-1.0, 4, "    "),
    ],
)
def test_bar(fraction: float, width: int, text: str) -> None:
    assert bar(fraction, width) == text
    assert len(bar(fraction, width)) == width


def test_bar_default_width() -> None:
    assert bar(0.25) == "█████" + " " * 15


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ((0, 1, 2, 5, 20), "·▁▂▃█"),
        ((0, 0, 0), "···"),
        ((), ""),
        ((3, 3), "██"),
        ((1, 20, 0), "▁█·"),
    ],
)
def test_spark(values: tuple[float, ...], text: str) -> None:
    assert spark(values) == text


def test_mrkdwn_escape() -> None:
    assert mrkdwn_escape("<@U1> & co") == "&lt;@U1&gt; &amp; co"
    assert mrkdwn_escape("Team *A*") == "Team *A*"


@pytest.mark.parametrize(
    ("message", "problems"),
    [
        pytest.param(
            {"text": "x", "blocks": [{"type": "divider"}] * 51},
            ["51 blocks; Slack takes at most 50"],
            id="51-blocks",
        ),
        pytest.param(
            {"text": "x", "blocks": [section("a" * 3001)]},
            [
                "block 0 (section): text attribute cannot exceed 3000 characters",
                "block 0 (section): text is 3001 characters; at most 3000",
            ],
            id="long-section",
        ),
        pytest.param(
            {
                "text": "x",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            },
            [
                "block 0 (header): text attribute cannot exceed 150 characters",
                "block 0 (header): header is 151 characters; at most 150",
            ],
            id="long-header",
        ),
        pytest.param(
            {
                "text": "x",
                "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            },
            [
                "block 0 (section): fields attribute cannot exceed 10 items",
                "block 0 (section): 11 fields; at most 10",
            ],
            id="11-fields",
        ),
        pytest.param(
            {
                "text": "x",
                "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            },
            ["block 0 (section): field 0 is 2001 characters; at most 2000"],
            id="long-field",
        ),
        pytest.param(
            {"blocks": [section("a")]}, ["a message needs a plain `text` fallback"], id="no-text"
        ),
        pytest.param(
            {"text": "  ", "blocks": [section("a")]},
            ["a message needs a plain `text` fallback"],
            id="blank-text",
        ),
        pytest.param(
            {"text": "x", "blocks": [{"type": "bogus"}]},
            ["block 0: not a Block Kit block: {'type': 'bogus'}"],
            id="unknown-block",
        ),
    ],
)
def test_check_message_finds(message: Message, problems: list[str]) -> None:
    assert check_message(message) == problems


def test_check_message_accepts_limits_exactly() -> None:
    message = {
        "text": "x",
        "blocks": [section("a" * 3000)]
        + [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]
        + [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10}]
        + [{"type": "divider"}] * 47,
    }
    assert len(message["blocks"]) == 50
    assert check_message(message) == []


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


SECTION_OF = (
    'text: "x"\nblocks:\n  - type: section\n    text:\n      type: mrkdwn\n      text: {}\n'
)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.yml.j2", 'text: "x"\nblocks:\n{% if %}\n')
    with pytest.raises(RenderError) as caught:
        Renderer(tmp_path).render("broken.yml.j2")
    assert (caught.value.template, caught.value.line) == ("broken.yml.j2", 3)
    assert str(caught.value).startswith("broken.yml.j2:3: ")


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "undefined.yml.j2", SECTION_OF.format('"{{ missing }}"'))
    with pytest.raises(RenderError) as caught:
        Renderer(tmp_path).render("undefined.yml.j2")
    assert (caught.value.template, caught.value.line) == ("undefined.yml.j2", 6)
    assert str(caught.value) == "undefined.yml.j2:6: 'missing' is undefined"


def test_undefined_variable_in_a_macro_names_the_macro_file(tmp_path: Path) -> None:
    write(tmp_path, "_part.j2", "{% macro m() %}\n{{ nope }}\n{% endmacro %}\n")
    write(
        tmp_path, "uses.yml.j2", '{% from "_part.j2" import m %}\n' + SECTION_OF.format("{{ m() }}")
    )
    with pytest.raises(RenderError) as caught:
        Renderer(tmp_path).render("uses.yml.j2")
    assert (caught.value.template, caught.value.line) == ("_part.j2", 2)


def test_undefined_variable_through_tojson_is_a_render_error(tmp_path: Path) -> None:
    write(tmp_path, "undefined.yml.j2", SECTION_OF.format("{{ missing | tojson }}"))
    with pytest.raises(RenderError) as caught:
        Renderer(tmp_path).render("undefined.yml.j2")
    assert (caught.value.template, caught.value.line) == ("undefined.yml.j2", 6)


def test_invalid_yaml_and_missing_blocks(tmp_path: Path) -> None:
    write(tmp_path, "badyaml.yml.j2", "text: [\n")
    write(tmp_path, "noblocks.yml.j2", "text: x\n")
    renderer = Renderer(tmp_path)
    with pytest.raises(RenderError, match=r"^badyaml\.yml\.j2: not valid YAML \(rendered line 2\)"):
        renderer.render("badyaml.yml.j2")
    with pytest.raises(RenderError) as caught:
        renderer.render("noblocks.yml.j2")
    assert str(caught.value) == "noblocks.yml.j2: must render a mapping with `text` and `blocks`"


def test_render_refuses_a_message_over_the_limits(tmp_path: Path) -> None:
    write(tmp_path, "long.yml.j2", SECTION_OF.format('{{ "a" * 3001 }}'))
    with pytest.raises(RenderError, match=r"^long\.yml\.j2: .*text is 3001 characters"):
        Renderer(tmp_path).render("long.yml.j2")


def test_partials_are_not_templates(tmp_path: Path) -> None:
    write(tmp_path, "_part.j2", "")
    write(tmp_path, "b.yml.j2", "")
    write(tmp_path, "a.yml.j2", "")
    found = Renderer(tmp_path).templates()
    assert {"a.yml.j2", "b.yml.j2", "csat.yml.j2"} <= set(found)  # the built-in ones too
    assert not any(name.startswith("_") for name in found)


def test_to_text_of_csat(renderer: Renderer) -> None:
    text = to_text(renderer.render("csat.yml.j2", **contexts()["csat.yml.j2"][0]))
    assert "87.2% satisfied (4–5) · 187 answers" in text
    assert " 88.7% ▁▁▂▃█    62  Skill 3" in text
    assert "Ask for one skill (/csat skill 4 or by its name) to see its agents." in text
    assert "`" not in text
    assert "*" not in text
    assert text.splitlines()[:2] == ["CSAT · all skills · last 7m", "═" * 27]


def test_to_text_unescapes_and_drops_link_syntax() -> None:
    message = {
        "text": "x",
        "blocks": [
            section("*Bold* &lt;tag&gt; &amp; <https://example.com|the site>"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "_quiet_"}]},
        ],
    }
    assert to_text(message) == "Bold <tag> & the site\n\nquiet\n"


def test_a_message_rendered_again_is_an_equal_copy() -> None:
    renderer = Renderer(DEFAULT_TEMPLATES)
    context = {"command": "/csat", "sources": ("liveperson",), "default_source": "liveperson"}
    first = renderer.render("help.yml.j2", **context)
    first["blocks"].clear()  # a caller changing its message changes no other
    second = renderer.render("help.yml.j2", **context)
    assert second == renderer.render("help.yml.j2", **context)
    assert second["blocks"]


def test_yaml_that_json_cannot_give_back_is_not_kept(tmp_path: Path) -> None:
    (tmp_path / "dated.yml.j2").write_text(
        "text: hi\nblocks:\n  - type: section\n    text: {type: mrkdwn, text: hi}\n"
        "when: 2026-12-02\n"
    )
    renderer = Renderer(tmp_path)
    first = renderer.render("dated.yml.j2")
    assert first == renderer.render("dated.yml.j2")
    assert first["when"] == date(2026, 12, 2)


def test_templates_keep_every_global_in_a_plain_dict(tmp_path: Path) -> None:
    """Jinja copies a template's globals into each render's context (and each imported
    macro's): a plain dict copies fast; the words and Jinja's own globals are all there."""
    (tmp_path / "words.yml").write_text("units:\n  skill:\n    one: queue\n", encoding="utf-8")
    renderer = Renderer(tmp_path)
    for name in ("working.yml.j2", "_csat_macros.j2"):
        template = renderer.env.get_template(name)
        assert type(template.globals) is dict
        assert {"words", "range", "namespace"} <= set(template.globals)
    query = contexts()["working.yml.j2"][0]["query"]
    one = type(query)(query.command, query.source, "skill", ("4",), 60)
    assert "queue 4" in str(renderer.render("working.yml.j2", query=one)["text"])


def test_linked_names_never_make_a_section_too_long(renderer: Renderer) -> None:
    """An agent link per row, 80-character names: the rows still fit Slack's sections."""
    from bot.config import Links

    linked = Renderer()
    linked.links = Links(agent="https://support.example.com/admin/agents/profile/{id}?tab=1&x=2")
    linked.names = lambda kind, id, source=None: "Ä<&>" * 30 if kind == "agent" else None
    sections = []
    for name in ("csat.yml.j2", "agent_states.yml.j2", "digest_csat.yml.j2",
                 "digest_availability.yml.j2"):  # fmt: skip
        for context in contexts()[name]:
            message = linked.render(name, **context)
            assert check_message(message) == []
            sections += [b["text"]["text"] for b in message["blocks"]
                         if b["type"] == "section" and "text" in b]  # fmt: skip
    assert any("<https://support.example.com/admin/agents/profile/" in t for t in sections)


def test_sections_hold_what_a_section_may() -> None:
    from bot.render.filters import sections

    lines = [f"{i:03d} " + "x" * 400 for i in range(30)]
    groups = sections(lines)
    assert [len(g) for g in groups] == [7, 7, 7, 7, 2]
    assert all(len("\n".join(g)) <= 2900 for g in groups)
    assert sections(["a"] * 45) == [["a"] * 20, ["a"] * 20, ["a"] * 5]
