"""Jinja templates -> Block Kit messages, checked against Slack's limits.

Templates in `templates/` render YAML (a mapping with `text` and `blocks`), so they read
like the message they make; strings go through `|tojson`. Every message is parsed with
slack_sdk's block models and checked for the limits slack_sdk does not enforce. A template
that renders a view says so (`type: home`): a view holds twice the blocks of a message,
and every other check is the same.

A deployment's templates folder holds only what it changes: a template found there wins,
every other one comes from the built-in folder (`jinja2.ChoiceLoader`), and its
`words.yml` is laid over the built-in words entry by entry.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from datetime import datetime
from functools import cache, cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, Option, TextObject

from bot.config import DEFAULT_TEMPLATES, Links
from bot.errors import (
    AuthRefused,
    BotError,
    NotConfigured,
    RenderError,
    SourceError,
    UsageError,
    WrongRegion,
)
from bot.metrics import AgentStates, CsatRow, membership
from bot.recent import Recent
from bot.render.filters import (
    answered,
    bar,
    delta_duration,
    duration,
    logged_in,
    minutes,
    mrkdwn_escape,
    one_in,
    pct,
    points,
    pvalue,
    sections,
    slack_date,
    spark,
    user,
)
from bot.render.safe import escape, outside, plain
from bot.render.shapes import Shapes
from bot.render.text import Message
from bot.render.words import Words, shown

if TYPE_CHECKING:  # Jinja and YAML load with the first message (`Renderer.env`)
    import jinja2

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # a home tab or a modal
VIEWS = frozenset({"home", "modal"})  # a rendered `type` that makes it a view
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
OVERFLOW_OPTIONS = (2, 5)  # an overflow menu's fewest and most options
CHECKED_ENTRIES = 512  # rendered messages remembered, least recently used out
CHECKED_MAX_CHARS = 16_000  # bigger ones (digests) are rendered once anyway

log = logging.getLogger(__name__)


class Renderer:
    """The Jinja environment with the filters and words templates need; one per process.

    `folder` is the deployment's templates folder (or the built-in one); what it does not
    hold comes from the built-in folder.
    """

    def __init__(self, folder: Path = DEFAULT_TEMPLATES, timezone: ZoneInfo | None = None) -> None:
        self.folder = folder
        self.folders = [folder] if folder == DEFAULT_TEMPLATES else [folder, DEFAULT_TEMPLATES]
        self.timezone = timezone or ZoneInfo("UTC")
        # rendered text -> its message as JSON: YAML and Block Kit checks cost ~10x the
        # Jinja render, and the acks and the answers to repeated queries render the same text
        self._checked: Recent[str, str] = Recent(CHECKED_ENTRIES)
        self._shapes = Shapes()  # and by their text without strings: the rest differ there
        # (kind, id, source) -> the directory's name: set by the wiring (`names.Names.name`)
        self.names: Callable[[str, str, str | None], str | None] = _no_names
        self.links = Links()  # `[links]`: where names and tickets lead (set by the wiring)
        self.missed: set[tuple[str, str]] = set()  # (kind, id) shown without a name

    @cached_property
    def words(self) -> Words:
        """The words, read at their first use: a RenderError if the deployment's
        `words.yml` is not YAML (`check` and the start-up checks read them at once)."""
        return Words.load(self.folder)

    @cached_property
    def env(self) -> jinja2.Environment:
        """The Jinja environment, made for the first message: Jinja and YAML are not
        loaded before then, so `serve` answers its first /healthz without them."""
        import jinja2

        class Environment(jinja2.Environment):
            def make_globals(self, d: MutableMapping[str, Any] | None) -> Any:
                """A template's globals as a plain dict, not Jinja's ChainMap: Jinja copies
                them into the context of every render (and of every macro it imports),
                and copying a ChainMap took a sixth of an ack's render. The environment's
                globals are set below, before any template loads, and never change."""
                return {**self.globals, **(d or {})}

        env = Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in self.folders]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
            finalize=_printable,
            auto_reload=False,  # read once per process: no stat of each file at every render
        )
        # emoji as themselves: YAML cannot read JSON's surrogate-pair escapes
        env.policies["json.dumps_function"] = _yaml_json
        env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
        words = self.words
        env.globals["words"] = words.data
        env.filters.update(
            pct=partial(pct, words=words),
            bar=bar,
            spark=spark,
            minutes=partial(minutes, words=words),
            num=lambda n: f"{n:,}",
            local=self.local,
            span=self.span,
            local_iso=lambda iso, fmt="%a %d %b %H:%M": self.local(
                datetime.fromisoformat(iso), fmt
            ),
            mrkdwn_escape=mrkdwn_escape,
            plain=plain,
            shown=shown,
            dur=partial(duration, words=words),
            vendor=lambda source: words.data["vendors"].get(source, source),
            entity=self.entity,
            named=self.named,
            link=self.link,
            linked_entity=self.linked_entity,
            state=words.state,
            reason=lambda key: words.reason(key, self._escaped),
            pvalue=partial(pvalue, words=words),
            one_in=one_in,
            slack_date=slack_date,
            user=user,
            points=partial(points, words=words),
            delta_dur=partial(delta_duration, words=words),
            prepend=lambda text, prefix: f"{prefix}{text}",
            answered=answered,
            logged_in=logged_in,
            sections=sections,
        )
        return env

    def entity(self, thing: CsatRow[Any] | AgentStates | Mapping[str, Any]) -> str:
        """What to call a row, an agent, an alert or a snapshot row: the directory's name,
        the vendor's, or its id in words."""
        return self.words.entity(*_entity_of(thing), self._escaped)

    def link(self, text: str, kind: str, id: str) -> str:
        """`text` as a link to the configured page for an id (`[links]`: ticket, agent,
        conversation); as it stands without one. The id goes into the URL quoted."""
        url = self.links.url(kind, plain(id))
        if not url or not text or len(url) > MAX_LINK:  # an id too long for a link stays text
            return text
        return f"<{url.replace('&', '&amp;')}|{text}>"

    def linked_entity(self, thing: CsatRow[Any] | AgentStates | Mapping[str, Any]) -> str:
        """`entity`, an agent linked to their page when `[links] agent` is set."""
        text = self.entity(thing)
        kind, id, _ = _entity_of(thing)
        within = membership(kind, id)
        if within is not None:
            kind, id = "agent", within[2]
        return self.link(text, "agent", id) if kind == "agent" else text

    def named(self, id: str, kind: str) -> str:
        """An id as a query names it (`skill Billing`): the directory's name, else the id."""
        return shown(self._escaped(kind, id) or id)

    def _escaped(self, kind: str, id: str) -> str | None:
        """The directory's name for an id, through the boundary (`safe.escape`): a name is
        a vendor's (or a person's) words, and the ids it is looked up by were escaped
        with the rest of the context, so they are looked up as the vendor sent them."""
        id = plain(id)
        name = self.names(kind, id, _SOURCE.get())
        if not name:
            self.missed.add((kind, id))  # the caller may ask the directory to look again
            return None
        return escape(name)

    def take_missed(self) -> dict[str, list[str]]:
        """The ids shown without a name since the last call, by kind (then forgotten)."""
        missed, self.missed = self.missed, set()
        found: dict[str, list[str]] = {}
        for kind, id in missed:
            found.setdefault(kind, []).append(id)
        return found

    def vendor_error(self, error: SourceError, source: str) -> Message:
        """A source that could not answer, in the words of `vendor_error.yml.j2`."""
        kind = type(error).__name__
        return self.render(
            "vendor_error.yml.j2", source=source, kind=kind, detail=error.detail, facts=error.facts
        )

    def said(self, error: BotError) -> str:
        """One line for the terminal and the log: a usage problem, a source nobody set up,
        refused credentials or a wrong region in the templates' words (they say what to
        change), with the vendor's detail; anything else as it stands. Never raises: it is
        called while handling another error (a deployment's template may not render)."""
        try:
            if isinstance(error, UsageError):
                return self.problem(error)
            if isinstance(error, NotConfigured | AuthRefused | WrongRegion):
                text = str(self.vendor_error(error, error.source)["text"])
                text = re.sub(r"^:[a-z_]+: ", "", text)  # the emoji is for Slack
                return text + (f" ({error.detail})" if error.detail else "")
        except Exception as exc:  # the error as it stands beats none
            log.warning("wording %s failed: %s", type(error).__name__, exc)
        return str(error)

    def problem(self, error: UsageError) -> str:
        """A usage error in the words of `_usage.j2`, for places that print it (`check`)."""
        module = self.env.get_template("_usage.j2").make_module({"tz": self.timezone.key})
        macro = module.problem  # type: ignore[attr-defined]  # a Jinja macro, made at run time
        return str(macro(error)).strip()

    def local(self, moment: datetime, fmt: str = "%H:%M") -> str:
        """A UTC moment in the team's time zone."""
        return moment.astimezone(self.timezone).strftime(fmt)

    def span(self, start: datetime, end: datetime) -> str:
        """`11:10–12:11`, or with weekdays when the span crosses midnight locally."""
        a, b = start.astimezone(self.timezone), end.astimezone(self.timezone)
        if a.date() == b.date():
            return f"{a:%H:%M}–{b:%H:%M}"
        fmt = "%a %H:%M" if (b.date() - a.date()).days < 7 else "%d %b %H:%M"
        return f"{a.strftime(fmt)} → {b.strftime(fmt)}"

    def templates(self) -> list[str]:
        """Every message template (partials start with `_`), the deployment's and built-in."""
        return sorted(
            {p.name for f in self.folders for p in f.glob("*.yml.j2") if not p.name.startswith("_")}
        )

    def overridden(self) -> list[str]:
        """The built-in files (templates, partials, words) the deployment's folder replaces."""
        if self.folder == DEFAULT_TEMPLATES:
            return []
        return sorted(
            p.name for p in self.folder.iterdir() if (DEFAULT_TEMPLATES / p.name).is_file()
        )

    def render(self, name: str, **context: Any) -> Message:
        """Render one template into a checked message, or raise RenderError."""
        safe = {key: outside(value) for key, value in context.items()}  # the one boundary
        naming = _SOURCE.set(_source_of(context))  # whose directory names this message's ids
        try:
            source = self.env.get_template(name).render(tz=self.timezone.key, **safe)
        except Exception as exc:
            if (error := self._template_error(name, exc)) is None:
                raise
            raise error from exc
        finally:
            _SOURCE.reset(naming)
        small = len(source) <= CHECKED_MAX_CHARS
        known = self._checked.get(source)
        if known is not None:  # rendered to these very characters before: read and checked
            return cast(
                Message, json.loads(known)
            )  # a fresh copy: callers may change their message
        if small and (same_shape := self._shapes.fill(source)) is not None:
            return same_shape  # only the strings differ from a message checked before
        message = _parsed(name, source)
        if not isinstance(message, dict) or "blocks" not in message:
            raise RenderError(name, None, "must render a mapping with `text` and `blocks`")
        problems = check_message(message)
        if problems:
            raise RenderError(name, None, "; ".join(problems))
        if small:
            self._remember(source, message)
            self._shapes.learn(source, message, _read)
        return message

    def _template_error(self, name: str, exc: Exception) -> RenderError | None:
        """What Jinja's failure to render `name` says, as a RenderError; None for any
        other error. Jinja is loaded by now: `env` raised it, or rendered."""
        import jinja2

        if isinstance(exc, jinja2.TemplateSyntaxError):
            return RenderError(exc.name or name, exc.lineno, exc.message or "syntax error")
        if isinstance(exc, jinja2.TemplateNotFound):
            where = " or ".join(str(f) for f in self.folders)
            return RenderError(name, None, f"'{exc.name}' not found in {where}")
        if isinstance(exc, jinja2.TemplateError | TypeError | ValueError):
            # |tojson on an undefined value raises TypeError, not UndefinedError
            return RenderError(*_template_line(name), str(exc))
        return None

    def _remember(self, source: str, message: Message) -> None:
        """Keep a message whose JSON reads back as the same message (YAML may make dates
        or number keys, which JSON would not give back as they were)."""
        try:
            known = json.dumps(message)
        except (TypeError, ValueError):
            return
        if json.loads(known) == message:
            self._checked.put(source, known)


