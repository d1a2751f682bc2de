"""The modals that configure digests, watches and the alert settings from the Home tab: pure.

A view is rendered from its template (`digest_edit.yml.j2`, `alerts_edit.yml.j2`,
`digest_delete.yml.j2`: the words and the layout), then given its initial values here, as
they stand: an input's value is never mrkdwn, so it is not escaped, and what a person
typed comes back as they typed it. Each input's `block_id` is the TOML key it sets.

A submission is read back into the keys the file would hold (`read_digest_view`,
`read_alerts_view`) whatever arrived: a block that is missing or empty is an absent key;
a value that is not what Slack sends is kept as `JUNK`, which the checks refuse on that
block. The checks are the file's own readers (`config.read_digest`, `config.read_alerts`),
so one set of rules decides what a digest may be wherever it is written, plus what only a
digest made in Slack needs: a name a command can carry, text and ids Slack could have
sent. Errors come back as `{block_id: message}` for `response_action: "errors"`.

No Slack call, no store, no clock: `now` is an argument.
"""

from __future__ import annotations

import heapq
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.config import (
    CHANNEL_ID,
    AlertRules,
    Digest,
    Invalid,
    Rule,
    cron_problem,
    mention,
    read_alerts,
    read_digest,
    zone,
)
from bot.directory import fold
from bot.errors import ConfigError
from bot.query import SOURCES
from bot.render import Renderer
from bot.render.safe import clean
from bot.schedule import describe, next_fires

DIGEST_KEYS = (
    "name", "kind", "source", "channel", "cron", "timezone",
    "skills", "agents", "groups", "timeframe", "post", "template",
)  # fmt: skip
UNITS = {"skills": "skill", "agents": "agent", "groups": "group"}
ALERT_KEYS = (
    "channel", "mention", "min_answers", "drop_points",
    "confidence", "worse_points", "drop_share", "away_points",
)  # fmt: skip
NUMBER_KEYS = ALERT_KEYS[2:]

ALL = "all"  # the option, and the typed word, that means every id
DEFAULT = "default"  # the source option that means the default source
NOBODY = "none"  # the mention option that calls nobody in
JUNK = "\x00"  # what was sent in place of a value: every reader below refuses it
WHERE = "Slack"  # where a ConfigError says the table came from
LABEL = "digest"  # read_digest's label: its errors' keys are `digest.<key>`

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # typed in `python -m bot digest NAME`
MAX_TEXT = 3000  # characters: Slack's longest plain_text_input
MAX_ID = 150  # characters of one id: Slack's longest option value
MAX_IDS = 500  # ids one digest made in Slack may list
MAX_ERROR = 150  # characters Slack shows of a `response_action: "errors"` message
MAX_OPTION_TEXT = 75  # characters of an option's text
MAX_OPTIONS = 100  # options an options listener may return
MAX_QUERY = 100  # characters of typed text an options listener compares
_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,15})?")  # what a number_input sends
_IDS = re.compile(r"[\s,;]+")  # between typed ids


# --- digests: the view ------------------------------------------------------------------


