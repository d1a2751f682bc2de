"""What a person would read in Slack, as plain text for the terminal (`demo`, `ask`)."""

from __future__ import annotations

import re
from typing import Any

from bot.render.safe import ESCAPES

Message = dict[str, Any]


def to_text(message: Message) -> str:
    """What a person would read in Slack, for the terminal (demo, ask)."""
    lines: list[str] = []
    for block in message.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "═" * min(len(title), 60)]
        elif kind == "divider":
            lines.append("─" * 60)
        elif kind == "section":
            if block.get("text"):
                lines.append(_plain(block["text"]["text"]))
            for f in block.get("fields", []):
                lines.append("  " + _plain(f["text"]).replace("\n", "  "))
        elif kind == "context":
            lines.append("  ".join(_plain(e.get("text", "")) for e in block.get("elements", [])))
        elif kind == "rich_text":
            lines.append(message.get("text", ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _plain(mrkdwn: str) -> str:
    text = mrkdwn.replace("```", "")
    text = re.sub(r"(?<![\w`])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w`])", r"\1", text)
    text = re.sub(r"<[^|>]+\|([^>]+)>", r"\1", text).replace("`", "")
    for raw, escaped in ESCAPES.items():
        text = text.replace(escaped, raw)
    return text
