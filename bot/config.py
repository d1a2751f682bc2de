"""Settings from the environment and the TOML file, parsed once: the only reader of `os.environ`.

`load()` turns both into frozen dataclasses: `Settings` for the process, and from the file
`Digest`, `AlertRules` and its `Rule`s. A TOML key is a dataclass field declared with
`key(reader, default)`: the allowed keys, their types and their bounds all come from the
fields, so each key is declared exactly once, and whoever reads a setting gets a typed
value instead of a dict to parse again. Every problem is a `ConfigError` naming where
(the file, or "environment"), the key, and what was expected; `load()` collects them all
so `check` can list every mistake.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError, ConfigErrors
from bot.query import SOURCES, Command, Ids, Query
from bot.schedule import cron_trigger
from bot.timefmt import parse_duration

ENV = "environment"
UTC_ZONE = ZoneInfo("UTC")
_PACKAGE = Path(__file__).resolve().parent
# a checkout keeps templates/ beside bot/; a wheel installs them as bot/templates
DEFAULT_TEMPLATES = next(
    (p for p in (_PACKAGE.parent / "templates", _PACKAGE / "templates") if p.is_dir()),
    _PACKAGE / "templates",
)


@dataclass(frozen=True)
class LivePersonSettings:
    account_id: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    sentinel_url: str | None = None
    account_config_url: str | None = None  # the accountConfigReadOnly host (names)
    domain_api_url: str = "https://api.liveperson.net"
    token_version: Literal["v1", "v2"] = "v1"  # LIVEPERSON_TOKEN_VERSION: sentinel's token URL

    @property
    def uses_oauth2(self) -> bool:
        return self.client_id is not None


@dataclass(frozen=True)
class LiveChatSettings:
    token: str = field(repr=False)
    account_id: str | None = None
    api_url: str = "https://api.livechatinc.com"
    version: str = "3.6"


# --- how a TOML key is read -------------------------------------------------------------

Reader = Callable[[Any], Any]


class Invalid(ValueError):
    """What a value should have been: the expectation part of a ConfigError."""


def key(read: Reader, default: Any = MISSING, *, factory: Callable[[], Any] | None = None) -> Any:
    """A TOML key: how its value is read (`read` raises Invalid), and its default.

    Without a default the key is required. The field's name is the key's name in the file.
    """
    if factory is not None:
        return field(default_factory=factory, metadata={"read": read})
    return field(default=default, metadata={"read": read})


def text(expected: str = "a non-empty string", *, blank: bool = False) -> Reader:
    """A string; an empty one only when `blank`."""

    def read(value: Any) -> str:
        if not isinstance(value, str) or not (blank or value.strip()):
            raise Invalid(expected)
        return value

    return read


def choice(*options: str, expected: str = "") -> Reader:
    def read(value: Any) -> str:
        if value not in options:
            raise Invalid(expected or f"one of {', '.join(options)}")
        return str(value)

    return read


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("true or false")
    return value


def bounded(low: float, high: float | None = None, *, whole: bool = False) -> Reader:
    """A number (a whole one when `whole`) from `low`, up to `high` when given."""
    kind = "a whole number" if whole else "a number"
    span = f"from {low}" + (f" to {high}" if high is not None else " or more")

    def read(value: Any) -> float:
        ok = not isinstance(value, bool) and isinstance(value, int if whole else int | float)
        if not ok or value < low or (high is not None and value > high):
            raise Invalid(f"{kind} {span}")
        return value  # type: ignore[no-any-return]  # checked just above

    return read


def zone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder: OSError
        raise Invalid(f"an IANA time zone like Europe/Berlin, got {value!r}") from None


def duration(value: Any) -> int:
    """`24h` in the file, minutes in the dataclass."""
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def folder(value: Any) -> Path:
    """A path as written; `_with_file` makes it relative to the file and checks it."""
    return Path(str(value))


CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,20}")
MENTION = re.compile(
    r"<!subteam\^S[A-Z0-9]{2,20}(\|[^<>]{0,80})?>|<@[UW][A-Z0-9]{2,20}>|<!here>|<!channel>"
)


def channel_id(value: Any) -> str:
    """A channel's id (`C0123456789`): a name (`#leads`) is not what Slack posts to by."""
    expected = "a channel id such as C0123456789 (in Slack: the channel's details, at the bottom)"
    if not isinstance(value, str) or not value.strip():
        raise Invalid(expected)
    if not CHANNEL_ID.fullmatch(value.strip()):
        raise Invalid(f"{expected}, not a name like {str(value)[:40]!r}")
    return value.strip()


