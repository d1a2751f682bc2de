from __future__ import annotations

from dataclasses import fields
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import (
    DEFAULT_TEMPLATES,
    AlertRules,
    ConfigErrors,
    DetractorRules,
    Digest,
    HistoryRules,
    Links,
    LivePersonSettings,
    QuietHours,
    Rule,
    Settings,
    SlackSettings,
    keys_of,
    load,
)
from bot.query import Query

EXAMPLE = """\
timezone = "Europe/Berlin"          # default zone for schedules and "yesterday"
default_source = "liveperson"       # liveperson | livechat | ingested

[[digest]]
name = "csat-daily"
kind = "csat"                       # csat | availability
source = "liveperson"               # liveperson | livechat | ingested
channel = "C0123456789"
cron = "0 9 * * 1-5"                # five-field cron, in the digest's timezone
skills = "all"                      # "all" or a list of ids
timeframe = "24h"

[alerts]
channel = "C0LEADS00"               # where drop alerts open their threads
mention = "<!subteam^S0LEADS>"      # who is called in (optional)
min_answers = 20                    # below this many answers, never alert
"""

OAUTH2_ENV = {
    "LIVEPERSON_ACCOUNT_ID": "123",
    "LIVEPERSON_CLIENT_ID": "cid",
    "LIVEPERSON_CLIENT_SECRET": "csecret",
}
OAUTH1_ENV = {
    "LIVEPERSON_ACCOUNT_ID": "123",
    "LIVEPERSON_CONSUMER_KEY": "ckey",
    "LIVEPERSON_CONSUMER_SECRET": "csecret",
    "LIVEPERSON_TOKEN": "tkey",
    "LIVEPERSON_TOKEN_SECRET": "tsecret",
}


@pytest.fixture
def no_file(tmp_path: Path) -> dict[str, str]:
    """An environment whose BOT_CONFIG points nowhere, whatever the working directory holds."""
    return {"BOT_CONFIG": str(tmp_path / "absent.toml")}


def errors_of(env: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigErrors) as caught:
        load(env)
    return [(e.where, e.key) for e in caught.value.errors]


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no bot.toml here
    assert load({}) == Settings()
    settings = load({})
    assert (settings.port, settings.db_path, settings.scheduler) == (3000, "bot.db", True)
    assert settings.slack == SlackSettings(api_url="https://slack.com/api/")
    assert (settings.config_path, settings.config_found) == ("bot.toml", False)
    assert settings.timezone == ZoneInfo("UTC")
    assert settings.templates == DEFAULT_TEMPLATES
    assert settings.liveperson is None
    assert settings.livechat is None


def test_environment_values(no_file: dict[str, str]) -> None:
    settings = load(
        {
            **no_file,
            "PORT": "8080",
            "BOT_DB": "/data/csat.db",
            "BOT_SCHEDULER": "OFF",
            "BOT_VENDOR_TIMEOUT": "2.5",
            "SLACK_API_URL": "http://127.0.0.1:9000/api",
            "SLACK_BOT_TOKEN": " xoxb-1 ",
        }
    )
    assert (settings.port, settings.db_path, settings.scheduler) == (8080, "/data/csat.db", False)
    assert settings.vendor_timeout == 2.5
    assert settings.slack == SlackSettings(bot_token="xoxb-1", api_url="http://127.0.0.1:9000/api/")


def test_liveperson_oauth2(no_file: dict[str, str]) -> None:
    settings = load({**no_file, **OAUTH2_ENV})
    assert settings.liveperson == LivePersonSettings(
        "123", client_id="cid", client_secret="csecret"
    )
    assert settings.liveperson.uses_oauth2


@pytest.mark.parametrize(
    ("given", "version"), [("", "v1"), ("v1", "v1"), ("V2", "v2"), (" 2 ", "v2"), ("1", "v1")]
)
def test_liveperson_token_version(no_file: dict[str, str], given: str, version: str) -> None:
    settings = load({**no_file, **OAUTH2_ENV, "LIVEPERSON_TOKEN_VERSION": given})
    assert settings.liveperson is not None
    assert settings.liveperson.token_version == version


def test_liveperson_oauth1(no_file: dict[str, str]) -> None:
    settings = load({**no_file, **OAUTH1_ENV})
    assert settings.liveperson == LivePersonSettings(
        "123", consumer_key="ckey", consumer_secret="csecret", token="tkey", token_secret="tsecret"
    )
    assert not settings.liveperson.uses_oauth2