MAX_LINK = 1000  # characters of a URL in a message: an id past it is shown, not linked


def _no_names(kind: str, id: str, source: str | None = None) -> str | None:
    return None


def _entity_of(thing: CsatRow[Any] | AgentStates | Mapping[str, Any]) -> tuple[str, str, Any]:
    """(kind, id, the vendor's name) of a row, an agent, or a snapshot row, alert or mover."""
    if isinstance(thing, Mapping):
        return thing["entity_kind"], thing["entity_id"], thing.get("entity_name")
    return (thing.kind if isinstance(thing, CsatRow) else "agent"), thing.id, thing.name


# the source of the message being rendered (its report's, query's or alert's): a context
# variable, as the loop and worker threads render at once
_SOURCE: ContextVar[str | None] = ContextVar("naming_source", default=None)


def _source_of(context: Mapping[str, Any]) -> str | None:
    for key in ("report", "query"):
        source = getattr(context.get(key), "source", None)
        if isinstance(source, str) and source:
            return source
    alert = context.get("alert")
    source = alert.get("source") if isinstance(alert, Mapping) else None
    return source if isinstance(source, str) and source else None


def _read(source: str) -> Any:
    import yaml

    return yaml.load(source, Loader=_loader())


def _parsed(name: str, source: str) -> Any:
    """`source` read as YAML, or a RenderError saying where it is not."""
    import yaml

    try:
        return _read(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (rendered line {mark.line + 1})" if mark else ""
        raise RenderError(name, None, f"not valid YAML{line}: {exc}") from exc


@cache
def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~5x faster


def _yaml_json(value: Any, **kwargs: Any) -> str:
    """JSON a YAML double-quoted scalar reads back as it was: YAML breaks lines at U+2028
    and U+2029, which JSON leaves as they are, so they go as escapes."""
    return json.dumps(value, **kwargs).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _printable(value: Any) -> Any:
    """What `{{ ... }}` may print: text and numbers. None, an error, a reason or a row
    printed as it is would put Python's repr in front of a person (a template written for
    another context, such as one copied from an earlier version): a RenderError instead."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    import jinja2

    if isinstance(value, jinja2.Undefined):
        return value  # `{{ x if y }}` when not y, which prints nothing
    raise TypeError(f"prints {type(value).__name__} {str(value)[:60]!r}: print text or numbers")


def _template_line(name: str) -> tuple[str, int | None]:
    """The innermost template frame of the exception being handled."""
    found: tuple[str, int | None] = (name, None)
    for frame in traceback.extract_tb(sys.exc_info()[2]):
        if frame.filename.endswith(".j2"):
            found = (Path(frame.filename).name, frame.lineno)
    return found


def check_message(message: Message) -> list[str]:
    """Every way the message breaks Slack's block models or limits; empty when fine.

    A message whose `type` is a view's (`home`, `modal`) may hold `MAX_VIEW_BLOCKS`."""
    problems: list[str] = []
    blocks = message.get("blocks") or []
    most = MAX_VIEW_BLOCKS if message.get("type") in VIEWS else MAX_BLOCKS
    if not isinstance(message.get("text"), str) or not message["text"].strip():
        problems.append("a message needs a plain `text` fallback")
    if len(blocks) > most:
        problems.append(f"{len(blocks)} blocks; Slack takes at most {most}")
    for i, raw in enumerate(blocks):
        block = Block.parse(raw)
        if block is None:
            problems.append(f"block {i}: not a Block Kit block: {raw!r:.80}")
            continue
        problems.extend(f"block {i} ({raw.get('type')}): {p}" for p in _within(block))
        problems.extend(f"block {i} ({raw.get('type')}): {p}" for p in _limits(raw))
    return problems


def _within(value: Any) -> Iterator[str]:
    """What breaks slack_sdk's rules in a block and every object in it: slack_sdk checks an
    object's own attributes, not the elements, options and texts it holds (an option's 75
    characters, a value's 150), and keeps a menu's options as the dicts it was given.
    A text object has no rules of its own: its holder checks its length."""
    if isinstance(value, TextObject):
        return
    if isinstance(value, JsonObject):
        try:
            value.validate_json()
        except SlackObjectFormationError as exc:
            yield str(exc)
        for name in sorted(value.attributes):
            inner = getattr(value, name, None)
            if name in _OPTIONS and inner:
                try:
                    inner = Option.parse_all(inner if isinstance(inner, list) else [inner])
                except (TypeError, SlackObjectFormationError):
                    yield f"{name}: not Block Kit options"
                    continue
            yield from _within(inner)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _within(item)


_OPTIONS = {"options", "initial_option", "initial_options"}  # kept as dicts by slack_sdk


def _limits(raw: dict[str, Any]) -> list[str]:
    text = (raw.get("text") or {}).get("text", "") if isinstance(raw.get("text"), dict) else ""
    kind = raw.get("type")
    problems = []
    if kind == "section" and len(text) > MAX_SECTION_TEXT:
        problems.append(f"text is {len(text)} characters; at most {MAX_SECTION_TEXT}")
    if kind == "header" and len(text) > MAX_HEADER_TEXT:
        problems.append(f"header is {len(text)} characters; at most {MAX_HEADER_TEXT}")
    fields = raw.get("fields") or []
    if len(fields) > MAX_FIELDS:
        problems.append(f"{len(fields)} fields; at most {MAX_FIELDS}")
    problems.extend(
        f"field {j} is {len(f.get('text', ''))} characters; at most {MAX_FIELD_TEXT}"
        for j, f in enumerate(fields)
        if len(f.get("text", "")) > MAX_FIELD_TEXT
    )
    elements = [raw.get("accessory"), *(raw.get("elements") or [])]
    fewest, most = OVERFLOW_OPTIONS
    problems.extend(  # slack_sdk takes one option; Slack refuses fewer than two
        f"an overflow menu has {len(e.get('options') or [])} options; {fewest} to {most}"
        for e in elements
        if isinstance(e, dict)
        and e.get("type") == "overflow"
        and not fewest <= len(e.get("options") or []) <= most
    )
    return problems
