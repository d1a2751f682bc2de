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
timeframe = "7d"
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
        f"digest error: {config}: digest[0] (lc): LiveChat is not configured "
        "(set LIVECHAT_TOKEN (and LIVECHAT_ACCOUNT_ID for a Personal Access Token))" in lines
    )
    assert any(
        line.startswith(
            f"digest error: {config}: digest[1] (lp-week): LivePerson reports at most the last 24h"
        )
        for line in lines
    )
    assert (
        "digest error: environment: SLACK_BOT_TOKEN: needed to post the configured digests" in lines
    )
    assert "template error: mine.yml.j2: 'mine.yml.j2' not found" in result.stdout
    assert "note: no [alerts] channel: drop alerts are off" in lines


def test_a_deployments_own_digest_template_is_rendered_like_the_built_in_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for source in (ROOT / "templates").iterdir():
        (folder / source.name).write_text(source.read_text())
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


def test_an_ingested_digest_is_fine_when_ingestion_is_on(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[[digest]]\nname = "surveys"\nsource = "ingested"\nchannel = "C1"\n'
        'cron = "0 9 * * 1"\nagents = "all"\n'
    )
    result = check(config, SLACK_BOT_TOKEN="xoxb-x", BOT_INGEST_TOKEN="tok")
    assert result.returncode == 0, result.stdout
    assert "sources: ingested" in result.stdout