def test_liveperson_prefers_oauth2_when_both_are_set(no_file: dict[str, str]) -> None:
    settings = load({**no_file, **OAUTH1_ENV, **OAUTH2_ENV})
    assert settings.liveperson == LivePersonSettings(
        "123", client_id="cid", client_secret="csecret"
    )


def test_liveperson_hosts(no_file: dict[str, str]) -> None:
    settings = load(
        {
            **no_file,
            **OAUTH2_ENV,
            "LIVEPERSON_BASE_URL": "http://127.0.0.1:9001/",
            "LIVEPERSON_SENTINEL_URL": "http://127.0.0.1:9002",
            "LIVEPERSON_DOMAIN_API_URL": "http://127.0.0.1:9003/",
        }
    )
    assert settings.liveperson is not None
    assert (
        settings.liveperson.base_url,
        settings.liveperson.sentinel_url,
        settings.liveperson.domain_api_url,
    ) == ("http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003")


def test_liveperson_absent(no_file: dict[str, str]) -> None:
    assert load(no_file).liveperson is None


@pytest.mark.parametrize(
    ("env", "keys"),
    [
        pytest.param(
            {"LIVEPERSON_ACCOUNT_ID": "123", "LIVEPERSON_CLIENT_ID": "cid"},
            ["LIVEPERSON_CLIENT_SECRET", "LIVEPERSON_CLIENT_ID"],
            id="client-id-without-secret",
        ),
        pytest.param({"LIVEPERSON_ACCOUNT_ID": "123"}, ["LIVEPERSON_CLIENT_ID"], id="no-keys"),
        pytest.param(
            {"LIVEPERSON_CLIENT_ID": "cid", "LIVEPERSON_CLIENT_SECRET": "csecret"},
            ["LIVEPERSON_ACCOUNT_ID"],
            id="keys-without-account",
        ),
        pytest.param(
            {k: v for k, v in OAUTH1_ENV.items() if k != "LIVEPERSON_ACCOUNT_ID"},
            ["LIVEPERSON_ACCOUNT_ID"],
            id="legacy-keys-without-account",
        ),
        pytest.param(
            {**OAUTH1_ENV, "LIVEPERSON_TOKEN_SECRET": ""},
            ["LIVEPERSON_TOKEN_SECRET", "LIVEPERSON_CLIENT_ID"],
            id="legacy-keys-incomplete",
        ),
        pytest.param(
            {**OAUTH2_ENV, "LIVEPERSON_TOKEN_VERSION": "v3"},
            ["LIVEPERSON_TOKEN_VERSION"],
            id="token-version",
        ),
        pytest.param({"PORT": "abc"}, ["PORT"], id="port-not-a-number"),
        pytest.param({"PORT": "70000"}, ["PORT"], id="port-too-big"),
        pytest.param({"BOT_VENDOR_TIMEOUT": "-1"}, ["BOT_VENDOR_TIMEOUT"], id="negative-timeout"),
    ],
)
def test_environment_mistakes(
    no_file: dict[str, str], env: dict[str, str], keys: list[str]
) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load({**no_file, **env})
    assert [(e.where, e.key) for e in caught.value.errors] == [("environment", k) for k in keys]
    for line, key in zip(str(caught.value).splitlines(), keys, strict=True):
        assert line.startswith(f"environment: {key}: ")


def test_partial_client_says_what_goes_with_what(no_file: dict[str, str]) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load({**no_file, "LIVEPERSON_ACCOUNT_ID": "123", "LIVEPERSON_CLIENT_ID": "cid"})
    assert str(caught.value).splitlines()[0] == (
        "environment: LIVEPERSON_CLIENT_SECRET: set together with LIVEPERSON_CLIENT_ID"
    )
    assert caught.value.key == "LIVEPERSON_CLIENT_SECRET"


def test_nan_vendor_timeout_is_refused(no_file: dict[str, str]) -> None:
    assert errors_of({**no_file, "BOT_VENDOR_TIMEOUT": "nan"}) == [
        ("environment", "BOT_VENDOR_TIMEOUT")
    ]


# --- the TOML file -------------------------------------------------------------------


