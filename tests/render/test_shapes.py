"""Messages read by shape must be exactly what YAML and the block checks would give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.check.samples import contexts
from bot.config import DEFAULT_TEMPLATES
from bot.errors import RenderError
from bot.render import Renderer
from bot.render.shapes import Shapes

READ = yaml.safe_load
ACK = (
    "text: {t}\nblocks:\n  - type: context\n    elements:\n      - type: mrkdwn\n"
    "        text: {t}\n"
)
BUTTON = (
    "text: {t}\nblocks:\n  - type: actions\n    elements:\n      - type: button\n"
    "        text: {{type: plain_text, text: {t}}}\n        action_id: {a}\n"
)
HOSTILE = [
    "<!channel> look",
    'a "quoted" \\ backslash',
    "line\nbreak\ttab\r",
    "next\x85line",  # YAML folds NEL, JSON keeps it
    "para\u2028sep\u2029",  # YAML breaks lines here
    "lone \ud800 surrogate",
    "pair 😀 emoji",
    "bom \ufeff inside",
    "ctl \x00\x07\x1b\x7f\x9f",
    "nonchar \ufffe\uffff",
    "&lt;escaped&gt; & <@U123>",
    "   ",
    "",
    "x" * 500,
]


def ack(text: str) -> str:
    return ACK.format(t=json.dumps(text, ensure_ascii=False))


def learned(source: str) -> Shapes:
    shapes = Shapes()
    shapes.learn(source, READ(source), READ)
    return shapes


def test_a_known_shape_is_read_without_yaml() -> None:
    shapes = learned(ack("Asking LivePerson · skill 4 · last 45m…"))
    source = ack("Asking LivePerson · skill 9 · last 30m…")
    assert shapes.fill(source) == READ(source)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_reads_as_yaml_reads_it_or_not_at_all(text: str) -> None:
    shapes = learned(ack("y"))
    shapes.learn(ack("y" * 600), READ(ack("y" * 600)), READ)  # lengths 1 to 600 checked
    shapes.learn(ack(""), READ(ack("")), READ)  # a blank text is a shape of its own
    source = ack(text)
    try:
        expected = READ(source)
    except yaml.YAMLError:
        assert shapes.fill(source) is None  # YAML refuses it: so must the fast path
        return
    filled = shapes.fill(source)
    assert filled is None or filled == expected
    if any(c in text for c in "\x85\u2028\u2029\ud800"):
        assert filled is None  # YAML and JSON read these differently


@pytest.mark.parametrize(
    "text", ["<!channel> look", 'a "quoted" \\ backslash', "line\nbreak\ttab\r", "pair 😀"]
)
def test_escapes_and_emoji_take_the_fast_path(text: str) -> None:
    shapes = learned(ack("y"))
    shapes.learn(ack("y" * 100), READ(ack("y" * 100)), READ)  # lengths 1 to 100 checked
    source = ack(text)
    assert shapes.fill(source) == READ(source)


def test_text_outside_the_lengths_checked_is_read_in_full() -> None:
    shapes = learned(ack("a" * 20))
    assert shapes.fill(ack("b" * 20)) is not None
    assert shapes.fill(ack("b" * 21)) is None
    assert shapes.fill(ack("b" * 19)) is None
    shapes.learn(ack("c" * 30), READ(ack("c" * 30)), READ)  # checked in full: learned
    assert shapes.fill(ack("d" * 25)) is not None


def test_blank_text_is_not_taken_for_text() -> None:
    shapes = learned(ack("abc"))
    assert shapes.fill(ack("   ")) is None


def test_strings_that_are_not_text_must_be_the_ones_checked() -> None:
    source = BUTTON.format(t='"Open"', a='"open_alert"')
    shapes = learned(source)
    assert shapes.fill(BUTTON.format(t='"Shut"', a='"open_alert"')) is not None
    assert shapes.fill(BUTTON.format(t='"Open"', a='"drop_table"')) is None


@pytest.mark.parametrize(
    "source",
    [
        'text: x\nblocks: []\n"key": "value"\n',  # a string as a key
        "text: 'say \"hi\" now'\nblocks: []\n",  # quotes inside a single-quoted string
        'text: x\nblocks: []\nflow: ["a", "b"]\nwhen: 2026-12-02\n',  # a date
    ],
)
def test_shapes_yaml_reads_otherwise_are_not_learned(source: str) -> None:
    shapes = learned(source)
    assert shapes.fill(source) is None


def test_every_sample_reads_the_same_by_shape() -> None:
    """Render every sample twice over: a warm renderer (shapes learned from the other
    samples of the same template) gives what a fresh one gives."""
    warm = Renderer(DEFAULT_TEMPLATES)
    for name, cases in contexts().items():
        for context in cases:
            warm.render(name, **context)
    for name, cases in contexts().items():
        for context in cases:
            fresh = Renderer(DEFAULT_TEMPLATES).render(name, **context)
            assert warm.render(name, **context) == fresh, name


def test_a_text_over_slacks_limit_is_refused_after_shorter_ones(tmp_path: Path) -> None:
    (tmp_path / "one.yml.j2").write_text(
        "text: {{ t | tojson }}\nblocks:\n  - type: section\n"
        "    text:\n      type: mrkdwn\n      text: {{ t | tojson }}\n"
    )
    renderer = Renderer(tmp_path)
    for n in (10, 3000):
        assert renderer.render("one.yml.j2", t="a" * n)["blocks"][0]["text"]["text"] == "a" * n
    with pytest.raises(RenderError, match="text is 3001 characters"):
        renderer.render("one.yml.j2", t="b" * 3001)


def test_hostile_text_renders_the_same_warm_or_fresh(tmp_path: Path) -> None:
    (tmp_path / "ack.yml.j2").write_text(
        "text: {{ t | tojson }}\nblocks:\n  - type: context\n    elements:\n"
        '      - type: mrkdwn\n        text: {{ ("Asking · " ~ t) | tojson }}\n'
    )
    warm = Renderer(tmp_path)
    for n in range(1, 700, 50):
        warm.render("ack.yml.j2", t="w" * n)

    def outcome(renderer: Renderer, text: str) -> Any:
        try:
            return renderer.render("ack.yml.j2", t=text)
        except RenderError as exc:
            return str(exc)

    for text in HOSTILE:
        assert outcome(warm, text) == outcome(Renderer(tmp_path), text), repr(text)
