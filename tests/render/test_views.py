"""A template that renders a view (`type: home`) is checked as one: 100 blocks, not 50;
every other check the same, and an overflow menu wherever it is holds 2 to 5 options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.errors import RenderError
from bot.render import Renderer, check_message
from bot.render.renderer import MAX_BLOCKS, MAX_VIEW_BLOCKS

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "a line"}}


def overflow(options: int) -> dict[str, Any]:
    return {
        **SECTION,
        "accessory": {
            "type": "overflow",
            "action_id": "menu",
            "options": [
                {"text": {"type": "plain_text", "text": f"Option {i}"}, "value": str(i)}
                for i in range(options)
            ],
        },
    }


def write(folder: Path, kind: str) -> Renderer:
    """A renderer whose one template renders `n` dividers, as a view when `kind` says so."""
    folder.mkdir(exist_ok=True)
    (folder / "many.yml.j2").write_text(
        f'text: "Many"\n{kind}blocks:\n'
        "{% for i in range(n) %}\n  - type: divider\n{% endfor %}\n",
        encoding="utf-8",
    )
    return Renderer(folder)


def test_a_view_holds_100_blocks_and_a_message_50(tmp_path: Path) -> None:
    view = write(tmp_path / "view", "type: home\n")
    assert len(view.render("many.yml.j2", n=MAX_VIEW_BLOCKS)["blocks"]) == 100
    with pytest.raises(RenderError, match="101 blocks; Slack takes at most 100"):
        view.render("many.yml.j2", n=MAX_VIEW_BLOCKS + 1)
    message = write(tmp_path / "message", "")
    assert len(message.render("many.yml.j2", n=MAX_BLOCKS)["blocks"]) == 50
    with pytest.raises(RenderError, match="51 blocks; Slack takes at most 50"):
        message.render("many.yml.j2", n=MAX_BLOCKS + 1)


def test_a_view_is_checked_like_any_message() -> None:
    long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert check_message({"type": "home", "text": "Home", "blocks": [long]}) == [
        "block 0 (section): text attribute cannot exceed 3000 characters",
        "block 0 (section): text is 3001 characters; at most 3000",
    ]
    assert check_message({"type": "home", "text": " ", "blocks": [SECTION]}) == [
        "a message needs a plain `text` fallback"
    ]
    assert check_message({"type": "other", "text": "x", "blocks": [SECTION] * 51}) == [
        "51 blocks; Slack takes at most 50"
    ]


@pytest.mark.parametrize(
    ("options", "problems"),
    [
        (1, ["block 0 (section): an overflow menu has 1 options; 2 to 5"]),
        (2, []),
        (5, []),
        (
            6,
            [
                "block 0 (section): options attribute must have between 1 and 5 items",
                "block 0 (section): an overflow menu has 6 options; 2 to 5",
            ],
        ),
    ],
)
def test_an_overflow_menu_holds_two_to_five_options(options: int, problems: list[str]) -> None:
    found = check_message({"type": "home", "text": "Home", "blocks": [overflow(options)]})
    assert [p for p in found if "overflow" in p or "options" in p] == problems
    menu = overflow(options)["accessory"]
    in_actions = {"type": "actions", "elements": [menu]}
    assert bool(check_message({"text": "x", "blocks": [in_actions]})) == bool(problems)


def test_options_and_buttons_inside_a_block_are_checked() -> None:
    """slack_sdk checks a block's own attributes, not the elements and options it holds."""
    menu = overflow(2)
    menu["accessory"]["options"][0]["text"]["text"] = "x" * 76
    menu["accessory"]["options"][1]["value"] = "v" * 151
    button = {
        "type": "actions",
        "elements": [
            {"type": "button", "action_id": "b", "text": {"type": "plain_text", "text": "y" * 76}}
        ],
    }
    assert check_message({"type": "home", "text": "Home", "blocks": [menu, button]}) == [
        "block 0 (section): text attribute cannot exceed 75 characters",
        "block 0 (section): value attribute cannot exceed 150 characters",
        "block 1 (actions): text attribute cannot exceed 75 characters",
    ]
    menu["accessory"]["options"] = [{"value": "1"}, {"label": "no value"}]
    assert check_message({"type": "home", "text": "Home", "blocks": [menu]}) == [
        "block 0 (section): options: not Block Kit options"
    ]