def mention(value: Any) -> str:
    """Who is called in: Slack's own mention syntax, or "" for nobody. `@support-leads`
    as plain text reaches no one, so it is refused rather than posted."""
    expected = (
        "a mention Slack pings, such as <!subteam^S0123ABCD> (a user group), "
        "<@U0123ABCD> (a person) or <!here>, or empty for nobody"
    )
    if not isinstance(value, str):
        raise Invalid(expected)
    rest = MENTION.sub(" ", value).strip()
    if rest:
        raise Invalid(f"{expected}; {rest[:40]!r} would ping nobody")
    return value.strip()


def ids(value: Any) -> Ids:
    if value == "all":
        return "all"
    if not isinstance(value, list) or not value or not all(isinstance(v, int | str) for v in value):
        raise Invalid('"all" or a list of ids')
    return tuple(str(v) for v in value)


def cron(value: Any) -> str:
    text()(value)
    problem = cron_problem(value)
    if problem:
        raise Invalid(problem)
    return str(value)


def cron_problem(expr: str) -> str | None:
    """What is wrong with a five-field cron expression, or None."""
    if len(expr.split()) != 5:
        return f"five fields (minute hour day month weekday), got {expr!r}"
    try:
        trigger = cron_trigger(expr, UTC_ZONE)  # the scheduler's own reading: cron weekdays
    except ValueError as exc:
        return f"a valid cron expression like '0 9 * * 1-5' ({exc})"
    # a date that never comes (31 April, 30 February) would have the scheduler search to
    # the year 9999 at every look: bounded here, it answers in a millisecond
    now = datetime.now(UTC_ZONE)
    trigger.end_date = now + timedelta(days=8 * 366)
    if trigger.get_next_fire_time(None, now) is None:
        return f"a schedule that runs: no date in the next 8 years matches {expr!r}"
    return None


def keys_of(*classes: type) -> list[str]:
    """The TOML keys the dataclasses declare, sorted."""
    return sorted(f.name for cls in classes for f in fields(cls) if "read" in f.metadata)


def read_table(
    classes: tuple[type, ...], data: Mapping[str, Any], where: str, label: str,
    errors: list[ConfigError],
) -> dict[str, Any] | None:  # fmt: skip
    """The keys of one TOML table, each read by its field; None when any was wrong.

    Unknown keys come first (naming every key allowed), then each field in order;
    a required key that is absent is read as None, so its reader says what it wants.
    """
    before = len(errors)
    allowed = keys_of(*classes)
    for name in sorted(set(data) - set(allowed)):
        errors.append(ConfigError(where, f"{label}.{name}", f"one of {', '.join(allowed)}"))
    values: dict[str, Any] = {}
    for cls in classes:
        for f in fields(cls):
            if "read" not in f.metadata:
                continue
            required = f.default is MISSING and f.default_factory is MISSING
            if f.name not in data and not required:
                continue
            try:
                values[f.name] = f.metadata["read"](data.get(f.name))
            except Invalid as exc:
                errors.append(ConfigError(where, f"{label}.{f.name}", str(exc)))
    return values if len(errors) == before else None


SLACK_ADMIN = re.compile(r"[UWS][A-Z0-9]{2,20}")  # a user (U, W) or a user group (S)


