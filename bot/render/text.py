"""What a person would read in Slack, as plain text for the terminal (`demo`, `ask`)."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from bot.render.safe import ESCAPES

Message = dict[str, Any]


_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|[^>]*>")


def to_text(message: Message, tz: tzinfo | None = None) -> str:
    """What a person would read in Slack, for the terminal (demo, ask); a `<!date^…>` in
    `tz` as Slack shows it in the reader's own zone (without `tz`: its fallback)."""
    if tz is not None:
        message = _dated(message, tz)
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


def _dated(value: Any, tz: tzinfo) -> Any:
    """Every `<!date^…>` in a message's strings as a time in `tz`: "Mon 24 Nov 09:00"."""
    if isinstance(value, str):
        return _DATE.sub(
            lambda m: datetime.fromtimestamp(int(m.group(1)), tz).strftime("%a %d %b %H:%M"), value
        )
    if isinstance(value, dict):
        return {key: _dated(v, tz) for key, v in value.items()}
    if isinstance(value, list):
        return [_dated(v, tz) for v in value]
    return value
