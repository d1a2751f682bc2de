"""Every error the bot raises on purpose, in one tree.

    BotError                      anything the bot can explain to a person
    ├── UsageError                a slash command the bot cannot read (answered with usage)
    ├── ConfigError               a bad setting: names the file (or variable), key, expectation
    │   └── ConfigErrors          several at once, one per line (`check`, start-up)
    ├── RenderError               a template that failed: file and line where Jinja knows them
    ├── SlackError                Slack refused a post (not in channel, archived, bad token)
    ├── DigestError               a digest that could not run (unknown name, a failed step)
    ├── ActionError               a button click the bot cannot carry out (answered to the clicker)
    ├── ItemRefused               a survey response MaestroQA's rules refuse (per item)
    ├── StoreError                BOT_DB cannot be used: missing folder, not a database,
    │                             read-only, locked, disk full (one sentence, what to do)
    └── SourceError               a data source could not answer; always names the vendor
        ├── NotConfigured         the vendor's credentials are absent
        ├── VendorAuthError       401/403: credentials refused
        │   └── AuthRefused       ... and which auth and token version was tried (LivePerson)
        ├── VendorRejected        400/404/422: the vendor refused the query itself
        │   └── WrongRegion       LiveChat keeps the license in another region
        ├── VendorRateLimited     429, still after polite retries
        ├── VendorUnavailable     5xx or no connection, still after retries
        ├── VendorTimeout         no answer in time
        └── VendorBadResponse     an answer the bot cannot read (not JSON, wrong shape)

Handlers catch `BotError` and render it; anything else is a bug, logged with its traceback
and answered with a short apology, never shown to Slack as a traceback.

What a person reads in Slack is worded by the templates: errors that reach Slack carry a
code and their particulars (`UsageError.problem`, `ActionError.code`, the SourceError's
class); a SourceError's `detail` (status, host, the vendor's message) is shown as it is,
as a diagnostic. `str()` of any error is for the log and the terminal.
"""

from __future__ import annotations

from typing import Any


class BotError(Exception):
    """Base of every error that carries a message fit for a person."""


class UsageError(BotError):
    """A slash command the bot cannot read or a source cannot answer as asked.

    `problem` names what is wrong and `details` carries its particulars, which
    `_usage.j2` words; `command` picks the usage shown beside it.
    """

    def __init__(self, problem: str, command: str = "/csat", **details: Any) -> None:
        super().__init__(f"{problem} {details}" if details else problem)
        self.problem = problem
        self.command = command
        self.details = details


class ConfigError(BotError):
    """A setting that is missing or wrong, located by file (or environment) and key."""

    def __init__(self, where: str, key: str, expected: str) -> None:
        super().__init__(f"{where}: {key}: {expected}")
        self.where = where
        self.key = key
        self.expected = expected


class ConfigErrors(ConfigError):
    """Several configuration problems at once; `str()` lists them one per line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        Exception.__init__(self, "\n".join(str(e) for e in errors))
        self.errors = errors
        self.where, self.key, self.expected = errors[0].where, errors[0].key, errors[0].expected


class RenderError(BotError):
    """A template that failed, located by file and line where Jinja knows them."""

    def __init__(self, template: str, line: int | None, problem: str) -> None:
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: {problem}")
        self.template = template
        self.line = line


class DigestError(BotError):
    """A digest that could not run: unknown name, or a step that failed."""


class ActionError(BotError):
    """A click on an alert's buttons that cannot be carried out; `button_error.yml.j2` says why."""

    def __init__(self, code: str, **args: Any) -> None:
        super().__init__(f"{code}: {args}")
        self.code = code
        self.details = args


class ItemRefused(BotError):
    """Why one survey response is refused, in the words of its `Failed: ...` result."""


class SlackError(BotError):
    """Slack would not take a message; says which channel and what to do about it."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class StoreError(BotError):
    """The database file cannot be used; `code` names the trouble, `reason` says what to do.

    `reason` leaves out the path, for places that anyone may read (`/healthz`).
    """

    def __init__(self, path: str, code: str, reason: str) -> None:
        super().__init__(f"BOT_DB {path}: {reason}")
        self.path = path
        self.code = code
        self.reason = reason


class SourceError(BotError):
    """A vendor could not give an answer; `vendor` is the name shown to people."""

    kind = "failed"
    source = ""  # the source word, where the error itself knows it (the templates need it)

    def __init__(self, vendor: str, detail: str = "", status: int | None = None) -> None:
        detail = printable(detail)  # a vendor's words: logged and shown as they stand
        super().__init__(
            f"{vendor or 'No source'} {self.kind}" + (f" ({detail})" if detail else "")
        )
        self.vendor = vendor
        self.detail = detail
        self.status = status  # the HTTP status behind it, when there was one

    @property
    def facts(self) -> dict[str, Any]:
        """What the template needs to say what to change (a subclass's particulars)."""
        return {}


class NotConfigured(SourceError):
    """No credentials for a source (`source` is its word, "" when no source is set up)."""

    kind = "is not configured"

    def __init__(self, vendor: str, source: str = "") -> None:
        super().__init__(vendor)
        self.source = source


class VendorAuthError(SourceError):
    kind = "refused the bot's credentials"


class AuthRefused(VendorAuthError):
    """Credentials refused, with what was tried: `auth` is `oauth1` or `oauth2`,
    `token_version` `v1`/`v2` (OAuth 2.0), `stage` `token` (sentinel would not give one)
    or `data` (a data API refused a token sentinel had just given)."""

    def __init__(
        self, vendor: str, source: str, detail: str, status: int | None, auth: str,
        token_version: str = "", stage: str = "data",
    ) -> None:  # fmt: skip
        super().__init__(vendor, detail, status)
        self.source = source  # the source word, for the templates
        self.auth, self.token_version, self.stage = auth, token_version, stage

    @property
    def facts(self) -> dict[str, Any]:
        return {"auth": self.auth, "token_version": self.token_version, "stage": self.stage}


class VendorRejected(SourceError):
    kind = "rejected the request"


class WrongRegion(VendorRejected):
    """LiveChat's `misdirected_request`: the license lives in `region`, served by `api_url`."""

    def __init__(self, vendor: str, source: str, region: str, api_url: str) -> None:
        super().__init__(vendor, f"misdirected_request: the license is in region {region}")
        self.source = source  # the source word, for the templates
        self.region, self.api_url = region, api_url

    @property
    def facts(self) -> dict[str, Any]:
        return {"region": self.region, "api_url": self.api_url}


class VendorRateLimited(SourceError):
    kind = "is rate-limiting the bot"


class VendorUnavailable(SourceError):
    kind = "is unavailable"


class VendorTimeout(SourceError):
    kind = "did not answer in time"


class VendorBadResponse(SourceError):
    kind = "sent an answer the bot cannot read"


def printable(text: str) -> str:
    """Control characters and lone surrogates written as escapes (`\\x1b`): one log line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