def admin_ids(value: Any) -> tuple[str, ...]:
    """`[slack] admins`: user ids and user-group ids, never names (names change)."""
    expected = 'a list of user ids (U…) and user-group ids (S…), such as ["U0123ABCD", "S0LEADS"]'
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(expected)
    bad = next((v for v in value if not SLACK_ADMIN.fullmatch(v.strip())), None)
    if bad is not None:
        raise Invalid(f"{expected}; {str(bad)[:40]!r} is not one")
    return tuple(dict.fromkeys(v.strip() for v in value))


@dataclass(frozen=True)
class SlackSettings:
    """Slack's credentials from the environment, and `[slack]` from the file."""

    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = "https://slack.com/api/"
    # who may change digests, watches and alert settings from the Home tab; none listed:
    # the workspace's admins and owners
    admins: tuple[str, ...] = key(admin_ids, ())


# --- what the file declares -------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """One `[[digest]]`: what to post (or only watch, with `post = false`), where and when."""

    name: str = key(text())
    channel: str = key(channel_id)
    cron: str = key(cron)  # five fields, in the digest's time zone, weekdays as cron counts
    kind: Literal["csat", "availability"] = key(
        choice("csat", "availability", expected="csat or availability"), "csat"
    )
    source: str | None = key(choice(*SOURCES), None)  # None: the default source
    skills: Ids | None = key(ids, None)  # at most one of skills, agents, groups
    agents: Ids | None = key(ids, None)
    groups: Ids | None = key(ids, None)
    timeframe: int = key(duration, 24 * 60)  # minutes; the file says "24h"
    timezone: ZoneInfo = key(zone, UTC_ZONE)  # the file's top-level time zone when absent
    template: str = key(text(), "")  # "" means digest_<kind>.yml.j2
    post: bool = key(flag, True)

    @property
    def template_file(self) -> str:
        """The template it renders: its own, or the built-in one of its kind."""
        return self.template or f"digest_{self.kind}.yml.j2"

    @property
    def unit(self) -> str:
        """Whose numbers: skill, agent or group; the whole account (CSAT) or every agent."""
        for unit in ("skill", "agent", "group"):
            if getattr(self, unit + "s") is not None:
                return unit
        return "agent" if self.kind == "availability" else "account"

    @property
    def ids(self) -> Ids | None:
        chosen = {"skill": self.skills, "agent": self.agents, "group": self.groups}.get(self.unit)
        if chosen is not None:
            return chosen
        return "all" if self.kind == "availability" else None

    @property
    def series(self) -> str:
        """Where its snapshots are kept, so each run compares with its own previous one."""
        return f"digest:{self.name}"

    def query(self) -> Query:
        command: Command = "/csat" if self.kind == "csat" else "/agent-states"
        return Query(command, self.source, self.unit, self.ids, self.timeframe)


@dataclass(frozen=True)
class Rule:
    """Alert thresholds for one entity: `[alerts]` sets them for all, and
    `[alerts.thresholds."skill:4"]` (or "agent:1001", "group:2", "total:") for one."""

    min_answers: int = key(bounded(0, whole=True), 20)  # below this many answers, never alert
    drop_points: float = key(bounded(0, 100), 5.0)  # CSAT points that matter
    confidence: float = key(bounded(0.5, 0.9999), 0.95)
    baseline_runs: int = key(bounded(1, 100, whole=True), 7)  # snapshots pooled as baseline
    worse_points: float = key(bounded(0, 100), 5.0)  # this much deeper than at opening: worse
    drop_share: float = key(bounded(0, 1), 0.3)  # availability: logged-in time this share below
    away_points: float = key(bounded(0, 100), 10.0)  # availability: Away share this much above


THRESHOLD_KEY = re.compile(r"(total|skill|agent|group):[^:]*")


def thresholds(value: Any) -> dict[str, Any]:
    """The `[alerts.thresholds]` table as it stands; each entry is read as a Rule later."""
    if not isinstance(value, dict):
        raise Invalid('a table like "skill:4" = {...}')
    return value