def config_file(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return {"BOT_CONFIG": str(path)}


def test_contract_example_loads(tmp_path: Path) -> None:
    settings = load(config_file(tmp_path, EXAMPLE))
    assert settings.config_found
    assert settings.timezone == ZoneInfo("Europe/Berlin")
    assert settings.default_source == "liveperson"
    berlin = ZoneInfo("Europe/Berlin")
    assert settings.digests == (
        Digest(
            name="csat-daily", kind="csat", source="liveperson", channel="C0123456789",
            cron="0 9 * * 1-5", skills="all", timeframe=1440, timezone=berlin,
        ),
    )  # fmt: skip
    (digest,) = settings.digests
    assert (digest.unit, digest.ids, digest.post, digest.series) == (
        "skill", "all", True, "digest:csat-daily"
    )  # fmt: skip
    assert digest.query() == Query("/csat", "liveperson", "skill", "all", 1440)
    assert settings.alerts == AlertRules(
        channel="C0LEADS00", mention="<!subteam^S0LEADS>", rule=Rule(min_answers=20)
    )


def test_digest_defaults_follow_the_kind_and_the_files_timezone(tmp_path: Path) -> None:
    settings = load(config_file(tmp_path, 'timezone = "Asia/Tokyo"\n' + DIGEST + (
        '[[digest]]\nname = "team"\nkind = "availability"\nchannel = "C2"\ncron = "0 9 * * *"\n'
        'timezone = "Europe/Berlin"\nagents = [1001, "1002"]\npost = false\n'
    )))  # fmt: skip
    csat, team = settings.digests
    assert (csat.timezone, csat.timeframe, csat.template_file) == (
        ZoneInfo("Asia/Tokyo"), 1440, "digest_csat.yml.j2"
    )  # fmt: skip
    assert csat.query() == Query("/csat", None, "account", None, 1440)
    assert (team.timezone, team.template_file, team.post) == (
        ZoneInfo("Europe/Berlin"), "digest_availability.yml.j2", False
    )  # fmt: skip
    assert team.query() == Query("/agent-states", None, "agent", ("1001", "1002"), 1440)
    assert settings.digest("team") is team
    assert settings.digest("nope") is None


def test_thresholds_start_from_the_alerts_table(tmp_path: Path) -> None:
    settings = load(config_file(tmp_path, (
        '[alerts]\nchannel = "C0LEADS"\nmin_answers = 30\ndrop_points = 4\n'
        '[alerts.thresholds."skill:4"]\nmin_answers = 50\n'
        '[alerts.thresholds."agent:1001"]\nbaseline_runs = 14\n'
    )))  # fmt: skip
    rules = settings.alerts
    assert rules.rule == Rule(min_answers=30, drop_points=4)
    assert rules.rule_for("skill", "4") == Rule(min_answers=50, drop_points=4)
    assert rules.rule_for("agent", "1001") == Rule(min_answers=30, drop_points=4, baseline_runs=14)
    assert rules.rule_for("skill", "5") == rules.rule
    assert rules.baseline_runs == 14


def test_every_key_is_declared_once_by_a_dataclass_field() -> None:
    """The keys the file accepts are the fields' names: no second list to keep in step."""
    assert keys_of(Digest) == sorted(f.name for f in fields(Digest))
    assert keys_of(Rule) == sorted(f.name for f in fields(Rule))
    assert keys_of(AlertRules) == ["channel", "mention", "thresholds"]
    assert keys_of(Settings) == ["default_source", "templates", "timezone"]
    assert keys_of(DetractorRules) == ["mention_every", "quiet_hours"]


def test_configuration_docs_name_every_key() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    for name in [*keys_of(Settings), *keys_of(Digest), *keys_of(AlertRules), *keys_of(Rule),
                 *keys_of(Links), *keys_of(DetractorRules), *keys_of(HistoryRules)]:  # fmt: skip
        assert f"`{name}`" in docs, name
    for table in ("[names.agents]", "[names.skills]", "[names.groups]", "[links]", "[detractors]",
                  "[history]"):  # fmt: skip
        assert table in docs, table


def test_names_and_links_tables(tmp_path: Path) -> None:
    settings = load(config_file(tmp_path, """
[names.agents]
a1 = " Bea Costa "
1007 = "Sam"

[names.skills]
"-1" = "No skill"

[links]
agent = "https://people.example/{id}?tab=csat"
ticket = "https://help.example/t/{ticket_id}"
"""))  # fmt: skip
    assert settings.names.by_kind() == {
        "agent": {"a1": "Bea Costa", "1007": "Sam"}, "skill": {"-1": "No skill"},
    }  # fmt: skip
    assert settings.links.url("agent", "a b/c?") == "https://people.example/a%20b%2Fc%3F?tab=csat"
    assert settings.links.url("ticket", "T-1") == "https://help.example/t/T-1"
    assert settings.links.url("conversation", "x") == ""
    only = load(config_file(tmp_path, '[links]\nconversation = "https://c.example/{id}"\n'))
    assert only.links.url("ticket", "T 2") == "https://c.example/T%202"  # tickets fall back


def test_templates_folder_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    settings = load(config_file(tmp_path, 'templates = "mine"\n'))
    assert settings.templates == (tmp_path / "mine").resolve()


DIGEST = '[[digest]]\nname = "d"\nchannel = "C1"\ncron = "0 9 * * *"\n'


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        pytest.param(
            'colour = "blue"\n', "colour", "one of alerts, default_source", id="unknown-key"
        ),
        pytest.param(
            DIGEST + "colour = 3\n",
            "digest[0] (d).colour",
            "one of agents, channel",
            id="digest-key",
        ),
        pytest.param(
            'timezone = "Mars/Olympus"\n', "timezone", "an IANA time zone", id="bad-timezone"
        ),
        pytest.param(
            'default_source = "zendesk"\n',
            "default_source",
            "one of liveperson, livechat, ingested",
            id="bad-default-source",
        ),
        pytest.param(
            "[alerts]\nmin_answers = -1\n", "alerts.min_answers", "0 or more", id="min-answers"
        ),
        pytest.param(
            '[[digest]]\nname = "d"\nchannel = "C1"\ncron = "0 9 * *"\n',
            "digest[0] (d).cron",
            "five fields",
            id="cron-4-fields",
        ),
        pytest.param(
            '[[digest]]\nname = "d"\nchannel = "C1"\ncron = "0 9 31 4,6,9,11 *"\n',
            "digest[0] (d).cron",
            "a schedule that runs: no date in the next 8 years",
            id="cron-never",
        ),
        pytest.param(
            DIGEST + 'timeframe = "1.5h"\n',
            "digest[0] (d).timeframe",
            "`1.5h` is not a duration",
            id="bad-timeframe",
        ),
        pytest.param(
            DIGEST + 'timezone = "Nowhere/Else"\n',
            "digest[0] (d).timezone",
            "an IANA time zone",
            id="digest-timezone",
        ),
        pytest.param(
            DIGEST + 'kind = "nps"\n', "digest[0] (d).kind", "csat or availability", id="kind"
        ),
        pytest.param(
            DIGEST + "skills = 4\n", "digest[0] (d).skills", '"all" or a list of ids', id="skills"
        ),
        pytest.param(
            '[[digest]]\nchannel = "C1"\ncron = "0 9 * * *"\n',
            "digest[0].name",
            "a non-empty string",
            id="digest-without-name",
        ),
        pytest.param(
            'templates = "nowhere"\n', "templates", "a folder of templates", id="templates"
        ),
        pytest.param(
            "[alerts]\nchannel = 5\n", "alerts.channel", "a channel id", id="alert-channel"
        ),
        pytest.param("timezone = \n", "(file)", "valid TOML", id="invalid-toml"),
        pytest.param(
            DIGEST + "skills = [4]\nagents = [1001]\n",
            "digest[0] (d).agents",
            "only one of skills, agents",
            id="two-units",
        ),
        pytest.param(DIGEST + 'post = "no"\n', "digest[0] (d).post", "true or false", id="post"),
        pytest.param(
            DIGEST + "skills = []\n", "digest[0] (d).skills", '"all" or a list', id="no-ids"
        ),
        pytest.param(
            "[alerts]\nmention = 7\n", "alerts.mention", "a mention Slack pings", id="mention"
        ),
        pytest.param(
            '[alerts]\nmention = "@support-leads"\n',
            "alerts.mention",
            "would ping nobody",
            id="mention-as-text",
        ),
        pytest.param(
            '[alerts]\nchannel = "#leads"\n', "alerts.channel", "not a name", id="channel-name"
        ),
        pytest.param(
            '[[digest]]\nname = "d"\nchannel = "leads"\ncron = "0 9 * * *"\n',
            "digest[0] (d).channel",
            "a channel id",
            id="digest-channel-name",
        ),
        pytest.param(
            '[slack]\nadmins = ["@lead"]\n', "slack.admins", "user ids (U…)", id="admins-name"
        ),
        pytest.param(
            '[slack]\nadmin = ["U0LEAD"]\n', "slack.admin", "one of admins", id="slack-key"
        ),
        pytest.param(
            '[alerts.thresholds."skill:4"]\ndrop_points = 101\n',
            "alerts.thresholds.skill:4.drop_points",
            "a number from 0 to 100",
            id="threshold-bound",
        ),
        pytest.param(
            '[alerts.thresholds."skill:4"]\ncolour = 1\n',
            "alerts.thresholds.skill:4.colour",
            "one of away_points, baseline_runs",
            id="threshold-key",
        ),
        pytest.param(
            '[names.agents]\na1 = ""\n', "names.agents", "a name for each id", id="name-empty"
        ),
        pytest.param(
            "[names]\nqueues = {}\n",
            "names.queues",
            "one of agents, groups, skills",
            id="names-unknown-table",
        ),
        pytest.param(
            '[links]\nagent = "ftp://x/{id}"\n', "links.agent", "an http(s) URL", id="link-scheme"
        ),
        pytest.param(
            '[links]\nagent = "https://x.example/{user}"\n',
            "links.agent",
            "with {id}",
            id="link-placeholder",
        ),
        pytest.param(
            '[links]\nticket = "https://x.example/<{id}>"\n',
            "links.ticket",
            "an http(s) URL",
            id="link-markup",
        ),
        pytest.param('links = "x"\n', "links", "a [links] table", id="links-not-a-table"),
        pytest.param(
            '[detractors]\nmention_every = "soon"\n',
            "detractors.mention_every",
            "a duration like 1h, 30m or 0m (every time), got 'soon'",
            id="mention-every-word",
        ),
        pytest.param(
            "[detractors]\nmention_every = -5\n",
            "detractors.mention_every",
            "a duration like 1h",
            id="mention-every-negative",
        ),
        pytest.param(
            '[detractors]\nquiet_hours = "20-8"\n',
            "detractors.quiet_hours",
            "two different times of day like \"20:00-08:00\" (it may wrap midnight), got '20-8'",
            id="quiet-hours-shape",
        ),
        pytest.param(
            '[detractors]\nquiet_hours = "24:00-08:00"\n',
            "detractors.quiet_hours",
            "two different times of day",
            id="quiet-hours-24",
        ),
        pytest.param(
            '[detractors]\nquiet_hours = "08:00-8:00"\n',
            "detractors.quiet_hours",
            "two different times of day",
            id="quiet-hours-empty",
        ),
        pytest.param(
            "[detractors]\nquiet_hours = 20\n",
            "detractors.quiet_hours",
            "two different times of day",
            id="quiet-hours-number",
        ),
        pytest.param(
            "[detractors]\nmention = 1\n",
            "detractors.mention",
            "one of mention_every, quiet_hours",
            id="detractors-unknown-key",
        ),
        pytest.param(
            'detractors = "x"\n', "detractors", "a [detractors] table", id="detractors-not-a-table"
        ),
        pytest.param(
            '[alerts.thresholds."team"]\nmin_answers = 1\n',
            "alerts.thresholds.team",
            'a key like "skill:4"',
            id="threshold-entity",
        ),
    ],
)
def test_file_mistakes(tmp_path: Path, text: str, key: str, expected: str) -> None:
    env = config_file(tmp_path, text)
    with pytest.raises(ConfigErrors) as caught:
        load(env)
    assert [(e.where, e.key) for e in caught.value.errors] == [(env["BOT_CONFIG"], key)]
    assert str(caught.value).startswith(f"{env['BOT_CONFIG']}: {key}: ")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "a file the bot can read (Is a directory)"),
        (lambda p: p.write_bytes(b'timezone = "\xff\xfe"\n'), "valid TOML ("),
    ],
    ids=["a-folder", "not-utf-8"],
)
def test_a_file_that_cannot_be_read_is_a_config_error(
    tmp_path: Path, make: Any, expected: str
) -> None:
    path = tmp_path / "bot.toml"
    make(path)
    with pytest.raises(ConfigErrors) as caught:
        load({"BOT_CONFIG": str(path)})
    assert str(caught.value).startswith(f"{path}: (file): {expected}")


