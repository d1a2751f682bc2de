"""`python -m bot check` catches the mistakes a new user is likely to make."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes.process import ROOT, clean_env

BAD = """
timezone = "Europe/Berlin"
[[digest]]
name = "lc"
source = "livechat"
channel = "C1"
cron = "0 9 * * *"
groups = [1]
[[digest]]
name = "lp-week"
source = "liveperson"
channel = "C1"
cron = "0 9 * * 1"
skills = "all"
timeframe = "500d"
[[digest]]
name = "custom"
channel = "C1"
cron = "0 9 * * 1"
template = "mine.yml.j2"
"""


def check(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(BOT_CONFIG=str(config), **env),
        timeout=60,
    )


LP = {"LIVEPERSON_ACCOUNT_ID": "1", "LIVEPERSON_CLIENT_ID": "a", "LIVEPERSON_CLIENT_SECRET": "b"}


def test_digests_that_could_not_run_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(BAD)
    result = check(config, **LP)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        f"digest error: {config}: digest[0] (lc): LiveChat is not set up for this bot: ask an "
        "admin to set LIVECHAT_TOKEN (and LIVECHAT_ACCOUNT_ID for a Personal Access Token)."
        in lines
    )
    assert any(
        line.startswith(
            f"digest error: {config}: digest[1] (lp-week): Beyond its last 24 hours, LivePerson "
            "is answered from the bot's own history, which keeps 400d: ask for at most `400d`"
        )
        for line in lines
    )
    assert (
        "digest error: environment: SLACK_BOT_TOKEN: needed to post the configured digests" in lines
    )
    assert "template error: mine.yml.j2: 'mine.yml.j2' not found" in result.stdout
    note = "note: no [alerts] channel in bot.toml: drop alerts are off unless one is set"
    assert f"{note} in the Home tab" in lines


def test_a_deployments_own_digest_template_is_rendered_like_the_built_in_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()  # holds only its own template: the rest are built in
    (folder / "mine.yml.j2").write_text(
        '{% set t = report.total %}text: {{ ("CSAT " ~ (t.score | pct)) | tojson }}\n'
        "blocks:\n  - type: section\n    text: {type: mrkdwn, text: {{ digest.name | tojson }}}\n"
    )
    config = tmp_path / "bot.toml"
    config.write_text(
        'templates = "templates"\n[[digest]]\nname = "custom"\nchannel = "C1"\n'
        'cron = "0 9 * * 1"\ntemplate = "mine.yml.j2"\n'
    )
    result = check(config, SLACK_BOT_TOKEN="xoxb-x", **LP)
    assert result.returncode == 0, result.stdout
    assert "all valid Block Kit" in result.stdout
    assert f"templates: {folder} overrides no template; its own: mine.yml.j2;" in result.stdout


def test_check_says_which_built_in_files_a_folder_overrides(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    help_text = (ROOT / "templates" / "help.yml.j2").read_text(encoding="utf-8")
    (folder / "help.yml.j2").write_text(help_text.replace("How to use", "Help for"))
    (folder / "words.yml").write_text("states:\n  away: Pause\n")
    config = tmp_path / "bot.toml"
    config.write_text('templates = "mine"\n')
    result = check(config)
    assert result.returncode == 0, result.stdout
    assert (
        f"templates: {folder} overrides help.yml.j2; its words.yml changes some words; "
        "everything else is built in"
    ) in result.stdout.splitlines()


def test_check_reports_words_that_are_not_yaml(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "words.yml").write_text("states: [unclosed\n")
    config = tmp_path / "bot.toml"
    config.write_text('templates = "mine"\n')
    result = check(config)
    assert result.returncode == 1
    assert f"template error: {folder / 'words.yml'}: not readable as YAML words" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_an_ingested_digest_is_fine_when_ingestion_is_on(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[[digest]]\nname = "surveys"\nsource = "ingested"\nchannel = "C1"\n'
        'cron = "0 9 * * 1"\nagents = "all"\n'
    )
    result = check(config, SLACK_BOT_TOKEN="xoxb-x", BOT_INGEST_TOKEN="tok")
    assert result.returncode == 0, result.stdout
    assert "sources: ingested" in result.stdout


WATCH = """
[[digest]]
name = "csat-daily"
channel = "C1"
cron = "0 9 * * *"
skills = "all"
[[digest]]
name = "watch-15m"
channel = "C1"
cron = "*/15 * * * *"
timeframe = "24h"
post = false
[[digest]]
name = "hourly-over-6h"
channel = "C1"
cron = "0 * * * *"
timeframe = "6h"
kind = "availability"
[alerts]
channel = "C0ALERTS"
"""


def test_a_watch_that_runs_more_often_than_its_timeframe_is_a_warning(tmp_path: Path) -> None:
    """The alerts pool only snapshots that do not overlap: a daily digest over 24 hours is
    fine, a watch every 15 minutes over 24 hours has one snapshot a day to compare with."""
    config = tmp_path / "bot.toml"
    config.write_text(WATCH)
    result = check(config, SLACK_BOT_TOKEN="xoxb-x", **LP)
    assert result.returncode == 0, result.stdout  # a warning, not an error
    warnings = [line for line in result.stdout.splitlines() if line.startswith("digest warn")]
    assert warnings == [
        f"digest warning: {config}: digest[1] (watch-15m): runs every 15 minutes over 24h: its "
        "alerts compare only with earlier snapshots that do not overlap, so a baseline of 7 "
        "snapshots needs 7 days of history",
        f"digest warning: {config}: digest[2] (hourly-over-6h): runs every hour over 6h: its "
        "alerts compare only with earlier snapshots that do not overlap, so a baseline of 7 "
        "snapshots needs 42 hours of history",
    ]


def test_without_drop_alerts_there_is_nothing_to_warn_about(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(WATCH.replace('channel = "C0ALERTS"', ""))
    result = check(config, SLACK_BOT_TOKEN="xoxb-x", **LP)
    assert result.returncode == 0, result.stdout
    assert "digest warning" not in result.stdout
    assert "note: no [alerts] channel in bot.toml: drop alerts are off" in result.stdout


def test_a_channel_name_and_a_plain_text_mention_are_refused_with_what_is_expected(
    tmp_path: Path,
) -> None:
    """Slack posts by channel id and pings only its own mention syntax: `#leads` and
    `@support-leads` would fail at 9:00 (or ping nobody), so `check` says so now."""
    config = tmp_path / "bot.toml"
    config.write_text(
        '[[digest]]\nname = "daily"\nchannel = "#team-leads"\ncron = "0 9 * * 1-5"\n'
        '[alerts]\nchannel = "C0LEADS00"\nmention = "@support-leads"\n'
    )
    result = check(config, SLACK_BOT_TOKEN="xoxb-x", **LP)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert (
        f"{config}: digest[0] (daily).channel: a channel id such as C0123456789 (in Slack: the "
        "channel's details, at the bottom), not a name like '#team-leads'"
    ) in said
    assert (
        f"{config}: alerts.mention: a mention Slack pings, such as <!subteam^S0123ABCD> (a user "
        "group), <@U0123ABCD> (a person) or <!here>, or empty for nobody; '@support-leads' "
        "would ping nobody"
    ) in said
    assert "Traceback" not in said