@dataclass(frozen=True)
class AlertRules:
    """`[alerts]`: where drop and detractor alerts go, who is called in, and the thresholds."""

    channel: str | None = key(lambda v: channel_id(v) if v != "" else None, None)
    mention: str = key(mention, "")
    thresholds: Mapping[str, Rule] = key(thresholds, factory=dict)  # "skill:4" -> its Rule
    rule: Rule = Rule()  # the table's own threshold keys: the default for every entity

    def rule_for(self, entity_kind: str, entity_id: str) -> Rule:
        return self.thresholds.get(f"{entity_kind}:{entity_id}", self.rule)

    @property
    def baseline_runs(self) -> int:
        """The most earlier snapshots any rule pools."""
        return max([self.rule.baseline_runs, *(r.baseline_runs for r in self.thresholds.values())])


def named(value: Any) -> dict[str, str]:
    """`[names.agents]`: ids (quoted keys) to the names people know them by."""
    if not isinstance(value, dict):
        raise Invalid('a table of ids and names, such as "1007" = "Sam Lee"')
    bad = next((k for k, v in value.items() if not isinstance(v, str) or not v.strip()), None)
    if bad is not None:
        raise Invalid(f'a name for each id (id {bad!r} has none), such as "1007" = "Sam Lee"')
    return {str(k).strip(): v.strip() for k, v in value.items()}


@dataclass(frozen=True)
class NameOverrides:
    """`[names.agents]`, `[names.skills]`, `[names.groups]`: names for ids, laid over every
    source's directory (the configured name wins); the `ingested` source has no other."""

    agents: Mapping[str, str] = key(named, factory=dict)
    skills: Mapping[str, str] = key(named, factory=dict)
    groups: Mapping[str, str] = key(named, factory=dict)

    def by_kind(self) -> dict[str, Mapping[str, str]]:
        found = {"agent": self.agents, "skill": self.skills, "group": self.groups}
        return {kind: names for kind, names in found.items() if names}


LINK_FIELDS = re.compile(r"\{(\w*)\}")


def link(*allowed: str) -> Reader:
    """A URL template: http(s), with `{id}` (or the placeholders `allowed`) where ids go."""

    def read(value: Any) -> str:
        shown = " or ".join(f"{{{a}}}" for a in allowed)
        expected = f"an http(s) URL with {shown}, such as https://example.com/x/{{{allowed[0]}}}"
        if not isinstance(value, str) or not re.match(r"https?://[^\s/]+", value.strip()):
            raise Invalid(expected)
        used = set(LINK_FIELDS.findall(value))
        if not used & set(allowed) or used - set(allowed) or re.search(r"\s|[<>|]", value):
            raise Invalid(expected)
        return value.strip()

    return read


@dataclass(frozen=True)
class Links:
    """`[links]`: where people go next; each a URL template, empty when not set."""

    ticket: str = key(link("ticket_id", "id"), "")  # a survey's ticket, by its id
    agent: str = key(link("id"), "")  # an agent's page, by the vendor's agent id
    conversation: str = key(link("id"), "")  # a conversation; tickets link here without `ticket`

    def url(self, kind: str, id: str) -> str:
        """The link for an id, "" without a template; the id is URL-quoted."""
        from urllib.parse import quote

        template = getattr(self, kind, "") if kind in ("ticket", "agent", "conversation") else ""
        if kind == "ticket" and not template:  # a survey's ticket is often the conversation
            template = self.conversation
        if not template or not id:
            return ""
        quoted = quote(id, safe="@")
        return template.replace("{ticket_id}", quoted).replace("{id}", quoted)


_ZERO = re.compile(r"0+\s*(m|min|mins|h|hr|hrs|d|day|days)?")