def test_timezone_naming_a_region_is_a_config_error(tmp_path: Path) -> None:
    env = config_file(tmp_path, 'timezone = "Europe"\n')
    with pytest.raises(ConfigErrors) as caught:
        load(env)
    assert [(e.where, e.key) for e in caught.value.errors] == [(env["BOT_CONFIG"], "timezone")]


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    env = config_file(
        tmp_path,
        'timezone = "Mars/Olympus"\n'
        'default_source = "zendesk"\n'
        'colour = "blue"\n'
        '[[digest]]\nname = "d"\nchannel = "C1"\ncron = "0 9 * *"\ntimeframe = "0m"\n'
        "[alerts]\nmin_answers = -1\n",
    )
    where = env["BOT_CONFIG"]
    assert errors_of({**env, "PORT": "abc"}) == [
        ("environment", "PORT"),
        (where, "colour"),
        (where, "timezone"),
        (where, "default_source"),
        (where, "digest[0] (d).cron"),
        (where, "digest[0] (d).timeframe"),
        (where, "alerts.min_answers"),
    ]


def test_cron_values_are_checked_not_only_counted(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[[digest]]\nname = "d"\nchannel = "C1"\ncron = "99 99 * * banana"\n'
        "[alerts]\nmin_answers = true\n"
    )
    with pytest.raises(ConfigErrors) as caught:
        load({"BOT_CONFIG": str(config)})
    text = str(caught.value)
    assert f"{config}: digest[0] (d).cron: a valid cron expression" in text
    assert f"{config}: alerts.min_answers: a whole number" in text


