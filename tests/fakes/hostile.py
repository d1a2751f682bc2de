"""Strings an attacker, a broken tool or an unlucky vendor sends: for fuzz tables.

`HOSTILE` is a fixed list of hundreds: every kind of Slack mention and link, every control
character, lone surrogates and non-characters, YAML and JSON and Jinja syntax, huge and
odd numbers, very long text, and seeded mixtures of all of them. `pings(text)` says whether
a message text could still mention anyone or link anywhere.
"""

from __future__ import annotations

import random
import re

MENTIONS = [
    "<!channel>", "<!here>", "<!everyone>", "<@U0ATTACK>", "<@W0ATTACK|boss>", "<#C0ATTACK>",
    "<!subteam^S0ATTACK>", "<!subteam^S0ATTACK|@leads>", "<https://evil.example|click me>",
    "<mailto:x@evil.example|mail>", "<!date^1392734382^{date}|x>", "@channel", "@here",
]  # fmt: skip
CONTROLS = [chr(c) for c in range(0x00, 0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
UNCARRIED = ["\ud83d", "\ude00", "\ud800x", "a\udfffb", "\ufffe", "\uffff", "\ufdd0", "\u0000"]
SYNTAX = [
    "{{ 7*7 }}", "{% raw %}", "{#", "}}", "' \" `", "\\", "\\u0041", "&amp;", "&lt;b&gt;",
    ": x", "- x", "? x", "&anchor", "*alias", "!!python/object/apply:os.system ['id']", "---",
    "...", "%YAML 1.2", "#comment", "[1, 2]", "{a: 1}", "|", ">", "null", "~", "true", "NaN",
    '{"data": []}', "</script>", "*bold* _it_ ~strike~ `code` ```block```", ">quote",
    "\u202eevil\u202c", "\u200b\u200d\ufeff", "e\u0301", "😀", "👨‍👩‍👧‍👦", "ÿ", "\u2028\u2029",
]  # fmt: skip
NUMBERS = ["99999999999999999999", "9" * 5000, "-1", "0", "1e309", "1.5", "0x10", "１２"]


def _mixtures(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    parts = MENTIONS + CONTROLS + UNCARRIED + SYNTAX + NUMBERS[:4] + ["text", " ", "\n"]
    return ["".join(rng.choice(parts) for _ in range(rng.randint(2, 6))) for _ in range(count)]


HOSTILE: list[str] = [
    *MENTIONS, *CONTROLS, *UNCARRIED, *SYNTAX, *NUMBERS,
    "x" * 100_000, "<" * 5000, "&" * 5000, "\n" * 500, *_mixtures(80),
]  # fmt: skip

# `<!date^…>` the bot writes itself shows a time and calls in nobody
_PING = re.compile(r"<(?!!date\^\d+\^)[!@#]|<https?:|<mailto:")


def pings(text: str) -> bool:
    """Whether `text`, as Slack reads mrkdwn, could mention someone or link somewhere."""
    return bool(_PING.search(text))