def pause(value: Any) -> int:
    """A duration in minutes, where `0m` (or `0`) means none: `1h` in the file, 60 here."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        if _ZERO.fullmatch(str(value).strip().lower()):
            return 0
        try:
            return parse_duration(str(value))
        except ValueError:
            pass
    raise Invalid(f"a duration like 1h, 30m or 0m (every time), got {str(value)[:40]!r}")


_HOURS = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])\s*[-–]\s*([01]?[0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class QuietHours:
    """A stretch of the day, on the clock of the configured time zone, that may wrap
    midnight (`20:00-08:00`): from `start` up to, not including, `end`."""

    start: dt_time
    end: dt_time

    def covers(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether `moment` falls inside, as the wall clock in `zone` reads it then."""
        local = moment.astimezone(zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # wraps midnight


def quiet_hours(value: Any) -> QuietHours:
    expected = 'two different times of day like "20:00-08:00" (it may wrap midnight)'
    found = _HOURS.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise Invalid(f"{expected}, got {str(value)[:40]!r}")
    h1, m1, h2, m2 = (int(part) for part in found.groups())
    if (h1, m1) == (h2, m2):
        raise Invalid(f"{expected}, got {value!r}")
    return QuietHours(dt_time(h1, m1), dt_time(h2, m2))


@dataclass(frozen=True)
class DetractorRules:
    """`[detractors]`: how often a detractor message may call in the `[alerts] mention`."""

    mention_every: int = key(pause, 60)  # minutes; 0: every burst; the file says "1h"
    quiet_hours: QuietHours | None = key(quiet_hours, None)  # in the top-level `timezone`

    @property
    def every(self) -> timedelta:
        return timedelta(minutes=self.mention_every)


def retention(value: Any) -> int:
    """How long history is kept: `400d` in the file, minutes here; at least a day."""
    minutes = duration(value)
    if minutes < 1440:
        raise Invalid(f"a duration of a day or more, like 400d or 90d, got {str(value)[:40]!r}")
    return minutes


@dataclass(frozen=True)
class HistoryRules:
    """`[history]`: LivePerson's hourly history, kept beyond its 24 hours by the bot.

    `collect = false` (or BOT_COLLECT=off) stops `serve`/`socket` collecting it;
    `python -m bot collect` still collects once when asked to."""

    keep: int = key(retention, 400 * 1440)  # minutes; the file says "400d"
    collect: bool = key(flag, True)

    @property
    def kept(self) -> timedelta:
        return timedelta(minutes=self.keep)


@dataclass(frozen=True)
class Settings:
    """Everything a process is configured with: the environment, then the file."""

    slack: SlackSettings = SlackSettings()
    liveperson: LivePersonSettings | None = None
    livechat: LiveChatSettings | None = None
    maestroqa_url: str = "https://app.maestroqa.com"
    maestroqa_token: str | None = field(default=None, repr=False)
    ingest_token: str | None = field(default=None, repr=False)
    db_path: str = "bot.db"
    config_path: str = "bot.toml"
    config_found: bool = False
    scheduler: bool = True
    port: int = 3000
    vendor_timeout: float = 10.0
    # from the file: the top-level keys are these fields' `key`s, and digests and alerts
    timezone: ZoneInfo = key(zone, UTC_ZONE)
    default_source: str | None = key(choice(*SOURCES), None)
    templates: Path = key(folder, DEFAULT_TEMPLATES)  # relative to the file's folder
    digests: tuple[Digest, ...] = ()  # [[digest]]
    alerts: AlertRules = AlertRules()  # [alerts]
    names: NameOverrides = NameOverrides()  # [names.agents], [names.skills], [names.groups]
    links: Links = Links()  # [links]
    detractors: DetractorRules = DetractorRules()  # [detractors]
    history: HistoryRules = HistoryRules()  # [history]; BOT_COLLECT=off: collect = false
    alerts_in_file: frozenset[str] = frozenset()  # the [alerts] keys the file sets itself

    def digest(self, name: str) -> Digest | None:
        return next((d for d in self.digests if d.name == name), None)


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read everything; raise ConfigErrors listing every problem found."""
    env = os.environ if env is None else env
    errors: list[ConfigError] = []

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name, "").strip()
        return value or default

    port = get("PORT", "3000") or "3000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        errors.append(ConfigError(ENV, "PORT", f"a TCP port number, got {port!r}"))
    timeout = get("BOT_VENDOR_TIMEOUT", "10") or "10"
    try:
        vendor_timeout = float(timeout)
        if not math.isfinite(vendor_timeout) or vendor_timeout <= 0:
            raise ValueError
    except ValueError:
        errors.append(
            ConfigError(ENV, "BOT_VENDOR_TIMEOUT", f"seconds, such as 10, got {timeout!r}")
        )
        vendor_timeout = 10.0
    settings = Settings(
        slack=SlackSettings(
            bot_token=get("SLACK_BOT_TOKEN"),
            signing_secret=get("SLACK_SIGNING_SECRET"),
            app_token=get("SLACK_APP_TOKEN"),
            api_url=_slash(get("SLACK_API_URL", "https://slack.com/api/")),
        ),
        liveperson=_liveperson(get, errors),
        livechat=_livechat(get),
        maestroqa_url=(get("MAESTROQA_API_URL") or "https://app.maestroqa.com").rstrip("/"),
        maestroqa_token=get("MAESTROQA_API_TOKEN"),
        ingest_token=get("BOT_INGEST_TOKEN"),
        db_path=get("BOT_DB", "bot.db") or "bot.db",
        config_path=get("BOT_CONFIG", "bot.toml") or "bot.toml",
        scheduler=(get("BOT_SCHEDULER", "on") or "on").lower() != "off",
        port=int(port) if port.isdigit() else 3000,
        vendor_timeout=vendor_timeout,
    )
    settings = _with_file(settings, errors)
    if (get("BOT_COLLECT", "on") or "on").lower() == "off":  # the tests' processes, say
        settings = replace(settings, history=replace(settings.history, collect=False))
    if errors:
        raise ConfigErrors(errors)
    return settings


def _slash(url: str | None) -> str:
    """slack_sdk needs the trailing slash on its base URL."""
    url = url or "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


def _liveperson(
    get: Callable[[str, str | None], str | None], errors: list[ConfigError]
) -> LivePersonSettings | None:
    account = get("LIVEPERSON_ACCOUNT_ID", None)
    oauth2 = {k: get(f"LIVEPERSON_{k}", None) for k in ("CLIENT_ID", "CLIENT_SECRET")}
    oauth1 = {
        k: get(f"LIVEPERSON_{k}", None)
        for k in ("CONSUMER_KEY", "CONSUMER_SECRET", "TOKEN", "TOKEN_SECRET")
    }
    for group in (oauth2, oauth1):
        given = [k for k, v in group.items() if v]
        if given and len(given) < len(group):
            missing = [f"LIVEPERSON_{k}" for k, v in group.items() if not v]
            errors.append(ConfigError(ENV, missing[0], f"set together with LIVEPERSON_{given[0]}"))
    has_keys = all(oauth2.values()) or all(oauth1.values())
    if not account:
        if has_keys:
            errors.append(ConfigError(ENV, "LIVEPERSON_ACCOUNT_ID", "your LivePerson site id"))
        return None
    if not has_keys:
        errors.append(
            ConfigError(
                ENV,
                "LIVEPERSON_CLIENT_ID",
                "LIVEPERSON_CLIENT_ID and LIVEPERSON_CLIENT_SECRET (or the four legacy "
                "LIVEPERSON_CONSUMER_KEY/_SECRET, LIVEPERSON_TOKEN/_SECRET keys)",
            )
        )
        return None
    use2 = all(oauth2.values())
    version = (get("LIVEPERSON_TOKEN_VERSION", None) or "v1").strip().lower()
    if version not in ("v1", "v2", "1", "2"):
        errors.append(ConfigError(ENV, "LIVEPERSON_TOKEN_VERSION", f"v1 or v2, got {version!r}"))
    return LivePersonSettings(
        account_id=account,
        client_id=oauth2["CLIENT_ID"] if use2 else None,
        client_secret=oauth2["CLIENT_SECRET"] if use2 else None,
        consumer_key=None if use2 else oauth1["CONSUMER_KEY"],
        consumer_secret=None if use2 else oauth1["CONSUMER_SECRET"],
        token=None if use2 else oauth1["TOKEN"],
        token_secret=None if use2 else oauth1["TOKEN_SECRET"],
        base_url=(get("LIVEPERSON_BASE_URL", None) or "").rstrip("/") or None,
        sentinel_url=(get("LIVEPERSON_SENTINEL_URL", None) or "").rstrip("/") or None,
        account_config_url=(get("LIVEPERSON_ACCOUNT_CONFIG_URL", None) or "").rstrip("/") or None,
        domain_api_url=(
            get("LIVEPERSON_DOMAIN_API_URL", None) or "https://api.liveperson.net"
        ).rstrip("/"),
        token_version="v2" if version in ("v2", "2") else "v1",
    )


def _livechat(get: Callable[[str, str | None], str | None]) -> LiveChatSettings | None:
    token = get("LIVECHAT_TOKEN", None)
    if not token:
        return None
    return LiveChatSettings(
        token=token,
        account_id=get("LIVECHAT_ACCOUNT_ID", None),
        api_url=(get("LIVECHAT_API_URL", None) or "https://api.livechatinc.com").rstrip("/"),
        version=get("LIVECHAT_API_VERSION", None) or "3.6",
    )


# --- the TOML file -------------------------------------------------------------------

# the file's tables; its plain keys are Settings' `key` fields
TABLES = ("digest", "alerts", "names", "links", "detractors", "history", "slack")


def _with_file(settings: Settings, errors: list[ConfigError]) -> Settings:
    path = Path(settings.config_path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:  # absent: the defaults
        return settings
    except OSError as exc:  # a folder, a file the bot's user may not read
        errors.append(ConfigError(where, "(file)", f"a file the bot can read ({exc.strerror})"))
        return settings
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        errors.append(ConfigError(where, "(file)", f"valid TOML ({exc})"))
        return settings
    top = sorted([*keys_of(Settings), *TABLES])
    for name in sorted(set(data) - set(top)):
        errors.append(ConfigError(where, name, f"one of {', '.join(top)}"))
    found: dict[str, Any] = {"config_found": True}
    for f in fields(Settings):
        if "read" in f.metadata and f.name in data:
            try:
                found[f.name] = f.metadata["read"](data[f.name])
            except Invalid as exc:
                errors.append(ConfigError(where, f.name, str(exc)))
    if "templates" in found:
        found["templates"] = (path.parent / found["templates"]).resolve()
        if not found["templates"].is_dir():
            expected = f"a folder of templates ({found['templates']})"
            errors.append(ConfigError(where, "templates", expected))
    timezone = found.get("timezone", settings.timezone)
    found["digests"] = _digests(data.get("digest", []), where, timezone, errors)
    alerts_table = data.get("alerts", {})
    found["alerts"] = _alerts(alerts_table, where, errors)
    if isinstance(alerts_table, dict):  # the keys Slack's Home tab may not change
        found["alerts_in_file"] = frozenset(str(k) for k in alerts_table)
    slack = data.get("slack", {})
    if not isinstance(slack, dict):
        errors.append(ConfigError(where, "slack", "a [slack] table"))
    elif (values := read_table((SlackSettings,), slack, where, "slack", errors)) is not None:
        found["slack"] = replace(settings.slack, **values)
    tables = (
        ("names", NameOverrides),
        ("links", Links),
        ("detractors", DetractorRules),
        ("history", HistoryRules),
    )
    for table, cls in tables:
        value = data.get(table, {})
        if not isinstance(value, dict):
            errors.append(ConfigError(where, table, f"a [{table}] table"))
            continue
        values = read_table((cls,), value, where, table, errors)
        if values is not None:
            found[table] = cls(**values)
    return replace(settings, **found)


def _digests(
    tables: Any, where: str, timezone: ZoneInfo, errors: list[ConfigError]
) -> tuple[Digest, ...]:
    if not isinstance(tables, list):
        errors.append(ConfigError(where, "digest", "[[digest]] tables"))
        return ()
    found: list[Digest] = []
    names: set[str] = set()
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            errors.append(ConfigError(where, f"digest[{i}]", "a table"))
            continue
        label = f"digest[{i}]" + (f" ({table['name']})" if "name" in table else "")
        name = table.get("name")
        if isinstance(name, str) and name in names:
            errors.append(
                ConfigError(where, f"digest[{i}].name", f"a name not used before ({name!r} is)")
            )
        if isinstance(name, str):
            names.add(name)
        digest = read_digest(table, where, label, timezone, errors)
        if digest is not None:
            found.append(digest)
    return tuple(found)


def read_digest(
    table: Mapping[str, Any], where: str, label: str, timezone: ZoneInfo,
    errors: list[ConfigError],
) -> Digest | None:  # fmt: skip
    """One `[[digest]]` table, from the file or from Slack's Home tab (the same rules):
    the Digest, or None with each problem added to `errors` as `{label}.{key}`."""
    before = len(errors)
    values = read_table((Digest,), table, where, label, errors)
    units = [unit for unit in ("skills", "agents", "groups") if unit in table]
    if len(units) > 1:
        errors.append(ConfigError(where, f"{label}.{units[1]}", f"only one of {', '.join(units)}"))
    if values is None or len(errors) > before:
        return None
    return Digest(**{"timezone": timezone, **values})


def read_alerts(
    rules: AlertRules, in_file: frozenset[str], table: Mapping[str, Any], where: str,
    errors: list[ConfigError],
) -> AlertRules:  # fmt: skip
    """`[alerts]` keys set in Slack's Home tab laid over the file's: a key the file sets
    itself stays as the file says. Read by the same readers; a bad key adds to `errors`."""
    chosen = {k: v for k, v in table.items() if k not in in_file and k != "thresholds"}
    values = read_table((AlertRules, Rule), chosen, where, "alerts", errors)
    if not values:
        return rules
    rule_keys = keys_of(Rule)
    rule = replace(rules.rule, **{k: v for k, v in values.items() if k in rule_keys})
    plain = {k: v for k, v in values.items() if k not in rule_keys}
    # an entity's own `[alerts.thresholds."skill:4"]` stay as the file says
    return replace(rules, **plain, rule=rule)


def _alerts(table: Any, where: str, errors: list[ConfigError]) -> AlertRules:
    if not isinstance(table, dict):
        errors.append(ConfigError(where, "alerts", "an [alerts] table"))
        return AlertRules()
    values = read_table((AlertRules, Rule), table, where, "alerts", errors)
    if values is None:
        return AlertRules()
    rule_keys = keys_of(Rule)
    rule = Rule(**{k: v for k, v in values.items() if k in rule_keys})
    overrides: dict[str, Rule] = {}
    for entity, entry in values.pop("thresholds", {}).items():
        label = f"alerts.thresholds.{entity}"
        if not THRESHOLD_KEY.fullmatch(entity):
            errors.append(ConfigError(where, label, 'a key like "skill:4", "agent:1001", "total:"'))
        if not isinstance(entry, dict):
            errors.append(ConfigError(where, label, "a table of thresholds"))
            continue
        own = read_table((Rule,), entry, where, label, errors)
        if own is not None:
            overrides[entity] = replace(rule, **own)
    plain = {k: v for k, v in values.items() if k not in rule_keys}
    return AlertRules(**plain, thresholds=overrides, rule=rule)
