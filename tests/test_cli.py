"""The contract's CLI verbs, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.listeners.commands import COMMANDS
from bot.sim.liveperson import SimulatedLivePerson
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
    result = run(
        "serve",
        env={"BOT_CONFIG": str(tmp_path / "none.toml"), "PORT": str(free_port())},
        timeout=30,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr


def test_demo_runs_offline() -> None:
    result = run("demo", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "CSAT · whole account · last 24h" in result.stdout
    assert "no vendor call\n▶ /csat skill all 60m" in result.stdout
    assert "vendor calls for this command: 0" in result.stdout  # the cached repeat
    assert "Agent states · 3 agents · last 2h" not in result.stdout  # three ids are listed
    assert "Agent states · agents 1001, 1002, 1004 · last 2h" in result.stdout
    assert "65.3% good" in result.stdout  # LiveChat's ratings example: 32 good, 17 bad
    assert "LivePerson is not answering right now" in result.stdout
    assert "Did you mean `skill`?" not in result.stdout  # printed as plain text
    assert "Did you mean skill?" in result.stdout


def test_manifest_commands_match_the_listeners_and_readme() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    declared = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert sorted(declared) == sorted(COMMANDS)
    assert manifest["settings"]["socket_mode_enabled"] is True
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert {"commands", "chat:write", "files:write"} <= set(scopes)
    readme = (ROOT / "README.md").read_text()
    for command in COMMANDS:
        assert command in readme
    for scope in scopes:
        assert scope in readme


@pytest.mark.parametrize("name", ["README.md", "ARCHITECTURE.md", "Procfile", "manifest.yml"])
def test_project_files_exist(name: str) -> None:
    assert (ROOT / name).read_text().strip()
