"""A Slack bot that brings contact-center CSAT and agent availability to team leads."""

import sys

__version__ = "0.1.0"

# `import httpx` loads httpx's command-line tool (click, pygments) whenever they happen to
# be installed; the bot never runs it, and it cost every start ~15 ms. httpx falls back
# to a stub `main` when its tool cannot be imported.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
