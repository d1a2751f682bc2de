"""A cheap start: `serve` imports what it uses at start-up and nothing more.

matplotlib and numpy load when the first chart is drawn, Socket Mode's client only in
`socket`, APScheduler only when there are digests to schedule, Jinja and YAML with the
first message, httpx with the first vendor call or answer, and httpx's command-line tool
(click, pygments) never. Each check runs
in a fresh interpreter (so `e2e`), since this one has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.process import ROOT, clean_env

pytestmark = pytest.mark.e2e

NOT_AT_START = [
    "matplotlib",
    "numpy",
    "slack_bolt.adapter.socket_mode",
    "slack_sdk.socket_mode",
    "apscheduler",
    "httpx._main",
    "pygments",
    "jinja2",  # and Jinja and YAML with the first message
    "yaml",
    "httpx",  # and httpx with the first vendor call or answer
    "oauthlib",  # and only for LivePerson's legacy app key
    "orjson",  # and orjson with the first big answer read where no ack waits
]

SERVE = """
from bot import config
from bot.__main__ import _refused
settings = config.load()
assert _refused(settings, "serve") == 0
from bot.app import build_asgi
build_asgi(settings)
"""

CHART = """
import sys
from bot import config
from bot.app import build_asgi
build_asgi(config.load())
from bot.render import charts
png = charts.distribution("answers", ["1", "2", "3", "4", "5"], [1, 2, 3, 4, 5], "answers")
assert png.startswith(b"\\x89PNG") and "numpy" in sys.modules
"""


def run(code: str, tmp: Path) -> str:
    """Run `code` in a fresh interpreter, set up as `serve` with LivePerson; its output."""
    env = clean_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="secret",
                    BOT_DB=str(tmp / "bot.db"), BOT_CONFIG=str(tmp / "absent.toml"),
                    LIVEPERSON_ACCOUNT_ID="123", LIVEPERSON_CLIENT_ID="id",
                    LIVEPERSON_CLIENT_SECRET="secret")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def loaded(code: str, tmp: Path) -> list[str]:
    """The modules a fresh interpreter has imported after `code`."""
    shown = "sorted(k for k, v in sys.modules.items() if v is not None)"  # None: blocked
    out = run(f"{code}\nimport json, sys\nprint(json.dumps({shown}))", tmp)
    return list(json.loads(out.splitlines()[-1]))


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(f"{n}.") for n in NOT_AT_START)]


def test_importing_the_app_leaves_the_heavy_modules_out(tmp_path: Path) -> None:
    assert heavy(loaded("import bot.app", tmp_path)) == []


def test_serve_checks_and_builds_without_the_heavy_modules(tmp_path: Path) -> None:
    modules = loaded(SERVE, tmp_path)
    assert heavy(modules) == []
    assert "sqlite_utils" in modules and "slack_bolt" in modules  # what it does use


def test_numpy_still_loads_for_the_first_chart(tmp_path: Path) -> None:
    """sqlite-utils loads with numpy hidden; numpy itself is left importable."""
    run(CHART, tmp_path)
