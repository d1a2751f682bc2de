#!/usr/bin/env python3
"""Set up and run, with nothing but Python 3.11+: `python dev.py demo` or `python dev.py test`.

Creates `.venv` beside this file on first use, installs the bot with its test tools,
then runs the demo, or the checks: ruff (lint and format), mypy over `bot/`, and the
test suite. `test --fast` leaves out the tests that start processes (marked e2e), for
the inner loop; other extra arguments go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def run(*cmd: str | Path) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def setup() -> None:
    """Create the virtualenv and install; again only when pyproject.toml changed."""
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = (ROOT / "pyproject.toml").read_text()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("installing the bot and its test tools …", flush=True)
        run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]")
        STAMP.write_text(wanted)


def main() -> None:
    verb, *rest = sys.argv[1:] or ["help"]
    if verb not in ("demo", "test", "setup"):
        sys.exit("usage: python dev.py demo | test [--fast] [pytest args] | setup")
    setup()
    if verb == "demo":
        run(PY, "-m", "bot", "demo")
    elif verb == "test":
        code = ("bot", "tests", "bench", "dev.py")
        run(PY, "-m", "ruff", "check", *code)
        run(PY, "-m", "ruff", "format", "--check", *code)
        run(PY, "-m", "mypy")  # the files and strictness are pyproject.toml's [tool.mypy]
        if "--fast" in rest:
            rest = [arg for arg in rest if arg != "--fast"] + ["-m", "not e2e"]
        run(PY, "-m", "pytest", *rest)


if __name__ == "__main__":
    main()
