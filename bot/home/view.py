"""The home tab as Slack shows it: a `HomeState` rendered by `home.yml.j2` into a home view.

A home view holds at most 100 blocks, and a workspace may have hundreds of digests and
open alerts: the view shows as many as fit and says how many more there are. Digests take
the room first (one block each), then alerts (`ALERTS_PER_SECTION` lines to a block), but
the first section of alerts is always kept for them: an alert nobody sees helps nobody.

Everything the state holds goes through the renderer's boundary (`render/safe.py`) like
any other context. Code decides what may be linked (a real channel id, a thread's `ts`, the
workspace's URL) and which buttons an admin gets; the template words all of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import PurePath
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.views import View

from bot.config import CHANNEL_ID
from bot.errors import RenderError
from bot.home.state import DigestLine, HomeState
from bot.render import Renderer
from bot.render.renderer import MAX_VIEW_BLOCKS
from bot.render.safe import escape

TEMPLATE = "home.yml.j2"
CALLBACK_ID = "home"
ACTION_ID = "home_digest"  # the overflow menu of each digest (as `home.yml.j2` names it)
ACTIONS = ("edit", "pause", "resume", "delete", "preview", "send")  # its options' values
MAX_VALUE = 150  # characters of an option's value, Slack's limit: `send|NAME`
ALERTS_PER_SECTION = 6  # alert lines in one section: six of the longest fit in 3,000
HISTORY = 10  # the changes made from Slack that the view lists, newest first
CALLED = 10  # the parts of `[alerts] mention` the view lists

_TS = re.compile(r"[0-9]{1,16}\.[0-9]{1,16}")
_WORKSPACE = re.compile(r"https://[A-Za-z0-9.-]{1,100}/?")  # no `|`, `<` or `>` in a link
_CALLED = re.compile(
    r"<!subteam\^(?P<group>S[A-Z0-9]{2,20})(?:\|(?P<label>[^<>]{0,80}))?>"
    r"|<@(?P<user>[UW][A-Z0-9]{2,20})>|<!(?P<everyone>here|channel)>"
)


def home_view(renderer: Renderer, state: HomeState) -> dict[str, Any]:
    """The view `views.publish` takes for one person, within Slack's limits whatever the
    state: rendered once without digests and alerts to measure the rest, then with as
    many as fit. A RenderError when the template or the view breaks Slack's rules."""
    base = renderer.render(TEMPLATE, **context(state, 0, 0))
    digests, alerts = fit(
        MAX_VIEW_BLOCKS - len(base["blocks"]), len(state.digests), len(state.alerts)
    )
    message = renderer.render(TEMPLATE, **context(state, digests, alerts))
    view = {"type": "home", "callback_id": CALLBACK_ID, "blocks": message["blocks"]}
    try:
        View(**view).validate_json()
    except SlackObjectFormationError as exc:
        raise RenderError(TEMPLATE, None, str(exc)) from exc
    return view


def fit(room: int, digests: int, alerts: int) -> tuple[int, int]:
    """How many digests and alerts fit in `room` blocks (what the rest of the view leaves,
    each one's "and N more" line counted in it): one block per digest, one per
    `ALERTS_PER_SECTION` alerts; the first alert section is kept for the alerts."""

    def blocks(d: int, a: int) -> int:  # a kind shown whole needs no "and N more" line
        return d + -(-a // ALERTS_PER_SECTION) - (0 < d == digests) - (0 < a == alerts)

    first = min(alerts, ALERTS_PER_SECTION)
    shown = max((d for d in range(digests + 1) if blocks(d, first) <= room), default=0)
    return shown, max((a for a in range(alerts + 1) if blocks(shown, a) <= room), default=0)


def context(state: HomeState, digests: int, alerts: int) -> dict[str, Any]:
    """What `home.yml.j2` is rendered with: the first `digests` digests and `alerts` alerts
    of the state, each with what code decides about it, and the rest as it stands."""
    settings = state.alert_settings
    called = called_in(settings.mention)
    return {
        "now": state.now,
        "admin": state.admin,
        "config_name": PurePath(state.config_file).name or state.config_file,
        "sources": state.sources,
        "digests": [digest_row(d, state) for d in state.digests[:digests]],
        "more_digests": max(0, len(state.digests) - digests),
        "alerts": [
            {"line": a, "url": permalink(state.workspace_url, a.channel, a.ts)}
            for a in state.alerts[:alerts]
        ],
        "more_alerts": max(0, len(state.alerts) - alerts),
        "per_section": ALERTS_PER_SECTION,
        "settings": settings,
        "settings_channel": bool(settings.channel and CHANNEL_ID.fullmatch(settings.channel)),
        "called": called[:CALLED],
        "more_called": max(0, len(called) - CALLED),
        "history": state.history[:HISTORY],
    }


def digest_row(line: DigestLine, state: HomeState) -> dict[str, Any]:
    """One digest and what code decides about it: whether its channel is one to link, the
    link to its last message, and the options an admin's menu offers (none when a value
    would be longer than Slack takes: `too_long`)."""
    actions = list(digest_actions(line)) if state.admin else []
    fits = not actions or max(map(len, actions)) + 1 + len(escape(line.name)) <= MAX_VALUE
    posted = line.last_status == "posted"
    return {
        "line": line,
        "channel": bool(CHANNEL_ID.fullmatch(line.channel)),
        "url": permalink(state.workspace_url, line.channel, line.last_ts) if posted else "",
        "actions": actions if fits else [],
        "too_long": not fits,
    }


def digest_actions(line: DigestLine) -> Iterator[str]:
    """What an admin may do to a digest from Slack: only one made in Slack is edited,
    paused and deleted there (the file's say so in the file); any can be sent."""
    if line.origin == "slack":
        yield "edit"
        yield "resume" if line.paused else "pause"
        yield "delete"
    yield "preview"
    yield "send"


def read_action(value: str, names: Iterable[str]) -> tuple[str, str] | None:
    """An option's value read back as (action, the digest's name), or None for a value
    this view never made. The value carries the name as the boundary left it
    (`safe.escape`: `&`, `<`, `>` as entities, control characters gone), so it is matched
    against each name escaped the same way (the first, if two differ only there)."""
    action, bar, name = value.partition("|")
    if not bar or action not in ACTIONS:
        return None
    return next(((action, n) for n in names if escape(n) == name), None)


def permalink(workspace_url: str, channel: str, ts: str) -> str:
    """The link to a message (`…/archives/C…/p…`), or "" unless every part is what Slack
    gives: a link is built only from parts that cannot carry anything else."""
    if not (
        _WORKSPACE.fullmatch(workspace_url) and CHANNEL_ID.fullmatch(channel) and _TS.fullmatch(ts)
    ):
        return ""
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def called_in(mention: str) -> list[dict[str, str]]:
    """Who `[alerts] mention` calls in, as parts without Slack's mention syntax: the home
    view shows the setting and must call in nobody, so a user group is shown by its label
    and id, `<!here>` and `<!channel>` by their names, a person as any person is there."""
    found = []
    for match in _CALLED.finditer(mention):
        if match["group"]:
            found.append({"kind": "group", "id": match["group"], "label": match["label"] or ""})
        elif match["user"]:
            found.append({"kind": "user", "id": match["user"], "label": ""})
        else:
            found.append({"kind": match["everyone"], "id": "", "label": ""})
    return found