def digest_view(
    renderer: Renderer, *, table: Mapping[str, Any] | None, sources: Sequence[str],
    directories: set[str], timezone: ZoneInfo, now: datetime, original: str = "",
    errors: Mapping[str, str] | None = None, default_source: str | None = None,
    revision: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The `digest_edit` modal: empty for a new digest (`table` None), else prefilled with
    its TOML keys. `original` is the name it had (the name is an input: a rename is
    possible); `errors` are shown after their blocks; `default_source` is the source a
    digest without one asks (the first of `sources` when not given). The skill, agent and
    group inputs pick from the names directory when the digest's source has one
    (`directories`), and take typed ids otherwise. `revision` above 0 gives the cron input a
    new action_id, so Slack shows a preset in place of what was typed (`next_revision`)."""
    shown: dict[str, Any] = dict(table) if table else {"kind": "csat", "timeframe": "24h"}
    default = default_source if default_source is not None else (sources[0] if sources else "")
    chosen = shown.get("source")
    own = chosen if isinstance(chosen, str) and chosen in SOURCES else None
    source = own or default
    context = {
        "new": not original,
        "sources": list(dict.fromkeys([*sources, *([own] if own else [])])),
        "default_source": default,
        "ids_source": source if source in directories else "",
        "cron_action": "cron" if revision <= 0 else f"cron|{revision}",
        "zone": timezone.key,
        **_schedule(shown.get("cron"), shown.get("timezone"), timezone, now),
        "errors": _messages(errors),
    }
    found = renderer.render("digest_edit.yml.j2", **context)
    everyone = _word(found.get("all"), "All")
    for block in _inputs(found):
        key = block["block_id"]
        if key == "source":
            _fill(block["element"], own or DEFAULT)
        elif key == "post":
            _fill(block["element"], "false" if shown.get("post") is False else "true")
        elif key == "timezone":
            _fill(block["element"], shown.get("timezone", timezone.key))
        elif key in UNITS and key in shown:
            names = _namer(renderer, UNITS[key], source, everyone)
            _fill(block["element"], shown[key], names)
        elif key in shown:
            _fill(block["element"], shown[key])
    return _modal(found, "digest_edit", original)


def next_revision(view: Mapping[str, Any]) -> int:
    """The revision the next redraw of a digest modal gives its cron input: one more than
    the one it has (`cron|2` -> 3), so a preset replaces what Slack keeps typed."""
    blocks = view.get("blocks") if isinstance(view, Mapping) else None
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, Mapping) and block.get("block_id") == "cron":
            element = block.get("element")
            action = element.get("action_id") if isinstance(element, Mapping) else None
            number = action.partition("|")[2] if isinstance(action, str) else ""
            return int(number) + 1 if number.isdigit() and len(number) < 9 else 1
    return 1


def _schedule(cron: Any, timezone: Any, default: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The cron line's context: the schedule in words and its next three runs (shown by
    `<!date^…>`, each reader in their own zone), or why it cannot be read."""
    nothing: dict[str, Any] = {"schedule": "", "fires": [], "problem": ""}
    if not isinstance(cron, str) or not cron.strip() or len(cron) > MAX_TEXT:
        return nothing
    if not _sendable(cron):
        return nothing
    problem = cron_problem(cron)
    try:
        where = zone(timezone) if isinstance(timezone, str) and timezone.strip() else default
    except Invalid as exc:
        problem = problem or str(exc)
    if problem:
        return {**nothing, "problem": _message(problem, 300)}
    fires = next_fires(cron, where, now, 3)
    return {**nothing, "schedule": describe(cron, where), "fires": [f.isoformat() for f in fires]}


def _namer(
    renderer: Renderer, unit: str, source: str | None, everyone: str
) -> Callable[[str], str]:
    """An id's option text: "All", or its name in the source's directory with the id."""

    def text(id: str) -> str:
        if id == ALL:
            return everyone
        return _id_text(id, renderer.names(unit, id, source) or "")

    return text


# --- digests: the submission --------------------------------------------------------------


def read_digest_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted (or redrawn) digest modal as the TOML table the file would hold:
    `skills = ["4", "7"]` or `"all"`, `post = false` for a watch, absent optional keys
    left out. Never raises: anything that is not what Slack sends is `JUNK`."""
    values = _values(view)
    table: dict[str, Any] = {}
    for key in DIGEST_KEYS:
        state = _state(values, key)
        if state is None:
            continue
        if state is _BROKEN:
            value: Any = JUNK
        elif key in UNITS:
            value = _ids(state)
        elif key == "channel":
            value = _conversation(state)
        elif key in ("kind", "source", "post"):
            value = _chosen(state)
            if key == "source" and value == DEFAULT:
                value = None
            elif key == "post":
                value = {"true": None, "false": False}.get(value, value) if value else None
        else:
            value = _typed(state)
        if value is not None:
            table[key] = value
    return table


def check_digest(
    table: Mapping[str, Any], timezone: ZoneInfo, taken: set[str], original: str
) -> Digest | dict[str, str]:
    """The digest a modal describes, or `{block_id: message}`: the file's rules
    (`read_digest`, `timezone` the bot's zone for a digest without one) and a name of
    1–40 lowercase letters, digits, `-` and `_` that no other digest has (`taken`: the
    file's and Slack's names; `original`, the one being edited, may be kept)."""
    found, table = _sendable_table(table, DIGEST_KEYS, "name")
    name = table.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        got = f", not {name[:30]!r}" if isinstance(name, str) and name else ""
        found.setdefault(
            "name",
            "1 to 40 lowercase letters, digits, - or _, starting with a letter or digit"
            f" (it is typed in commands){got}",
        )
    elif name in taken and name != original:
        found.setdefault("name", f"A name no other digest has: {name!r} is taken")
    for key in UNITS:
        value = table.get(key)
        if isinstance(value, list) and ALL in value and len(value) > 1:
            found.setdefault(key, f"Either All or some {key}, not both")
    errors: list[ConfigError] = []
    digest = read_digest(table, WHERE, LABEL, timezone, errors)
    for error in errors:
        key = error.key.removeprefix(f"{LABEL}.")
        said = _with_value(error.expected, table.get(key))
        found.setdefault(key if key in DIGEST_KEYS else "name", said)
    if found or digest is None:
        return {key: _message(text) for key, text in found.items()} or {"name": "Not a digest"}
    return digest


# --- alerts -------------------------------------------------------------------------------


def alerts_view(
    renderer: Renderer, *, rules: AlertRules, in_file: frozenset[str],
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The `alerts_edit` modal, prefilled with the rules in force; a key bot.toml sets
    (`in_file`) is a line saying so, not an input: the file wins."""
    context = {
        "inputs": [key for key in ALERT_KEYS if key not in in_file],
        "fixed": [{"key": k, "value": _alert_value(rules, k)} for k in ALERT_KEYS if k in in_file],
        "bounds": {key: _bounds(key) for key in NUMBER_KEYS},
        "errors": _messages(errors),
    }
    found = renderer.render("alerts_edit.yml.j2", **context)
    nobody = _word(found.get("nobody"), "Nobody")
    for block in _inputs(found):
        key, element = block["block_id"], block["element"]
        if key == "channel" and rules.channel:
            _fill(element, rules.channel)
        elif key == "mention":
            value = rules.mention or NOBODY
            _fill(element, value, lambda v: nobody if v == NOBODY else _mention_text(v))
        elif key in NUMBER_KEYS:
            _fill(element, _number_text(getattr(rules.rule, key)))
    return _modal(found, "alerts_edit", "")


def read_alerts_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted alerts modal as the `[alerts]` keys it sets (`mention = ""` for
    nobody, numbers as numbers); absent optional keys left out. Never raises."""
    values = _values(view)
    table: dict[str, Any] = {}
    for key in ALERT_KEYS:
        state = _state(values, key)
        if state is None:
            continue
        if state is _BROKEN:
            value: Any = JUNK
        elif key == "channel":
            value = _conversation(state)
        elif key == "mention":
            value = _chosen(state)
            value = "" if value == NOBODY else value
        else:
            value = _number(_typed(state))
        if value is not None:
            table[key] = value
    return table


def check_alerts(
    rules: AlertRules, in_file: frozenset[str], table: Mapping[str, Any]
) -> AlertRules | dict[str, str]:
    """The file's `[alerts]` (`rules`) with the table laid over them, by the file's
    readers (`read_alerts`: a key the file sets stays as it says), or `{block_id: message}`."""
    asked = [key for key in ALERT_KEYS if key not in in_file]
    fallback = asked[0] if asked else "channel"
    mine = (
        {k: v for k, v in table.items() if k not in in_file} if isinstance(table, Mapping) else {}
    )
    found, table = _sendable_table(mine, asked, fallback)
    errors: list[ConfigError] = []
    result = read_alerts(rules, in_file, table, WHERE, errors)
    for error in errors:
        key = error.key.removeprefix("alerts.")
        said = _with_value(error.expected, table.get(key))
        found.setdefault(key if key in asked else fallback, said)
    if found:
        return {key: _message(text) for key, text in found.items()}
    return result


def _alert_value(rules: AlertRules, key: str) -> Any:
    """What the file sets a key to, for the line that says so."""
    if key == "channel":
        return rules.channel or ""
    if key == "mention":
        return Markup(rules.mention)  # the configuration's own words: it may mention
    return getattr(rules.rule, key)


def _bounds(key: str) -> dict[str, Any]:
    """A number's bounds as the file's reader (`config.bounded`) holds them, for Slack's
    number_input: the reader's own, never a copy that could drift."""
    reader = next((f.metadata["read"] for f in fields(Rule) if f.name == key), None)
    try:
        held = inspect.getclosurevars(reader).nonlocals if reader is not None else {}
    except TypeError:  # not a plain function
        held = {}
    low, high = held.get("low"), held.get("high")
    return {
        "min": low if isinstance(low, int | float) else None,
        "max": high if isinstance(high, int | float) else None,
        "decimal": not held.get("whole", False),
    }


def _number_text(value: Any) -> str:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _mention_text(value: str) -> str:
    """A mention as an option shows it: a user group's handle when it carries one."""
    found = re.fullmatch(r"<!subteam\^([A-Z0-9]+)(?:\|([^<>]*))?>", value)
    if found:
        return _cut(clean(found.group(2) or found.group(1)), MAX_OPTION_TEXT) or value
    return _cut(clean(value), MAX_OPTION_TEXT)


# --- deleting -----------------------------------------------------------------------------


def delete_view(renderer: Renderer, name: str) -> dict[str, Any]:
    """The confirmation before a digest made in Slack is deleted; its name rides in
    private_metadata."""
    return _modal(renderer.render("digest_delete.yml.j2", digest=name), "digest_delete", name)


# --- options listeners --------------------------------------------------------------------


def id_options(
    entries: Iterable[tuple[str, str]], query: str, limit: int = MAX_OPTIONS, *,
    everyone: str = "All",
) -> list[dict[str, Any]]:  # fmt: skip
    """The options a skill, agent or group picker offers for what was typed: the
    directory's `(id, name)` pairs whose name or id holds it (case and accents aside, as
    `directory.fold` compares), an exact name first, then names that start with it; "All"
    first when nothing or "all" is typed. At most `limit` (Slack's 100)."""
    limit = max(0, min(limit, MAX_OPTIONS))
    wanted = _fold(query[:MAX_QUERY]) if isinstance(query, str) else ""
    options: list[dict[str, Any]] = []
    if limit and (not wanted or wanted in _fold(everyone) or wanted in ALL):
        options.append(_option(_cut(everyone, MAX_OPTION_TEXT), ALL))
    return options + _matching(entries, wanted, limit - len(options), lambda id: id, _id_text)


def group_options(
    groups: Iterable[tuple[str, str]], query: str, limit: int = MAX_OPTIONS, *,
    nobody: str = "Nobody",
) -> list[dict[str, Any]]:  # fmt: skip
    """The options of the alerts' mention picker: user groups `(id, name)` whose name or
    id holds what was typed, each a mention Slack pings (`<!subteam^ID>`), and "Nobody"."""
    limit = max(0, min(limit, MAX_OPTIONS))
    wanted = _fold(query[:MAX_QUERY]) if isinstance(query, str) else ""
    options: list[dict[str, Any]] = []
    if limit and (not wanted or wanted in _fold(nobody) or wanted in NOBODY):
        options.append(_option(_cut(nobody, MAX_OPTION_TEXT), NOBODY))

    def text(id: str, name: str) -> str:
        return _cut(clean(name).strip() or id, MAX_OPTION_TEXT)

    return options + _matching(groups, wanted, limit - len(options), _subteam, text)


def _subteam(id: str) -> str | None:
    """A user group's mention, when it is one `config.mention` accepts."""
    value = f"<!subteam^{id}>"
    try:
        return value if len(value) <= MAX_ID and mention(value) == value else None
    except Invalid:
        return None


def _matching(
    entries: Iterable[tuple[str, str]], wanted: str, limit: int,
    value_of: Callable[[str], str | None], text_of: Callable[[str, str], str],
) -> list[dict[str, Any]]:  # fmt: skip
    """The best `limit` entries for `wanted`: an exact name, then a prefix, then anywhere;
    by name within each. Entries that cannot be an option (no id, too long) are passed over."""
    if limit <= 0:
        return []
    ranked: list[tuple[int, str, str, str, str]] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, tuple) or len(entry) != 2:
            continue
        id, name = entry
        if not isinstance(id, str) or not isinstance(name, str):
            continue
        folded = _fold(name)
        if wanted and wanted not in folded and wanted not in _fold(id):
            continue  # most entries, once something is typed: nothing more to do
        if id in seen or id == ALL or not _optionable(id) or (value := value_of(id)) is None:
            continue
        seen.add(id)
        exact = folded == wanted or _fold(id) == wanted
        rank = 0 if exact else 1 if folded.startswith(wanted) else 2
        ranked.append((rank, folded, id, name, value))
    best = heapq.nsmallest(limit, ranked)
    return [_option(text_of(id, name), value) for _, _, id, name, value in best]


def _fold(text: str) -> str:
    """`directory.fold`, without its Unicode decomposition where there is nothing to
    decompose: a picker asks at every keystroke, over every agent."""
    return " ".join(text.casefold().split()) if text.isascii() else fold(text)


def _id_text(id: str, name: str) -> str:
    """`Billing (4)`: a name with its id (two skills may share a name), at most 75
    characters; the id alone when nothing names it."""
    name = " ".join(clean(name).split())
    if not name or name == id:
        return _cut(id, MAX_OPTION_TEXT)
    room = MAX_OPTION_TEXT - len(id) - 3
    if room < 8:
        return _cut(f"{name} ({id})", MAX_OPTION_TEXT)
    return f"{_cut(name, room)} ({id})"


# --- reading view.state.values ------------------------------------------------------------


def incomplete(view: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """The block to refuse a submission on when it holds none of the form's `keys` (a
    state that is no mapping, or an empty one): the form never sends that, and read as
    "nothing set" it would clear every optional setting. None when it holds some."""
    state = view.get("state") if isinstance(view, Mapping) else None
    values = state.get("values") if isinstance(state, Mapping) else None
    if isinstance(values, Mapping) and any(key in values for key in keys):
        return None
    return keys[0] if keys else None


def _values(view: Any) -> Mapping[str, Any]:
    """`view.state.values`, or nothing."""
    state = view.get("state") if isinstance(view, Mapping) else None
    values = state.get("values") if isinstance(state, Mapping) else None
    return values if isinstance(values, Mapping) else {}


def _state(values: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """The one element's state in a block, whatever its action_id (a preset changes the
    cron input's); None when the block is absent or holds nothing, `_BROKEN` when what it
    holds is not an element's state."""
    block = values.get(key)
    if block is None:
        return None
    if not isinstance(block, Mapping):
        return _BROKEN
    for state in block.values():
        return state if isinstance(state, Mapping) else _BROKEN
    return None


_BROKEN: Mapping[str, Any] = MappingProxyType({})  # a block whose state is not Slack's


def _typed(state: Mapping[str, Any]) -> str | None:
    """A text input's value, trimmed; None when empty (Slack sends null)."""
    value = state.get("value")
    if value is None:
        return None
    if not isinstance(value, str):
        return JUNK
    return value.strip() or None


def _chosen(state: Mapping[str, Any]) -> str | None:
    """A select's or radio buttons' chosen value."""
    option = state.get("selected_option")
    if option is None:
        return None
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else JUNK


def _conversation(state: Mapping[str, Any]) -> str | None:
    for name in ("selected_conversation", "selected_channel"):
        value = state.get(name)
        if value is not None:
            return value if isinstance(value, str) else JUNK
    return _typed(state)  # only a crafted payload has a `value` here: the reader refuses it


def _ids(state: Mapping[str, Any]) -> Any:
    """A unit's ids: the options picked, or what was typed (`4, 7`, `all`)."""
    if "selected_options" in state:
        options = state["selected_options"]
        if options is None or options == []:
            return None
        if not isinstance(options, list):
            return JUNK
        picked = [o.get("value") if isinstance(o, Mapping) else None for o in options]
        if not all(isinstance(v, str) for v in picked):
            return JUNK
        return ALL if picked == [ALL] else picked  # Slack sends no option twice
    text = _typed(state)
    if text is None or text == JUNK or len(text) > MAX_TEXT:  # too long: refused as it is
        return text
    if text.casefold() == ALL:
        return ALL
    return list(dict.fromkeys(part for part in _IDS.split(text) if part))


def _number(text: str | None) -> Any:
    """A number_input's value as TOML would hold it (20, 0.95); anything else as it came,
    for the reader to refuse."""
    if text is None or not _NUMBER.fullmatch(text):
        return text
    return float(text) if "." in text else int(text)


# --- what only Slack needs ------------------------------------------------------------------


def _sendable_table(
    table: Any, keys: Sequence[str], fallback: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """The table without what Slack could not have sent (too long, control characters,
    too many ids, a key that is no text), and the problem with each on its block."""
    found: dict[str, str] = {}
    kept: dict[str, Any] = {}
    for key, value in table.items() if isinstance(table, Mapping) else ():
        block = key if isinstance(key, str) and key in keys else fallback
        if not isinstance(key, str):
            found.setdefault(block, "A table of TOML keys")
            continue
        problem = _unsendable(value)
        if problem:
            found.setdefault(block, problem)
            continue
        kept[key] = value
    return found, kept


def _unsendable(value: Any) -> str | None:
    """Why a value is not one this form could send, or None."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            return f"At most {MAX_TEXT} characters, not {len(value)}"
        return None if _sendable(value) else "Text as Slack sends it, without control characters"
    if isinstance(value, list):
        if len(value) > MAX_IDS:
            return f"At most {MAX_IDS} ids, not {len(value)}"
        for item in value:
            if not isinstance(item, str | int) or isinstance(item, bool):
                return "Ids as text"
            if isinstance(item, str) and (len(item) > MAX_ID or not _sendable(item)):
                return f"Ids of at most {MAX_ID} characters, as Slack sends them"
    return None


def _sendable(text: str) -> bool:
    """Text Slack could have sent: no control characters but tab and newline, no half of
    a character (the store cannot even encode one)."""
    return clean(text) == text


# --- views ----------------------------------------------------------------------------------


def _modal(found: Mapping[str, Any], callback: str, metadata: str) -> dict[str, Any]:
    """A modal from its rendered template: `text` its title, `submit` and `close` its
    buttons' words (Slack takes 24 characters of each)."""
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": _word(found.get("text"), "Settings")[:24]},
        "submit": {"type": "plain_text", "text": _word(found.get("submit"), "Save")[:24]},
        "close": {"type": "plain_text", "text": _word(found.get("close"), "Cancel")[:24]},
        "blocks": found["blocks"],
    }


def _inputs(found: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """The rendered input blocks that have an element to fill."""
    for block in found.get("blocks") or []:
        if (
            isinstance(block, dict)
            and block.get("type") == "input"
            and isinstance(block.get("block_id"), str)
            and isinstance(block.get("element"), dict)
        ):
            yield block


def _fill(element: dict[str, Any], value: Any, text_of: Callable[[str], str] | None = None) -> None:
    """An element's initial value, in the form its type takes. A value it cannot show (a
    choice it does not offer, text Slack would refuse) leaves it empty."""
    kind = element.get("type")
    if isinstance(value, bool) or value is None:
        return
    if kind in ("plain_text_input", "number_input"):
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            value = ", ".join(str(v) for v in value)
        text = str(value) if isinstance(value, str | int) else ""
        if text and _sendable(text) and len(text) <= element.get("max_length", MAX_TEXT):
            element["initial_value"] = text
    elif kind in ("static_select", "radio_buttons"):
        match = next((o for o in element.get("options", []) if o.get("value") == value), None)
        if match is not None:
            element["initial_option"] = match
    elif kind == "conversations_select":
        if isinstance(value, str) and CHANNEL_ID.fullmatch(value):
            element["initial_conversation"] = value
    elif kind == "external_select":
        if isinstance(value, str) and text_of is not None and _optionable(value):
            element["initial_option"] = _option(text_of(value), value)
    elif kind == "multi_external_select" and text_of is not None:
        ids = [value] if value == ALL else value
        if isinstance(ids, list) and ids and all(_optionable(str(v)) for v in ids):
            element["initial_options"] = [_option(text_of(str(v)), str(v)) for v in ids]


def _optionable(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and _sendable(value)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value[:MAX_OPTION_TEXT]}, "value": value}


def _messages(errors: Mapping[str, str] | None) -> dict[str, str]:
    return {k: _message(v) for k, v in (errors or {}).items() if isinstance(v, str)}


def _with_value(expected: str, value: Any) -> str:
    """What the file's reader expected, and what it got when the reader did not say."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return expected
    shown = repr(value[:30] if isinstance(value, str) else value)
    return expected if str(value)[:30] in expected else f"{expected}, not {shown}"


def _message(text: str, most: int = MAX_ERROR) -> str:
    """One line Slack shows under a field: clean, at most `most` characters; asides in
    brackets go first, so what was wrong (said last) stays. Not capitalised: the file's
    readers may start with a value ("csat or availability")."""
    text = " ".join(clean(text).split())
    while len(text) > most and (aside := _ASIDE.search(text)):
        text = text[: aside.start()] + text[aside.end() :]
    return _cut(text, most)


_ASIDE = re.compile(r" ?\([^()]*\)")


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _word(value: Any, default: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else default


# --- samples for `check` --------------------------------------------------------------------


def sample_contexts() -> dict[str, list[dict[str, Any]]]:
    """Contexts the modals' templates render with, for `check` (`check/samples.py`)."""
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    digest = {
        "new": False, "sources": ["liveperson", "livechat"], "default_source": "liveperson",
        "ids_source": "liveperson", "cron_action": "cron|2", "zone": berlin.key,
        **_schedule("0 9 * * 1-5", "Europe/Berlin", berlin, now),
        "errors": {key: "A channel id such as C0123456789" for key in DIGEST_KEYS},
    }  # fmt: skip
    new = {
        **digest, "new": True, "sources": ["ingested"], "default_source": "ingested",
        "ids_source": "", "cron_action": "cron", "errors": {},
        **_schedule("0 9 * * 1-5 x", None, berlin, now),
    }  # fmt: skip
    rules = AlertRules(channel="C0LEADS00", mention="<!subteam^S0LEADS>")
    alerts = {
        "inputs": list(ALERT_KEYS), "fixed": [],
        "bounds": {key: _bounds(key) for key in NUMBER_KEYS}, "errors": {"mention": "Nobody"},
    }  # fmt: skip
    in_file = {
        **alerts, "inputs": list(NUMBER_KEYS[2:]), "errors": {},
        "fixed": [{"key": k, "value": _alert_value(rules, k)} for k in ALERT_KEYS[:4]],
    }  # fmt: skip
    return {
        "digest_edit.yml.j2": [digest, new, {**new, **_schedule("0 0 31 2 *", None, berlin, now)}],
        "alerts_edit.yml.j2": [alerts, in_file],
        "digest_delete.yml.j2": [{"digest": "csat-daily"}],
    }