def test_two_digests_with_one_name_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    block = '[[digest]]\nname = "daily"\nchannel = "C1"\ncron = "0 9 * * *"\n'
    config.write_text(block + block)
    with pytest.raises(ConfigErrors) as caught:
        load({"BOT_CONFIG": str(config)})
    assert f"{config}: digest[1].name: a name not used before ('daily' is)" in str(caught.value)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("", DetractorRules(60, None)),
        ('mention_every = "30m"\n', DetractorRules(30, None)),
        ('mention_every = "0m"\n', DetractorRules(0, None)),
        ("mention_every = 0\n", DetractorRules(0, None)),
        ('mention_every = "2h"\nquiet_hours = "20:00-08:00"\n',
         DetractorRules(120, QuietHours(time(20), time(8)))),
        ('quiet_hours = " 12:30 – 13:15 "\n',
         DetractorRules(60, QuietHours(time(12, 30), time(13, 15)))),
    ],
)  # fmt: skip
def test_the_detractors_table(tmp_path: Path, table: str, expected: DetractorRules) -> None:
    settings = load(config_file(tmp_path, "[detractors]\n" + table))
    assert settings.detractors == expected
    assert settings.detractors.every.total_seconds() == expected.mention_every * 60


def test_history_keeps_400_days_and_collects_unless_told_not_to(tmp_path: Path) -> None:
    assert load(config_file(tmp_path, "")).history == HistoryRules(400 * 1440, True)
    settings = load(config_file(tmp_path, '[history]\nkeep = "90d"\ncollect = false\n'))
    assert settings.history == HistoryRules(90 * 1440, False)
    assert load({**config_file(tmp_path, ""), "BOT_COLLECT": "off"}).history.collect is False
    assert load({**config_file(tmp_path, ""), "BOT_COLLECT": "on"}).history.collect is True


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[history]\nkeep = "12h"\n', "history.keep", "a duration of a day or more"),
        ('[history]\nkeep = "forever"\n', "history.keep", "not a duration like"),
        ('[history]\ncollect = "yes"\n', "history.collect", "true or false"),
        ("[history]\nkept = 1\n", "history.kept", "one of collect, keep"),
    ],
)
def test_history_mistakes(tmp_path: Path, text: str, key: str, expected: str) -> None:
    env = config_file(tmp_path, text)
    with pytest.raises(ConfigErrors) as caught:
        load(env)
    assert [(e.where, e.key) for e in caught.value.errors] == [(env["BOT_CONFIG"], key)]
    assert expected in str(caught.value)
