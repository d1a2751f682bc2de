"""The contract's CLI verbs, run as a user runs them."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.demo.sim.liveperson import SimulatedLivePerson
from bot.demo.sim.slack import SimulatedSlack
from bot.listeners.commands import COMMANDS
from tests.fakes.process import ROOT, clean_env, free_port


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_every_verb() -> None:
    result = run("--help")
    assert result.returncode == 0
    for verb in ("serve", "socket", "ask", "demo", "check"):
        assert verb in result.stdout


def test_ask_answers_from_liveperson(liveperson: SimulatedLivePerson, tmp_path: Path) -> None:
    result = run(
        "ask",
        "/csat skill 11 90m",
        env={**liveperson.env(), "BOT_CONFIG": str(tmp_path / "none.toml")},
    )
    assert result.returncode == 0, result.stderr
    assert "CSAT · skill 11 · last 1h 30m" in result.stdout
    assert "satisfied (4–5)" in result.stdout


def test_ask_with_legacy_oauth1_keys(liveperson: SimulatedLivePerson, tmp_path: Path) -> None:
    result = run(
        "ask",
        "/csat agent all 91m",
        env={**liveperson.env("1"), "BOT_CONFIG": str(tmp_path / "none.toml")},
    )
    assert result.returncode == 0, result.stderr
    assert "CSAT · all agents · last 1h 31m" in result.stdout


def test_a_data_api_that_refuses_v1_tokens_says_which_was_tried_and_what_to_change(
    liveperson: SimulatedLivePerson, tmp_path: Path
) -> None:
    """LivePerson's V1 token URL is labelled for the Connector API only: with a data API
    that takes only V2 tokens, the reply and the log name V1 and say to set V2."""
    env = {**liveperson.env(), "BOT_CONFIG": str(tmp_path / "none.toml")}
    liveperson.data_accepts = {"v2"}
    try:
        refused = run("ask", "/csat skill 11 61m", env=env)
        answered = run("ask", "/csat skill 11 61m", env={**env, "LIVEPERSON_TOKEN_VERSION": "v2"})
    finally:
        liveperson.data_accepts = {"v1", "v2"}
    assert refused.returncode == 1
    words = (
        "LivePerson's data API refused the bot's OAuth 2.0 token, fresh from its sentinel "
        "(token V1). An admin should set LIVEPERSON_TOKEN_VERSION=v2 and try again"
    )
    assert words in refused.stdout  # the reply
    [logged] = [line for line in refused.stderr.splitlines() if words in line]  # the log
    assert (
        f"(OAuth 2.0 token V1 (/sentinel/api/account/{liveperson.account}/app/token?v=1.0)"
        in logged
    )
    assert "Traceback" not in refused.stdout + refused.stderr
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "CSAT · skill 11 · last 1h 1m" in answered.stdout
    tokens = [c.path for c in liveperson.calls_to("/app/token")]
    assert f"/sentinel/api/v2/account/{liveperson.account}/app/token" in tokens


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_retired_legacy_key_says_to_move_to_oauth2(
    liveperson: SimulatedLivePerson, tmp_path: Path
) -> None:
    liveperson.oauth1_retired = True
    try:
        legacy = {**liveperson.env("1"), "BOT_CONFIG": str(tmp_path / "none.toml")}
        result = run("ask", "/csat skill 11 62m", env=legacy)
    finally:
        liveperson.oauth1_retired = False
    assert result.returncode == 1
    assert (
        "refused the bot's legacy API key (OAuth 1.0; LivePerson ended those keys" in result.stdout
    )
    assert "set LIVEPERSON_CLIENT_ID and LIVEPERSON_CLIENT_SECRET" in result.stderr


def test_ask_without_credentials_says_not_configured(tmp_path: Path) -> None:
    result = run("ask", "/csat skill 4", env={"BOT_CONFIG": str(tmp_path / "none.toml")})
    assert result.returncode == 2
    assert "No data source is set up for this bot yet" in result.stdout
    assert "set LivePerson or LiveChat credentials" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_ask_usage_error_exits_2(tmp_path: Path, liveperson: SimulatedLivePerson) -> None:
    result = run(
        "ask",
        "/csat skill 4 2d",
        env={**liveperson.env(), "BOT_CONFIG": str(tmp_path / "none.toml")},
    )
    assert result.returncode == 2
    assert "at most the last 24h" in result.stdout


def test_check_passes_on_defaults(tmp_path: Path) -> None:
    result = run("check", env={"BOT_CONFIG": str(tmp_path / "none.toml")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all valid Block Kit" in result.stdout


def test_check_reports_file_key_and_expectation(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('timezone = "Mars/Olympus"\ncolour = "blue"\n[alerts]\nmin_answers = -3\n')
    result = run("check", env={"BOT_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}: timezone: an IANA time zone" in result.stderr
    assert f"{config}: colour: one of" in result.stderr
    assert f"{config}: alerts.min_answers: a whole number" in result.stderr


def test_check_reports_template_file_and_line(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in (ROOT / "templates").iterdir():
        (templates / source.name).write_text(source.read_text())
    (templates / "working.yml.j2").write_text("text: ok\nblocks:\n  {{ nothing_here.at_all }}\n")
    config = tmp_path / "bot.toml"
    config.write_text('templates = "templates"\n')
    result = run("check", env={"BOT_CONFIG": str(config)})
    assert result.returncode == 1
    assert "template error: working.yml.j2:3:" in result.stdout


def test_serve_refuses_to_start_without_slack_credentials(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    env = {"BOT_CONFIG": str(tmp_path / "none.toml"), "PORT": str(free_port()), "BOT_DB": str(db)}
    result = run("serve", env=env, timeout=30)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert not db.exists()  # refused before anything was opened or created


def test_socket_refuses_to_start_without_the_app_token(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    env = {
        "BOT_CONFIG": str(tmp_path / "none.toml"),
        "SLACK_BOT_TOKEN": "xoxb-x",
        "BOT_DB": str(db),
    }
    result = run("socket", env=env, timeout=30)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr
    assert not db.exists()


@pytest.mark.parametrize("verb", ["serve", "socket"])
def test_start_up_refuses_what_check_refuses(
    tmp_path: Path, liveperson: SimulatedLivePerson, verb: str
) -> None:
    """LivePerson's history keeps 400 days, not 500; LiveChat is not set up: `check` says so,
    and so does start-up, instead of starting and failing at 9:00 with nobody watching."""
    config = tmp_path / "bot.toml"
    config.write_text(
        '[[digest]]\nname = "weekly"\nsource = "liveperson"\nchannel = "C1"\n'
        'cron = "0 9 * * 1"\ntimeframe = "500d"\n\n'
        '[[digest]]\nname = "chats"\nsource = "livechat"\nchannel = "C1"\ncron = "0 9 * * 1"\n'
    )
    env = {**liveperson.env(), "BOT_CONFIG": str(config), "BOT_DB": str(tmp_path / "bot.db"),
           "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "xapp-x",
           "PORT": str(free_port())}  # fmt: skip
    checked = run("check", env=env)
    started = run(verb, env=env, timeout=30)
    assert checked.returncode == 1 and started.returncode == 2
    refused = [line for line in checked.stdout.splitlines() if line.startswith("digest error:")]
    assert len(refused) == 2
    assert refused[0].startswith(f"digest error: {config}: digest[0] (weekly): ")
    assert "which keeps 400d" in refused[0]
    assert refused[1].startswith(f"digest error: {config}: digest[1] (chats): LiveChat")
    assert started.stderr.splitlines() == [
        *refused,
        f"{verb} refused to start: the 2 problems above (`python -m bot check` shows them "
        "with the rest of the set-up)",
    ]
    assert not (tmp_path / "bot.db").exists()  # refused before anything was created


def test_demo_runs_offline() -> None:
    result = run("demo", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "CSAT · whole account · last 24h" in result.stdout
    assert "no vendor call\n▶ /csat skill all 60m" in result.stdout
    assert "vendor calls for this command: 0" in result.stdout  # the cached repeat
    assert "Agent states · 3 agents · last 2h" not in result.stdout  # three are listed
    # named as the simulated account's directory names them; Sam shares his nickname
    assert "Agent states · agents Sam (1004), Zoë, Ana · last 2h" in result.stdout
    assert "Away reasons: Lunch" in result.stdout
    assert "sam could be several agents: Sam (1004), Sam (1009)." in result.stdout
    assert "LivePerson has no skill named biling. Did you mean Billing?" in result.stdout
    assert "LivePerson has no skill 99." in result.stdout
    assert "By group · good share · good · bad · chats" in result.stdout
    assert "Reason 26" not in result.stdout and "Agent 10" not in result.stdout
    assert "Skill 1" not in result.stdout
    assert "65.3% good" in result.stdout  # LiveChat's ratings example: 32 good, 17 bad
    assert "LivePerson is not answering right now" in result.stdout
    assert "Did you mean `skill`?" not in result.stdout  # printed as plain text
    assert "Did you mean skill?" in result.stdout
    # the Home tab: a lead adds a digest from a form; it posts at its time, once
    assert "the form answers on its `channel` block: a channel id" in result.stdout
    assert "its job is in the scheduler at once, no restart" in result.stdout
    assert "Mei's Home tab (15 blocks, 0 digest menus)" in result.stdout
    assert "fired twice, posted 1 time" in result.stdout
    assert "refused  orders-weekly  by U0MEI" in result.stdout


def registered_events() -> set[str]:
    """The Events API events the listeners register (`app.event("app_home_opened")`), read
    from their source: registering needs a Bolt app, reading does not."""
    found: set[str] = set()
    for path in sorted((ROOT / "bot" / "listeners").glob("*.py")):
        found |= set(re.findall(r"""\.event\(\s*["']([a-z_]+)["']""", path.read_text()))
    return found


def test_manifest_commands_match_the_listeners_and_readme() -> None:
    """What Slack is told to send is what the bot listens for, and the README says why the
    app asks for each scope."""
    text = (ROOT / "manifest.yml").read_text()
    manifest = yaml.safe_load(text)
    declared = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert sorted(declared) == sorted(COMMANDS)
    assert manifest["settings"]["socket_mode_enabled"] is True
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True  # previews go to the user's DM with the app
    assert home["messages_tab_read_only_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "app_home_opened" in events
    assert set(events) == registered_events(), "every bot event needs its listener, and back"
    urls = [
        *(c["url"] for c in manifest["features"]["slash_commands"]),
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["interactivity"]["message_menu_options_url"],
    ]
    assert {url.removeprefix("https://bot.example.com") for url in urls} == {"/slack/events"}
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert {"commands", "chat:write", "files:write"} <= set(scopes)
    assert {"users:read", "usergroups:read", "channels:read", "groups:read"} <= set(scopes)
    for scope in scopes:  # each scope's line says why the app asks for it
        assert re.search(rf"^\s*- {re.escape(scope)}\s+# \S", text, re.MULTILINE), scope
    readme = (ROOT / "README.md").read_text()
    for command in COMMANDS:
        assert command in readme
    for scope in scopes:  # quoted whole: `groups:read` is not `usergroups:read`
        assert f"`{scope}`" in readme, scope


@pytest.mark.parametrize("name", ["README.md", "ARCHITECTURE.md", "Procfile", "manifest.yml"])
def test_project_files_exist(name: str) -> None:
    assert (ROOT / name).read_text().strip()


# --- digests --------------------------------------------------------------------------------

DIGEST_CONFIG = """
timezone = "Europe/Berlin"
default_source = "liveperson"

[[digest]]
name = "csat-daily"
kind = "csat"
source = "liveperson"
channel = "{channel}"
cron = "0 9 * * 1-5"
skills = "all"
timeframe = "24h"

[alerts]
channel = "C0LEADS00"
mention = "<!subteam^S0LEADS>"
min_answers = 20
"""


def digest_env(
    tmp_path: Path, liveperson: SimulatedLivePerson, channel: str = "C0CLIDIGEST", **extra: str
) -> dict[str, str]:
    config = tmp_path / "bot.toml"
    config.write_text(DIGEST_CONFIG.format(channel=channel), encoding="utf-8")
    return {
        **liveperson.env(),
        "BOT_CONFIG": str(config),
        "BOT_DB": str(tmp_path / "bot.db"),
        **extra,
    }


def test_digest_dry_run_prints_the_digest_and_stores_nothing(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    result = run("digest", "csat-daily", "--dry-run", env=digest_env(tmp_path, liveperson))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("CSAT · csat-daily · last 24h\n")
    assert "satisfied (4–5)" in result.stdout
    assert "the first digest: nothing to compare with yet" in result.stdout
    assert result.stdout.splitlines()[-1] == "digest csat-daily: dry-run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.toml"]  # no bot.db, no -wal


def test_digest_posts_and_stores(
    tmp_path: Path, liveperson: SimulatedLivePerson, slack: SimulatedSlack
) -> None:
    env = digest_env(tmp_path, liveperson, "C0CLIPOSTED", SLACK_BOT_TOKEN="xoxb-test",
                     SLACK_API_URL=slack.api_url)  # fmt: skip
    result = run("digest", "csat-daily", env=env)
    assert result.returncode == 0, result.stderr
    (posted,) = slack.posts("C0CLIPOSTED")
    assert result.stdout.splitlines()[-1].startswith("digest csat-daily: posted (ts ")
    assert posted["blocks"][0]["text"]["text"] == "CSAT · csat-daily · last 24h"
    with sqlite3.connect(tmp_path / "bot.db") as db:
        assert db.execute("select count(*) from snapshot_runs").fetchone() == (1,)
        assert db.execute(
            "select scheduled_for like 'manual %', status from digest_runs"
        ).fetchall() == [(1, "posted")]


def test_digest_unknown_name_exits_1_naming_the_configured_ones(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    result = run("digest", "nope", env=digest_env(tmp_path, liveperson))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"digest nope failed: no digest named 'nope' in {tmp_path / 'bot.toml'} "
        "(configured: csat-daily)"
    ]
    assert not (tmp_path / "bot.db").exists()  # nothing opened for a name that is not there


def test_digest_to_a_channel_the_bot_is_not_in_exits_1_with_one_line(
    tmp_path: Path, liveperson: SimulatedLivePerson, slack: SimulatedSlack
) -> None:
    env = digest_env(tmp_path, liveperson, "C0NOTINCLI", SLACK_BOT_TOKEN="xoxb-test",
                     SLACK_API_URL=slack.api_url)  # fmt: skip
    result = run("digest", "csat-daily", env=env)
    assert result.returncode == 1
    # INFO logs may come first (the default level); the reason is the one last line
    line = result.stderr.strip().splitlines()[-1]
    assert [x for x in result.stderr.splitlines() if "failed" in x] == [line]
    assert line.startswith("digest csat-daily failed: ")
    assert "The bot is not in channel C0NOTINCLI: invite it with `/invite @CSAT Bot`." in line
    assert "Traceback" not in result.stdout + result.stderr


def test_digest_dry_run_with_a_broken_template_exits_1_with_one_line(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "digest_csat.yml.j2").write_text("text: {{ nope.nothing }}\n", encoding="utf-8")
    env = digest_env(tmp_path, liveperson)
    config = Path(env["BOT_CONFIG"])
    config.write_text('templates = "mine"\n' + config.read_text(), encoding="utf-8")
    result = run("digest", "csat-daily", "--dry-run", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("digest csat-daily failed: digest_csat.yml.j2:1: ")
    assert "nope" in line


def test_a_digest_liveperson_cannot_answer_fails_in_words(
    tmp_path: Path, liveperson: SimulatedLivePerson
) -> None:
    env = digest_env(tmp_path, liveperson)
    config = Path(env["BOT_CONFIG"])
    config.write_text(config.read_text().replace('timeframe = "24h"', 'timeframe = "500d"'))
    result = run("digest", "csat-daily", env=env)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line == (
        "digest csat-daily failed: Beyond its last 24 hours, LivePerson is answered from the "
        "bot's own history, which keeps 400d: ask for at most `400d`; `500d` is longer."
    )
    with sqlite3.connect(tmp_path / "bot.db") as db:
        (error,) = db.execute("select error from digest_runs").fetchone()
    assert error.startswith("Beyond its last 24 hours, LivePerson is answered from the")


BAD_DIGEST = """
timezone = "Europe/Berlin"

[[digest]]
name = "csat-daily"
kind = "csat"
cron = "61 9 * * *"
timezone = "Nowhere/City"
colour = "blue"
"""


@pytest.mark.parametrize("verb", ["check", "serve"])
def test_digest_config_errors_name_file_key_and_expectation(tmp_path: Path, verb: str) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(BAD_DIGEST, encoding="utf-8")
    env = {"BOT_CONFIG": str(config), "PORT": str(free_port()), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "secret"}  # fmt: skip
    result = run(verb, env=env, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().removeprefix("configuration error: ").splitlines()
    label = f"{config}: digest[0] (csat-daily)"
    assert sorted(line.partition(": ")[2].partition(":")[0] for line in lines) == [
        "digest[0] (csat-daily).channel",
        "digest[0] (csat-daily).colour",
        "digest[0] (csat-daily).cron",
        "digest[0] (csat-daily).timezone",
    ]
    expected = "a channel id such as C0123456789 (in Slack: the channel's details, at the bottom)"
    assert f"{label}.channel: {expected}" in lines
    assert any(line.startswith(f"{label}.colour: one of ") and "channel" in line for line in lines)
    assert any(
        line.startswith(f"{label}.cron: a valid cron expression like '0 9 * * 1-5'")
        for line in lines
    )
    assert f"{label}.timezone: an IANA time zone like Europe/Berlin, got 'Nowhere/City'" in lines
    assert "Traceback" not in result.stderr
