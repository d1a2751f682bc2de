"""Settings from the environment and the TOML file: the only reader of `os.environ`.

Every problem is a `ConfigError` naming where (the file, or "environment"), the key,
and what was expected. `load()` collects them all so `check` can list every mistake.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError, ConfigErrors
from bot.query import SOURCES
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
class SlackSettings:
    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = "https://slack.com/api/"


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
    domain_api_url: str = "https://api.liveperson.net"

    @property
    def uses_oauth2(self) -> bool:
        return self.client_id is not None


@dataclass(frozen=True)
class LiveChatSettings:
    token: str = field(repr=False)
    account_id: str | None = None
    api_url: str = "https://api.livechatinc.com"
    version: str = "3.6"


@dataclass(frozen=True)
class Settings:
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
    timezone: ZoneInfo = UTC_ZONE
    default_source: str | None = None
    templates: Path = DEFAULT_TEMPLATES
    digests: tuple[dict[str, Any], ...] = ()
    alerts: dict[str, Any] = field(default_factory=dict)


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
        domain_api_url=(
            get("LIVEPERSON_DOMAIN_API_URL", None) or "https://api.liveperson.net"
        ).rstrip("/"),
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

TOP_KEYS = {"timezone", "default_source", "templates", "digest", "alerts"}
DIGEST_KEYS = {
    "name",
    "kind",
    "source",
    "channel",
    "cron",
    "skills",
    "agents",
    "groups",
    "timeframe",
    "timezone",
    "template",
    "post",
}
ALERT_KEYS = {
    "channel",
    "mention",
    "min_answers",
    "drop_points",
    "confidence",
    "baseline_runs",
    "worse_points",
    "drop_share",
    "away_points",
    "thresholds",
}
RULE_NUMBERS = {  # key: (lowest, highest) accepted
    "min_answers": (0, None),
    "drop_points": (0, 100),
    "confidence": (0.5, 0.9999),
    "baseline_runs": (1, 100),
    "worse_points": (0, 100),
    "drop_share": (0, 1),
    "away_points": (0, 100),
}


def _with_file(settings: Settings, errors: list[ConfigError]) -> Settings:
    path = Path(settings.config_path)
    if not path.exists():
        return settings
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        errors.append(ConfigError(where, "(file)", f"valid TOML ({exc})"))
        return settings
    for key in sorted(set(data) - TOP_KEYS):
        errors.append(ConfigError(where, key, f"one of {', '.join(sorted(TOP_KEYS))}"))
    tz = _zone(where, "timezone", data.get("timezone", "UTC"), errors) or settings.timezone
    default = data.get("default_source")
    if default is not None and default not in SOURCES:
        errors.append(ConfigError(where, "default_source", f"one of {', '.join(SOURCES)}"))
        default = None
    templates = settings.templates
    if "templates" in data:
        templates = (path.parent / str(data["templates"])).resolve()
        if not templates.is_dir():
            errors.append(ConfigError(where, "templates", f"a folder of templates ({templates})"))
    digests = data.get("digest", [])
    if not isinstance(digests, list):
        errors.append(ConfigError(where, "digest", "[[digest]] tables"))
        digests = []
    names: set[str] = set()
    for i, digest in enumerate(digests):
        _check_digest(where, i, digest, errors)
        name = digest.get("name") if isinstance(digest, dict) else None
        if isinstance(name, str) and name in names:
            errors.append(
                ConfigError(where, f"digest[{i}].name", f"a name not used before ({name!r} is)")
            )
        if isinstance(name, str):
            names.add(name)
    alerts = data.get("alerts", {})
    if not isinstance(alerts, dict):
        errors.append(ConfigError(where, "alerts", "an [alerts] table"))
        alerts = {}
    _check_alerts(where, alerts, errors)
    return Settings(
        **{
            **settings.__dict__,
            "config_found": True,
            "timezone": tz,
            "default_source": default,
            "templates": templates,
            "digests": tuple(d for d in digests if isinstance(d, dict)),
            "alerts": alerts,
        }
    )


def _zone(where: str, key: str, name: object, errors: list[ConfigError]) -> ZoneInfo | None:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder: OSError
        errors.append(
            ConfigError(where, key, f"an IANA time zone like Europe/Berlin, got {name!r}")
        )
        return None


def _check_digest(where: str, i: int, digest: object, errors: list[ConfigError]) -> None:
    if not isinstance(digest, dict):
        errors.append(ConfigError(where, f"digest[{i}]", "a table"))
        return
    label = f"digest[{i}]" + (f" ({digest['name']})" if "name" in digest else "")
    for key in sorted(set(digest) - DIGEST_KEYS):
        errors.append(
            ConfigError(where, f"{label}.{key}", f"one of {', '.join(sorted(DIGEST_KEYS))}")
        )
    for key in ("name", "channel", "cron"):
        if not isinstance(digest.get(key), str) or not digest[key].strip():
            errors.append(ConfigError(where, f"{label}.{key}", "a non-empty string"))
    if digest.get("kind", "csat") not in ("csat", "availability"):
        errors.append(ConfigError(where, f"{label}.kind", "csat or availability"))
    if "source" in digest and digest["source"] not in SOURCES:
        errors.append(ConfigError(where, f"{label}.source", f"one of {', '.join(SOURCES)}"))
    if isinstance(digest.get("cron"), str):
        problem = cron_problem(digest["cron"])
        if problem:
            errors.append(ConfigError(where, f"{label}.cron", problem))
    for key in ("skills", "agents", "groups"):
        value = digest.get(key)
        if (
            value is not None
            and value != "all"
            and not (isinstance(value, list) and all(isinstance(v, int | str) for v in value))
        ):
            errors.append(ConfigError(where, f"{label}.{key}", '"all" or a list of ids'))
    if "timeframe" in digest:
        try:
            parse_duration(str(digest["timeframe"]))
        except ValueError as exc:
            errors.append(ConfigError(where, f"{label}.timeframe", str(exc)))
    if "timezone" in digest:
        _zone(where, f"{label}.timezone", digest["timezone"], errors)
    if "post" in digest and not isinstance(digest["post"], bool):
        errors.append(ConfigError(where, f"{label}.post", "true or false"))


def cron_problem(cron: str) -> str | None:
    """What is wrong with a five-field cron expression, or None."""
    if len(cron.split()) != 5:
        return f"five fields (minute hour day month weekday), got {cron!r}"
    from bot.schedule import cron_trigger  # the scheduler's own reading: cron weekdays

    try:
        cron_trigger(cron, UTC_ZONE)
    except ValueError as exc:
        return f"a valid cron expression like '0 9 * * 1-5' ({exc})"
    return None


def _check_alerts(where: str, alerts: dict[str, Any], errors: list[ConfigError]) -> None:
    for key in sorted(set(alerts) - ALERT_KEYS):
        errors.append(
            ConfigError(where, f"alerts.{key}", f"one of {', '.join(sorted(ALERT_KEYS))}")
        )
    if "channel" in alerts and not isinstance(alerts["channel"], str):
        errors.append(ConfigError(where, "alerts.channel", "a channel id such as C0123456789"))
    _check_rule(where, "alerts", alerts, errors)
    thresholds = alerts.get("thresholds", {})
    if not isinstance(thresholds, dict):
        errors.append(ConfigError(where, "alerts.thresholds", 'a table like "skill:4" = {...}'))
        return
    for entity, rule in thresholds.items():
        label = f"alerts.thresholds.{entity}"
        if not re.fullmatch(r"(total|skill|agent|group):[^:]*", entity):
            errors.append(ConfigError(where, label, 'a key like "skill:4", "agent:1001", "total:"'))
        if not isinstance(rule, dict):
            errors.append(ConfigError(where, label, "a table of thresholds"))
            continue
        for key in sorted(set(rule) - set(RULE_NUMBERS)):
            errors.append(ConfigError(where, f"{label}.{key}", f"one of {', '.join(RULE_NUMBERS)}"))
        _check_rule(where, label, rule, errors)


def _check_rule(where: str, label: str, rule: dict[str, Any], errors: list[ConfigError]) -> None:
    for key, (low, high) in RULE_NUMBERS.items():
        if key not in rule:
            continue
        value = rule[key]
        whole = key in ("min_answers", "baseline_runs")
        ok = not isinstance(value, bool) and isinstance(value, int if whole else int | float)
        if not ok or value < low or (high is not None and value > high):
            kind = "a whole number" if whole else "a number"
            span = f"from {low}" + (f" to {high}" if high is not None else " or more")
            errors.append(ConfigError(where, f"{label}.{key}", f"{kind} {span}"))
